"""The exception hierarchy and the reply-error factory handed to hiredis."""

from __future__ import annotations

import pytest

import aiopool
from aiopool import (
    AuthenticationError,
    BusyLoadingError,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    ConnectionLost,
    ExecAbortError,
    MasterDownError,
    NoScriptError,
    OutcomeUnknown,
    OutOfMemoryError,
    PermissionDenied,
    PoolClosed,
    PoolTimeout,
    ProtocolError,
    ReadOnlyError,
    RedisError,
    ReplyError,
)
from aiopool._errors import reply_error


def test_connection_failures_are_builtin_connection_errors() -> None:
    assert issubclass(ConnectionFailure, ConnectionError)
    assert issubclass(ConnectError, ConnectionFailure)


def test_outcome_unknown_covers_written_commands_without_a_reply() -> None:
    # Both ways a written command can end without a reply share one base ...
    assert issubclass(ConnectionLost, OutcomeUnknown)
    assert issubclass(CommandTimeout, OutcomeUnknown)
    assert issubclass(ConnectionLost, ConnectionFailure)
    # ... and neither "nothing was sent" error is one.
    assert not issubclass(ConnectError, OutcomeUnknown)
    assert not issubclass(ConnectionFailure, OutcomeUnknown)
    assert not issubclass(PoolTimeout, OutcomeUnknown)


def test_outcome_unknown_errors_name_their_command() -> None:
    lost = ConnectionLost("lost", "127.0.0.1:1", "INCR")
    assert (lost.command, lost.address) == ("INCR", "127.0.0.1:1")
    assert CommandTimeout("late", "GET").command == "GET"


def test_timeouts_are_builtin_timeout_errors() -> None:
    assert issubclass(CommandTimeout, TimeoutError)
    assert issubclass(PoolTimeout, TimeoutError)


def test_timeouts_are_not_connection_errors() -> None:
    # A PoolTimeout touched no connection; catching ConnectionError must not catch it.
    assert not issubclass(PoolTimeout, ConnectionError)
    assert not issubclass(CommandTimeout, ConnectionError)


@pytest.mark.parametrize(
    "cls",
    [
        AuthenticationError,
        BusyLoadingError,
        CommandTimeout,
        ConnectError,
        ConnectionFailure,
        ConnectionLost,
        NoScriptError,
        OutcomeUnknown,
        PermissionDenied,
        PoolClosed,
        PoolTimeout,
        ProtocolError,
        ReadOnlyError,
        ReplyError,
    ],
)
def test_every_error_is_a_redis_error(cls: type[Exception]) -> None:
    assert issubclass(cls, RedisError)


def test_every_exported_exception_is_a_redis_error() -> None:
    exported = [getattr(aiopool, name) for name in aiopool.__all__]
    exceptions = [obj for obj in exported if isinstance(obj, type) and issubclass(obj, Exception)]
    assert exceptions
    assert all(issubclass(cls, RedisError) for cls in exceptions)


@pytest.mark.parametrize(
    "cls", [AuthenticationError, PermissionDenied, BusyLoadingError, ReadOnlyError, NoScriptError]
)
def test_typed_reply_errors_are_reply_errors(cls: type[Exception]) -> None:
    assert issubclass(cls, ReplyError)


@pytest.mark.parametrize(
    ("message", "cls", "code"),
    [
        (
            "WRONGPASS invalid username-password pair or user is disabled.",
            AuthenticationError,
            "WRONGPASS",
        ),
        ("NOAUTH Authentication required.", AuthenticationError, "NOAUTH"),
        (
            "NOPERM this user has no permissions to run the 'get' command",
            PermissionDenied,
            "NOPERM",
        ),
        ("LOADING Redis is loading the dataset in memory", BusyLoadingError, "LOADING"),
        ("READONLY You can't write against a read only replica.", ReadOnlyError, "READONLY"),
        ("NOSCRIPT No matching script. Please use EVAL.", NoScriptError, "NOSCRIPT"),
        (
            "WRONGTYPE Operation against a key holding the wrong kind of value",
            ReplyError,
            "WRONGTYPE",
        ),
        ("ERR unknown command 'FOO'", ReplyError, "ERR"),
        ("OOM command not allowed when used memory > 'maxmemory'.", OutOfMemoryError, "OOM"),
        (
            "EXECABORT Transaction discarded because of previous errors.",
            ExecAbortError,
            "EXECABORT",
        ),
        (
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            MasterDownError,
            "MASTERDOWN",
        ),
    ],
)
def test_reply_error_maps_code_to_type(message: str, cls: type[ReplyError], code: str) -> None:
    error = reply_error(message)
    assert type(error) is cls
    assert error.code == code
    assert error.message == message
    assert str(error) == message


def test_reply_error_is_returned_not_raised() -> None:
    error = reply_error("ERR boom")
    assert isinstance(error, ReplyError)


def test_reply_error_without_uppercase_code_defaults_to_err() -> None:
    error = reply_error("something went wrong")
    assert type(error) is ReplyError
    assert error.code == "ERR"


def test_reply_error_repr_shows_type_and_message() -> None:
    assert repr(reply_error("NOSCRIPT No matching script")) == (
        "NoScriptError('NOSCRIPT No matching script')"
    )


def test_connection_failure_carries_address() -> None:
    error = ConnectError("could not connect", "127.0.0.1:6379")
    assert error.address == "127.0.0.1:6379"
    assert str(error) == "could not connect"


def test_redirect_replies_carry_slot_and_node_and_survive_a_malformed_text() -> None:
    from aiopool import AskError, MovedError, RedirectError
    from aiopool._errors import reply_error

    moved = reply_error("MOVED 3999 127.0.0.1:6381")
    assert type(moved) is MovedError
    assert (moved.slot, moved.host, moved.port, moved.address) == (
        3999,
        "127.0.0.1",
        6381,
        "127.0.0.1:6381",
    )
    ask = reply_error("ASK 12 [::1]:7002")
    assert type(ask) is AskError
    assert (ask.slot, ask.host, ask.port) == (12, "::1", 7002)
    broken = reply_error("MOVED nonsense")
    assert isinstance(broken, RedirectError)
    assert (broken.slot, broken.host, broken.port) == (-1, "", 0)


def test_redis_py_names_are_the_matching_aiopool_errors() -> None:
    from aiopool import exceptions

    assert exceptions.ResponseError is ReplyError
    assert exceptions.ConnectionError is ConnectionFailure
    assert issubclass(exceptions.TimeoutError, TimeoutError)
    assert issubclass(CommandTimeout, exceptions.TimeoutError)
    assert issubclass(PoolTimeout, exceptions.TimeoutError)
    assert exceptions.NoPermissionError is PermissionDenied
    assert exceptions.InvalidResponse is ProtocolError
    assert exceptions.MaxConnectionsError is PoolTimeout
    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), RedisError), name


def test_data_errors_are_also_the_builtin_a_caller_expects() -> None:
    from aiopool import DataError, DataTypeError, DataValueError

    assert issubclass(DataTypeError, DataError)
    assert issubclass(DataTypeError, TypeError)
    assert issubclass(DataValueError, DataError)
    assert issubclass(DataValueError, ValueError)
    assert not issubclass(DataTypeError, ValueError)
