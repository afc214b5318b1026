"""Small tip counts are not shown: a "1" for drug tips in one commune on one day can point at
the one neighbour who saw something.

Every tip count shown (page, chart, export, report) goes through `mask`: from 1 to
`threshold - 1` it becomes "<threshold". Zero is shown (it names nobody). Within one
breakdown, a single masked cell could be worked out from the total and the others, so
`suppress` then masks the smallest shown cell too (complementary suppression).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Count", "mask", "suppress"]

K = TypeVar("K")


@dataclass(frozen=True)
class Count:
    """A count as shown: `value` is None when masked."""

    value: int | None
    threshold: int

    @property
    def masked(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        return f"<{self.threshold}" if self.value is None else f"{self.value}"

    def for_chart(self) -> int:
        """What a chart draws: nothing for a masked count (the table says "<3")."""
        return 0 if self.value is None else self.value


def mask(value: int, threshold: int) -> Count:
    if 0 < value < threshold:
        return Count(None, threshold)
    return Count(value, threshold)


def suppress(cells: Mapping[K, int], threshold: int) -> dict[K, Count]:
    """`mask` for each cell of one breakdown, and if that masked exactly one non-zero cell,
    the smallest other non-zero cell too, so the total does not give the masked one away."""
    out = {key: mask(value, threshold) for key, value in cells.items()}
    masked = [key for key, count in out.items() if count.masked]
    if len(masked) == 1:
        shown = [(value, str(key)) for key, value in cells.items() if value and not out[key].masked]
        if shown:
            _, smallest = min(shown)
            for key in cells:
                if str(key) == smallest:
                    out[key] = Count(None, threshold)
                    break
    return out
