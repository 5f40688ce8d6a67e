"""Property-based tests of the RESP encoder and of the hiredis reader aiopool builds.

Extends ``test_protocol.py`` (which checks examples, and that hiredis parses an
encoded command back): here requests are checked by an independent strict
parser written below, and replies by an independent model of exactly what
hiredis accepts, so that for *any* bytes the test knows whether the reader
must return a value (and which), wait for more, or raise ``ProtocolError``.

What hiredis does, precisely (the model test asserts every RESP2 rule; RESP3
input is checked only for the exceptions it may raise):

* The type byte is checked as soon as it arrives: one of ``+ - : $ *`` (RESP2)
  or ``_ , # ( = % ~ > |`` (RESP3, parsed although aiopool speaks RESP2);
  anything else is a ``ProtocolError`` at once.
* A header or simple line is judged only once its ``\\r\\n`` arrived: until
  then the reader says "not enough", even when the bytes so far can no longer
  become valid (``:1\\n``). Lines of ``+``/``-`` may not contain a lone CR or
  LF; integers and lengths are C ``long long`` in canonical decimal (no ``+``,
  no leading zero, no ``-0``); ``$-1``/``*-1`` are nil, other negative lengths
  are errors; an array may declare at most 2**32 - 1 elements.
* A bulk payload is taken by its length; the two bytes after it are skipped
  unchecked (``$3\\r\\nabcXY`` is ``b"abc"``). This is the one way hiredis returns
  a value for bytes that are valid in neither RESP2 nor RESP3.
* Error replies become ``ReplyError`` values (typed by their code), decoded
  as UTF-8 with replacement; with an encoding, ``+`` and ``$`` strings are
  decoded strictly and a failure raises ``UnicodeDecodeError`` once the whole
  reply has arrived (the connection turns that into ``ProtocolError``).
* Two inputs raise something else (reported by ``tests/integration/test_properties.py``):
  an array header of up to 2**32 - 1 elements makes hiredis allocate the list
  up front (``MemoryError`` where that fails), and a RESP3 map with an
  unhashable key raises ``TypeError``.
"""

from __future__ import annotations

import itertools
import random
import re
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aiopool import (
    AskError,
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    CrossSlotError,
    MovedError,
    NoScriptError,
    PermissionDenied,
    ProtocolError,
    ReadOnlyError,
    ReplyError,
    TryAgainError,
)
from aiopool._protocol import NOT_ENOUGH, encode_command, make_reader

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
CRLF: Final = b"\r\n"

# Pure CPU tests: generous example counts, still well under a second each.
fast = settings(max_examples=300, deadline=None, database=None)

# Bytes that matter to a RESP framer, and a command smuggled inside an argument.
SPECIAL: Final = [
    b"",
    b"\r\n",
    b"\r",
    b"\n",
    b"\x00",
    b"\x00\r\n\x00",
    b"*1\r\n$4\r\nPING\r\n",
    b"\r\n*1\r\n$8\r\nFLUSHALL\r\n",
    b"\r\nFLUSHALL\r\n",
    b"$-1\r\n",
    b"-ERR x\r\n",
    "é€😀".encode(),
    b"\xff\xfe",
]

payloads = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(SPECIAL),
    st.lists(st.sampled_from([*SPECIAL, b"a"]), max_size=6).map(b"".join),
    st.text(max_size=20).map(str.encode),
)


# -- requests: encode_command read back by an independent strict parser ---------------

_COUNT: Final = re.compile(rb"\*(0|[1-9][0-9]*)\r\n")
_LENGTH: Final = re.compile(rb"\$(0|[1-9][0-9]*)\r\n")


