"""Small tip counts are not shown: a "1" for drug tips in one commune on one day can point at
the one neighbour who saw something.

Every tip count shown (page, chart, export, report) goes through this module, and the same
breakdown always goes through the same function with the same figures, so two pages never
disagree about a cell.

- `mask`: a count from 1 to `threshold - 1` is shown as "<3". Zero is shown (it names nobody).
- `suppress`, for one breakdown whose total is shown elsewhere (tips by category, by commune,
  open tips by commune…): from the total, the masked cells' sum is known, and a masked cell
  may be pinned down by it (one masked cell; two that must both be 1…). Then the smallest
  shown cells are hidden too, marked "*" (not "<3": they are not small), until no masked
  cell can be pinned down (complementary suppression). When even that is not enough,
  `total_shown` says so, and the total is hidden too.
- `order_key`: tables sorted by a count sort masked and hidden cells as one tier, by name, so
  the order of the rows does not give their values away.

Limits (said in the README): someone who compares many filtered views (a commune, a week)
can still narrow figures down by differences between them; the threshold can be raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Count", "mask", "order_key", "suppress", "total_shown"]

K = TypeVar("K")


@dataclass(frozen=True)
class Count:
    """A count as shown: `value` is None when masked (`hidden`: to protect another cell)."""

    value: int | None
    threshold: int
    hidden: bool = False

    @property
    def masked(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        if self.value is not None:
            return f"{self.value}"
        return "*" if self.hidden else f"<{self.threshold}"

    def for_chart(self) -> int:
        """What a chart draws: nothing for a masked count (the table says "<3")."""
        return 0 if self.value is None else self.value


def mask(value: int, threshold: int) -> Count:
    if 0 < value < threshold:
        return Count(None, threshold)
    return Count(value, threshold)


def _pinned(small: list[int], hidden: list[int], threshold: int) -> bool:
    """Could someone who knows the masked cells' sum (total minus what is shown) pin down a
    small one? Each small cell is known to lie in [1, threshold - 1], each hidden one in
    [threshold, ∞); a small cell is pinned when its feasible range given the sum collapses."""
    if not small:
        return False
    total = sum(small) + sum(hidden)
    # every small cell has the same feasible range: the others at their least or most
    others = len(small) - 1
    highest = min(threshold - 1, total - others - threshold * len(hidden))
    lowest = 1 if hidden else max(1, total - others * (threshold - 1))
    return lowest >= highest


def _suppress(cells: Mapping[K, int], threshold: int) -> tuple[dict[K, Count], bool]:
    out = {key: mask(value, threshold) for key, value in cells.items()}
    small = [value for key, value in cells.items() if out[key].masked]
    hidden: list[int] = []
    shown = sorted(
        ((value, str(key), key) for key, value in cells.items() if value and not out[key].masked),
        key=lambda item: (item[0], item[1]),
    )
    while _pinned(small, hidden, threshold) and shown:
        value, _name, key = shown.pop(0)
        out[key] = Count(None, threshold, hidden=True)
        hidden.append(value)
    return out, not _pinned(small, hidden, threshold)


def suppress(cells: Mapping[K, int], threshold: int) -> dict[K, Count]:
    """`mask` for each cell of one breakdown, plus complementary suppression (see above)."""
    return _suppress(cells, threshold)[0]


def total_shown(threshold: int, *breakdowns: Mapping[Any, int]) -> bool:
    """May the total of these breakdowns (the same tips counted by category, by status…) be
    shown? Not when, even with every other cell hidden, it would pin down a small one."""
    return all(_suppress(cells, threshold)[1] for cells in breakdowns)


def order_key(count: Count, name: str) -> tuple[int, str]:
    """Largest shown count first; masked and hidden cells after them, by name only."""
    return (-(count.value or 0), name) if count.value is not None else (1, name)
