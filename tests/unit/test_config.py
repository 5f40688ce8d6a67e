"""Options: URL parsing, keyword merging, validation, masking of passwords."""

from __future__ import annotations

import dataclasses
import ssl
from typing import Any

import pytest

from aiopool import Client, ConnectionOptions, Pool, PoolOptions
from aiopool._config import mask_url, options_from_url, split_options

SECRET = "s3cr3t-Pa55"


def parse(url: str, **options: Any) -> tuple[ConnectionOptions, PoolOptions]:
    return options_from_url(url, options, where="test")


# -- URL forms --------------------------------------------------------------------


def test_redis_url_gives_host_port_and_db() -> None:
    conn, _ = parse("redis://example.com:6380/2")
    assert (conn.host, conn.port, conn.db, conn.path) == ("example.com", 6380, 2, None)
    assert conn.ssl is False


def test_redis_url_defaults_to_port_6379_and_db_0() -> None:
    conn, _ = parse("redis://example.com")
    assert (conn.port, conn.db) == (6379, 0)


def test_rediss_url_turns_on_tls() -> None:
    conn, _ = parse("rediss://example.com:6390/1")
    assert conn.ssl is True
    assert conn.port == 6390


def test_ipv6_host_in_brackets() -> None:
    conn, _ = parse("redis://[::1]:6380/0")
    assert conn.host == "::1"
    assert conn.address == "[::1]:6380"


def test_unix_url_gives_socket_path_and_db_from_query() -> None:
    conn, _ = parse("unix:///var/run/redis/redis.sock?db=3")
    assert conn.path == "/var/run/redis/redis.sock"
    assert conn.db == 3
    assert conn.address == "/var/run/redis/redis.sock"


def test_unix_url_with_password_in_userinfo() -> None:
    conn, _ = parse(f"unix://:{SECRET}@/tmp/redis.sock")
    assert conn.path == "/tmp/redis.sock"
    assert conn.password == SECRET


def test_unix_url_credentials_never_become_part_of_the_socket_path() -> None:
    # unix://<netloc> with no path falls back to the netloc as the socket path;
    # the userinfo must not go with it (it would show in every address and error).
    conn, _ = parse(f"unix://alice:{SECRET}@redis.sock")
    assert conn.password == SECRET
    assert SECRET not in conn.address
    assert SECRET not in repr(conn)


def test_user_and_password_from_userinfo() -> None:
    conn, _ = parse(f"redis://alice:{SECRET}@example.com/0")
    assert conn.username == "alice"
    assert conn.password == SECRET


def test_password_without_user_leaves_username_unset() -> None:
    conn, _ = parse(f"redis://:{SECRET}@example.com")
    assert conn.username is None
    assert conn.password == SECRET


def test_user_without_password() -> None:
    conn, _ = parse("redis://alice@example.com")
    assert conn.username == "alice"
    assert conn.password is None


def test_percent_encoded_password_is_decoded() -> None:
    conn, _ = parse("redis://alice:p%40ss%3Aw%2Frd%23@example.com/0")
    assert conn.password == "p@ss:w/rd#"
    assert conn.host == "example.com"


def test_db_in_path() -> None:
    conn, _ = parse("redis://example.com/15")
    assert conn.db == 15


def test_query_parameters_set_connection_and_pool_options() -> None:
    conn, pool = parse(
        "redis://example.com/0?max_size=5&command_timeout=0.5&decode_responses=true"
        "&client_name=worker-1&min_size=2&connect_timeout=none"
    )
    assert pool.max_size == 5
    assert pool.min_size == 2
    assert conn.command_timeout == 0.5
    assert conn.connect_timeout is None
    assert conn.decode_responses is True
    assert conn.client_name == "worker-1"


def test_query_parameter_name_is_an_alias_of_client_name() -> None:
    conn, _ = parse("redis://example.com/0?name=worker-2")
    assert conn.client_name == "worker-2"


@pytest.mark.parametrize(("word", "value"), [("1", True), ("yes", True), ("False", False)])
def test_boolean_query_values(word: str, value: bool) -> None:
    conn, _ = parse(f"redis://example.com/0?decode_responses={word}")
    assert conn.decode_responses is value


def test_keyword_options_override_the_url() -> None:
    conn, pool = parse(
        "redis://alice:pw@example.com:6380/2?max_size=5&command_timeout=0.5",
        db=4,
        max_size=7,
        command_timeout=3.0,
        username="bob",
    )
    assert (conn.db, conn.username, conn.command_timeout, pool.max_size) == (4, "bob", 3.0, 7)
    assert (conn.host, conn.port, conn.password) == ("example.com", 6380, "pw")


def test_keyword_ssl_context_overrides_rediss_true() -> None:
    context = ssl.create_default_context()
    conn, _ = parse("rediss://example.com", ssl=context)
    assert conn.ssl is context


def test_unix_url_with_host_keyword_is_rejected() -> None:
    with pytest.raises(ValueError, match="either a unix socket path or a host"):
        parse("unix:///tmp/redis.sock", host="example.com")


def test_url_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="must be a str, got bytes"):
        parse(b"redis://example.com")  # type: ignore[arg-type]


