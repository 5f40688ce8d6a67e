"""The protocol and tracking options, and the handshake each protocol writes; no I/O."""

from __future__ import annotations

import pytest

from aiopool import ConnectionOptions
from aiopool._config import options_from_url
from aiopool._errors import AuthenticationError, ReplyError
from aiopool._handshake import refusal, steps


def test_protocol_defaults_to_2_and_comes_from_the_url_or_a_keyword() -> None:
    assert ConnectionOptions().protocol == 2
    connection, _ = options_from_url("redis://h/0?protocol=3", {}, where="test")
    assert connection.protocol == 3
    connection, _ = options_from_url("redis://h/0?protocol=3", {"protocol": 2}, where="test")
    assert connection.protocol == 2


@pytest.mark.parametrize("bad", [1, 4, "3", True, None])
def test_protocol_other_than_2_or_3_is_refused_naming_the_option(bad: object) -> None:
    with pytest.raises(ValueError, match="option protocol must be 2 or 3"):
        ConnectionOptions(protocol=bad)  # type: ignore[arg-type]


def test_a_bad_protocol_in_the_url_names_the_parameter() -> None:
    with pytest.raises(ValueError, match="protocol='x' is not a valid value"):
        options_from_url("redis://h/0?protocol=x", {}, where="test")


def test_tracking_needs_protocol_3() -> None:
    with pytest.raises(ValueError, match="option tracking needs protocol=3"):
        ConnectionOptions(tracking=True)
    assert ConnectionOptions(protocol=3, tracking=True).tracking is True


def test_protocol_2_handshake_is_unchanged() -> None:
    options = ConnectionOptions(username="u", password="p", db=2, client_name="app")
    assert steps(options) == [
        ("AUTH", "u", "p"),
        ("SELECT", 2),
        ("CLIENT", "SETNAME", "app"),
        ("PING",),
    ]


def test_protocol_3_folds_auth_and_setname_into_hello() -> None:
    options = ConnectionOptions(
        protocol=3, username="u", password="p", db=2, client_name="app", tracking=True
    )
    assert steps(options) == [
        ("HELLO", 3, "AUTH", "u", "p", "SETNAME", "app"),
        ("SELECT", 2),
        ("CLIENT", "TRACKING", "ON"),
        ("PING",),
    ]


def test_protocol_3_password_alone_authenticates_the_default_user() -> None:
    assert steps(ConnectionOptions(protocol=3, password="p"))[0] == (
        "HELLO",
        3,
        "AUTH",
        "default",
        "p",
    )
    assert steps(ConnectionOptions(protocol=3)) == [("HELLO", 3), ("PING",)]


def test_a_refused_hello_says_to_use_protocol_2() -> None:
    options = ConnectionOptions(protocol=3)
    error = refusal("h:1", options, ("HELLO", 3), ReplyError("unknown command 'HELLO'", "ERR"))
    assert "refused HELLO 3" in str(error)
    assert "use protocol=2" in str(error)


def test_a_hello_refused_for_credentials_is_an_authentication_error_without_the_password() -> None:
    options = ConnectionOptions(protocol=3, username="u", password="s3cret")
    step = ("HELLO", 3, "AUTH", "u", "s3cret")
    error = refusal("h:1", options, step, AuthenticationError("invalid password", "WRONGPASS"))
    assert isinstance(error, AuthenticationError)
    assert "refused AUTH for user 'u'" in str(error)
    assert "s3cret" not in str(error)


def test_the_kits_url_query_follows_aiopool_test_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiopool.testing import FaultProxy, url_query

    monkeypatch.delenv("AIOPOOL_TEST_PROTOCOL", raising=False)
    assert url_query() == ""
    monkeypatch.setenv("AIOPOOL_TEST_PROTOCOL", "3")
    assert url_query() == "?protocol=3"
    assert FaultProxy("127.0.0.1", 1).url.endswith("/0?protocol=3")
    monkeypatch.setenv("AIOPOOL_TEST_PROTOCOL", "2")
    assert url_query() == ""
    monkeypatch.setenv("AIOPOOL_TEST_PROTOCOL", "4")
    with pytest.raises(ValueError, match="AIOPOOL_TEST_PROTOCOL must be 2 or 3, got '4'"):
        url_query()
