"""``Client``'s signatures match redis-py's, but for the differences ``ALLOWED`` explains.

``tools/redis_py_parity.py`` compares every method both clients have;
redis-py (the ``test`` extra pins the version compared against) is a
reference only. Without it the comparison is skipped, except in CI (the
``CI`` environment variable), where it fails, as the server fixtures do.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "redis_py_parity", ROOT / "tools/redis_py_parity.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("redis_py_parity", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


tool = _tool()


def _require_redis_py() -> None:
    """Skip without redis-py; fail instead when ``CI`` is set."""
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        message = "redis-py is not installed: pip install -e '.[test]'"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)


def _verdict(theirs: Any, ours: Any, name: str = "f") -> Any:
    return tool.compare(
        name,
        list(inspect.signature(theirs).parameters.values()),
        list(inspect.signature(ours).parameters.values()),
    )


def test_every_difference_from_redis_py_has_a_written_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _require_redis_py()
    assert tool.main(["--check"]) == 0, capsys.readouterr().out


def test_the_check_fails_on_an_unexplained_difference(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _require_redis_py()
    allowed = dict(tool.ALLOWED)
    del allowed["aclose"]
    monkeypatch.setattr(tool, "ALLOWED", allowed)
    assert tool.main(["--check"]) == 1
    assert "DIFFERENT aclose: no argument 1 (close_connection_pool)" in capsys.readouterr().out


def test_the_check_fails_on_a_stale_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _require_redis_py()
    monkeypatch.setattr(tool, "ALLOWED", {**tool.ALLOWED, "get": "no longer true"})
    assert tool.main(["--check"]) == 1
    assert "STALE ALLOWED['get']: the method is same" in capsys.readouterr().out


def test_key_commands_take_redis_py_parameter_names() -> None:
    _require_redis_py()
    verdicts = {v.name: v for v in tool.classify()[0]}
    for name in ("get", "set", "hget", "hset", "incr", "mget", "sinter", "smismember", "eval"):
        assert verdicts[name].kind != "different" or name in tool.ALLOWED, verdicts[name]
    assert verdicts["hget"].kind == "same"


def test_missing_methods_are_grouped_by_why() -> None:
    grouped = tool.group_missing(["json", "arget", "sentinel_masters", "select", "nope"])
    assert grouped == {
        next(g for g in tool.MISSING_GROUPS if g.startswith("module")): ["json"],
        next(g for g in tool.MISSING_GROUPS if g.startswith("newer")): ["arget"],
        next(g for g in tool.MISSING_GROUPS if g.startswith("Sentinel")): ["sentinel_masters"],
        next(g for g in tool.MISSING_GROUPS if g.startswith("change")): ["select"],
        "other": ["nope"],
    }


# The classifier itself, on small signatures (no redis-py needed).


def test_identical_parameters_are_the_same() -> None:
    def theirs(name: Any, amount: int = 1, **kwargs: Any) -> None: ...
    def ours(name: Any, amount: int = 1) -> None: ...

    verdict = _verdict(theirs, ours)
    assert (verdict.kind, verdict.notes) == ("same", [])


def test_a_renamed_parameter_is_different() -> None:
    def theirs(name: Any, key: Any) -> None: ...
    def ours(key: Any, field: Any) -> None: ...

    verdict = _verdict(theirs, ours)
    assert verdict.kind == "different"
    assert "! argument 1 is key, redis-py's name" in verdict.notes


def test_extra_options_and_keyword_aliases_are_compatible() -> None:
    def theirs(name: Any, _type: Any = None) -> None: ...
    def ours(name: Any, type_: Any = None, rev: bool = False, *, _type: Any = None) -> None: ...

    verdict = _verdict(theirs, ours)
    assert verdict.kind == "compatible"
    assert verdict.notes == ["argument 2 is type_ (_type= works too)", "adds rev=False"]


def test_a_changed_default_is_different_unless_both_mean_nothing() -> None:
    def theirs(pattern: Any = "*", ids: Any = None) -> None: ...
    def ours(pattern: Any = None, ids: Any = ()) -> None: ...

    verdict = _verdict(theirs, ours)
    assert verdict.kind == "different"
    assert verdict.notes == [
        "! pattern defaults to None (redis-py: '*')",
        "ids defaults to () (redis-py: None)",
    ]


def test_a_list_parameter_folded_into_star_args_is_different() -> None:
    def theirs(keys: Any, *args: Any) -> None: ...
    def ours(*keys: Any) -> None: ...

    verdict = _verdict(theirs, ours)
    assert verdict.kind == "different"
    assert verdict.notes == ["! keys goes into *keys: keys= fails"]


def test_missing_star_args_or_keywords_are_different() -> None:
    def theirs(script: Any, numkeys: int, *keys_and_args: Any, flag: bool = False) -> None: ...
    def ours(script: Any, numkeys: int) -> None: ...

    verdict = _verdict(theirs, ours)
    assert verdict.kind == "different"
    assert verdict.notes == ["! no *args", "! no keyword flag"]


def test_real_kwargs_are_compared_where_they_mean_something() -> None:
    def theirs(**kwargs: Any) -> None: ...
    def ours(*, ignore_subscribe_messages: bool = True) -> None: ...

    assert _verdict(theirs, ours, "pubsub").kind == "different"
    assert _verdict(theirs, ours, "ping").kind == "compatible"
