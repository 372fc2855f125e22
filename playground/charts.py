"""Plotly figure builders (no gradio): each takes plain numbers and returns a go.Figure."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from .tokenization import shown_label

Numbers = Sequence[float] | np.ndarray  # a series: a list or a 1-D array

MAX_POINTS = 1000  # live curves stay light for the browser

# plotly_white's look without its per-trace defaults and colour scales (we name our scales): applying
# the whole template deep-copies thousands of entries into every figure, ~7.5 ms a chart against ~1.5 ms
_WHITE = pio.templates["plotly_white"].layout.to_plotly_json()
TEMPLATE = go.layout.Template(
    layout={
        k: v
        for k, v in _WHITE.items()
        if k not in ("colorscale", "coloraxis", "geo", "ternary", "polar", "shapedefaults", "annotationdefaults")
    }
)
# plotly starts a title 5% in and never wraps it, so a long one ran past the right edge: ours start at the
# left edge in a smaller font (and the page shrinks one that still does not fit: ui.HEAD)
TEMPLATE.layout.title = dict(x=0, xanchor="left", xref="container", pad=dict(l=10), font=dict(size=14))
_LAYOUT = dict(template=TEMPLATE, margin=dict(l=10, r=10, t=40, b=10), height=360)


def readable_prob(p: float) -> str:
    """A probability readable at any size: 12.34%, or 3.1e-07 where a percentage would round to zero."""
    return f"{p:.2%}" if p >= 1e-3 else f"{p:.2g}"


def _label(token: str) -> str:
    """A token as a chart shows it: spaces and newlines visible (␣, ⏎), never an empty label ("" is ∅)."""
    return shown_label(token) or "∅"


def probability_bars(
    labels: Sequence[str],
    probs: Sequence[float],
    ids: Sequence[int],
    title: str,
    fmt: Callable[[float], str] = "{:.1%}".format,
) -> go.Figure:
    """Horizontal bars, best at the top, each labelled fmt(p); hover shows probability, log-probability and
    token id."""
    shown = [_label(label) for label in labels]
    logp = [math.log(p) if p > 0 else float("-inf") for p in probs]
    fig = go.Figure(
        go.Bar(
            x=list(probs)[::-1],
            y=[f"{s}  (id {i})" for s, i in zip(shown, ids)][::-1],  # the id, not a rank
            orientation="h",
            text=[fmt(p) for p in probs][::-1],
            textposition="auto",
            customdata=np.stack([logp[::-1], list(ids)[::-1]], axis=-1),
            hovertemplate="p = %{x:.4f}<br>log p = %{customdata[0]:.3f}<br>id %{customdata[1]}<extra></extra>",
            marker_color="#4f46e5",
        )
    )
    fig.update_layout(title=title, xaxis=dict(title="probability", range=[0, max(probs, default=1) * 1.15]), **_LAYOUT)
    return fig


def heatmap(z: np.ndarray, title: str, x_title: str, y_title: str, colorscale: str = "RdBu") -> go.Figure:
    fig = go.Figure(go.Heatmap(z=z, colorscale=colorscale, zmid=0, colorbar=dict(thickness=12)))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, **_LAYOUT)
    fig.update_yaxes(autorange="reversed")
    return fig


def thin(xs: Sequence, ys: Sequence, limit: int = MAX_POINTS) -> tuple[list, list]:
    """At most `limit` evenly spaced points, always keeping the last one."""
    n = len(xs)
    if n <= limit:
        return list(xs), list(ys)
    keep = sorted(set(np.linspace(0, n - 1, limit).round().astype(int).tolist()))
    return [xs[i] for i in keep], [ys[i] for i in keep]


def loss_curve(
    train: Sequence[tuple[int, float]],
    val: Sequence[tuple[int, float]],
    uniform_loss: float | None,
    title: str = "Loss",
    uniform_label: str = "uniform guess = ln(vocab)",
) -> go.Figure:
    """Train and validation loss by step; a dashed line at ln(vocab), the loss of a uniform guess.

    Built in one go, the line as a plain layout shape: the Train tab redraws this twice a second while it
    trains, and plotly's add_hline / update_layout took most of its cost (bench/train_tab_pace.py)."""
    traces = []
    for points, name, color in ((train, "train", "#4f46e5"), (val, "validation", "#f97316")):
        if points:
            xs, ys = thin([p[0] for p in points], [p[1] for p in points])
            mode = "lines+markers" if name == "validation" else "lines"
            traces.append(go.Scatter(x=xs, y=ys, name=name, mode=mode, line_color=color))
    layout = dict(title=title, xaxis_title="step", yaxis_title="cross-entropy (nats)", **_LAYOUT)
    if uniform_loss:
        y, line = uniform_loss, dict(dash="dash", color="gray")
        layout["shapes"] = [dict(type="line", xref="paper", x0=0, x1=1, y0=y, y1=y, line=line)]
        label = dict(text=uniform_label, showarrow=False, xanchor="right", yanchor="bottom")
        layout["annotations"] = [dict(xref="paper", x=1, y=y, **label)]
    return go.Figure(traces, layout)