# -- malformed URLs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "what"),
    [
        (f"http://:{SECRET}@example.com/0", "unsupported scheme 'http'"),
        ("localhost:6379", "unsupported scheme 'localhost'"),
        (f"redis://:{SECRET}@example.com:99999/0", "Port out of range"),
        (f"redis://:{SECRET}@example.com:port/0", "Port could not be cast"),
        (f"redis://:{SECRET}@example.com/zero", "the path must be a database number, got 'zero'"),
        (f"redis://:{SECRET}@example.com/-1", "the path must be a database number"),
        (f"redis://:{SECRET}@/0", "no host"),
        ("unix://", "no socket path"),
        (f"redis://:{SECRET}@example.com/0?max_conns=5", "unknown query parameter 'max_conns'"),
        (f"redis://:{SECRET}@example.com/0?max_size=five", "max_size='five' is not a valid value"),
        (
            f"redis://:{SECRET}@example.com/0?decode_responses=maybe",
            "decode_responses='maybe' is not a valid value",
        ),
        (
            f"redis://:{SECRET}@example.com/0?command_timeout=soon",
            "command_timeout='soon' is not a valid value",
        ),
    ],
    ids=[
        "bad-scheme",
        "no-scheme",
        "port-out-of-range",
        "port-not-a-number",
        "db-not-a-number",
        "db-negative",
        "no-host",
        "no-socket-path",
        "unknown-query-param",
        "bad-int-query-value",
        "bad-bool-query-value",
        "bad-timeout-query-value",
    ],
)
def test_bad_url_raises_value_error_saying_what_is_wrong_without_password(
    url: str, what: str
) -> None:
    with pytest.raises(ValueError, match="invalid Redis URL") as info:
        parse(url)
    assert what in str(info.value)
    assert SECRET not in str(info.value)


def test_invalid_option_value_from_query_names_the_option_without_password() -> None:
    with pytest.raises(ValueError, match="command_timeout") as info:
        parse(f"redis://:{SECRET}@example.com/0?command_timeout=-1")
    assert SECRET not in str(info.value)


def test_password_given_as_query_parameter_is_used_and_masked() -> None:
    url = f"unix:///tmp/redis.sock?password={SECRET}&db=x"
    connection, _ = options_from_url(url.replace("&db=x", ""), {}, where="test")
    assert connection.password == SECRET
    assert SECRET not in repr(connection)
    assert SECRET not in mask_url(url)
    with pytest.raises(ValueError, match="invalid Redis URL") as info:
        parse(url)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("reserved", ["#", "/", "?"])
def test_password_with_unencoded_reserved_character_never_appears_in_error(
    reserved: str,
) -> None:
    # A password with a raw '#', '/' or '?' breaks URL parsing (it should be
    # percent-encoded); the resulting error must still not leak it.
    password = f"ab{reserved}{SECRET}"
    with pytest.raises(ValueError, match="invalid Redis URL") as info:
        parse(f"redis://alice:{password}@example.com:6379/0")
    assert SECRET not in str(info.value)


def test_mask_url_hides_the_password() -> None:
    assert mask_url(f"redis://alice:{SECRET}@example.com:6379/0") == (
        "redis://alice:***@example.com:6379/0"
    )
    assert mask_url(f"rediss://:{SECRET}@example.com") == "rediss://:***@example.com"


def test_mask_url_hides_percent_encoded_password() -> None:
    masked = mask_url("redis://alice:p%40ss%3Aword@example.com/0")
    assert "p%40ss" not in masked
    assert "ss%3Aword" not in masked
    assert masked == "redis://alice:***@example.com/0"


def test_mask_url_leaves_url_without_password_alone() -> None:
    assert mask_url("redis://alice@example.com/0") == "redis://alice@example.com/0"


# -- unknown keyword options -----------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("socket_keepalive", "tcp_keepalive"),
        ("retry_on_timeout", "retry_safe_commands"),
        ("ssl_context", "ssl"),
        ("comand_timeout", "command_timeout"),
    ],
)
def test_unknown_keyword_option_raises_type_error_suggesting_the_right_name(
    given: str, suggested: str
) -> None:
    with pytest.raises(TypeError) as info:
        Client.from_url("redis://example.com", **{given: 5})
    message = str(info.value)
    assert repr(given) in message
    assert f"did you mean {suggested!r}" in message
    assert "from_url" in message


@pytest.mark.parametrize(
    ("alias", "value", "field", "expected"),
    [
        ("max_connections", 7, "max_size", 7),
        ("socket_timeout", 2.5, "command_timeout", 2.5),
        ("socket_connect_timeout", 1.5, "connect_timeout", 1.5),
    ],
)
def test_redis_py_option_names_that_mean_the_same_are_accepted(
    alias: str, value: object, field: str, expected: object
) -> None:
    client = Client.from_url("redis://example.com", **{alias: value})
    options = client.pool.options if field == "max_size" else client.pool.connection_options
    assert getattr(options, field) == expected
    from_query = Client.from_url(f"redis://example.com/0?{alias}={value}")
    options = from_query.pool.options if field == "max_size" else from_query.pool.connection_options
    assert getattr(options, field) == expected


