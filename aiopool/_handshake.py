"""What a connection's failures mean, as exceptions a caller can act on; no I/O.

The handshake: ``Connection.open()`` writes ``steps(options)`` in one go,
reads every reply, and turns the first error reply into the exception
``refusal()`` names (the option to fix, never the password). After it:
``translate()`` turns a low-level failure of a command (a timeout, a reset,
bytes that are not RESP) into the typed error the caller sees, once, at the
connection.
"""

from __future__ import annotations

from typing import Any, Final

from ._config import ConnectionOptions
from ._errors import (
    AuthenticationError,
    BusyLoadingError,
    CommandTimeout,
    ConnectError,
    ConnectionLost,
    ProtocolError,
    RedisError,
    ReplyError,
)

__all__ = [
    "PARSER_CRASHES",
    "is_maxclients",
    "maxclients_error",
    "refusal",
    "steps",
    "translate",
    "unparsable",
]

# hiredis itself chokes on some replies (a RESP3 map with a list key; an array
# header of billions of elements): a ProtocolError like any other bad reply.
PARSER_CRASHES: Final = (TypeError, ValueError, MemoryError, OverflowError)


def unparsable(exc: Exception) -> ProtocolError:
    """The ``ProtocolError`` for a reply hiredis raised ``exc`` on (one of ``PARSER_CRASHES``)."""
    return ProtocolError(f"a reply could not be parsed ({type(exc).__name__}: {exc})")


def steps(
    options: ConnectionOptions, credentials: tuple[str | None, str] | None = None
) -> list[tuple[Any, ...]]:
    """The handshake's commands, all written in one go.

    ``credentials`` (from a ``credential_provider``) replace the options'.

    Protocol 2: AUTH, SELECT, CLIENT SETNAME, READONLY as set, then PING.
    Protocol 3: ``HELLO 3`` with AUTH and SETNAME folded in, SELECT,
    READONLY and ``CLIENT TRACKING ON`` as set, then PING.
    """
    found: list[tuple[Any, ...]] = []
    username, password = credentials or (options.username, options.password)
    if options.protocol == 3:
        hello: tuple[Any, ...] = ("HELLO", 3)
        if password is not None:
            hello += ("AUTH", username or "default", password)
        if options.client_name:
            hello += ("SETNAME", options.client_name)
        found.append(hello)
    elif password is not None:
        if username:
            found.append(("AUTH", username, password))
        else:
            found.append(("AUTH", password))
    if options.db:
        found.append(("SELECT", options.db))
    if options.client_name and options.protocol == 2:
        found.append(("CLIENT", "SETNAME", options.client_name))
    if options.readonly:
        found.append(("READONLY",))
    if options.tracking:
        found.append(("CLIENT", "TRACKING", "ON"))
    # Always a PING, in the same write: a socket accepted by a proxy, a
    # backlog or a frozen server is not a Redis connection until something
    # answers, and AUTH, HELLO, SELECT and CLIENT SETNAME are allowed while
    # the server loads its data, PING is not (its LOADING is retried).
    found.append(("PING",))
    return found


def is_maxclients(reply: ReplyError) -> bool:
    """The server's ``maxclients`` refusal, sent instead of any reply before it hangs up."""
    return reply.message.startswith("ERR max number of clients reached")


def maxclients_error(address: str, reply: ReplyError) -> ConnectError:
    """The ``ConnectError`` for a ``maxclients`` refusal: no command was run."""
    return ConnectError(
        f"{address} refused the connection: {reply.message} (the server's maxclients "
        "limit; lower max_size across your processes or raise maxclients); "
        "no command was run",
        address,
    )


def refusal(
    address: str, options: ConnectionOptions, step: tuple[Any, ...], reply: ReplyError
) -> RedisError:
    """The exception for an error reply to handshake ``step``, naming the option to fix."""
    name = step[0] if step[0] != "CLIENT" else f"CLIENT {step[1]}"
    if isinstance(reply, BusyLoadingError):
        return reply
    if is_maxclients(reply):
        return maxclients_error(address, reply)
    if name == "PING":
        if isinstance(reply, AuthenticationError):
            return AuthenticationError(
                f"{address} requires a password: {reply.message} (give the password "
                "option, or credentials in the URL: redis://user:password@host)",
                reply.code,
            )
        return type(reply)(f"{address} refused PING: {reply.message}", reply.code)
    if name == "HELLO" and not isinstance(reply, AuthenticationError):
        return type(reply)(
            f"{address} refused HELLO 3: {reply.message} (the server does not speak "
            "RESP3, which needs Redis 6 or later; use protocol=2)",
            reply.code,
        )
    provider = options.credential_provider
    if provider is not None and (
        name in ("AUTH", "HELLO") or isinstance(reply, AuthenticationError)
    ):
        return AuthenticationError(
            f"{address} refused the credentials of credential_provider "
            f"{type(provider).__qualname__}: {reply.message}",
            reply.code,
        )
    if name in ("AUTH", "HELLO") or isinstance(reply, AuthenticationError):
        user = f"user {options.username!r}" if options.username else "the default user"
        if options.password is None:
            action = f"requires a password ({name})"
        else:
            action = f"refused AUTH for {user}"
        return AuthenticationError(
            f"{address} {action}: {reply.message} "
            "(check the username and password options or the URL's credentials)",
            reply.code,
        )
    if name == "CLIENT TRACKING":
        return type(reply)(
            f"{address} refused CLIENT TRACKING ON: {reply.message} (the client-side "
            "cache needs it; turn the cache option off for this server)",
            reply.code,
        )
    if name == "READONLY":
        return type(reply)(
            f"{address} refused READONLY: {reply.message} (the readonly option is "
            "for cluster replicas; turn it off for this server)",
            reply.code,
        )
    option = "db" if name == "SELECT" else "client_name"  # CLIENT SETNAME
    shown = options.db if name == "SELECT" else options.client_name
    return type(reply)(
        f"{address} refused {name} {shown}: {reply.message} (check the {option} option)",
        reply.code,
    )


def translate(
    exc: BaseException, address: str, name: str, timeout: object, encoding: str
) -> BaseException:
    """The typed error for ``exc``, a failure of command ``name`` on an aborted connection."""
    if isinstance(exc, TimeoutError) and not (isinstance(exc, OSError) and exc.errno):
        return CommandTimeout(
            f"no reply from {address} to {name} within {timeout}s (command_timeout); "
            "the connection was closed and the command may or may not have run",
            name,
        )
    if isinstance(exc, ProtocolError):
        return ProtocolError(
            f"{address} sent an invalid reply to {name}: {exc}; the connection was closed"
        )
    if isinstance(exc, UnicodeDecodeError):
        return ProtocolError(
            f"the reply from {address} to {name} is not valid {encoding} "
            f"({exc.reason}); use decode_responses=False for binary values. "
            "The connection was closed"
        )
    if isinstance(exc, OSError | EOFError):
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return ConnectionLost(
            f"connection to {address} lost during {name}: {reason}; "
            "the command may or may not have run",
            address,
            name,
        )
    return exc