def lines(x: Sequence, series: Mapping[str, Numbers], title: str, x_title: str, y_title: str) -> go.Figure:
    fig = go.Figure([go.Scatter(x=list(x), y=list(ys), name=name, mode="lines") for name, ys in series.items()])
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, **_LAYOUT)
    return fig


def position_scatter(coords: np.ndarray, title: str, axis_titles: Sequence[str]) -> go.Figure:
    """Positions as points joined in order (2-D or 3-D), coloured from first (dark) to last (light)."""
    pos = np.arange(len(coords))
    common = dict(
        mode="lines+markers",
        text=[f"position {p}" for p in pos],
        hoverinfo="text",
        marker=dict(color=pos, colorscale="Viridis", size=5, colorbar=dict(title="position", thickness=12)),
        line=dict(color="rgba(120,120,120,0.35)"),
    )
    if coords.shape[1] >= 3:
        fig = go.Figure(go.Scatter3d(x=coords[:, 0], y=coords[:, 1], z=coords[:, 2], **common))
        fig.update_layout(
            scene=dict(xaxis_title=axis_titles[0], yaxis_title=axis_titles[1], zaxis_title=axis_titles[2])
        )
    else:
        fig = go.Figure(go.Scatter(x=coords[:, 0], y=coords[:, 1], **common))
        fig.update_layout(xaxis_title=axis_titles[0], yaxis_title=axis_titles[1])
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_layout(title=title, **_LAYOUT)
    if coords.shape[1] >= 3:  # a cube seen from further back, in a taller chart, so no corner is cut off
        fig.update_layout(height=520, scene=dict(aspectmode="cube", camera=dict(eye=dict(x=1.6, y=1.6, z=1.0))))
    return fig


def rotation_circle(points: np.ndarray, title: str, axis_titles: Sequence[str], numbered: int = 8) -> go.Figure:
    """(P, 2) points on the unit circle, one per position, over the whole circle at equal scales.

    A slow rotation shows as a short arc, not a line filling the chart; the first `numbered`
    positions carry their number (no joining lines: a fast pair would draw a tangle of chords).
    """
    turn = np.linspace(0, 2 * np.pi, 181)
    pos = np.arange(len(points))
    fig = go.Figure(
        [
            go.Scatter(
                x=np.cos(turn),
                y=np.sin(turn),
                mode="lines",
                hoverinfo="skip",
                showlegend=False,
                line=dict(color="rgba(120,120,120,0.35)", dash="dot"),
            ),
            go.Scatter(
                x=points[:, 0],
                y=points[:, 1],
                mode="markers+text",
                showlegend=False,
                text=[str(p) if p < numbered else "" for p in pos],
                textposition="top right",
                hovertext=[f"position {p}" for p in pos],
                hoverinfo="text",
                marker=dict(color=pos, colorscale="Viridis", size=7, colorbar=dict(title="position", thickness=12)),
            ),
        ]
    )
    fig.update_layout(title=title, xaxis_title=axis_titles[0], yaxis_title=axis_titles[1], **_LAYOUT)
    fig.update_xaxes(range=[-1.3, 1.3], zeroline=True)
    fig.update_yaxes(range=[-1.3, 1.3], zeroline=True, scaleanchor="x", scaleratio=1)
    return fig


PALETTE = ["#4f46e5", "#f97316", "#16a34a", "#dc2626", "#0891b2", "#9333ea"]


def count_histogram(
    counts: Sequence[int] | np.ndarray, title: str, x_title: str, expected: dict[int, float] | None = None
) -> go.Figure:
    """Share of trials per count (bars); `expected` (count -> probability) drawn over them as dots."""
    values, freq = np.unique(np.asarray(counts), return_counts=True)
    fig = go.Figure(go.Bar(x=values, y=freq / max(1, len(counts)), name="observed", marker_color=PALETTE[0]))
    if expected:
        ks = sorted(expected)
        fig.add_trace(
            go.Scatter(
                x=ks,
                y=[expected[k] for k in ks],
                name="expected",
                mode="markers+lines",
                line=dict(color=PALETTE[1], dash="dot"),
            )
        )
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="share of trials", bargap=0.1, **_LAYOUT)
    return fig


