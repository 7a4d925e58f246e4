"""The static-path benchmark's comparison helpers (benchmarks/bench_static.py): each figure beside
its transformer twin with the difference in points, and the 2-point verdicts."""

from __future__ import annotations

from benchmarks.bench_static import compare, within


def test_compare_puts_each_figure_beside_the_transformer_with_the_delta_in_points():
    out = compare({"hwu64_category_accuracy": 0.8812, "only_static": 1.0},
                  {"hwu64_category_accuracy": 0.9127, "only_transformer": 1.0})  # fmt: skip
    assert out == {
        "hwu64_category_accuracy_static": 0.8812,
        "hwu64_category_accuracy_transformer": 0.9127,
        "hwu64_category_accuracy_delta_pt": -3.15,
    }


def test_within_holds_when_every_matching_delta_is_at_most_two_points_down():
    figures = {"stackfaq_mrr_delta_pt": -2.0, "demo_en_mrr_delta_pt": 1.5,
               "hwu64_category_accuracy_delta_pt": -9.0}  # fmt: skip
    assert within(figures, ("stackfaq_", "demo_en_"))
    assert not within(figures, ("hwu64_",))
    assert not within(figures, ("endava_",))  # nothing measured is not a pass
