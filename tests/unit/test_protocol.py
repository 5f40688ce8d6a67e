"""RESP encoding (``encode_command``) and the hiredis reader wrapper (``make_reader``)."""

from __future__ import annotations

from typing import Any

import hiredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiopool import AuthenticationError, ProtocolError, ReplyError
from aiopool._protocol import NOT_ENOUGH, blocking_timeout, encode_command, make_reader, may_block


def resp(*items: bytes) -> bytes:
    """The RESP array of bulk strings a command should encode to."""
    out = [b"*%d\r\n" % len(items)]
    for item in items:
        out.append(b"$%d\r\n%s\r\n" % (len(item), item))
    return b"".join(out)


# -- encoding ---------------------------------------------------------------------


def test_encodes_str_as_utf8_bulk_string() -> None:
    assert encode_command(("SET", "clé", "välue")) == resp(b"SET", "clé".encode(), "välue".encode())


def test_encodes_bytes_verbatim() -> None:
    assert encode_command(("SET", b"k", b"\x00\xff\r\n")) == resp(b"SET", b"k", b"\x00\xff\r\n")


def test_encodes_int_as_decimal_text() -> None:
    assert encode_command(("INCRBY", "k", -42)) == resp(b"INCRBY", b"k", b"-42")
    assert encode_command(("SET", "k", 2**70)) == resp(b"SET", b"k", str(2**70).encode())


def test_encodes_float_as_its_repr() -> None:
    assert encode_command(("INCRBYFLOAT", "k", 1.5)) == resp(b"INCRBYFLOAT", b"k", b"1.5")
    assert encode_command(("INCRBYFLOAT", "k", 0.1)) == resp(b"INCRBYFLOAT", b"k", b"0.1")


def test_encodes_memoryview_as_its_bytes() -> None:
    buffer = bytearray(b"abcdef")
    assert encode_command(("SET", "k", memoryview(buffer)[1:4])) == resp(b"SET", b"k", b"bcd")


@pytest.mark.parametrize(
    ("bad", "type_name"),
    [
        (None, "NoneType"),
        (True, "bool"),
        (False, "bool"),
        ([1, 2], "list"),
        ({"a": 1}, "dict"),
        (object(), "object"),
    ],
    ids=["none", "true", "false", "list", "dict", "object"],
)
def test_rejects_unsupported_argument_naming_position_command_and_type(
    bad: object, type_name: str
) -> None:
    with pytest.raises(TypeError) as info:
        encode_command(("set", "key", bad))
    message = str(info.value)
    assert "argument 2" in message
    assert "SET" in message
    assert type_name in message
    assert "str, bytes, int, float or memoryview" in message


def test_rejects_bool_rather_than_sending_one_or_zero() -> None:
    with pytest.raises(TypeError, match="bool"):
        encode_command(("EXPIRE", "k", True))


def test_rejection_names_command_given_as_bytes() -> None:
    with pytest.raises(TypeError, match=r"argument 1 of GET"):
        encode_command((b"get", None))


def test_rejects_unsupported_command_name() -> None:
    with pytest.raises(TypeError, match="the command name"):
        encode_command((None, "k"))


def test_empty_command_raises_value_error_asking_for_a_name() -> None:
    with pytest.raises(ValueError, match="at least its name"):
        encode_command(())


# -- round trip property ------------------------------------------------------------

_args = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.binary(max_size=40),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _expected_bytes(arg: Any) -> bytes:
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, bytes):
        return arg
    return repr(arg).encode()


@given(name=st.sampled_from(["SET", "GET", "HSET", "XADD"]), args=st.lists(_args, max_size=8))
def test_encoded_command_parses_back_to_the_same_bytes(name: str, args: list[Any]) -> None:
    command = (name, *args)
    reader = hiredis.Reader()
    reader.feed(encode_command(command))
    parsed = reader.gets()
    assert parsed == [_expected_bytes(arg) for arg in command]
    assert reader.gets() is False  # the whole encoding was consumed: nothing left over


# -- reader -----------------------------------------------------------------------------


def test_reader_returns_error_reply_as_typed_value_not_raised() -> None:
    reader = make_reader(None)
    reader.feed(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
    reply = reader.gets()
    assert type(reply) is ReplyError
    assert reply.code == "WRONGTYPE"
    assert "wrong kind of value" in reply.message


def test_reader_maps_error_codes_to_subclasses() -> None:
    reader = make_reader(None)
    reader.feed(b"-NOAUTH Authentication required.\r\n")
    assert isinstance(reader.gets(), AuthenticationError)


def test_reader_keeps_nested_errors_as_values_in_place() -> None:
    reader = make_reader(None)
    reader.feed(b"*3\r\n+OK\r\n-ERR value is not an integer\r\n:5\r\n")
    ok, error, number = reader.gets()
    assert ok == b"OK"
    assert isinstance(error, ReplyError)
    assert error.code == "ERR"
    assert number == 5


def test_reader_raises_protocol_error_on_garbage() -> None:
    reader = make_reader(None)
    reader.feed(b"!!not resp\r\n")
    with pytest.raises(ProtocolError):
        reader.gets()


def test_reader_signals_incomplete_reply_with_private_sentinel() -> None:
    reader = make_reader(None)
    assert reader.gets() is NOT_ENOUGH
    reader.feed(b"$5\r\nhel")
    assert reader.gets() is NOT_ENOUGH
    reader.feed(b"lo\r\n")
    assert reader.gets() == b"hello"


def test_reader_sentinel_is_distinct_from_a_resp3_false_reply() -> None:
    reader = make_reader(None)
    reader.feed(b"#f\r\n")
    reply = reader.gets()
    assert reply is False
    assert reply is not NOT_ENOUGH
    assert NOT_ENOUGH is not False
    assert reader.gets() is NOT_ENOUGH


def test_reader_without_encoding_returns_bytes() -> None:
    reader = make_reader(None)
    reader.feed(b"$3\r\nabc\r\n")
    assert reader.gets() == b"abc"


def test_reader_with_encoding_decodes_bulk_strings() -> None:
    reader = make_reader("utf-8")
    reader.feed(b"$3\r\n\xc3\xa9t\r\n")
    assert reader.gets() == "ét"


def test_reader_with_encoding_is_strict_about_invalid_bytes() -> None:
    reader = make_reader("utf-8")
    reader.feed(b"$2\r\n\xff\xfe\r\n")
    with pytest.raises(UnicodeDecodeError):
        reader.gets()


@pytest.mark.parametrize(
    "name", ["BLPOP", "blpop", b"BLPOP", memoryview(b"BLPOP"), memoryview(b"blpop")]
)
def test_a_blocking_command_is_known_by_any_type_of_name(name: object) -> None:
    args = (name, "queue", 2)
    assert may_block(args)
    assert blocking_timeout(args, 10.0) == 12.0


@pytest.mark.parametrize("args", [("GET", "k"), (b"BITCOUNT", "k"), (memoryview(b"XADD"), "s"), ()])
def test_other_commands_do_not_block(args: tuple[object, ...]) -> None:
    assert not may_block(args)
    if args:
        assert blocking_timeout(args, 10.0) == 10.0