def convergence(
    x: Sequence, series: Mapping[str, Numbers], targets: dict[str, float], title: str, x_title: str, y_title: str
) -> go.Figure:
    """Running estimates (lines) settling on their targets (dashed lines of the same colour)."""
    fig = go.Figure()
    for (name, ys), color in zip(series.items(), PALETTE):
        xs, ys = thin(list(x), list(ys))
        fig.add_trace(go.Scatter(x=xs, y=ys, name=name, mode="lines", line_color=color))
        if name in targets:
            fig.add_hline(y=targets[name], line_dash="dash", line_color=color, opacity=0.6)
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, **_LAYOUT)
    return fig


def grouped_bars(
    labels: Sequence[str], series: Mapping[str, Numbers], title: str, y_title: str = "probability"
) -> go.Figure:
    """Bars side by side for each label, one colour per series (e.g. a distribution before and after each
    sampling transform); labels must be unique (add the token id to tell equal-looking tokens apart)."""
    shown = [_label(label) for label in labels]
    fig = go.Figure(
        [
            go.Bar(x=shown, y=list(ys), name=name, hovertemplate="%{x}<br>p = %{y:.4f}<extra>" + name + "</extra>")
            for name, ys in series.items()
        ]
    )
    fig.update_layout(
        barmode="group", title=title, yaxis_title=y_title, legend=dict(orientation="h", y=-0.25), **_LAYOUT
    )
    return fig


def model_bars(
    models: Sequence[str], values: Sequence[float], title: str, x_title: str, fmt: str = "{:.2f}"
) -> go.Figure:
    """One horizontal bar per model (in the order given, the first at the top), e.g. each model's bits per
    character on the same sentence."""
    fig = go.Figure(
        go.Bar(
            x=list(values)[::-1],
            y=list(models)[::-1],
            orientation="h",
            text=[fmt.format(v) for v in values][::-1],
            textposition="auto",
            marker_color=[PALETTE[i % len(PALETTE)] for i in range(len(values))][::-1],
            hovertemplate="%{y}<br>%{x:.4f}<extra></extra>",
        )
    )
    fig.update_layout(title=title, xaxis_title=x_title, **{**_LAYOUT, "height": 120 + 40 * len(values)})
    return fig


# ---------------------------------------------------------------- inside the model (attention, logit lens)


def _ticks(tokens: Sequence[str]) -> dict:
    """Token labels on a numeric axis: a repeated token ("the" twice) keeps its own row and column."""
    return dict(tickmode="array", tickvals=list(range(len(tokens))), ticktext=[_label(t) for t in tokens])


def attention_map(weights: np.ndarray, tokens: Sequence[str], title: str, query: int | None = None) -> go.Figure:
    """(T, T) weights: row = the token that looks (query), column = the token looked at (key); 0..1."""
    hover = "%{y} → %{x}<br>weight %{z:.3f}<extra></extra>"
    fig = go.Figure(go.Heatmap(z=weights, zmin=0, zmax=1, colorscale="Blues", hovertemplate=hover))
    size = max(360, min(720, 14 * len(tokens) + 140))
    fig.update_layout(title=title, **{**_LAYOUT, "height": size, "margin": dict(l=10, r=10, t=40, b=10)})
    fig.update_xaxes(title="looked at (key)", tickangle=-60, **_ticks(tokens))
    fig.update_yaxes(title="looking (query)", autorange="reversed", **_ticks(tokens))
    if query is not None:  # the followed token's row, outlined
        fig.add_shape(
            type="rect", x0=-0.5, x1=len(tokens) - 0.5, y0=query - 0.5, y1=query + 0.5, line=dict(color="#dc2626")
        )
    return fig


def _tile_ticks(name: str, count: int, step: int) -> dict:
    """An axis of `count` tiles, `step` cells apart (a tile and its blank line): one tick at each tile's middle."""
    middle = (step - 2) / 2
    return dict(
        tickmode="array",
        tickvals=[i * step + middle for i in range(count)],
        ticktext=[f"{name} {i}" for i in range(count)],
        showgrid=False,
        zeroline=False,
    )