def parse_request(data: bytes) -> list[bytes]:
    """``data`` as exactly one RESP request (an array of bulk strings), checked strictly.

    Every length must be canonical decimal, every payload followed by CRLF, and
    nothing may follow the last argument: so an argument can never end the
    request early and start another one.
    """
    count = _COUNT.match(data)
    assert count is not None, f"not a RESP array header: {data[:20]!r}"
    pos = count.end()
    args = []
    for index in range(int(count.group(1))):
        length = _LENGTH.match(data, pos)
        assert length is not None, f"argument {index}: no bulk header at {data[pos : pos + 20]!r}"
        start = length.end()
        end = start + int(length.group(1))
        assert data[end : end + 2] == CRLF, f"argument {index} is not followed by CRLF"
        args.append(data[start:end])
        pos = end + 2
    assert pos == len(data), f"{len(data) - pos} bytes after the request: {data[pos:][:40]!r}"
    return args


def as_redis_sees_it(arg: Any) -> bytes:
    """The bytes Redis receives for one argument: str as UTF-8, numbers as their repr."""
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, bytes | memoryview):
        return bytes(arg)
    assert isinstance(arg, int | float)
    return repr(arg).encode()  # int: decimal; float: shortest repr ("0.1", "inf", "nan", "-0.0")


contiguous_views = st.one_of(
    payloads.map(lambda b: memoryview(b)),
    st.tuples(payloads, st.integers(0, 8), st.integers(0, 8)).map(
        lambda t: memoryview(bytearray(t[0]))[t[1] : len(t[0]) - t[2]]
    ),
)
arguments = st.one_of(
    payloads,
    st.text(max_size=30),
    st.sampled_from(SPECIAL).map(lambda b: b.decode("utf-8", "replace")),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(),  # nan, inf, -0.0 and subnormals included
    contiguous_views,
)


@fast
@given(command=st.lists(arguments, min_size=1, max_size=10))
def test_any_arguments_encode_to_exactly_one_request_carrying_them_byte_exact(
    command: list[Any],
) -> None:
    encoded = encode_command(tuple(command))
    assert parse_request(encoded) == [as_redis_sees_it(arg) for arg in command]


TEN_MB: Final = 10 * 1024 * 1024


