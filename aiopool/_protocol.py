"""RESP encoding and decoding; no I/O.

Arguments are packed by ``hiredis.pack_command`` (C); replies are parsed by one
``hiredis.Reader`` per connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, cast

import hiredis

from ._command_table import CONTAINERS
from ._errors import (
    DataTypeError,
    DataValueError,
    ProtocolError,
    SessionCommandError,
    reply_error,
)

__all__ = [
    "BLOCKING_INITIALS",
    "BLOCKING_NAMES",
    "NOT_ENOUGH",
    "UNPAIRED",
    "Arg",
    "blocking_timeout",
    "canonical_name",
    "display_form",
    "display_name",
    "encode_command",
    "lower_word",
    "make_reader",
    "may_block",
    "pack_args",
    "refuse_session_command",
    "session_command",
]

# Every type a command argument may have. ``bool`` is an ``int`` to Python but
# is rejected (by hiredis, and by our message): ``True`` would silently become
# ``"1"``, and ``False`` a ``"0"`` the caller never meant.
Arg = str | bytes | int | float | memoryview

# A private "no complete reply yet" marker: hiredis's default, ``False``, is a
# real RESP3 boolean reply.
NOT_ENOUGH: Final = object()


# -- command names ------------------------------------------------------------------------
# One normaliser for every module that looks a command up by name (retry safety,
# key positions, session and blocking commands, messages), so a name given as
# str, bytes, bytearray or memoryview, in any case, means the same command to
# all of them. It lives here, at the bottom, because encoding errors need it
# too; it needs only the server's list of container commands.


def lower_word(arg: Any) -> str:
    """A name or option word in lower case, from str, bytes, bytearray or memoryview; else ``""``."""
    if isinstance(arg, str):
        return arg.lower()
    if isinstance(arg, bytes | bytearray | memoryview):
        # bytes() copies a strided view's own bytes, in order.
        return bytes(arg).decode(errors="replace").lower()
    return ""  # not a name: no command table knows it


def canonical_name(args: tuple[Any, ...]) -> str:
    """``args``' command as the command tables key it: ``"get"``, ``"config|get"``.

    A container command (``CONFIG``, ``OBJECT``, ``CLIENT``, ...; the
    server's list) is named with its subcommand. The name may be str, bytes,
    bytearray or memoryview, in any case; ``""`` when ``args`` has no name.
    """
    if not args:
        return ""
    name = lower_word(args[0])
    if name in CONTAINERS and len(args) > 1:
        return f"{name}|{lower_word(args[1])}"
    return name


def display_form(name: str) -> str:
    """A ``canonical_name`` as messages show it: ``"CONFIG GET"``; ``""`` is ``"the command"``."""
    return name.replace("|", " ").upper() if name else "the command"


def display_name(args: tuple[Any, ...]) -> str:
    """``args``' command for messages: ``"GET"``, ``"CONFIG GET"``, or ``"the command"``."""
    return display_form(canonical_name(args))


def _reject(args: tuple[Any, ...]) -> None:
    for index, arg in enumerate(args):
        if isinstance(arg, bool) or not isinstance(arg, str | bytes | int | float | memoryview):
            what = "the command name" if index == 0 else f"argument {index}"
            raise DataTypeError(
                f"{what} of {display_name(args)} is {arg!r} of type {type(arg).__name__}; "
                "Redis arguments must be str, bytes, int, float or memoryview "
                "(None and bool are rejected: convert them explicitly)"
            )


# ``hiredis.pack_command`` as it is (its stub types the argument as a 1-tuple; it
# takes any tuple). Only for arguments known to hold no memoryview, since hiredis
# ignores a view's strides: the pipeline's queueing inlines that check (one call
# fewer per queued command); everything else calls ``encode_command``.
pack_args = cast(Callable[[tuple[Any, ...]], bytes], hiredis.pack_command)


def encode_command(args: tuple[Any, ...]) -> bytes:
    """Return the RESP encoding of one command.

    Raises ``TypeError`` naming the offending argument (by position) when one
    is not str, bytes, int, float or memoryview (``hiredis`` rejects ``bool``
    and ``None`` too), and ``ValueError`` for an empty command.
    """
    if not args:
        raise DataValueError("a command needs at least its name, e.g. execute('PING')")
    for arg in args:
        if arg.__class__ is memoryview and not arg.c_contiguous:
            # hiredis reads len(view) bytes from the start pointer, ignoring
            # strides: a strided or reversed view would send other memory.
            args = tuple(bytes(a) if isinstance(a, memoryview) else a for a in args)
            break
    try:
        return pack_args(args)
    except TypeError:
        _reject(args)
        raise


def make_reader(encoding: str | None, errors: str = "strict") -> hiredis.Reader:
    """Build the per-connection reply parser.

    Error replies become typed ``ReplyError`` values (returned, not raised),
    invalid bytes raise ``ProtocolError``, and an incomplete buffer yields
    ``NOT_ENOUGH``. With ``encoding``, bulk strings are decoded, with the
    codec error handler ``errors`` (``"strict"``: bytes that do not decode
    are a ``ProtocolError``; ``"replace"``, ``"backslashreplace"``, ...).
    """
    if encoding is None:
        return hiredis.Reader(
            protocolError=ProtocolError, replyError=reply_error, notEnoughData=NOT_ENOUGH
        )
    return hiredis.Reader(
        protocolError=ProtocolError,
        replyError=reply_error,
        notEnoughData=NOT_ENOUGH,
        encoding=encoding,
        errors=errors,
    )


# -- blocking commands -----------------------------------------------------------------

# Where each blocking command carries its blocking time: the argument index (a
# negative index counts from the end) and its unit.
_BLOCKING: Final[dict[str, tuple[int, float]]] = {
    "blpop": (-1, 1.0),
    "brpop": (-1, 1.0),
    "brpoplpush": (-1, 1.0),
    "blmove": (-1, 1.0),
    "bzpopmin": (-1, 1.0),
    "bzpopmax": (-1, 1.0),
    "blmpop": (1, 1.0),
    "bzmpop": (1, 1.0),
    "wait": (2, 0.001),
    "waitaof": (3, 0.001),
}
# Every command that may block, by canonical name.
BLOCKING_NAMES: Final = frozenset((*_BLOCKING, "xread", "xreadgroup"))
# The first letters of the blocking commands (BLPOP, WAIT, XREAD, ...), as str and
# bytes: a str or bytes name starting otherwise never blocks (the cheap common case).
BLOCKING_INITIALS: Final = frozenset(
    ("b", "B", "w", "W", "x", "X", b"b", b"B", b"w", b"W", b"x", b"X")
)


def may_block(args: tuple[Any, ...]) -> bool:
    """True when ``args`` is a command that may block its connection (BLPOP, WAIT, XREAD, ...)."""
    name = args[0] if args else None
    if (name.__class__ is str or name.__class__ is bytes) and name[:1] not in BLOCKING_INITIALS:
        return False
    return canonical_name(args) in BLOCKING_NAMES


def blocking_timeout(args: tuple[Any, ...], command_timeout: float | None) -> float | None:
    """The reply timeout for ``args``: ``command_timeout``, or more for a blocking command.

    A blocking command (BLPOP, XREAD BLOCK, WAIT, ...) may legitimately wait
    for its own blocking time, so that time is added to ``command_timeout``; a
    blocking time of 0 (block for ever) means no timeout at all.
    """
    first = args[0]
    if command_timeout is None or (
        (first.__class__ is str or first.__class__ is bytes) and first[:1] not in BLOCKING_INITIALS
    ):
        return command_timeout
    name = canonical_name(args)
    block: float | None = None
    try:
        if name in ("xread", "xreadgroup"):
            index = 1
            while index < len(args):
                word = lower_word(args[index])
                if word == "group":
                    index += 3  # the group and consumer names are not options
                    continue
                if word == "block":
                    block = float(args[index + 1]) / 1000
                    break
                if word == "streams":
                    break
                index += 1
        elif name in _BLOCKING:
            position, unit = _BLOCKING[name]
            block = float(args[position]) * unit
    except (IndexError, ValueError, TypeError):
        return command_timeout  # malformed: the server will say so with an error reply
    if block is None:
        return command_timeout
    if block <= 0:
        return None
    return command_timeout + block


# -- commands that change a connection's session ---------------------------------------

_USE_PIPELINE: Final = "client.pipeline(transaction=True) (and its watch())"
_USE_PUBSUB: Final = "client.pubsub()"
# Each command whose effect outlives its reply, by canonical name, with what to
# use instead. On a pooled connection the next borrower would inherit the
# effect: another database, an open MULTI, a subscription, replies switched off.
_SESSION: Final[dict[str, str]] = {
    "select": "the db option (redis://host/2), or a second Client for another database",
    "multi": _USE_PIPELINE,
    "exec": _USE_PIPELINE,
    "discard": _USE_PIPELINE,
    "watch": _USE_PIPELINE,
    "unwatch": _USE_PIPELINE,
    "subscribe": _USE_PUBSUB,
    "psubscribe": _USE_PUBSUB,
    "ssubscribe": _USE_PUBSUB,
    "unsubscribe": _USE_PUBSUB,
    "punsubscribe": _USE_PUBSUB,
    "sunsubscribe": _USE_PUBSUB,
    "monitor": "client.monitor()",
    "readonly": "a Client for the replica's address",
    "readwrite": "a Client for the primary's address",
    "hello": "the protocol, username, password and client_name options",
    "auth": "the username and password options, or credentials in the URL",
    "reset": "a new connection (the pool replaces broken ones by itself)",
    "quit": "client.aclose()",
    "client|reply": "a command whose reply you read (replies cannot be switched off)",
    "client|tracking": "a Connection you open and close yourself",
    "client|caching": "a Connection you open and close yourself",
    "client|no-evict": "a Connection you open and close yourself",
    "client|no-touch": "a Connection you open and close yourself",
    "script|debug": "redis-cli --ldb (the debugger takes over the connection)",
    "sync": "a replica (this turns the connection into a replication stream)",
    "psync": "a replica (this turns the connection into a replication stream)",
    "replconf": "a replica (this is part of the replication handshake)",
}
# Of those, the ones after which replies no longer pair one-to-one with
# commands: not even a connection you borrowed yourself may run them, since
# the next command would read something that is not its reply. By display
# name (``"CLIENT REPLY"``), as ``session_command`` gives it.
UNPAIRED: Final = frozenset(
    display_form(name)
    for name in (
        "monitor",
        "subscribe",
        "psubscribe",
        "ssubscribe",
        "client|reply",
        "script|debug",
        "sync",
        "psync",
    )
)


def session_command(args: tuple[Any, ...]) -> tuple[str, str] | None:
    """``(display name, what to use instead)`` when ``args`` changes its connection's session.

    Such a command must not run on a connection the pool will hand to someone
    else; ``None`` for every other command.
    """
    name = canonical_name(args)
    advice = _SESSION.get(name)
    return None if advice is None else (display_form(name), advice)


def refuse_session_command(args: tuple[Any, ...], why: str) -> None:
    """Raise ``SessionCommandError`` ("NAME <why>; use ...") for a session-changing command."""
    changed = session_command(args)
    if changed is not None:
        name, advice = changed
        raise SessionCommandError(f"{name} {why}; use {advice}")