def attention_grid(weights: np.ndarray, title: str, chosen: tuple[int, int] | None = None) -> go.Figure:
    """(L, H, T, T): every layer (row of tiles) and head (column of tiles) at once, tiled into one heatmap with a
    blank line between tiles (one trace: a 12 x 12 grid draws as fast as one map)."""
    layers, heads, n, _ = weights.shape
    step = n + 1  # a tile and its blank separator
    tiled = np.full((layers * step - 1, heads * step - 1), np.nan, dtype=np.float32)
    for layer in range(layers):
        for head in range(heads):
            tiled[layer * step : layer * step + n, head * step : head * step + n] = weights[layer, head]
    fig = go.Figure(
        go.Heatmap(
            z=tiled,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            showscale=False,
            hoverongaps=False,
            hovertemplate="weight %{z:.2f}<extra></extra>",
        )
    )
    fig.update_xaxes(side="top", **_tile_ticks("head", heads, step))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", **_tile_ticks("layer", layers, step))
    if chosen is not None:  # the head shown large, outlined
        layer, head = chosen
        x0, y0 = head * step - 0.5, layer * step - 0.5
        fig.add_shape(type="rect", x0=x0, x1=x0 + n, y0=y0, y1=y0 + n, line=dict(color="#dc2626", width=2))
    fig.update_layout(title=title, **{**_LAYOUT, "height": max(300, min(900, 60 * layers + 120))})
    return fig


def attention_links(row: np.ndarray, tokens: Sequence[str], query: int, title: str) -> go.Figure:
    """BertViz's head view for one token: the tokens in two columns, a line from the chosen token (left) to every
    token it looks at (right), thicker and darker as the weight grows (lines grouped in five weight bands)."""
    n = len(tokens)
    fig = go.Figure()
    bands = np.digitize(row, [0.05, 0.15, 0.3, 0.5])  # 0 .. 4; below 1% no line at all
    for band in range(5):
        keys = [j for j in range(n) if bands[j] == band and row[j] >= 0.01]
        if not keys:
            continue
        xs = [v for _ in keys for v in (0, 1, None)]
        ys = [v for j in keys for v in (query, j, None)]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line=dict(color="#4f46e5", width=1 + 2.5 * band),
                opacity=0.3 + 0.17 * band,
                hoverinfo="skip",
                showlegend=False,
            )
        )
    labels = [_label(t) for t in tokens]
    colours = ["#dc2626" if i == query else "#111827" for i in range(n)]
    fig.add_trace(
        go.Scatter(
            x=[0] * n,
            y=list(range(n)),
            mode="text",
            text=labels,
            textposition="middle left",
            textfont=dict(color=colours),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[1] * n,
            y=list(range(n)),
            mode="markers+text",
            text=labels,
            textposition="middle right",
            marker=dict(size=6, color="#4f46e5", opacity=row.clip(0.05, 1)),
            showlegend=False,
            customdata=row,
            hovertemplate="%{text}: weight %{customdata:.3f}<extra></extra>",
        )
    )
    fig.update_layout(title=title, **{**_LAYOUT, "height": max(360, min(900, 18 * n + 80))})
    fig.update_xaxes(visible=False, range=[-0.8, 1.8])
    fig.update_yaxes(visible=False, autorange="reversed")
    return fig


def mask_pair(tokens: Sequence[str], causal: np.ndarray, bidirectional: np.ndarray) -> go.Figure:
    """A decoder's and an encoder's attention mask on the same tokens, side by side (dark = may look)."""
    fig = go.Figure()
    scale = [[0, "#f3f4f6"], [1, "#4f46e5"]]
    for axis, mask in (("", causal), ("2", bidirectional)):
        fig.add_trace(
            go.Heatmap(
                z=mask.astype(float),
                zmin=0,
                zmax=1,
                colorscale=scale,
                showscale=False,
                xaxis=f"x{axis}",
                yaxis=f"y{axis}",
                hovertemplate="%{y} → %{x}: %{z}<extra></extra>",
            )
        )
    ticks = _ticks(tokens)
    fig.update_layout(
        xaxis=dict(domain=[0, 0.46], tickangle=-60, **ticks),
        xaxis2=dict(domain=[0.54, 1], tickangle=-60, **ticks),
        yaxis=dict(autorange="reversed", **ticks),
        yaxis2=dict(autorange="reversed", anchor="x2", **ticks),
        annotations=[
            dict(text="decoder (GPT): sees only the past", x=0.23, y=1.08, xref="paper", yref="paper", showarrow=False),
            dict(text="encoder (BERT): sees both sides", x=0.77, y=1.08, xref="paper", yref="paper", showarrow=False),
        ],
        **{**_LAYOUT, "height": max(320, min(640, 14 * len(tokens) + 140))},
    )
    return fig