def ten_megabytes() -> bytes:
    """10 MB of random bytes laced with CRLF, NUL and a smuggled command."""
    block = b"\r\n*1\r\n$8\r\nFLUSHALL\r\n\x00" * 512 + random.Random(4).randbytes(64 * 1024)
    return (block * (TEN_MB // len(block) + 1))[:TEN_MB]


def test_a_10mb_argument_full_of_crlf_and_nul_encodes_byte_exact() -> None:
    value = ten_megabytes()
    assert parse_request(encode_command(("SET", "big", value))) == [b"SET", b"big", value]


@pytest.mark.parametrize("step", [2, -1], ids=["every-other-byte", "reversed"])
def test_strided_memoryview_is_sent_as_the_bytes_it_views(step: int) -> None:
    # The view covers the first half of a larger buffer, so that even the
    # misbehaving encoder reads bytes that belong to the buffer.
    buffer = b"0123456789abcdef"
    view = memoryview(buffer)[:8][::step]
    assert parse_request(encode_command(("SET", "k", view))) == [b"SET", b"k", bytes(view)]


def test_str_argument_with_a_lone_surrogate_is_refused_with_unicode_encode_error() -> None:
    # Not UTF-8 encodable: refused (a ValueError) before any byte could be sent.
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        encode_command(("SET", "k", "half \ud800 a pair"))


# -- replies: a generated RESP2 reply, its encoding and its expected value --------------

Node = tuple[str, Any]

line_payloads = payloads.map(lambda p: p.replace(b"\r", b"").replace(b"\n", b""))
ERROR_CODES: Final = [
    b"ERR",
    b"WRONGTYPE",
    b"NOAUTH",
    b"WRONGPASS",
    b"NOPERM",
    b"LOADING",
    b"READONLY",
    b"NOSCRIPT",
    b"MOVED",
    b"MOVED 3999 127.0.0.1:6381",
    b"ASK 12 127.0.0.1:7002",
    b"TRYAGAIN",
    b"CLUSTERDOWN",
    b"CROSSSLOT",
    b"lowercase",
    b"",
]
error_messages = st.builds(
    lambda code, rest: code + rest,
    st.sampled_from(ERROR_CODES),
    st.one_of(st.just(b""), line_payloads.map(lambda p: b" " + p)),
)
leaves: st.SearchStrategy[Node] = st.one_of(
    line_payloads.map(lambda p: ("simple", p)),
    error_messages.map(lambda p: ("error", p)),
    st.integers(INT64_MIN, INT64_MAX).map(lambda n: ("int", n)),
    st.one_of(payloads, st.none()).map(lambda p: ("bulk", p)),
)
replies: st.SearchStrategy[Node] = st.recursive(
    leaves,
    lambda children: st.one_of(st.lists(children, max_size=5), st.none()).map(
        lambda items: ("array", items)
    ),
    max_leaves=25,
)


def encode_reply(node: Node) -> bytes:
    kind, value = node
    if kind == "simple":
        return b"+%s\r\n" % value
    if kind == "error":
        return b"-%s\r\n" % value
    if kind == "int":
        return b":%d\r\n" % value
    if kind == "bulk":
        return b"$-1\r\n" if value is None else b"$%d\r\n%s\r\n" % (len(value), value)
    assert kind == "array"
    if value is None:
        return b"*-1\r\n"
    return b"*%d\r\n" % len(value) + b"".join(encode_reply(child) for child in value)


# Which ReplyError subclass each error code becomes (the README's promise).
TYPED_ERRORS: Final[dict[str, type[ReplyError]]] = {
    "WRONGPASS": AuthenticationError,
    "NOAUTH": AuthenticationError,
    "NOPERM": PermissionDenied,
    "LOADING": BusyLoadingError,
    "READONLY": ReadOnlyError,
    "NOSCRIPT": NoScriptError,
    "MOVED": MovedError,
    "ASK": AskError,
    "TRYAGAIN": TryAgainError,
    "CLUSTERDOWN": ClusterDownError,
    "CROSSSLOT": CrossSlotError,
}


def expected_error(raw: bytes) -> tuple[Any, ...]:
    message = raw.decode("utf-8", "replace")
    head = message.split(" ", 1)[0]
    code = head if head.isupper() else "ERR"
    return ("error", TYPED_ERRORS.get(head, ReplyError).__name__, message, code)


def expected_value(node: Node, encoding: str | None) -> Any:
    """The normalized value the reader must return (``UnicodeDecodeError`` if it must raise)."""
    kind, value = node
    if kind == "error":
        return expected_error(value)
    if kind == "int":
        return ("int", value)
    if value is None:
        return ("NoneType", None)
    if kind in ("simple", "bulk"):
        return ("bytes", value) if encoding is None else ("str", value.decode(encoding))
    return ("list", tuple(expected_value(child, encoding) for child in value))


def normalize(value: Any) -> Any:
    """A reply as nested tuples naming every type (so 1, True and b"1" all differ)."""
    if isinstance(value, list):
        return ("list", tuple(normalize(item) for item in value))
    if isinstance(value, ReplyError):
        return ("error", type(value).__name__, value.message, value.code)
    return (type(value).__name__, value)


# -- the model of hiredis ------------------------------------------------------------


class _Incomplete(Exception):
    pass


class _Invalid(Exception):
    pass


class _Unmodelled(Exception):
    """A RESP3 type byte: hiredis parses it, the model does not follow."""


RESP3_TYPES: Final = frozenset(b"_,#(=%~>|")
MAX_ARRAY: Final = 2**32 - 1  # hiredis's default maxelements
_DECIMAL: Final = re.compile(rb"-?[1-9][0-9]*|0")
# An aggregate header of 100000+ elements: hiredis allocates the list when it
# reads the header, so such inputs are not fed to it (see the integration tests).
HUGE_HEADER: Final = re.compile(rb"[*~%>|][0-9]{6,}")


def string2ll(text: bytes) -> int | None:
    if _DECIMAL.fullmatch(text) is None:
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None


class HiredisModel:
    """Parses replies from ``data`` by the rules in the module docstring."""

    def __init__(self, data: bytes, encoding: str | None) -> None:
        self.data = data
        self.encoding = encoding
        self.pos = 0
        self.undecodable = False

    def _line(self) -> bytes:
        end = self.data.find(CRLF, self.pos)
        if end < 0:
            raise _Incomplete
        line = self.data[self.pos : end]
        self.pos = end + 2
        return line

    def _string(self, raw: bytes) -> Any:
        if self.encoding is None:
            return ("bytes", raw)
        try:
            return ("str", raw.decode(self.encoding))
        except UnicodeDecodeError:
            self.undecodable = True  # raised once the whole reply is in
            return ("bytes", raw)

    def reply(self) -> Any:
        if self.pos >= len(self.data):
            raise _Incomplete
        kind = self.data[self.pos]
        self.pos += 1
        if kind in b"+-":
            line = self._line()
            if b"\r" in line or b"\n" in line:
                raise _Invalid
            return expected_error(line) if kind == ord("-") else self._string(line)
        if kind == ord(":"):
            number = string2ll(self._line())
            if number is None:
                raise _Invalid
            return ("int", number)
        if kind == ord("$"):
            length = string2ll(self._line())
            if length is None or length < -1:
                raise _Invalid
            if length == -1:
                return ("NoneType", None)
            end = self.pos + length
            if end + 2 > len(self.data):
                raise _Incomplete
            payload = self.data[self.pos : end]
            self.pos = end + 2  # the two bytes after the payload are not checked
            return self._string(payload)
        if kind == ord("*"):
            count = string2ll(self._line())
            if count is None or count < -1 or count > MAX_ARRAY:
                raise _Invalid
            if count == -1:
                return ("NoneType", None)
            return ("list", tuple(self.reply() for _ in range(count)))
        if kind in RESP3_TYPES:
            raise _Unmodelled
        raise _Invalid


Outcome = tuple[Any, ...]


def model_outcomes(data: bytes, encoding: str | None, limit: int = 4) -> list[Outcome]:
    """The successive replies in ``data``, ending with how parsing stops."""
    model = HiredisModel(data, encoding)
    outcomes: list[Outcome] = []
    while len(outcomes) < limit:
        model.undecodable = False
        try:
            value = model.reply()
        except _Incomplete:
            return [*outcomes, ("incomplete",)]
        except _Invalid:
            return [*outcomes, ("protocol",)]
        except _Unmodelled:
            return [*outcomes, ("unmodelled",)]
        if model.undecodable:
            return [*outcomes, ("unicode",)]
        outcomes.append(("value", value))
    return outcomes


def reader_outcomes(chunks: list[bytes], encoding: str | None, limit: int = 4) -> list[Outcome]:
    """What ``make_reader(encoding)`` returns for ``chunks`` fed one by one.

    Only ``ProtocolError``, ``UnicodeDecodeError`` and (noted, see below)
    ``TypeError`` are caught: any other exception fails the test.
    """
    reader = make_reader(encoding)
    outcomes: list[Outcome] = []
    for chunk in chunks:
        reader.feed(chunk)
        while len(outcomes) < limit:
            try:
                value = reader.gets()
            except ProtocolError:
                return [*outcomes, ("protocol",)]
            except UnicodeDecodeError:
                return [*outcomes, ("unicode",)]
            except TypeError:
                return [*outcomes, ("type-error",)]
            if value is NOT_ENOUGH:
                break
            outcomes.append(("value", normalize(value)))
        if len(outcomes) == limit:
            return outcomes
    return [*outcomes, ("incomplete",)]


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


# -- valid replies ---------------------------------------------------------------------


@fast
@given(
    sequence=st.lists(replies, min_size=1, max_size=4),
    encoding=st.sampled_from([None, "utf-8"]),
    data=st.data(),
)
def test_any_reply_sequence_reads_the_same_whole_or_in_any_chunks(
    sequence: list[Node], encoding: str | None, data: st.DataObject
) -> None:
    encoded = [encode_reply(node) for node in sequence]
    stream = b"".join(encoded)
    ends = [sum(len(part) for part in encoded[: i + 1]) for i in range(len(encoded))]
    expected: list[Any] = []
    for node in sequence:
        try:
            expected.append(expected_value(node, encoding))
        except UnicodeDecodeError:
            break
    undecodable = len(expected) < len(sequence)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8), label="cuts")

    for chunks in ([stream], split(stream, cuts)):
        reader = make_reader(encoding)
        values: list[Any] = []
        fed = 0
        raised = False
        for chunk in chunks:
            reader.feed(chunk)
            fed += len(chunk)
            try:
                while (value := reader.gets()) is not NOT_ENOUGH:
                    values.append(normalize(value))
            except UnicodeDecodeError:
                raised = True
                assert undecodable
                # Raised by the chunk that completed the undecodable reply.
                assert fed - len(chunk) < ends[len(values)] <= fed
                break
            # A reply is returned exactly when its last byte has arrived.
            assert len(values) == sum(end <= fed for end in ends), (fed, ends, values)
        assert values == expected
        assert raised is undecodable
        if not undecodable:
            assert not reader.has_data()
            assert reader.gets() is NOT_ENOUGH

    # The model the garbage test relies on agrees on every valid stream.
    predicted = model_outcomes(stream, encoding, limit=len(sequence))
    if undecodable:
        assert predicted == [*(("value", v) for v in expected), ("unicode",)]
    else:
        assert predicted == [("value", v) for v in expected]