def test_unix_socket_path_is_redis_py_s_name_for_path() -> None:
    client = Client.from_url("redis://example.com", unix_socket_path="/tmp/r.sock")
    assert client.pool.connection_options.path == "/tmp/r.sock"


def test_an_alias_and_its_name_together_are_refused() -> None:
    with pytest.raises(ValueError, match=r"'socket_timeout' .* and 'command_timeout'"):
        Client.from_url("redis://example.com", socket_timeout=1, command_timeout=2)


def test_encoding_errors_must_name_a_codec_error_handler() -> None:
    assert (
        Client.from_url(
            "redis://h", encoding_errors="replace"
        ).pool.connection_options.encoding_errors
        == "replace"
    )
    with pytest.raises(ValueError, match="encoding_errors names no codec error handler"):
        Client.from_url("redis://h", encoding_errors="bogus")


def test_unknown_keyword_option_without_a_close_match_names_it() -> None:
    with pytest.raises(TypeError, match=r"unknown option 'zzzz' for Pool\.from_options\(\)$"):
        Pool.from_options(zzzz=1)


def test_split_options_builds_both_option_objects() -> None:
    conn, pool = split_options({"host": "example.com", "max_size": 3}, where="test")
    assert conn.host == "example.com"
    assert pool.max_size == 3


# -- ConnectionOptions validation --------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"command_timeout": 0}, "command_timeout"),
        ({"command_timeout": float("nan")}, "command_timeout"),
        ({"tcp_keepalive": -5}, "tcp_keepalive"),
        ({"connect_timeout": True}, "connect_timeout"),
        ({"connect_timeout": "5"}, "connect_timeout"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"port": True}, "port"),
        ({"host": ""}, "host"),
        ({"path": ""}, "path"),
        ({"db": -1}, "db"),
        ({"db": True}, "db"),
        ({"db": 1.0}, "db"),
        ({"client_name": "has space"}, "client_name"),
        ({"encoding": "no-such-codec"}, "encoding"),
    ],
    ids=lambda value: str(value) if isinstance(value, str) else None,
)
def test_connection_option_validation_names_the_option(options: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=rf"\boption {name}\b"):
        ConnectionOptions(**options)


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"decode_responses": "yes"}, "decode_responses"),
        ({"ssl": "yes"}, "ssl"),
        ({"username": 5}, "username"),
        ({"client_name": 5}, "client_name"),
    ],
)
def test_connection_option_of_wrong_type_raises_type_error_naming_it(
    options: dict[str, Any], name: str
) -> None:
    with pytest.raises(TypeError, match=rf"\boption {name}\b"):
        ConnectionOptions(**options)


def test_password_of_wrong_type_is_not_shown() -> None:
    with pytest.raises(TypeError, match="option password") as info:
        ConnectionOptions(password=123456789)  # type: ignore[arg-type]
    assert "123456789" not in str(info.value)


def test_connection_options_accept_none_timeouts() -> None:
    options = ConnectionOptions(connect_timeout=None, command_timeout=None, tcp_keepalive=None)
    assert options.command_timeout is None


def test_connection_options_repr_never_shows_password() -> None:
    options = ConnectionOptions(username="alice", password=SECRET)
    text = repr(options)
    assert SECRET not in text
    assert "alice" in text
    conn, _ = parse(f"redis://alice:{SECRET}@example.com/0")
    assert SECRET not in repr(conn)


def test_connection_options_url_is_safe_to_print() -> None:
    conn, _ = parse(f"rediss://alice:{SECRET}@example.com:6390/3")
    assert conn.url() == "rediss://alice@example.com:6390/3"
    unix, _ = parse(f"unix://:{SECRET}@/tmp/redis.sock?db=2")
    assert unix.url() == "unix:///tmp/redis.sock?db=2"


def test_connection_options_are_frozen() -> None:
    options = ConnectionOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.db = 3  # type: ignore[misc]


# -- PoolOptions validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"max_size": 0}, "max_size"),
        ({"max_size": True}, "max_size"),
        ({"max_size": 2.5}, "max_size"),
        ({"min_size": -1}, "min_size"),
        ({"acquire_timeout": -1}, "acquire_timeout"),
        ({"idle_timeout": 0}, "idle_timeout"),
        ({"max_lifetime": float("inf")}, "max_lifetime"),
        ({"health_check_interval": -0.1}, "health_check_interval"),
        ({"close_timeout": None}, "close_timeout"),
        ({"reconnect_backoff": 0}, "reconnect_backoff"),
        ({"reconnect_backoff_max": -1}, "reconnect_backoff_max"),
    ],
)
def test_pool_option_validation_names_the_option(options: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=rf"\boption {name}\b"):
        PoolOptions(**options)


def test_min_size_above_max_size_names_both() -> None:
    with pytest.raises(ValueError, match="must not exceed") as info:
        PoolOptions(min_size=5, max_size=2)
    assert "min_size (5)" in str(info.value)
    assert "max_size (2)" in str(info.value)


def test_pool_options_are_frozen() -> None:
    options = PoolOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.max_size = 3  # type: ignore[misc]