def lens_heatmap(layers: Sequence[int], top: Sequence[Sequence[tuple[str, float]]], title: str) -> go.Figure:
    """The logit lens: one row per layer (the embeddings at the top, the output at the bottom), its k likeliest
    next tokens left to right, each cell coloured by its probability."""
    probs = np.array([[p for _, p in row] for row in top])
    text = [[_label(t) for t, _ in row] for row in top]
    fig = go.Figure(
        go.Heatmap(
            z=probs,
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=1,
            colorscale="Purples",
            x=[f"#{i + 1}" for i in range(probs.shape[1])],
            y=[f"after layer {i}" if i else "embeddings" for i in layers],
            hovertemplate="%{y}, %{x}: %{text} (p = %{z:.3f})<extra></extra>",
            colorbar=dict(thickness=12),
        )
    )
    fig.update_layout(title=title, **{**_LAYOUT, "height": max(260, 34 * len(layers) + 100)})
    fig.update_yaxes(autorange="reversed")
    return fig


def probe_timeline(
    courses: Sequence[tuple[str, Sequence[int], Sequence[float], Sequence[int | None]]], step: int | None
) -> go.Figure:
    """Each probe's followed word across training: its probability (log scale, top) and rank (log, bottom, 1 at
    the top); a vertical line at the step the scrubber shows. `courses`: (label, steps, probabilities, ranks)."""
    from plotly.subplots import make_subplots  # only this chart needs it

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for i, (label, steps, probs, ranks) in enumerate(courses):
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=list(steps), y=list(probs), name=label, mode="lines+markers", line_color=color, legendgroup=label
            ),
            row=1,
            col=1,
        )
        if any(r is not None for r in ranks):
            fig.add_trace(
                go.Scatter(
                    x=list(steps),
                    y=list(ranks),
                    name=label,
                    mode="lines+markers",
                    line_color=color,
                    line_dash="dot",
                    legendgroup=label,
                    showlegend=False,
                ),
                row=2,
                col=1,
            )
    if step is not None:
        fig.add_vline(x=step, line_color="gray", line_dash="dash")
    # powers of ten as 1e-6, not plotly's SI prefixes (1µ, 10n read as units, not as one in a million)
    fig.update_yaxes(type="log", title_text="probability", exponentformat="e", row=1, col=1)
    fig.update_yaxes(type="log", autorange="reversed", title_text="rank (1 = top guess)", row=2, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(
        title="The chosen words through training", legend=dict(orientation="h", y=-0.2), **(_LAYOUT | dict(height=480))
    )
    return fig


def loss_vs_compute(
    groups: Mapping[str, Sequence[tuple[str, float, float]]],
    fits: Mapping[str, tuple[float, float]],
    y_title: str,
    curves: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> go.Figure:
    """Log-log loss against training FLOPs. `groups`: name -> points (label, FLOPs, loss), one marker symbol per
    group (runs in different groups are not comparable); `fits`: name -> (a, b) of loss = a·C^(-b), drawn over
    its group's range; `curves`: a run's validation loss along its own training (label -> (FLOPs, loss))."""
    fig = go.Figure()
    symbols = ["circle", "diamond", "square", "triangle-up", "x", "star"]
    for i, (name, points) in enumerate(groups.items()):
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=[p[1] for p in points],
                y=[p[2] for p in points],
                text=[p[0] for p in points],
                name=name,
                mode="markers+text",
                textposition="top center",
                marker=dict(size=10, color=color, symbol=symbols[i % 6]),
                hovertemplate="%{text}<br>%{x:.3g} FLOPs<br>%{y:.3f}<extra></extra>",
            )
        )
        if name in fits and points:
            a, b = fits[name]
            lo, hi = min(p[1] for p in points), max(p[1] for p in points)
            xs = np.geomspace(lo / 3, hi * 3, 30)
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=a * xs ** (-b),
                    mode="lines",
                    line=dict(color=color, dash="dash"),
                    name=f"fit: {a:.3g}·C^-{b:.3f}",
                )
            )
    for label, course in (curves or {}).items():
        if course:
            fig.add_trace(
                go.Scatter(
                    x=[p[0] for p in course],
                    y=[p[1] for p in course],
                    name=label,
                    mode="lines",
                    line=dict(color="gray", width=1),
                    opacity=0.6,
                )
            )
    fig.update_layout(
        title="Loss against training compute",
        xaxis=dict(type="log", title="training FLOPs", exponentformat="power"),  # 10^15 throughout, not "100T"
        yaxis=dict(type="log", title=y_title),
        legend=dict(orientation="h", y=-0.25),
        **(_LAYOUT | dict(height=460)),
    )
    return fig


