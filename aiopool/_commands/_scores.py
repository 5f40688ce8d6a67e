"""What a score is: the score and range arguments and score replies of the sorted sets.

Scores go out as given (an int or float, NaN refused) and come back as
``float``, or through redis-py's ``score_cast_func``: it gets the raw score
(``bytes`` or ``str`` under RESP2, already a ``float`` under RESP3, as
redis-py's RESP3 client hands it), and the score as a float if that raw form
fails with ``ValueError``/``TypeError``. ``float`` and ``int`` (the casts
people use) give the same result under both protocols.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._errors import DataTypeError, DataValueError
from ._base import Arg, pair_list, scored

# A score, weight or increment: a number, or a str/bytes the server reads as one.
Score = int | float | str | bytes
# A score range bound: a number, or "-inf", "+inf", "(1.5" (exclusive).
ScoreBound = int | float | str | bytes
# A lexical range bound: "[a" (inclusive), "(a" (exclusive), "-" or "+".
LexBound = str | bytes
# redis-py's score_cast_func: float, int, or any callable taking the raw score.
ScoreCast = Callable[[Any], Any]


def _numeric(text: str) -> bool:
    """Whether the server reads ``text`` as a score (Python's ``float`` takes more)."""
    try:
        return not math.isnan(float(text)) and text == text.strip() and "_" not in text
    except ValueError:
        return False


def checked_score(name: str, value: object) -> Score:
    """A score, weight or increment: a number that is not NaN, or a numeric str or bytes.

    redis-py sends a str score as it is (``zadd(k, {"a": "1.5"})``), so
    aiopool does too, once it is known to be a number.
    """
    if isinstance(value, str | bytes):
        if not _numeric(value.decode("latin-1") if isinstance(value, bytes) else value):
            raise DataValueError(f"{name} must be a number, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataTypeError(
            f"{name} must be an int, a float or a numeric str, got {type(value).__name__} {value!r}"
        )
    if isinstance(value, float) and math.isnan(value):
        raise DataValueError(f"{name} must be a number, got NaN")
    return value


def score_bound(name: str, value: object) -> Arg:
    """One end of a score range: a number, ``"-inf"``/``"+inf"``, or ``"(<score>"``."""
    if isinstance(value, str | bytes):
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        if not _numeric(text.removeprefix("(")):
            raise DataValueError(
                f"{name} must be a score, '-inf', '+inf' or '(' and a score for an exclusive "
                f"bound, got {value!r}"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataTypeError(
            f"{name} must be an int, a float or a str such as '-inf' or '(1.5', "
            f"got {type(value).__name__} {value!r}"
        )
    return checked_score(name, value)


def lex_bound(name: str, value: object) -> Arg:
    """One end of a lexical range: ``"[a"``, ``"(a"``, ``"-"`` or ``"+"``."""
    if not isinstance(value, str | bytes):
        raise DataTypeError(
            f"{name} must be a str or bytes such as '[a', '(a', '-' or '+', "
            f"got {type(value).__name__} {value!r}"
        )
    head = value[:1]
    if value not in ("-", "+", b"-", b"+") and head not in ("[", "(", b"[", b"("):
        raise DataValueError(
            f"{name} must start with '[' (inclusive) or '(' (exclusive), or be '-' or '+', "
            f"got {value!r}"
        )
    return value


def caster(score_cast_func: object) -> ScoreCast | None:
    """``None`` for ``float`` (the plain path), else redis-py's cast: raw first, then float."""
    if score_cast_func is float:
        return None
    if not callable(score_cast_func):
        raise DataTypeError(
            f"score_cast_func must be callable (float, int, ...), "
            f"got {type(score_cast_func).__name__} {score_cast_func!r}"
        )

    def cast(raw: Any) -> Any:
        try:
            return score_cast_func(raw)
        except (ValueError, TypeError):
            return score_cast_func(float(raw))

    return cast


def cast_pairs(score_cast_func: object) -> Callable[[Any], list[tuple[Any, Any]]]:
    """Member and score replies (flat or RESP3 pairs) as ``[(member, score), ...]``, cast each score."""
    cast = caster(score_cast_func)
    if cast is None:
        return scored

    def pairs(reply: Any) -> list[tuple[Any, Any]]:
        return [(member, cast(score)) for member, score in pair_list(reply)]

    return pairs
