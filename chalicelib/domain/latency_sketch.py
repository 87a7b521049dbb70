"""A mergeable latency sketch: a fixed log-bucket histogram of milliseconds, pure.

Every value falls in one bin of a fixed layout shared by every counter item, so two sketches
merge exactly by adding their bins: an hour's sketch *is* the sum of its minutes' sketches, and a
percentile read from a day bucket equals the one read from its 1,440 minutes added together.

Layout: bin 0 holds values below 1 ms; bin ``i >= 1`` holds ``[2^((i-1)/8), 2^(i/8))`` ms,
eight bins per doubling, so a bin is 9.05 % wide. A percentile is reported as its bin's
geometric midpoint, at most 4.4 % (a factor of ``2^(1/16)``) from the exact value of the same
rank. The last bin (320) holds everything from ``2^(319/8)`` ms (31 years) up, far beyond any
retention.

Bins are stored as counters named ``ackh<index>`` (:func:`bin_name`; short, since an item's
size counts its attribute names) next to the item's other counters and updated with the same
``ADD``, so a histogram is as exactly-once as a count.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping

BINS_PER_DOUBLING = 8
DOUBLINGS = 40
LAST_BIN = BINS_PER_DOUBLING * DOUBLINGS
BIN_PREFIX = "ackh"
# Lower bound of bin i (i >= 1) is _LOWER[i - 1]; bin 0 is [0, 1).
_LOWER = tuple(2 ** (i / BINS_PER_DOUBLING) for i in range(LAST_BIN))
MAX_RELATIVE_ERROR = 2 ** (1 / (2 * BINS_PER_DOUBLING)) - 1


def bin_of(value_ms: float) -> int:
    """The bin that holds ``value_ms`` (negative values count as 0)."""
    if not value_ms >= 1:  # also catches NaN
        return 0
    return min(bisect_right(_LOWER, value_ms), LAST_BIN)


def bin_name(index: int) -> str:
    return f"{BIN_PREFIX}{index:03d}"


def bin_index(name: str) -> int | None:
    """The bin a counter name stands for, ``None`` when it is not a bin."""
    if not name.startswith(BIN_PREFIX):
        return None
    digits = name[len(BIN_PREFIX) :]
    if not digits.isdigit() or len(digits) != 3:
        return None
    index = int(digits)
    return index if index <= LAST_BIN else None


def representative(index: int) -> float:
    """The value a percentile in bin ``index`` reports: the bin's geometric midpoint."""
    if index <= 0:
        return 0.0
    return 2 ** ((index - 0.5) / BINS_PER_DOUBLING)


def add_into(total: dict[int, int], sketch: Mapping[int, int]) -> None:
    """Add ``sketch`` to ``total`` in place, bin by bin (empty bins left out)."""
    for index, count in sketch.items():
        if count:
            total[index] = total.get(index, 0) + count


def merge(sketches: Iterable[Mapping[int, int]]) -> dict[int, int]:
    """The sum of ``sketches``, bin by bin (empty bins left out)."""
    total: dict[int, int] = {}
    for sketch in sketches:
        add_into(total, sketch)
    return total


def percentile(sketch: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank ``q`` quantile (0 < q <= 1) as its bin's representative, rounded to
    0.1 ms; ``None`` for an empty sketch."""
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    n = sum(count for count in sketch.values() if count > 0)
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    seen = 0
    for index in sorted(sketch):
        count = sketch[index]
        if count <= 0:
            continue
        seen += count
        if seen >= rank:
            return round(representative(index), 1)
    raise AssertionError("unreachable: rank is at most n")


def percentiles(sketch: Mapping[int, int]) -> dict[str, float | None]:
    """``{"p50", "p95"}`` of a sketch, as the API answers them."""
    return {"p50": percentile(sketch, 0.5), "p95": percentile(sketch, 0.95)}