RACE_COLORS = {"A": "#4f46e5", "B": "#f97316"}


def race_curves(
    laps: Mapping[str, Sequence[tuple[int, float, float | None, float | None]]], names: Mapping[str, str]
) -> go.Figure:
    """Two runs' losses against steps (left) and against their own training seconds (right). `laps`: side ->
    (step, seconds, train loss, validation loss) per logging event; `names`: side -> its legend name."""
    from plotly.subplots import make_subplots  # only the two-panel charts need it

    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.06,
        subplot_titles=("against steps", "against training seconds"),
    )
    for side, points in laps.items():
        color = RACE_COLORS.get(side, "#888")
        for col, x in ((1, 0), (2, 1)):
            val = [(p[x], p[3]) for p in points if p[3] is not None]
            train = [(p[x], p[2]) for p in points if p[2] is not None]
            fig.add_trace(
                go.Scatter(
                    x=[t[0] for t in train],
                    y=[t[1] for t in train],
                    mode="lines",
                    opacity=0.35,
                    line_color=color,
                    name=f"{names[side]}: train",
                    legendgroup=side,
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=[v[0] for v in val],
                    y=[v[1] for v in val],
                    mode="lines+markers",
                    line_color=color,
                    name=f"{names[side]}: validation",
                    legendgroup=side,
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="step", row=1, col=1)
    fig.update_xaxes(title_text="seconds of training", row=1, col=2)
    fig.update_yaxes(title_text="cross-entropy (nats)", row=1, col=1)
    fig.update_layout(title="The race", legend=dict(orientation="h", y=-0.25), **_LAYOUT)
    return fig


SIDE_COLORS = {"pretrained": "#4f46e5", "scratch": "#f97316"}


def finetune_curves(
    train: Mapping[str, Sequence[tuple[int, float]]],
    accuracy: Mapping[str, Sequence[tuple[int, float]]],
    chance: float | None = None,
) -> go.Figure:
    """Both models' training loss (left axis) and validation accuracy (right axis, dotted) by step, side by side."""
    fig = go.Figure()
    for side, points in train.items():
        if points:
            xs, ys = thin([p[0] for p in points], [p[1] for p in points])
            fig.add_trace(
                go.Scatter(x=xs, y=ys, name=f"{side}: train loss", mode="lines", line_color=SIDE_COLORS[side])
            )
    for side, points in accuracy.items():
        if points:
            fig.add_trace(
                go.Scatter(
                    x=[p[0] for p in points],
                    y=[p[1] for p in points],
                    name=f"{side}: validation accuracy",
                    mode="lines+markers",
                    line=dict(color=SIDE_COLORS[side], dash="dot"),
                    yaxis="y2",
                )
            )
    if chance:
        fig.add_hline(y=chance, yref="y2", line_dash="dash", line_color="gray", annotation_text="chance")
    fig.update_layout(
        title="Pre-trained vs from scratch",
        xaxis_title="step",
        yaxis=dict(title="cross-entropy (nats)"),
        yaxis2=dict(title="validation accuracy", overlaying="y", side="right", range=[0, 1], tickformat=".0%"),
        legend=dict(orientation="h", y=-0.25),
        **_LAYOUT,
    )
    return fig


def label_sweep(points: Sequence[tuple[int, Mapping[str, float]]], chance: float | None = None) -> go.Figure:
    """Validation accuracy against the number of labelled examples (log axis), one line per model."""
    fig = go.Figure()
    for side, color in SIDE_COLORS.items():
        xs = [n for n, acc in points if side in acc]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[acc[side] for _, acc in points if side in acc],
                name=side,
                mode="lines+markers",
                line_color=color,
            )
        )
    if chance:
        fig.add_hline(y=chance, line_dash="dash", line_color="gray", annotation_text="chance")
    fig.update_layout(
        title="How many labels does pre-training save?",
        xaxis=dict(title="labelled training examples", type="log"),
        yaxis=dict(title="validation accuracy", range=[0, 1], tickformat=".0%"),
        **_LAYOUT,
    )
    return fig
