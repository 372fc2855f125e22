"""The figure builders, read back as data: what each chart shows is what it was given, in the stated order."""

import math

import numpy as np
import pytest

from playground import charts


def test_probability_bars_put_the_best_on_top_with_ids_and_log_probs():
    fig = charts.probability_bars([" the", "\n", ""], [0.5, 0.3, 0.0], [262, 198, 7], "Next token")
    (bar,) = fig.data
    # plotly draws the first y category at the bottom: the best is given last
    assert list(bar.y) == ["∅  (id 7)", "⏎  (id 198)", " the  (id 262)"]  # a newline stays visible, "" is ∅
    assert list(bar.x) == [0.0, 0.3, 0.5] and list(bar.text) == ["0.0%", "30.0%", "50.0%"]
    assert bar.customdata[-1][0] == pytest.approx(math.log(0.5)) and bar.customdata[0][0] == -math.inf
    assert bar.customdata[-1][1] == 262
    assert fig.layout.xaxis.range[1] == pytest.approx(0.5 * 1.15)


def test_thin_keeps_the_ends_and_at_most_the_limit():
    xs, ys = charts.thin(list(range(10)), [x * 2 for x in range(10)], limit=20)
    assert xs == list(range(10)) and ys == [x * 2 for x in range(10)]  # short: untouched
    xs, ys = charts.thin(list(range(5000)), list(range(5000)), limit=100)
    assert len(xs) <= 100 and xs[0] == 0 and xs[-1] == 4999 and xs == sorted(xs) and xs == ys


def test_loss_curve_thins_long_runs_and_marks_the_uniform_guess():
    train = [(step, 4.0 - step / 2000) for step in range(3000)]
    fig = charts.loss_curve(train, [(1000, 3.5), (2000, 3.1)], uniform_loss=math.log(65))
    names = [trace.name for trace in fig.data]
    assert names == ["train", "validation"]
    assert len(fig.data[0].x) <= charts.MAX_POINTS and fig.data[0].x[-1] == 2999
    assert list(fig.data[1].y) == [3.5, 3.1]
    (line,) = fig.layout.shapes
    assert line.y0 == line.y1 == pytest.approx(math.log(65)) and line.line.dash == "dash"


def test_loss_curve_without_points_or_baseline_is_empty():
    fig = charts.loss_curve([], [], uniform_loss=None)
    assert not fig.data and not fig.layout.shapes


@pytest.mark.parametrize("dims", [2, 3])
def test_position_scatter_is_2d_or_3d_and_colours_by_position(dims):
    coords = np.random.default_rng(0).normal(size=(12, dims))
    fig = charts.position_scatter(coords, "Positions", ["PC1", "PC2", "PC3"][:dims])
    (trace,) = fig.data
    assert trace.type == ("scatter3d" if dims == 3 else "scatter")
    assert list(trace.marker.color) == list(range(12)) and trace.text[11] == "position 11"
    np.testing.assert_allclose(trace.x, coords[:, 0])


def test_rotation_circle_numbers_only_the_first_positions():
    angles = np.linspace(0, 1, 20)
    points = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    fig = charts.rotation_circle(points, "Pair 0", ["cos", "sin"], numbered=3)
    circle, dots = fig.data
    assert len(circle.x) == 181 and circle.hoverinfo == "skip"
    assert list(dots.text[:4]) == ["0", "1", "2", ""]
    assert tuple(fig.layout.xaxis.range) == (-1.3, 1.3) and fig.layout.yaxis.scaleanchor == "x"


def test_count_histogram_shows_shares_and_the_expected_curve():
    fig = charts.count_histogram([1, 1, 2, 3, 3, 3], "Masks per sentence", "masks", expected={1: 0.3, 2: 0.2, 3: 0.5})
    bars, expected = fig.data
    assert list(bars.x) == [1, 2, 3] and list(bars.y) == pytest.approx([2 / 6, 1 / 6, 3 / 6])
    assert list(expected.x) == [1, 2, 3] and list(expected.y) == [0.3, 0.2, 0.5]
    assert charts.count_histogram([], "empty", "x").data[0].x is not None  # no trials: no division by zero


def test_convergence_draws_each_target_in_its_series_colour():
    fig = charts.convergence(
        range(5), {"mask": [0.7, 0.8, 0.8, 0.8, 0.8], "random": [0.1] * 5}, {"mask": 0.8}, "t", "x", "y"
    )
    assert [t.name for t in fig.data] == ["mask", "random"]
    (target,) = fig.layout.shapes
    assert target.y0 == 0.8 and target.line.color == fig.data[0].line.color == charts.PALETTE[0]


def test_grouped_bars_one_trace_per_series():
    fig = charts.grouped_bars(["a", " b"], {"raw": [0.6, 0.4], "top-k 1": [1.0, 0.0]}, "Sampling")
    assert [t.name for t in fig.data] == ["raw", "top-k 1"] and fig.layout.barmode == "group"
    assert list(fig.data[1].x) == ["a", " b"] and list(fig.data[1].y) == [1.0, 0.0]


def test_model_bars_keep_the_given_order_top_down_and_grow_with_the_models():
    fig = charts.model_bars(["tiny", "gpt2", "smollm"], [2.5, 1.25, 0.75], "Bits per character", "bits", "{:.1f}")
    (bar,) = fig.data
    assert list(bar.y) == ["smollm", "gpt2", "tiny"] and list(bar.text) == ["0.8", "1.2", "2.5"]
    assert fig.layout.height == 120 + 40 * 3


def test_heatmap_and_lines_carry_their_data():
    z = np.arange(6.0).reshape(2, 3)
    heat = charts.heatmap(z, "Similarity", "key", "query")
    np.testing.assert_array_equal(heat.data[0].z, z)
    assert heat.layout.yaxis.autorange == "reversed"  # row 0 at the top, as in a matrix
    fig = charts.lines([0, 1, 2], {"dim 0": [0.0, 1.0, 0.0]}, "Wave", "position", "value")
    assert fig.data[0].name == "dim 0" and list(fig.data[0].y) == [0.0, 1.0, 0.0]