@fast
@given(node=replies, encoding=st.sampled_from([None, "utf-8"]))
def test_every_proper_prefix_of_a_valid_reply_is_incomplete_never_a_value_or_error(
    node: Node, encoding: str | None
) -> None:
    data = encode_reply(node)
    for length in range(len(data)):
        reader = make_reader(encoding)
        reader.feed(data[:length])
        assert reader.gets() is NOT_ENOUGH, data[:length]


@fast
@given(raw=error_messages, nested=st.booleans(), encoding=st.sampled_from([None, "utf-8"]))
def test_error_replies_are_returned_as_reply_error_values_typed_by_code(
    raw: bytes, nested: bool, encoding: str | None
) -> None:
    reader = make_reader(encoding)
    reply = b"-" + raw + CRLF
    reader.feed(b"*2\r\n:1\r\n" + reply if nested else reply)
    value = reader.gets()  # returned, never raised
    error = value[1] if nested else value
    message = raw.decode("utf-8", "replace")
    head = message.split(" ", 1)[0]
    assert type(error) is TYPED_ERRORS.get(head, ReplyError)
    assert isinstance(error, ReplyError)
    assert error.message == message
    assert error.code == (head if head.isupper() else "ERR")


# -- arbitrary bytes ---------------------------------------------------------------------

