"""The numbers on the dashboard, as plain functions of answer counts (docs/METRICS.md).

Written by hand rather than taken from SciPy or statsmodels: the Wilson interval and the
two-proportion z-test are a few lines of closed-form arithmetic, and pulling in a numerical
stack for them would weigh more than the whole app.
"""

import math
from typing import NamedTuple

#: Score on the 100-point scale of each level of the 5-level question: this times the
#: level (5 → 100 … 1 → 20).
POINTS_PER_LEVEL = 20
LEVEL_POINTS = {level: POINTS_PER_LEVEL * level for level in (5, 4, 3, 2, 1)}
#: Default: 非常满意, 满意 and 基本满意 count as satisfied (levels >= 3).
SATISFIED_FROM = 3
#: Fewer valid answers than this show 样本不足 instead of a rate.
MIN_SAMPLE = 10
#: z for a two-sided 95 % interval.
Z_95 = 1.959963984540054
#: Significance level of the discrepancy and month-over-month tests (one-sided).
ALPHA = 0.01


class Rate(NamedTuple):
    """A satisfaction rate with its sample size, interval and mean score. (A named tuple:
    a project page makes four per site, and this is the cheapest immutable record.)"""

    n: int
    satisfied: int
    points: int  # sum of LEVEL_POINTS over the answers

    @property
    def enough(self) -> bool:
        return self.n >= MIN_SAMPLE

    @property
    def value(self) -> float | None:
        """Share satisfied (0–1), or None below MIN_SAMPLE."""
        return self.satisfied / self.n if self.enough else None

    @property
    def mean_score(self) -> float | None:
        """Mean on the 100-point scale, or None below MIN_SAMPLE."""
        return self.points / self.n if self.enough else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95 % Wilson interval, or None below MIN_SAMPLE."""
        return wilson(self.satisfied, self.n) if self.enough else None

    @property
    def low(self) -> float | None:
        """The interval's lower bound, or None below MIN_SAMPLE."""
        return wilson(self.satisfied, self.n)[0] if self.enough else None

    @property
    def high(self) -> float | None:
        """The interval's upper bound, or None below MIN_SAMPLE."""
        return wilson(self.satisfied, self.n)[1] if self.enough else None


def rate(counts: dict[int, int], satisfied_from: int = SATISFIED_FROM) -> Rate:
    """The Rate of answer counts by level (5 … 1); other keys are not valid answers."""
    valid = {level: c for level, c in counts.items() if level in LEVEL_POINTS}
    return Rate(
        n=sum(valid.values()),
        satisfied=sum(c for level, c in valid.items() if level >= satisfied_from),
        points=sum(LEVEL_POINTS[level] * c for level, c in valid.items()),
    )


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    z2 = z * z
    p = successes / n
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    low, high = centre - half, centre + half
    # Comparisons, not max/min: the stats API works out thousands of these a request, and
    # the builtins' calls were a third of the time (the same numbers, bit for bit).
    return (low if low > 0.0 else 0.0), (high if high < 1.0 else 1.0)


def higher_p_value(a: Rate, b: Rate) -> float:
    """One-sided p-value that ``a``'s rate is higher than ``b``'s (pooled two-proportion
    z-test). 1.0 when either side is empty or the pooled rate is 0 or 1 (no difference)."""
    return _higher_p_value(a.n, a.satisfied, b.n, b.satisfied)


def _higher_p_value(a_n: int, a_satisfied: int, b_n: int, b_satisfied: int) -> float:
    if a_n == 0 or b_n == 0:
        return 1.0
    pooled = (a_satisfied + b_satisfied) / (a_n + b_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a_n + 1 / b_n))
    if se == 0:
        return 1.0
    z = (a_satisfied / a_n - b_satisfied / b_n) / se
    return 0.5 * math.erfc(z / math.sqrt(2))


def significantly_higher(a: Rate, b: Rate, alpha: float = ALPHA) -> bool:
    """Whether ``a`` is higher than ``b`` beyond chance, both with enough answers."""
    return higher_beyond_chance(a.n, a.satisfied, b.n, b.satisfied, alpha)


def higher_beyond_chance(
    a_n: int, a_satisfied: int, b_n: int, b_satisfied: int, alpha: float = ALPHA
) -> bool:
    """``significantly_higher`` of two rates given by their answers and satisfied answers
    (the stats API tests 2,000 sites at a time and makes no Rates for it)."""
    enough = a_n >= MIN_SAMPLE and b_n >= MIN_SAMPLE
    return enough and _higher_p_value(a_n, a_satisfied, b_n, b_satisfied) < alpha
