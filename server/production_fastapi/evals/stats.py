"""The numbers of the report: Wilson score intervals for pass rates, a seeded paired bootstrap for uplift."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

__all__ = ["bootstrap_uplift", "wilson"]

Z95 = 1.959963984540054


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion: honest at k=3 trials and at 0 % or 100 %, unlike p±z·se."""
    if trials <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be between 0 and trials ({trials}), got {successes}")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_uplift(
    treated: Sequence[float], control: Sequence[float], *, resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean paired difference ``treated[i] - control[i]`` and its percentile bootstrap interval.

    Pairs (same task, same trial index) are resampled together, so task difficulty cancels out. Seeded: the same
    runs always give the same interval.
    """
    if len(treated) != len(control):
        raise ValueError(f"paired samples differ in length: {len(treated)} vs {len(control)}")
    if not treated:
        raise ValueError("no pairs to compare")
    differences = [t - c for t, c in zip(treated, control, strict=True)]
    mean = sum(differences) / len(differences)
    rng = random.Random(seed)
    n = len(differences)
    means = sorted(sum(rng.choice(differences) for _ in range(n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    low = means[math.floor(tail * (resamples - 1))]
    high = means[math.ceil((1 - tail) * (resamples - 1))]
    return (mean, low, high)
