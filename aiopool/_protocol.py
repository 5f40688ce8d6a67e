"""RESP encoding and decoding; no I/O.

Arguments are packed by ``hiredis.pack_command`` (C); replies are parsed by one
``hiredis.Reader`` per connection.
"""

from __future__ import annotations

from typing import Any, Final

import hiredis

from ._errors import ProtocolError, SessionCommandError, reply_error

__all__ = [
    "BLOCKING_INITIALS",
    "BLOCKING_NAMES",
    "NOT_ENOUGH",
    "UNPAIRED",
    "Arg",
    "blocking_timeout",
    "command_name",
    "encode_command",
    "make_reader",
    "may_block",
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


def _reject(args: tuple[Any, ...]) -> None:
    for index, arg in enumerate(args):
        if isinstance(arg, bool) or not isinstance(arg, str | bytes | int | float | memoryview):
            what = "the command name" if index == 0 else f"argument {index}"
            raise TypeError(
                f"{what} of {command_name(args)} is {arg!r} of type {type(arg).__name__}; "
                "Redis arguments must be str, bytes, int, float or memoryview "
                "(None and bool are rejected: convert them explicitly)"
            )


def command_name(args: tuple[Any, ...]) -> str:
    """The command's name for messages (``"GET"``), or ``"the command"``."""
    if args and isinstance(args[0], str | bytes | memoryview):
        name = args[0] if isinstance(args[0], str) else bytes(args[0]).decode(errors="replace")
        return name.upper()
    return "the command"


def encode_command(args: tuple[Any, ...]) -> bytes:
    """Return the RESP encoding of one command.

    Raises ``TypeError`` naming the offending argument (by position) when one
    is not str, bytes, int, float or memoryview (``hiredis`` rejects ``bool``
    and ``None`` too), and ``ValueError`` for an empty command.
    """
    if not args:
        raise ValueError("a command needs at least its name, e.g. execute('PING')")
    for arg in args:
        if arg.__class__ is memoryview and not arg.c_contiguous:
            # hiredis reads len(view) bytes from the start pointer, ignoring
            # strides: a strided or reversed view would send other memory.
            args = tuple(bytes(a) if isinstance(a, memoryview) else a for a in args)
            break
    try:
        return hiredis.pack_command(args)  # type: ignore[no-any-return]
    except TypeError:
        _reject(args)
        raise


def make_reader(encoding: str | None) -> hiredis.Reader:
    """Build the per-connection reply parser.

    Error replies become typed ``ReplyError`` values (returned, not raised),
    invalid bytes raise ``ProtocolError``, and an incomplete buffer yields
    ``NOT_ENOUGH``. With ``encoding``, bulk strings are decoded.
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
        errors="strict",
    )


# -- blocking commands -----------------------------------------------------------------

# Where each blocking command carries its blocking time: the argument index (a
# negative index counts from the end) and its unit.
_BLOCKING: Final[dict[str, tuple[int, float]]] = {
    "BLPOP": (-1, 1.0),
    "BRPOP": (-1, 1.0),
    "BRPOPLPUSH": (-1, 1.0),
    "BLMOVE": (-1, 1.0),
    "BZPOPMIN": (-1, 1.0),
    "BZPOPMAX": (-1, 1.0),
    "BLMPOP": (1, 1.0),
    "BZMPOP": (1, 1.0),
    "WAIT": (2, 0.001),
    "WAITAOF": (3, 0.001),
}
# Every command that may block, by name.
BLOCKING_NAMES: Final = frozenset((*_BLOCKING, "XREAD", "XREADGROUP"))
# The first letters of the blocking commands (BLPOP, WAIT, XREAD, ...), as str and
# bytes: a command name starting otherwise never blocks (the cheap common case).
BLOCKING_INITIALS: Final = frozenset(
    ("b", "B", "w", "W", "x", "X", b"b", b"B", b"w", b"W", b"x", b"X")
)


def may_block(args: tuple[Any, ...]) -> bool:
    """True when ``args`` is a command that may block its connection (BLPOP, WAIT, XREAD, ...)."""
    name = args[0] if args else None
    if name.__class__ is memoryview:
        name = bytes(name)
    if not isinstance(name, str | bytes) or name[:1] not in BLOCKING_INITIALS:
        return False
    return command_name(args) in BLOCKING_NAMES


def blocking_timeout(args: tuple[Any, ...], command_timeout: float | None) -> float | None:
    """The reply timeout for ``args``: ``command_timeout``, or more for a blocking command.

    A blocking command (BLPOP, XREAD BLOCK, WAIT, ...) may legitimately wait
    for its own blocking time, so that time is added to ``command_timeout``; a
    blocking time of 0 (block for ever) means no timeout at all.
    """
    name = args[0]
    if name.__class__ is memoryview:
        name = bytes(name)
    if (
        command_timeout is None
        or not isinstance(name, str | bytes)
        or name[:1] not in BLOCKING_INITIALS
    ):
        return command_timeout
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    upper = name.upper()
    block: float | None = None
    try:
        if upper in ("XREAD", "XREADGROUP"):
            index = 1
            while index < len(args):
                arg = args[index]
                word = arg.upper() if isinstance(arg, str | bytes) else None
                if word in ("GROUP", b"GROUP"):
                    index += 3  # the group and consumer names are not options
                    continue
                if word in ("BLOCK", b"BLOCK"):
                    block = float(args[index + 1]) / 1000
                    break
                if word in ("STREAMS", b"STREAMS"):
                    break
                index += 1
        elif upper in _BLOCKING:
            position, unit = _BLOCKING[upper]
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
# Each command whose effect outlives its reply, with what to use instead. On a
# pooled connection the next borrower would inherit the effect: another
# database, an open MULTI, a subscription, replies switched off.
_SESSION: Final[dict[str, str]] = {
    "SELECT": "the db option (redis://host/2), or a second Client for another database",
    "MULTI": _USE_PIPELINE,
    "EXEC": _USE_PIPELINE,
    "DISCARD": _USE_PIPELINE,
    "WATCH": _USE_PIPELINE,
    "UNWATCH": _USE_PIPELINE,
    "SUBSCRIBE": _USE_PUBSUB,
    "PSUBSCRIBE": _USE_PUBSUB,
    "SSUBSCRIBE": _USE_PUBSUB,
    "UNSUBSCRIBE": _USE_PUBSUB,
    "PUNSUBSCRIBE": _USE_PUBSUB,
    "SUNSUBSCRIBE": _USE_PUBSUB,
    "MONITOR": "redis-cli monitor, or a Connection you open and close yourself",
    "READONLY": "a Client for the replica's address",
    "READWRITE": "a Client for the primary's address",
    "HELLO": "the username, password and client_name options (aiopool speaks RESP2)",
    "AUTH": "the username and password options, or credentials in the URL",
    "RESET": "a new connection (the pool replaces broken ones by itself)",
    "QUIT": "client.aclose()",
    "CLIENT REPLY": "a command whose reply you read (replies cannot be switched off)",
    "CLIENT TRACKING": "a Connection you open and close yourself",
    "CLIENT CACHING": "a Connection you open and close yourself",
    "CLIENT NO-EVICT": "a Connection you open and close yourself",
    "CLIENT NO-TOUCH": "a Connection you open and close yourself",
    "SCRIPT DEBUG": "redis-cli --ldb (the debugger takes over the connection)",
    "SYNC": "a replica (this turns the connection into a replication stream)",
    "PSYNC": "a replica (this turns the connection into a replication stream)",
    "REPLCONF": "a replica (this is part of the replication handshake)",
}
# Of those, the ones after which replies no longer pair one-to-one with
# commands: not even a connection you borrowed yourself may run them, since
# the next command would read something that is not its reply.
UNPAIRED: Final = frozenset(
    {
        "MONITOR",
        "SUBSCRIBE",
        "PSUBSCRIBE",
        "SSUBSCRIBE",
        "CLIENT REPLY",
        "SCRIPT DEBUG",
        "SYNC",
        "PSYNC",
    }
)


def session_command(args: tuple[Any, ...]) -> tuple[str, str] | None:
    """``(name, what to use instead)`` when ``args`` changes its connection's session.

    Such a command must not run on a connection the pool will hand to someone
    else; ``None`` for every other command.
    """
    name = command_name(args)
    if name in ("CLIENT", "SCRIPT") and len(args) > 1:
        name = f"{name} {command_name(args[1:])}"
    advice = _SESSION.get(name)
    return None if advice is None else (name, advice)


def refuse_session_command(args: tuple[Any, ...], why: str) -> None:
    """Raise ``SessionCommandError`` ("NAME <why>; use ...") for a session-changing command."""
    changed = session_command(args)
    if changed is not None:
        name, advice = changed
        raise SessionCommandError(f"{name} {why}; use {advice}")
