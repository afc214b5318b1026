from __future__ import annotations

import itertools

from bot.stats.privacy import Count, mask, order_key, suppress, total_shown


def test_small_counts_are_masked_zero_and_large_shown() -> None:
    assert str(mask(0, 3)) == "0"
    assert str(mask(1, 3)) == "<3"
    assert str(mask(2, 3)) == "<3"
    assert str(mask(3, 3)) == "3"
    assert mask(2, 3).for_chart() == 0
    assert str(mask(4, 5)) == "<5"


def test_one_masked_cell_takes_the_smallest_other_with_it_marked_differently() -> None:
    shown = suppress({"drugs": 1, "theft": 7, "fraud": 4, "other": 0}, 3)
    # alone, "drugs" would be total (12) - 7 - 4 = 1
    assert str(shown["drugs"]) == "<3"
    assert str(shown["fraud"]) == "*"  # hidden, and not claimed to be small
    assert shown["theft"] == Count(7, 3)
    assert shown["other"] == Count(0, 3)


def test_masked_cells_that_must_all_be_one_are_protected_too() -> None:
    shown = suppress({"a": 1, "b": 1, "c": 9}, 3)
    assert str(shown["c"]) == "*"
    assert not suppress({"a": 1, "b": 2, "c": 9}, 3)["c"].masked  # 1+2 or 2+1: unknown


def _feasible(cells: dict[str, int], threshold: int) -> dict[str, set[int]]:
    """Brute force: every value a masked cell could have, given what is shown and the total."""
    shown = suppress(cells, threshold)
    total = sum(cells.values())
    hidden_keys = [k for k, c in shown.items() if c.masked]
    known = sum(c.value or 0 for c in shown.values())
    options = {
        k: range(threshold, total + 1) if shown[k].hidden else range(1, threshold)
        for k in hidden_keys
    }
    possible: dict[str, set[int]] = {k: set() for k in hidden_keys}
    for values in itertools.product(*options.values()):
        if known + sum(values) == total:
            for k, v in zip(hidden_keys, values, strict=True):
                possible[k].add(v)
    return possible


def test_no_small_cell_can_be_worked_out_from_the_total() -> None:
    """Every breakdown of up to 4 cells with values 0..6: each masked small cell keeps at
    least two possible values for someone who knows the total and the rule."""
    for values in itertools.product(range(7), repeat=4):
        cells = dict(zip("abcd", values, strict=True))
        if not any(0 < v < 3 for v in values) or sum(values) < 3:
            continue  # nothing small, or the total is masked itself
        if not total_shown(3, cells):  # only once every non-zero cell is hidden already
            assert all(c.masked for k, c in suppress(cells, 3).items() if cells[k])
            continue
        for key, options in _feasible(cells, 3).items():
            if 0 < cells[key] < 3:
                assert len(options) >= 2, (cells, key, options)


def test_a_total_that_would_give_a_cell_away_is_not_shown() -> None:
    assert not total_shown(3, {"a": 1, "b": 3})  # total 4, "b" ≥ 3: "a" would be 1
    assert total_shown(3, {"a": 1, "b": 3, "c": 9})
    assert total_shown(3, {"a": 5, "b": 3})


def test_masked_rows_sort_by_name_not_by_value() -> None:
    shown = suppress({"Bình Định": 2, "An Nhơn": 1, "Quy Nhơn": 9, "Tuy Phước": 5}, 3)
    ordered = sorted(shown, key=lambda name: order_key(shown[name], name))
    assert ordered == ["Quy Nhơn", "Tuy Phước", "An Nhơn", "Bình Định"]
    assert order_key(shown["Bình Định"], "x")[0] == order_key(shown["An Nhơn"], "x")[0]
