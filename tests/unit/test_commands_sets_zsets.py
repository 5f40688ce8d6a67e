"""Argument building and reply transforms of the set and sorted set commands; nothing is sent."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from aiopool import _commands as cmd
from aiopool._protocol import blocking_timeout, may_block

sets = cmd.sets
zsets = cmd.zsets


# -- sets -----------------------------------------------------------------------------


def test_sadd_and_srem_send_every_member() -> None:
    assert sets.sadd("s", "a", b"b", 3)[0] == ("SADD", "s", "a", b"b", 3)
    assert sets.srem("s", "a", 1.5)[0] == ("SREM", "s", "a", 1.5)


@pytest.mark.parametrize(
    "builder",
    [
        sets.sadd,
        sets.srem,
        lambda key: sets.smismember(key, []),
        zsets.zrem,
        lambda key: zsets.zmscore(key, []),
    ],
    ids=["sadd", "srem", "smismember", "zrem", "zmscore"],
)
def test_member_variadic_commands_need_a_member(builder: Any) -> None:
    with pytest.raises(ValueError, match="needs at least one member"):
        builder("k")


@pytest.mark.parametrize(
    "builder",
    [
        lambda: sets.sinter([]),
        lambda: sets.sunion([]),
        lambda: sets.sdiff([]),
        lambda: sets.sinterstore("dest", []),
        lambda: sets.sunionstore("dest", []),
        lambda: sets.sdiffstore("dest", []),
    ],
    ids=["sinter", "sunion", "sdiff", "sinterstore", "sunionstore", "sdiffstore"],
)
def test_set_algebra_needs_a_key(builder: Any) -> None:
    with pytest.raises(ValueError, match="needs at least one key"):
        builder()


def test_set_algebra_arguments_and_set_results() -> None:
    command = sets.sinter("a", "b")
    assert command[0] == ("SINTER", "a", "b")
    assert command[1] is not None
    assert command[1]([b"x", b"y"]) == {b"x", b"y"}
    assert sets.sunion("a")[0] == ("SUNION", "a")
    assert sets.sdiff("a", "b", "c")[0] == ("SDIFF", "a", "b", "c")
    assert sets.sunionstore("d", "a", "b")[0] == ("SUNIONSTORE", "d", "a", "b")
    assert sets.sdiffstore("d", "a")[0] == ("SDIFFSTORE", "d", "a")
    assert sets.sinterstore("d", "a")[1] is None


def test_sismember_smismember_and_smove_replies_become_bools() -> None:
    sismember = sets.sismember("s", "a")
    assert sismember[0] == ("SISMEMBER", "s", "a")
    assert sismember[1] is not None
    assert sismember[1](1) is True
    smismember = sets.smismember("s", "a", "b")
    assert smismember[0] == ("SMISMEMBER", "s", "a", "b")
    assert smismember[1] is not None
    assert smismember[1]([1, 0]) == [True, False]
    smove = sets.smove("src", "dst", "m")
    assert smove[0] == ("SMOVE", "src", "dst", "m")
    assert smove[1] is not None
    assert smove[1](0) is False


def test_spop_is_raw_with_and_without_count_as_redis_py() -> None:
    assert sets.spop("s") == (("SPOP", "s"), None)
    assert sets.spop("s", 2) == (("SPOP", "s", 2), None)  # a list, as redis-py's


def test_spop_count_must_be_a_non_negative_int() -> None:
    with pytest.raises(ValueError, match="count must be an int >= 0, got -1"):
        sets.spop("s", -1)
    with pytest.raises(TypeError, match="count must be an int"):
        sets.spop("s", "2")  # type: ignore[arg-type]


def test_srandmember_count_may_be_negative_but_must_be_an_int() -> None:
    assert sets.srandmember("s") == (("SRANDMEMBER", "s"), None)
    assert sets.srandmember("s", -3) == (("SRANDMEMBER", "s", -3), None)
    with pytest.raises(TypeError, match="count must be an int"):
        sets.srandmember("s", 2.0)  # type: ignore[arg-type]


# -- ZADD -----------------------------------------------------------------------------


def test_zadd_sends_score_before_member() -> None:
    command = zsets.zadd("z", {"a": 1, b"b": 2.5})
    assert command[0] == ("ZADD", "z", 1, "a", 2.5, b"b")
    assert command[1] is None


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        ({"nx": True}, ("NX",)),
        ({"xx": True}, ("XX",)),
        ({"gt": True}, ("GT",)),
        ({"lt": True}, ("LT",)),
        ({"xx": True, "gt": True}, ("XX", "GT")),
        ({"xx": True, "lt": True, "ch": True}, ("XX", "LT", "CH")),
        ({"ch": True}, ("CH",)),
        ({"nx": True, "ch": True, "incr": True}, ("NX", "CH", "INCR")),
    ],
    ids=["nx", "xx", "gt", "lt", "xx-gt", "xx-lt-ch", "ch", "nx-ch-incr"],
)
def test_zadd_flags_come_in_the_order_redis_wants(
    flags: dict[str, bool], words: tuple[str, ...]
) -> None:
    assert zsets.zadd("z", {"a": 1}, **flags)[0] == ("ZADD", "z", *words, 1, "a")


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        ({"nx": True, "xx": True}, "nx, xx"),
        ({"nx": True, "gt": True}, "nx, gt"),
        ({"nx": True, "lt": True}, "nx, lt"),
        ({"gt": True, "lt": True}, "gt, lt"),
    ],
)
def test_zadd_refuses_the_flag_combinations_redis_rejects(
    flags: dict[str, bool], named: str
) -> None:
    with pytest.raises(ValueError, match=f"got {named}"):
        zsets.zadd("z", {"a": 1}, **flags)


def test_zadd_incr_needs_exactly_one_pair_and_returns_a_float_or_none() -> None:
    with pytest.raises(ValueError, match="exactly one member, got a mapping of 2"):
        zsets.zadd("z", {"a": 1, "b": 2}, incr=True)
    command = zsets.zadd("z", {"a": 1.5}, incr=True)
    assert command[1] is not None
    assert command[1](b"3.5") == 3.5
    assert command[1](None) is None


def test_zadd_checks_the_mapping_and_its_scores() -> None:
    with pytest.raises(TypeError, match="mapping of member -> score, got list"):
        zsets.zadd("z", [("a", 1)])  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="non-empty mapping"):
        zsets.zadd("z", {})
    # A numeric str is sent as it is, as redis-py sends it; anything else is refused.
    assert zsets.zadd("z", {"a": "1.5", "b": b"-inf"})[0] == ("ZADD", "z", "1.5", "a", b"-inf", "b")
    with pytest.raises(ValueError, match="the score of 'a' must be a number, got 'one'"):
        zsets.zadd("z", {"a": "one"})
    with pytest.raises(ValueError, match="the score of 'a' must be a number, got 'nan'"):
        zsets.zadd("z", {"a": "nan"})
    with pytest.raises(TypeError, match="the score of 'a' must be an int, a float or a numeric"):
        zsets.zadd("z", {"a": None})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="the score of 'a' must be an int, a float or a numeric"):
        zsets.zadd("z", {"a": True})
    with pytest.raises(ValueError, match="the score of 'a' must be a number, got NaN"):
        zsets.zadd("z", {"a": float("nan")})


def test_zincrby_amount_is_checked_and_reply_is_a_float() -> None:
    command = zsets.zincrby("z", 2, "a")
    assert command[0] == ("ZINCRBY", "z", 2, "a")
    assert command[1] is not None
    assert command[1](b"-inf") == float("-inf")
    assert zsets.zincrby("z", "2.5", "a")[0] == ("ZINCRBY", "z", "2.5", "a")
    with pytest.raises(ValueError, match="amount must be a number, got '2 '"):
        zsets.zincrby("z", "2 ", "a")
    with pytest.raises(TypeError, match="amount must be an int, a float or a numeric str"):
        zsets.zincrby("z", [2], "a")  # type: ignore[arg-type]


def test_zscore_and_zmscore_map_nil_to_none() -> None:
    zscore = zsets.zscore("z", "a")
    assert zscore[1] is not None
    assert zscore[1](None) is None
    assert zscore[1]("1.5") == 1.5
    zmscore = zsets.zmscore("z", "a", "b")
    assert zmscore[0] == ("ZMSCORE", "z", "a", "b")
    assert zmscore[1] is not None
    assert zmscore[1]([b"2", None]) == [2.0, None]


# -- ranges ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bound", [0, -1, 2.5, float("inf"), "-inf", "+inf", "inf", "(1.5", "(-inf", b"(2", "1e3"]
)
def test_score_bounds_accept_numbers_infinities_and_exclusive_strings(bound: Any) -> None:
    assert zsets.zcount("z", bound, "+inf")[0] == ("ZCOUNT", "z", bound, "+inf")


@pytest.mark.parametrize("bound", ["abc", "((1", "", "(", "nan", "(nan", " 1", "1_0", "[1"])
def test_malformed_score_bound_raises_value_error_naming_it(bound: str) -> None:
    with pytest.raises(ValueError, match="max must be a score"):
        zsets.zcount("z", 0, bound)


@pytest.mark.parametrize("bound", [None, True, [1]])
def test_score_bound_of_wrong_type_raises_type_error_naming_it(bound: Any) -> None:
    with pytest.raises(TypeError, match="min must be an int, a float or a str"):
        zsets.zremrangebyscore("z", bound, 1)


def test_nan_score_bound_raises_value_error() -> None:
    with pytest.raises(ValueError, match="min must be a number, got NaN"):
        zsets.zcount("z", float("nan"), 1)


@pytest.mark.parametrize("bound", ["-", "+", "[a", "(a", b"[\x00", b"-", "["])
def test_lex_bounds_accept_brackets_and_infinities(bound: Any) -> None:
    assert zsets.zlexcount("z", bound, "+")[0] == ("ZLEXCOUNT", "z", bound, "+")


@pytest.mark.parametrize("bound", ["a", "", "-a", "++", b"a"])
def test_malformed_lex_bound_raises_value_error_naming_it(bound: Any) -> None:
    with pytest.raises(ValueError, match="min must start with"):
        zsets.zremrangebylex("z", bound, "+")


def test_lex_bound_of_wrong_type_raises_type_error() -> None:
    with pytest.raises(TypeError, match="max must be a str or bytes"):
        zsets.zlexcount("z", "-", 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "args"),
    [
        ({}, (0, -1)),
        ({"rev": True}, (0, -1, "REV")),
        ({"withscores": True}, (0, -1, "WITHSCORES")),
        ({"byscore": True}, (0, -1, "BYSCORE")),
        (
            {"byscore": True, "rev": True, "offset": 1, "num": 2, "withscores": True},
            (0, -1, "BYSCORE", "REV", "LIMIT", 1, 2, "WITHSCORES"),
        ),
        ({"byscore": True, "offset": 0, "num": -1}, (0, -1, "BYSCORE", "LIMIT", 0, -1)),
    ],
    ids=["ranks", "rev", "withscores", "byscore", "everything", "limit-all"],
)
def test_zrange_options_become_arguments(options: dict[str, Any], args: tuple[Any, ...]) -> None:
    assert zsets.zrange("z", 0, -1, **options)[0] == ("ZRANGE", "z", *args)


def test_zrange_bylex_takes_lex_bounds() -> None:
    assert zsets.zrange("z", "[a", "(c", bylex=True, offset=0, num=5)[0] == (
        "ZRANGE",
        "z",
        "[a",
        "(c",
        "BYLEX",
        "LIMIT",
        0,
        5,
    )
    with pytest.raises(ValueError, match="start must start with"):
        zsets.zrange("z", "a", "+", bylex=True)


def test_zrange_withscores_pairs_members_with_float_scores() -> None:
    transform = zsets.zrange("z", 0, -1, withscores=True)[1]
    assert transform is not None
    assert transform([b"a", b"1", b"b", b"inf"]) == [(b"a", 1.0), (b"b", float("inf"))]
    assert zsets.zrange("z", 0, -1)[1] is None


def test_zrange_by_rank_needs_int_bounds() -> None:
    with pytest.raises(TypeError, match="start must be an int"):
        zsets.zrange("z", "(1", 5)
    with pytest.raises(TypeError, match="end must be an int"):
        zsets.zrange("z", 0, 1.5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"byscore": True, "bylex": True}, "got byscore, bylex"),
        ({"offset": 0, "num": 1}, "offset and num need byscore=True or bylex=True"),
        ({"byscore": True, "offset": 1}, "offset and num go together"),
        ({"byscore": True, "num": 1}, "offset and num go together"),
        ({"byscore": True, "offset": -1, "num": 1}, "offset must be an int >= 0"),
    ],
    ids=["byscore-and-bylex", "limit-by-rank", "offset-alone", "num-alone", "negative-offset"],
)
def test_zrange_refuses_option_combinations_redis_rejects(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        zsets.zrange("z", 0, 10, **options)


def test_zrange_withscores_and_bylex_raise_value_error() -> None:
    with pytest.raises(ValueError, match="withscores cannot be combined with bylex"):
        zsets.zrange("z", "-", "+", bylex=True, withscores=True)


def test_zrangestore_shares_zrange_options_and_checks() -> None:
    assert zsets.zrangestore("d", "z", "(1", "+inf", byscore=True, rev=True)[0] == (
        "ZRANGESTORE",
        "d",
        "z",
        "(1",
        "+inf",
        "BYSCORE",
        "REV",
    )
    with pytest.raises(ValueError, match="offset and num need byscore"):
        zsets.zrangestore("d", "z", 0, 1, offset=0, num=1)


def test_zremrangebyrank_takes_int_ranks() -> None:
    assert zsets.zremrangebyrank("z", 0, -2)[0] == ("ZREMRANGEBYRANK", "z", 0, -2)
    with pytest.raises(TypeError, match="min must be an int"):
        zsets.zremrangebyrank("z", "0", 1)  # type: ignore[arg-type]


# -- popping, random members ---------------------------------------------------------


@pytest.mark.parametrize("builder", [zsets.zpopmin, zsets.zpopmax])
def test_zpop_count_is_optional_and_reply_is_scored_pairs(builder: Any) -> None:
    name = builder.__name__.upper()
    assert builder("z")[0] == (name, "z")
    assert builder("z", 3)[0] == (name, "z", 3)
    assert builder("z")[1]([b"a", b"1"]) == [(b"a", 1.0)]
    assert builder("z")[1]([]) == []
    with pytest.raises(ValueError, match="count must be an int >= 0"):
        builder("z", -1)


@pytest.mark.parametrize("builder", [zsets.bzpopmin, zsets.bzpopmax])
def test_bzpop_takes_one_key_or_many_and_puts_the_timeout_last(builder: Any) -> None:
    name = builder.__name__.upper()
    assert builder("z")[0] == (name, "z", 0)
    assert builder(["a", b"b"], 1.5)[0] == (name, "a", b"b", 1.5)
    assert builder(("a",), datetime.timedelta(milliseconds=250))[0] == (name, "a", 0.25)
    # The connection reads the blocking time from the last argument.
    assert blocking_timeout(builder(["a", "b"], 2)[0], 5.0) == 7.0
    assert blocking_timeout(builder("a")[0], 5.0) is None


@pytest.mark.parametrize("builder", [zsets.bzpopmin, zsets.bzpopmax])
def test_bzpop_result_is_a_triple_with_float_score_or_none(builder: Any) -> None:
    transform = builder("z")[1]
    assert transform([b"z", b"m", b"2.5"]) == (b"z", b"m", 2.5)
    assert transform(None) is None


@pytest.mark.parametrize("builder", [zsets.bzpopmin, zsets.bzpopmax])
def test_bzpop_checks_keys_and_timeout(builder: Any) -> None:
    with pytest.raises(ValueError, match="needs at least one key"):
        builder([])
    with pytest.raises(ValueError, match="timeout must be >= 0 seconds"):
        builder("z", -1)
    with pytest.raises(TypeError, match="timeout must be an int or float"):
        builder("z", "1")


def test_zrandmember_shapes_follow_count_and_withscores() -> None:
    assert zsets.zrandmember("z") == (("ZRANDMEMBER", "z"), None)
    assert zsets.zrandmember("z", -2) == (("ZRANDMEMBER", "z", -2), None)
    command = zsets.zrandmember("z", 2, withscores=True)
    assert command[0] == ("ZRANDMEMBER", "z", 2, "WITHSCORES")
    assert command[1] is not None
    assert command[1](["a", "1", "a", "1"]) == [("a", 1.0), ("a", 1.0)]
    with pytest.raises(ValueError, match="withscores needs count"):
        zsets.zrandmember("z", withscores=True)


# -- ZUNIONSTORE / ZINTERSTORE ----------------------------------------------------------


@pytest.mark.parametrize("builder", [zsets.zunionstore, zsets.zinterstore])
def test_zstore_takes_keys_or_a_weight_mapping(builder: Any) -> None:
    name = builder.__name__.upper()
    assert builder("d", ["a", "b"])[0] == (name, "d", 2, "a", "b")
    assert builder("d", "a")[0] == (name, "d", 1, "a")
    assert builder("d", {"a": 1, "b": 0.5}, aggregate="max")[0] == (
        name,
        "d",
        2,
        "a",
        "b",
        "WEIGHTS",
        1,
        0.5,
        "AGGREGATE",
        "MAX",
    )


@pytest.mark.parametrize("builder", [zsets.zunionstore, zsets.zinterstore])
def test_zstore_checks_keys_weights_and_aggregate(builder: Any) -> None:
    with pytest.raises(ValueError, match="needs at least one key"):
        builder("d", [])
    with pytest.raises(ValueError, match="needs at least one key"):
        builder("d", {})
    with pytest.raises(TypeError, match="the weight of 'a' must be an int, a float or"):
        builder("d", {"a": [2]})
    with pytest.raises(ValueError, match="the weight of 'a' must be a number, got 'two'"):
        builder("d", {"a": "two"})
    with pytest.raises(ValueError, match="aggregate must be 'SUM', 'MIN' or 'MAX', got 'AVG'"):
        builder("d", ["a"], aggregate="AVG")
    with pytest.raises(TypeError, match="aggregate must be a str"):
        builder("d", ["a"], aggregate=1)


# -- redis-py's signatures ---------------------------------------------------------------


def test_zadd_takes_redis_py_positional_flags() -> None:
    # redis-py's order: name, mapping, nx, xx, ch, incr, gt, lt.
    assert zsets.zadd("z", {"a": 1}, False, True, True)[0] == ("ZADD", "z", "XX", "CH", 1, "a")
    command = zsets.zadd("z", {"a": 1}, False, False, False, True)
    assert command[0] == ("ZADD", "z", "INCR", 1, "a")
    assert command[1] is not None
    assert command[1](b"2") == 2.0


def test_zrange_takes_redis_py_positional_options() -> None:
    # redis-py's order: name, start, end, desc, withscores, score_cast_func, byscore, ...
    assert zsets.zrange("z", 0, -1, True, True)[0] == ("ZRANGE", "z", 0, -1, "REV", "WITHSCORES")
    assert zsets.zrange("z", 0, 1, desc=True)[0] == ("ZRANGE", "z", 0, 1, "REV")
    assert zsets.zrange("z", 0, 1, rev=True)[0] == zsets.zrange("z", 0, 1, desc=True)[0]
    assert zsets.zrange("z", "(1", 5, False, False, float, True, False, 0, 2)[0] == (
        *("ZRANGE", "z", "(1", 5, "BYSCORE", "LIMIT", 0, 2),
    )


def test_zrangestore_takes_redis_py_positional_options() -> None:
    # redis-py's order: dest, name, start, end, byscore, bylex, desc, offset, num.
    assert zsets.zrangestore("d", "z", 5, 1, True, False, True, 0, 3)[0] == (
        *("ZRANGESTORE", "d", "z", 5, 1, "BYSCORE", "REV", "LIMIT", 0, 3),
    )


def test_score_cast_func_gets_the_raw_score_then_its_float() -> None:
    transform = zsets.zrange("z", 0, -1, withscores=True, score_cast_func=int)[1]
    assert transform is not None
    assert transform([b"a", b"1", b"b", b"2.5"]) == [(b"a", 1), (b"b", 2)]
    raw = zsets.zrange("z", 0, -1, withscores=True, score_cast_func=bytes.decode)[1]
    assert raw is not None
    assert raw([b"a", b"1.5"]) == [(b"a", "1.5")]
    with pytest.raises(TypeError, match="score_cast_func must be callable"):
        zsets.zrange("z", 0, -1, withscores=True, score_cast_func="int")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="score_cast_func must be callable"):
        zsets.zrangebyscore("z", 0, 1, score_cast_func=None)  # type: ignore[arg-type]


def test_zrank_withscore_sends_withscore_and_returns_rank_and_score() -> None:
    assert zsets.zrank("z", "a") == (("ZRANK", "z", "a"), None)
    command = zsets.zrevrank("z", "a", withscore=True)
    assert command[0] == ("ZREVRANK", "z", "a", "WITHSCORE")
    assert command[1] is not None
    assert command[1]([2, b"1.5"]) == [2, 1.5]
    assert command[1](None) is None
    cast = zsets.zrank("z", "a", True, int)[1]
    assert cast is not None
    assert cast([0, b"3"]) == [0, 3]


def test_zmscore_takes_a_list_as_redis_py_does_or_members_as_arguments() -> None:
    assert zsets.zmscore("z", ["a", "b"])[0] == ("ZMSCORE", "z", "a", "b")
    assert zsets.zmscore("z", ("a",), "b")[0] == ("ZMSCORE", "z", "a", "b")
    assert zsets.zmscore("z", "a", "b")[0] == ("ZMSCORE", "z", "a", "b")
    with pytest.raises(TypeError, match="members must be a member or a list"):
        zsets.zmscore("z", None)  # type: ignore[arg-type]


def test_zscan_casts_scores_with_score_cast_func() -> None:
    command = zsets.zscan("z", 0, None, None, int)
    assert command[0] == ("ZSCAN", "z", 0)
    assert command[1] is not None
    assert command[1]([b"0", [b"a", b"2"]]) == (0, [(b"a", 2)])


def test_bzpop_timeout_none_blocks_for_ever_as_in_redis_py() -> None:
    assert zsets.bzpopmin("z", None)[0] == ("BZPOPMIN", "z", 0)
    assert zsets.bzpopmax(["a", "b"], None)[0] == ("BZPOPMAX", "a", "b", 0)


# -- the range commands redis-py has besides ZRANGE ----------------------------------------


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (lambda: zsets.zrangebyscore("z", 1, "(5"), ("ZRANGEBYSCORE", "z", 1, "(5")),
        (
            lambda: zsets.zrangebyscore("z", "-inf", 5, 1, 2, True),
            ("ZRANGEBYSCORE", "z", "-inf", 5, "LIMIT", 1, 2, "WITHSCORES"),
        ),
        (
            lambda: zsets.zrevrangebyscore("z", "+inf", 0, start=0, num=-1),
            ("ZREVRANGEBYSCORE", "z", "+inf", 0, "LIMIT", 0, -1),
        ),
        (lambda: zsets.zrevrange("z", 0, -1, True), ("ZREVRANGE", "z", 0, -1, "WITHSCORES")),
        (lambda: zsets.zrangebylex("z", "-", "(c"), ("ZRANGEBYLEX", "z", "-", "(c")),
        (
            lambda: zsets.zrevrangebylex("z", "+", "[a", 1, 1),
            ("ZREVRANGEBYLEX", "z", "+", "[a", "LIMIT", 1, 1),
        ),
    ],
    ids=["byscore", "byscore-limit-scores", "revbyscore", "revrange", "bylex", "revbylex"],
)
def test_legacy_range_commands_send_redis_py_arguments(call: Any, args: tuple[Any, ...]) -> None:
    assert call()[0] == args


def test_legacy_range_commands_pair_scores_only_withscores() -> None:
    assert zsets.zrangebyscore("z", 0, 1)[1] is None
    assert zsets.zrangebylex("z", "-", "+")[1] is None
    for command in (
        zsets.zrangebyscore("z", 0, 1, withscores=True),
        zsets.zrevrangebyscore("z", 1, 0, withscores=True),
        zsets.zrevrange("z", 0, 1, withscores=True),
    ):
        assert command[1] is not None
        assert command[1]([b"a", b"1"]) == [(b"a", 1.0)]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: zsets.zrangebyscore("z", 0, 1, start=1), ValueError, "start and num go together"),
        (lambda: zsets.zrevrangebylex("z", "+", "-", num=1), ValueError, "start and num go"),
        (lambda: zsets.zrangebyscore("z", 0, 1, -1, 2), ValueError, "start must be an int >= 0"),
        (lambda: zsets.zrangebyscore("z", 0, 1, 0, 2.0), TypeError, "num must be an int"),  # type: ignore[arg-type]
        (lambda: zsets.zrangebyscore("z", "x", 1), ValueError, "min must be a score"),
        (lambda: zsets.zrevrangebyscore("z", "x", 1), ValueError, "max must be a score"),
        (lambda: zsets.zrangebylex("z", "a", "+"), ValueError, "min must start with"),
        (lambda: zsets.zrevrangebylex("z", 1, "-"), TypeError, "max must be a str or bytes"),  # type: ignore[arg-type]
        (lambda: zsets.zrevrange("z", "0", 1), TypeError, "start must be an int"),  # type: ignore[arg-type]
    ],
    ids=[
        "start-alone",
        "num-alone",
        "negative-start",
        "float-num",
        "bad-min",
        "bad-max-first",
        "bad-lex",
        "lex-type",
        "revrange-type",
    ],
)
def test_legacy_range_commands_check_their_arguments(call: Any, error: Any, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


# -- ZDIFF, ZINTER, ZUNION, ZINTERCARD --------------------------------------------------------


def test_zdiff_and_zdiffstore_count_their_keys() -> None:
    assert zsets.zdiff(["a", "b"]) == (("ZDIFF", 2, "a", "b"), None)
    command = zsets.zdiff(["a", "b"], withscores=True)
    assert command[0] == ("ZDIFF", 2, "a", "b", "WITHSCORES")
    assert command[1] is not None
    assert command[1]([b"x", b"1"]) == [(b"x", 1.0)]
    assert zsets.zdiffstore("d", ["a", "b"]) == (("ZDIFFSTORE", "d", 2, "a", "b"), None)
    with pytest.raises(ValueError, match="zdiff\\(\\) needs at least one key"):
        zsets.zdiff([])
    with pytest.raises(ValueError, match="zdiffstore\\(\\) needs at least one key"):
        zsets.zdiffstore("d", [])


@pytest.mark.parametrize("builder", [zsets.zinter, zsets.zunion])
def test_zinter_and_zunion_take_keys_or_weights_aggregate_and_withscores(builder: Any) -> None:
    name = builder.__name__.upper()
    assert builder(["a", "b"]) == ((name, 2, "a", "b"), None)
    command = builder({"a": 2, "b": 0.5}, "max", True)
    assert command[0] == (name, 2, "a", "b", "WEIGHTS", 2, 0.5, "AGGREGATE", "MAX", "WITHSCORES")
    assert command[1] is not None
    assert command[1]([b"x", b"3"]) == [(b"x", 3.0)]
    with pytest.raises(ValueError, match="aggregate must be 'SUM', 'MIN' or 'MAX'"):
        builder(["a"], aggregate="avg")
    with pytest.raises(TypeError, match="the weight of 'a' must be an int, a float or"):
        builder({"a": None})
    with pytest.raises(ValueError, match="needs at least one key"):
        builder([])


def test_zintercard_checks_numkeys_against_the_keys() -> None:
    assert zsets.zintercard(2, ["a", "b"]) == (("ZINTERCARD", 2, "a", "b", "LIMIT", 0), None)
    assert zsets.zintercard(1, "a", limit=5)[0] == ("ZINTERCARD", 1, "a", "LIMIT", 5)
    with pytest.raises(ValueError, match="numkeys is 3 but 2 key"):
        zsets.zintercard(3, ["a", "b"])
    with pytest.raises(TypeError, match="numkeys must be an int"):
        zsets.zintercard("2", ["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit must be an int >= 0"):
        zsets.zintercard(1, ["a"], limit=-1)


# -- ZMPOP, BZMPOP ------------------------------------------------------------------------------


def test_zmpop_sends_min_or_max_and_count_when_not_one() -> None:
    assert zsets.zmpop(2, ["a", "b"], min=True)[0] == ("ZMPOP", 2, "a", "b", "MIN")
    assert zsets.zmpop(1, ["a"], max=True, count=3)[0] == ("ZMPOP", 1, "a", "MAX", "COUNT", 3)
    assert zsets.zmpop(1, ["a"], False, True, None)[0] == ("ZMPOP", 1, "a", "MAX")


def test_zmpop_result_is_key_and_member_score_lists_or_none() -> None:
    transform = zsets.zmpop(1, ["a"], min=True)[1]
    assert transform is not None
    assert transform([b"a", [[b"x", b"1"], [b"y", b"2.5"]]]) == [b"a", [[b"x", 1.0], [b"y", 2.5]]]
    assert transform(None) is None


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: zsets.zmpop(1, ["a"]), ValueError, "exactly one of min=True"),
        (lambda: zsets.zmpop(1, ["a"], True, True), ValueError, "exactly one of min=True"),
        (lambda: zsets.zmpop(2, ["a"], min=True), ValueError, "num_keys is 2 but 1 key"),
        (lambda: zsets.zmpop(1, ["a"], min=True, count=0), ValueError, "count must be a positive"),
        (lambda: zsets.bzmpop(1, 1, ["a"]), ValueError, "exactly one of min=True"),
        (lambda: zsets.bzmpop(1, 3, ["a"], max=True), ValueError, "numkeys is 3 but 1 key"),
        (lambda: zsets.bzmpop(-1, 1, ["a"], max=True), ValueError, "timeout must be >= 0"),
        (lambda: zsets.bzmpop("1", 1, ["a"], max=True), TypeError, "timeout must be an int or"),  # type: ignore[arg-type]
        (lambda: zsets.bzmpop(1, 0, [], max=True), ValueError, "needs at least one key"),
    ],
    ids=[
        "neither",
        "both",
        "num-keys",
        "count",
        "b-neither",
        "b-numkeys",
        "b-negative",
        "b-type",
        "b-no-keys",
    ],
)
def test_zmpop_and_bzmpop_check_their_arguments(call: Any, error: Any, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_bzmpop_carries_its_timeout_first_and_is_blocking() -> None:
    args = zsets.bzmpop(1.5, 2, ["a", "b"], max=True, count=2)[0]
    assert args == ("BZMPOP", 1.5, 2, "a", "b", "MAX", "COUNT", 2)
    assert zsets.bzmpop(datetime.timedelta(seconds=2), 1, "a", min=True)[0][1] == 2.0
    assert may_block(args)
    assert blocking_timeout(args, 5.0) == 6.5
    assert blocking_timeout(zsets.bzmpop(0, 1, ["a"], min=True)[0], 5.0) is None
    assert not may_block(zsets.zmpop(1, ["a"], min=True)[0])


def test_sintercard_sends_numkeys_keys_and_limit_as_redis_py() -> None:
    assert sets.sintercard(2, ["a", "b"]) == (("SINTERCARD", 2, "a", "b", "LIMIT", 0), None)
    assert sets.sintercard(1, "a", limit=5)[0] == ("SINTERCARD", 1, "a", "LIMIT", 5)
    with pytest.raises(ValueError, match="numkeys is 1 but 2 keys"):
        sets.sintercard(1, ["a", "b"])


def test_spop_count_is_checked_as_before() -> None:
    with pytest.raises(ValueError, match="count must be an int >= 0"):
        sets.spop("s", -2)
