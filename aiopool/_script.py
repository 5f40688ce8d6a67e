"""``Script``: a Lua script run by its SHA1, loaded on demand."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Protocol

from ._commands import Key, Value

__all__ = ["Script"]


class _Runner(Protocol):
    async def run_script(
        self, script: Script, keys: Iterable[Key] = (), args: Iterable[Value] = ()
    ) -> Any: ...


class Script:
    """A Lua script, from ``client.register_script(source)``.

    ``await script(keys=[...], args=[...])`` runs it with ``EVALSHA``; when
    the server does not have it (``NOSCRIPT``: never loaded, restarted, or
    ``SCRIPT FLUSH``), it is loaded with ``SCRIPT LOAD`` and run again, which
    is safe because a ``NOSCRIPT`` reply means nothing ran. In a pipeline use
    ``pipeline.run_script(script, keys, args)``; the pipeline loads its
    scripts in the same write. ``sha`` is the hex SHA1 of ``source``,
    computed locally.
    """

    __slots__ = ("_runner", "sha", "source")

    def __init__(self, runner: _Runner, source: str | bytes) -> None:
        if not isinstance(source, str | bytes):
            raise TypeError(f"a script's source is str or bytes, got {type(source).__name__}")
        self._runner = runner
        self.source = source
        encoded = source.encode() if isinstance(source, str) else source
        self.sha = hashlib.sha1(encoded, usedforsecurity=False).hexdigest()

    def __repr__(self) -> str:
        return f"<Script sha={self.sha[:12]}… {len(self.source)} chars>"

    async def __call__(self, keys: Iterable[Key] = (), args: Iterable[Value] = ()) -> Any:
        """Run the script with ``keys`` and ``args``; its raw reply.

        Errors, timeouts and cancellation behave as for any command (see
        ``Client``); a Lua runtime error raises ``ReplyError``.
        """
        return await self._runner.run_script(self, keys, args)
