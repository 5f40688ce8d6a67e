"""Auto-pipelining options: validation, where they may be given, and what a client shows.

No server: nothing here connects (``from_url`` connects on first use only).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from aiopool import AutoPipelineOptions, Client, ClusterClient, Pool, PoolOptions

URL = "redis://127.0.0.1:1/0"  # never contacted


def test_defaults_are_off_two_connections_and_1024_pending() -> None:
    opts = AutoPipelineOptions()
    assert (opts.auto_pipeline, opts.auto_pipeline_connections, opts.auto_pipeline_max_pending) == (
        False,
        2,
        1024,
    )


def test_options_are_frozen() -> None:
    opts = AutoPipelineOptions(auto_pipeline=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.auto_pipeline_connections = 5  # type: ignore[misc]


@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_auto_pipeline_must_be_a_bool(value: Any) -> None:
    with pytest.raises(TypeError, match=r"option auto_pipeline must be a bool") as caught:
        AutoPipelineOptions(auto_pipeline=value)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("name", ["auto_pipeline_connections", "auto_pipeline_max_pending"])
@pytest.mark.parametrize("value", [0, -1, True, False, 1.0, 2.5, "2", None])
def test_counts_must_be_integers_of_at_least_one(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"option {name} must be an integer >= 1") as caught:
        AutoPipelineOptions(auto_pipeline=True, **{name: value})
    assert f"got {value!r}" in str(caught.value)


@pytest.mark.parametrize("name", ["auto_pipeline_connections", "auto_pipeline_max_pending"])
def test_counts_of_one_are_accepted(name: str) -> None:
    opts = AutoPipelineOptions(auto_pipeline=True, **{name: 1})
    assert getattr(opts, name) == 1


@pytest.mark.parametrize(("connections", "max_size"), [(10, 10), (3, 3), (4, 3), (1, 1)])
def test_client_from_url_refuses_connections_not_below_max_size(
    connections: int, max_size: int
) -> None:
    with pytest.raises(ValueError, match="auto_pipeline_connections") as caught:
        Client.from_url(
            URL, auto_pipeline=True, auto_pipeline_connections=connections, max_size=max_size
        )
    message = str(caught.value)
    assert f"auto_pipeline_connections ({connections})" in message
    assert f"max_size ({max_size})" in message


def test_client_from_url_default_connections_need_max_size_above_two() -> None:
    with pytest.raises(ValueError, match=r"auto_pipeline_connections \(2\).*max_size \(2\)"):
        Client.from_url(URL, auto_pipeline=True, max_size=2)
    client = Client.from_url(URL, auto_pipeline=True, max_size=3)
    assert client.auto_pipeline_stats() is not None


def test_client_from_url_accepts_connections_one_below_max_size() -> None:
    client = Client.from_url(URL, auto_pipeline=True, auto_pipeline_connections=4, max_size=5)
    stats = client.auto_pipeline_stats()
    assert stats is not None
    assert stats.connections == 0


def test_connection_count_is_not_checked_while_auto_pipelining_is_off() -> None:
    client = Client.from_url(URL, auto_pipeline_connections=50, max_size=2)
    assert client.auto_pipeline_stats() is None


def test_client_constructor_checks_the_pool_it_is_given() -> None:
    pool = Pool.from_url(URL, max_size=2)
    with pytest.raises(ValueError, match=r"auto_pipeline_connections \(2\).*max_size \(2\)"):
        Client(pool, AutoPipelineOptions(auto_pipeline=True))
    client = Client(pool, AutoPipelineOptions(auto_pipeline=True, auto_pipeline_connections=1))
    assert "auto_pipeline" in repr(client)


def test_client_constructor_refuses_anything_but_options() -> None:
    pool = Pool.from_url(URL)
    with pytest.raises(TypeError, match=r"takes AutoPipelineOptions or None, got dict"):
        Client(pool, {"auto_pipeline": True})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"got bool"):
        Client(pool, True)  # type: ignore[arg-type]


def test_options_with_auto_pipeline_off_leave_the_client_plain() -> None:
    client = Client(Pool.from_url(URL), AutoPipelineOptions(auto_pipeline=False))
    assert client.auto_pipeline_stats() is None
    assert "auto_pipeline" not in repr(client)


@pytest.mark.parametrize(("connections", "max_size"), [(10, 10), (5, 4)])
def test_cluster_client_from_url_refuses_connections_not_below_max_size(
    connections: int, max_size: int
) -> None:
    with pytest.raises(ValueError, match="auto_pipeline_connections") as caught:
        ClusterClient.from_url(
            URL, auto_pipeline=True, auto_pipeline_connections=connections, max_size=max_size
        )
    message = str(caught.value)
    assert f"auto_pipeline_connections ({connections})" in message
    assert f"max_size ({max_size})" in message


def test_cluster_client_constructor_checks_its_pool_options() -> None:
    with pytest.raises(ValueError, match=r"auto_pipeline_connections \(3\).*max_size \(3\)"):
        ClusterClient(
            [("127.0.0.1", 1)],
            pool=PoolOptions(max_size=3),
            auto_pipeline=AutoPipelineOptions(auto_pipeline=True, auto_pipeline_connections=3),
        )


def test_cluster_client_validates_auto_pipeline_options_from_url() -> None:
    with pytest.raises(ValueError, match=r"option auto_pipeline_max_pending must be an integer"):
        ClusterClient.from_url(URL, auto_pipeline=True, auto_pipeline_max_pending=0)
    with pytest.raises(TypeError, match=r"option auto_pipeline must be a bool"):
        ClusterClient.from_url(URL, auto_pipeline="on")


def test_client_from_url_validates_auto_pipeline_options() -> None:
    with pytest.raises(ValueError, match=r"option auto_pipeline_connections must be an integer"):
        Client.from_url(URL, auto_pipeline=True, auto_pipeline_connections=0)
    with pytest.raises(TypeError, match=r"option auto_pipeline must be a bool"):
        Client.from_url(URL, auto_pipeline=1)


@pytest.mark.parametrize(
    "option",
    [
        {"auto_pipeline": True},
        {"auto_pipeline_connections": 2},
        {"auto_pipeline_max_pending": 8},
    ],
)
def test_pool_from_url_says_auto_pipeline_options_belong_to_a_client(
    option: dict[str, object],
) -> None:
    (name,) = option
    with pytest.raises(TypeError) as caught:
        Pool.from_url(URL, **option)
    message = str(caught.value)
    assert repr(name) in message
    assert "Pool.from_url()" in message
    assert "belongs to a client" in message
    assert "Client.from_url()" in message


def test_pool_from_options_says_auto_pipeline_belongs_to_a_client() -> None:
    with pytest.raises(TypeError, match=r"'auto_pipeline'.*belongs to a client"):
        Pool.from_options(auto_pipeline=True)


def test_a_misspelt_option_suggests_the_auto_pipeline_one() -> None:
    with pytest.raises(TypeError, match=r"unknown option 'auto_pipline'.*'auto_pipeline'\?"):
        Client.from_url(URL, auto_pipline=True)
    with pytest.raises(TypeError, match=r"'auto_pipeline_max_pending'\?"):
        Client.from_url(URL, auto_pipeline_max_pendin=4)


def test_client_repr_shows_auto_pipeline_only_when_on() -> None:
    on = Client.from_url(URL, auto_pipeline=True)
    off = Client.from_url(URL)
    assert repr(on).startswith("<Client auto_pipeline <Pool redis://127.0.0.1:1/0")
    assert "auto_pipeline" not in repr(off)
    assert repr(off).startswith("<Client <Pool ")


def test_client_repr_never_shows_the_password() -> None:
    client = Client.from_url("redis://user:s3cret-pw@127.0.0.1:1/0", auto_pipeline=True)
    assert "s3cret-pw" not in repr(client)
    assert "auto_pipeline" in repr(client)


def test_cluster_client_repr_shows_auto_pipeline_only_when_on() -> None:
    assert " auto_pipeline" in repr(ClusterClient.from_url(URL, auto_pipeline=True))
    assert "auto_pipeline" not in repr(ClusterClient.from_url(URL))


def test_auto_pipeline_stats_is_none_when_off_and_zero_before_use_when_on() -> None:
    assert Client.from_url(URL).auto_pipeline_stats() is None
    assert Client.from_url(URL, auto_pipeline=False).auto_pipeline_stats() is None
    stats = Client.from_url(URL, auto_pipeline=True).auto_pipeline_stats()
    assert stats is not None
    assert dataclasses.asdict(stats) == {
        "connections": 0,
        "queued": 0,
        "in_flight": 0,
        "waiting": 0,
        "commands": 0,
        "writes": 0,
        "timeouts": 0,
        "full": 0,
    }


def test_cluster_auto_pipeline_stats_are_empty_before_any_node_is_known() -> None:
    assert ClusterClient.from_url(URL, auto_pipeline=True).auto_pipeline_stats() == {}
    assert ClusterClient.from_url(URL).auto_pipeline_stats() == {}


def test_cluster_client_keeps_its_auto_pipeline_options() -> None:
    cc = ClusterClient.from_url(
        URL, auto_pipeline=True, auto_pipeline_connections=3, auto_pipeline_max_pending=7
    )
    assert cc.auto_pipeline_options == AutoPipelineOptions(
        auto_pipeline=True, auto_pipeline_connections=3, auto_pipeline_max_pending=7
    )
