from __future__ import annotations

from bot.stats.privacy import Count, mask, suppress


def test_small_counts_are_masked_zero_and_large_shown() -> None:
    assert str(mask(0, 3)) == "0"
    assert str(mask(1, 3)) == "<3"
    assert str(mask(2, 3)) == "<3"
    assert str(mask(3, 3)) == "3"
    assert mask(2, 3).for_chart() == 0
    assert str(mask(4, 5)) == "<5"


def test_one_masked_cell_takes_the_smallest_other_with_it() -> None:
    shown = suppress({"drugs": 1, "theft": 7, "fraud": 4, "other": 0}, 3)
    # alone, "drugs" would be total (12) - 7 - 4 = 1
    assert shown["drugs"].masked and shown["fraud"].masked
    assert shown["theft"] == Count(7, 3)
    assert shown["other"] == Count(0, 3)


def test_two_masked_cells_need_nothing_more() -> None:
    shown = suppress({"a": 1, "b": 2, "c": 9}, 3)
    assert shown["a"].masked and shown["b"].masked and not shown["c"].masked


def test_nothing_small_nothing_masked() -> None:
    assert not any(c.masked for c in suppress({1: 3, 2: 10}, 3).values())