TOKENS: Final = [
    b"*",
    b"$",
    b":",
    b"+",
    b"-",
    b"\r\n",
    b"\r",
    b"\n",
    b"0",
    b"1",
    b"2",
    b"3",
    b"-1",
    b"-2",
    b"00",
    b"12",
    b"a",
    b"OK",
    b"ERR x",
    b"\x00",
    b"\xff",
    b" ",
    b"!",
    b"_",
    b"#",
    b",",
    b"(",
    b"=",
    b"~",
    b">",
    b"%",
    b"|",
]


def mutate(data: bytes, how: str, at: int, byte: int) -> bytes:
    at = at % (len(data) + 1)
    if how == "truncate":
        return data[:at]
    if how == "replace":
        return data[:at] + bytes([byte]) + data[at + 1 :]
    if how == "insert":
        return data[:at] + bytes([byte]) + data[at:]
    return data[:at] + data[at + 1 :]  # delete


garbage = st.one_of(
    st.binary(max_size=48),
    st.lists(st.sampled_from(TOKENS), max_size=24).map(b"".join),
    st.builds(
        mutate,
        replies.map(encode_reply),
        st.sampled_from(["truncate", "replace", "insert", "delete"]),
        st.integers(0, 10_000),
        st.sampled_from(b"*$:+-\r\n0129-ax\x00_#%|"),
    ),
    st.tuples(replies.map(encode_reply), st.binary(max_size=12)).map(b"".join),
)


