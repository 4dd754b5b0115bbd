"""Plain arithmetic shared by every place that shows a rating summary.

Decimal arithmetic, so that 2.675 rounds to 2.68 exactly as a person would expect, and the
API emits JSON numbers with at most two places.
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

_TWO_PLACES = Decimal("0.01")
# Both means are pure functions of a few numbers, computed for every row of a directory page on
# every request, mostly for the same summaries. A bounded memo returns exactly what the
# arithmetic returned.
_MEMO_SIZE = 4096


def _round2(value: Decimal) -> float:
    return float(value.quantize(_TWO_PLACES, rounding=ROUND_HALF_UP))


@lru_cache(maxsize=_MEMO_SIZE)
def mean_2dp(*, total: int, count: int) -> float | None:
    """Arithmetic mean rounded to 2 places; ``None`` for an empty set."""
    if count == 0:
        return None
    return _round2(Decimal(total) / Decimal(count))


@lru_cache(maxsize=_MEMO_SIZE)
def bayesian_mean_2dp(*, total: int, count: int, prior_mean: float, prior_weight: int) -> float:
    """``(prior_weight * prior_mean + total) / (prior_weight + count)``, rounded to 2 places.

    With no observations this is the prior mean; it moves towards the arithmetic mean as
    observations accumulate, so one 5-star rating does not outrank a hundred 4.9s.
    """
    prior = Decimal(str(prior_mean))
    weight = Decimal(prior_weight)
    if weight + count == 0:
        return _round2(prior)
    return _round2((weight * prior + Decimal(total)) / (weight + Decimal(count)))
