"""Reply transforms take a reply in its RESP2 or its RESP3 form and give one result.

The replies are written as hiredis gives them for each protocol (a RESP3 map
is a dict, a double a float, pairs nested lists); tests/integration/
test_resp3_results.py checks the same against real servers.
"""

from __future__ import annotations

from typing import Any

import pytest

from aiopool import _commands as cmd
from aiopool._commands import _base, _scores


def test_to_dict_takes_a_map_or_a_flat_list() -> None:
    assert _base.to_dict([b"a", b"1", b"b", b"2"]) == {b"a": b"1", b"b": b"2"}
    assert _base.to_dict({b"a": b"1", b"b": b"2"}) == {b"a": b"1", b"b": b"2"}
    assert _base.to_dict([]) == _base.to_dict({}) == {}
    with pytest.raises(ValueError, match="shorter"):  # an odd flat list is not pairs
        _base.to_dict([b"a", b"1", b"b"])


def test_named_fields_gives_str_names_from_a_map_or_a_flat_list() -> None:
    assert _base.named_fields([b"length", 2, "name", b"g"]) == {"length": 2, "name": b"g"}
    assert _base.named_fields({b"length": 2, "name": b"g"}) == {"length": 2, "name": b"g"}


def test_flat_pairs_flattens_a_map_or_pairs_and_keeps_a_flat_list() -> None:
    flat = [b"matches", [[[4, 7], [5, 8]]], b"len", 6]
    assert _base.flat_pairs(flat) is flat
    assert _base.flat_pairs({b"matches": [[[4, 7], [5, 8]]], b"len": 6}) == flat
    assert _base.flat_pairs([[b"f", b"v"], [b"g", b"w"]]) == [b"f", b"v", b"g", b"w"]
    assert _base.flat_pairs([]) == []


def test_pair_list_splits_a_flat_list_and_keeps_pairs() -> None:
    pairs = [[b"a", 1.0], [b"b", 2.5]]
    assert _base.pair_list(pairs) is pairs
    assert _base.pair_list([b"a", b"1", b"b", b"2.5"]) == [(b"a", b"1"), (b"b", b"2.5")]
    assert _base.pair_list([]) == []


@pytest.mark.parametrize(
    "reply",
    [
        [b"a", b"1", b"b", b"2.5"],  # RESP2: flat, scores as text
        [[b"a", 1.0], [b"b", 2.5]],  # RESP3: pairs, scores as doubles
    ],
    ids=["resp2", "resp3"],
)
def test_scored_replies_become_member_float_tuples(reply: Any) -> None:
    assert _base.scored(reply) == [(b"a", 1.0), (b"b", 2.5)]
    result = _scores.cast_pairs(int)(reply)
    assert result == [(b"a", 1), (b"b", 2)]
    assert all(type(score) is int for _, score in result)


def test_a_single_popped_pair_is_flat_under_both() -> None:
    # ZPOPMIN without a count: [member, score] under RESP3 too.
    _, transform = cmd.zsets.zpopmin("z")
    assert transform is not None
    assert transform([b"a", b"1"]) == transform([b"a", 1.0]) == [(b"a", 1.0)]


def test_xread_takes_a_map_of_streams() -> None:
    _, transform = cmd.streams.xread({"x": "0"})
    assert transform is not None
    entries = [[b"1-1", [b"f", b"v"]]]
    expected = [[b"x", [(b"1-1", {b"f": b"v"})]]]
    assert transform([[b"x", entries]]) == transform({b"x": entries}) == expected
    assert transform(None) == []


def test_lcs_idx_flattens_the_map_lcs_len_is_left_alone() -> None:
    _, idx = cmd.strings.lcs("a", "b", idx=True)
    assert idx is not None
    assert idx({b"matches": [], b"len": 0}) == [b"matches", [], b"len", 0]
    assert cmd.strings.lcs("a", "b", len=True)[1] is None


def test_transforms_of_the_hot_path_are_untouched() -> None:
    # GET needs no transform and SET one comparison, under both protocols.
    assert cmd.strings.get("k")[1] is None
    _, ok = cmd.strings.set_("k", "v")
    assert ok is not None
    assert ok(b"OK") is True
