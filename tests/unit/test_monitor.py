"""``parse_monitor_line``: MONITOR's lines as redis-py's ``Monitor.next_command()`` returns
them, for the client kinds and escapes a test server does not easily produce."""

from __future__ import annotations

import pytest

from aiopool import Monitor, ProtocolError
from aiopool._config import ConnectionOptions
from aiopool._monitor import parse_monitor_line


@pytest.mark.parametrize(
    ("line", "address", "port", "kind"),
    [
        (b'1700000000.123456 [0 127.0.0.1:6379] "GET" "k"', "127.0.0.1", "6379", "tcp"),
        ('1700000000.123456 [0 [::1]:50123] "GET" "k"', "::1", "50123", "tcp"),
        (
            b'1700000000.123456 [0 unix:/tmp/redis.sock] "GET" "k"',
            "unix",
            "/tmp/redis.sock",
            "unix",
        ),
        (b'1700000000.123456 [0 lua] "GET" "k"', "lua", "", "lua"),
    ],
)
def test_client_kinds(line: str | bytes, address: str, port: str, kind: str) -> None:
    event = parse_monitor_line(line)
    assert event == {
        "time": 1700000000.123456,
        "db": 0,
        "client_address": address,
        "client_port": port,
        "client_type": kind,
        "command": "GET k",
    }


def test_escapes_are_undone_to_the_bytes_sent() -> None:
    line = rb'1.5 [12 10.0.0.1:1] "SET" "a \"b\"" "\\" "caf\xc3\xa9" "\x00\n\t" "\xff"'
    event = parse_monitor_line(line)
    assert event["db"] == 12
    assert event["time"] == 1.5
    assert event["command"] == 'SET a "b" \\ caf\u00e9 \x00\n\t \\xff'


def test_an_empty_argument_and_no_arguments() -> None:
    assert parse_monitor_line('1 [0 lua] "SET" "" "v"')["command"] == "SET  v"


@pytest.mark.parametrize("line", ["OK", b"", '1.0 [x 127.0.0.1:1] "GET"', "1.0 GET k", 42])
def test_a_line_of_another_shape_raises_protocol_error(line: object) -> None:
    with pytest.raises(ProtocolError, match="not a MONITOR line"):
        parse_monitor_line(line)  # type: ignore[arg-type]


def test_repr_names_the_server_and_state() -> None:
    monitor = Monitor(ConnectionOptions(host="127.0.0.1", port=7000))
    assert repr(monitor) == "<Monitor 127.0.0.1:7000 idle buffered=0>"
    assert not monitor.is_closed()