@settings(
    max_examples=1000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=garbage, encoding=st.sampled_from([None, "utf-8"]), draw=st.data())
def test_any_bytes_read_exactly_as_the_hiredis_model_predicts(
    data: bytes, encoding: str | None, draw: st.DataObject
) -> None:
    if HUGE_HEADER.search(data):
        return  # would make hiredis allocate a list of 100000+ slots up front
    predicted = model_outcomes(data, encoding)
    event(f"ends with {predicted[-1][0]} after {len(predicted) - 1} value(s)")
    cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=6), label="cuts")
    for chunks in ([data], split(data, cuts)):
        observed = reader_outcomes(chunks, encoding)
        if predicted[-1] != ("unmodelled",):
            # Values, "not enough" and ProtocolError exactly where the model says.
            assert observed == predicted
            continue
        # A RESP3 type byte: the replies before it are exact; from there on the
        # reader returns values, waits, or raises ProtocolError (UnicodeDecodeError
        # with an encoding) -- and TypeError only for a RESP3 map (``%``) with an
        # unhashable key, which the integration tests report as a finding.
        known = len(predicted) - 1
        assert observed[:known] == predicted[:known]
        allowed = {"value", "incomplete", "protocol", "unicode"}
        if b"%" in data:
            allowed.add("type-error")
        assert {outcome[0] for outcome in observed[known:]} <= allowed, observed


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # The bytes after a bulk payload are skipped unchecked: a value for invalid RESP.
        (b"$3\r\nabcXY", [("value", ("bytes", b"abc")), ("incomplete",)]),
        (b"$1\r\nab\r\n", [("value", ("bytes", b"a")), ("protocol",)]),
        # A line is judged at its CRLF: bytes that can no longer be valid still wait.
        (b":1\n", [("incomplete",)]),
        (b"+OK\rX", [("incomplete",)]),
        (b":1\rx\r\n", [("protocol",)]),
        # Canonical decimal only.
        (b":+1\r\n", [("protocol",)]),
        (b":-0\r\n", [("protocol",)]),
        (b"$03\r\nabc\r\n", [("protocol",)]),
        (b":9223372036854775808\r\n", [("protocol",)]),
        (b"$-2\r\n", [("protocol",)]),
        (b"*-2\r\n", [("protocol",)]),
        (b"*4294967296\r\n", [("protocol",)]),
        # RESP3 replies are parsed although aiopool speaks RESP2.
        (b"#t\r\n", [("value", ("bool", True)), ("incomplete",)]),
        (b"_\r\n", [("value", ("NoneType", None)), ("incomplete",)]),
        (b",1.5\r\n", [("value", ("float", 1.5)), ("incomplete",)]),
        # RESP3 blob errors are not: a ProtocolError at the type byte.
        (b"!", [("protocol",)]),
    ],
    ids=lambda v: repr(v) if isinstance(v, bytes) else "",
)
def test_documented_hiredis_behaviour_on_edge_inputs(data: bytes, expected: list[Outcome]) -> None:
    assert reader_outcomes([data], None) == expected
    if data[0] not in RESP3_TYPES:
        assert model_outcomes(data, None) == expected
