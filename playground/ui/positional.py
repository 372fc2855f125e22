"""Positional Encoding tab: sinusoidal, learned and rotary encodings, their similarity, and why order matters."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import gradio as gr
import numpy as np
import plotly.graph_objects as go

from .. import charts, positional, registry, session
from ..errors import UserError
from ..tiny.model import TinyTransformer
from . import sliders
from .common import friendly, load_model, maths_panel, register_picker, session_id, whole_number

# checkpoints with a learned position table, and the task to load them for
LEARNED_SOURCES = {
    "tiny-shakespeare-gpt": "causal",
    registry.ENCODER: "masked",  # a real BERT's learned table, offline (its package installed)
    "gpt2": "causal",
    "bert-base-uncased": "masked",
}
SIMILARITY_SOURCE = "tiny-shakespeare-gpt"
ORDER_MODEL = "tiny-shakespeare-bert"  # bidirectional: word order reaches it only through positions
LIVE: dict[str, Any] = dict(
    api_visibility="private", show_progress="hidden", trigger_mode="always_last", **sliders.RAW
)  # slider redraws; the handlers fit a typed number to its slider (sliders.fit)
# (lowest, highest, step, default) of each slider: the handlers fit typed numbers to the same ranges
SIN_POSITIONS, SIN_DIM, BASE = (2, 512, 1, 64), (2, 512, 2, 128), (10, 100000, 10, 10000)
HEAD_DIM, ROPE_POSITIONS, SIM_POSITIONS = (4, 256, 2, 64), (4, 256, 1, 48), (4, 128, 1, 64)


def _slider(spec: tuple, label: str, **kwargs) -> gr.Slider:
    low, high, step, default = spec
    return gr.Slider(low, high, value=default, step=step, label=label, **kwargs)


class _Fitted:
    """Typed numbers fitted to their sliders' ranges, and the sentences saying which ones moved."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def __call__(self, value: Any, spec: tuple, what: str) -> int:
        """The value on its slider's (whole-number) steps."""
        low, high, step, _ = spec
        fitted, note = sliders.fit(value, low, high, what, step)
        if note:
            self.notes.append(note)
        return int(fitted)

    def said(self) -> str:
        return "  \n".join(self.notes) + ("  \n" if self.notes else "")


def parse_dims(text: str, dim: int) -> tuple[list[int], list[int]]:
    """(dimensions to draw, at most 12; those the width leaves out). A list with none inside the width is an error."""
    dims = [int(d) for d in re.findall(r"\d+", text or "")]
    if not dims:
        raise UserError("List the dimensions to plot as numbers, e.g. 0, 1, 10, 40.")
    kept, dropped = [d for d in dims if d < dim], [d for d in dims if d >= dim]
    if not kept:
        raise UserError(
            f"The model is {dim} dimensions wide, so dimension {dropped[0]} does not exist (use 0 to {dim - 1})."
        )
    return kept[:12], dropped


@friendly
def sinusoid_views(n_positions: float, dim: float, base: float, dims_text: str) -> tuple[go.Figure, go.Figure, str]:
    fitted = _Fitted()
    n = fitted(n_positions, SIN_POSITIONS, "Sequence length")
    d = fitted(dim, SIN_DIM, "Model width")
    base = fitted(base, BASE, "Base")
    table = positional.sinusoidal(n, d, float(base))
    heat = charts.heatmap(
        table,
        f"Sinusoidal encoding: {n} positions × {d} dimensions, base {base:g}",
        "dimension (pairs: sin, cos; lower pairs turn faster)",
        "position",
    )
    dims, dropped = parse_dims(dims_text, d)
    waves = charts.lines(
        range(n),
        {f"dim {i} ({'sin' if i % 2 == 0 else 'cos'})": table[:, i] for i in dims},
        "Each dimension is a wave over positions",
        "position",
        "value",
    )
    note = fitted.said() + _sinusoid_note(table, positional.wavelengths(d, float(base)))
    if dropped:
        listed = ", ".join(map(str, dropped))
        note += f"  \nNot drawn: dimension{'s' if len(dropped) > 1 else ''} {listed}, beyond this width (0 to {d - 1})."
    return heat, waves, note


def _sinusoid_note(table: np.ndarray, waves: np.ndarray) -> str:
    """What the drawn table shows: its wavelengths, and whether its positions really differ (measured: the two
    most alike rows), since too few or too fast pairs make the pattern come round again."""
    pairs = len(waves)
    span = (
        f"The one sin/cos pair has a wavelength of {waves[0]:.1f} positions"
        if pairs == 1
        else f"The {pairs} sin/cos pairs have wavelengths from {waves[0]:.1f} positions (pair 0) to "
        f"{waves[-1]:,.1f} (pair {pairs - 1})"
    )
    n = len(table)
    if n < 2:
        return f"{span}."
    norms = (table**2).sum(1)  # (P,); distances through the Gram matrix: (P, P) memory, not (P, P, D)
    distance = np.sqrt(np.maximum(norms[:, None] + norms[None, :] - 2 * table @ table.T, 0.0))  # (P, P)
    distance[np.arange(n), np.arange(n)] = np.inf
    i, j = np.unravel_index(int(np.argmin(distance)), distance.shape)
    closest = float(distance[i, j])
    if closest < 0.1:  # within 0.1 of each other over the whole width: the model could barely tell them apart
        return (
            f"{span}. Over these {n} positions the pattern comes round again: positions {min(i, j)} and "
            f"{max(i, j)} get almost the same encoding (distance {closest:.3f}). More dimensions add slower pairs."
        )
    return (
        f"{span}: together they give each of these {n} positions its own pattern, like the hands of a clock "
        f"(the two most alike, positions {min(i, j)} and {max(i, j)}, are still {closest:.2f} apart)."
    )


def learned_choices(sid: str) -> list[str]:
    """The known checkpoints with a learned table, and every checkpoint this session trained."""
    own = session.peek(sid)
    return [*LEARNED_SOURCES, *(own.checkpoints if own else [])]


def _task_for(name: str, sid: str) -> str:
    own = session.peek(sid)
    if own and name in own.checkpoints:
        return own.checkpoint_tasks(name)[0]
    return LEARNED_SOURCES.get(name, "causal")


@friendly
def learned_views(name: str, view: str, request: gr.Request = None) -> tuple[go.Figure, go.Figure]:
    loaded = load_model(name, _task_for(name, session_id(request)), request)
    table = positional.learned_table(loaded.model)
    if table is None:
        kind = getattr(getattr(loaded.model, "config", None), "positions", "")
        how = f" (it uses {kind} positions: see the other sub-tabs)" if kind in ("sinusoidal", "rotary") else ""
        raise UserError(f"{name} has no learned position table{how}.")
    name = loaded.name  # the fallback's, when the Hub could not be reached
    heat = charts.heatmap(
        table, f"{name}: learned position embeddings ({table.shape[0]} × {table.shape[1]})", "dimension", "position"
    )
    k = 3 if view.startswith("3") else 2
    p = positional.pca(table, k)
    axes = [f"PC{i + 1} ({share:.0%})" for i, share in enumerate(p.explained)]
    scatter = charts.position_scatter(p.coords, f"{name}: positions in their top {k} principal directions", axes)
    return heat, scatter


def last_pair(head_dim: float) -> int:
    """The highest rotation pair a head of this size has (pairs 0 .. d/2 - 1)."""
    return max(0, int(head_dim) // 2 - 1)


@friendly
def rope_views(
    head_dim: float, pair: float, base: float, n_positions: float, seed: float | None
) -> tuple[go.Figure, go.Figure, str, gr.Slider]:
    fitted = _Fitted()
    d = fitted(head_dim, HEAD_DIM, "Head dimension")
    typed_pair = pair
    pair = fitted(pair, (0, last_pair(d), 1, 0), "Pair i")  # a smaller head has fewer pairs: keep to its last one
    base, n = fitted(base, BASE, "Base"), fitted(n_positions, ROPE_POSITIONS, "Positions")
    seed = whole_number(seed, "The seed", default=0, minimum=0)
    trail = positional.rope_trajectory(n, d, pair, float(base))
    circle = charts.rotation_circle(
        trail, f"Pair {pair} of a query turned by RoPE, positions 0–{n - 1}", ["dimension 2i", "dimension 2i+1"]
    )
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal(d), rng.standard_normal(d)
    scores = positional.rope_scores(q, k, n, float(base))
    heat = charts.heatmap(
        scores,
        "Score q·k with q at position m, k at position n: constant along each diagonal",
        "key position n",
        "query position m",
    )
    note = fitted.said() + _rope_note(scores)
    # the slider's value is set only when it had to move: a draw from older values finishing after the
    # learner's newest pair would otherwise put the old pair back before the queued draw reads it
    moved = typed_pair != pair
    return circle, heat, note, gr.Slider(maximum=last_pair(d), value=pair) if moved else gr.Slider(maximum=last_pair(d))


def _rope_note(scores: np.ndarray) -> str:
    """Two different (query, key) position pairs at the same offset, and their scores, read from the drawn table."""
    n = len(scores)
    if n < 3:
        return f"With only {n} position{'s' if n > 1 else ''}, no two pairs share an offset: draw at least 3."
    offset = min(3, n - 2)
    b = min(7, n - 2 - offset)
    a = b + offset  # a <= n - 2, so the shifted pair below exists and differs
    shift = min(30, n - 1 - a)
    same = bool(np.isclose(scores[a, b], scores[a + shift, b + shift], atol=1e-4))
    return (
        f"score(m={a}, n={b}) = {scores[a, b]:.4f} and score(m={a + shift}, n={b + shift}) = "
        f"{scores[a + shift, b + shift]:.4f}: "
        + ("the same offset gives the same score, wherever the pair stands." if same else "they differ.")
    )


@friendly
def similarity_views(n_positions: float) -> tuple[go.Figure, ...]:
    n = _Fitted()(n_positions, SIM_POSITIONS, "Positions")  # no note to show it in: the box clamps on blur
    learned = positional.learned_table(registry.load(SIMILARITY_SOURCE, "causal").model)
    assert learned is not None  # SIMILARITY_SOURCE is a checkpoint with learned positions
    n = min(n, learned.shape[0])
    dim = learned.shape[1]
    kinds = {
        "sinusoidal": positional.cosine_similarity(positional.sinusoidal(n, dim)),
        f"learned ({SIMILARITY_SOURCE})": positional.cosine_similarity(learned[:n]),
        "rotary": positional.rope_similarity(n, dim),
    }
    heats = [
        charts.heatmap(sim, f"{name}: cosine similarity", "position", "position", "Viridis")
        for name, sim in kinds.items()
    ]
    curve = charts.lines(
        range(n),
        {name: positional.similarity_by_offset(sim) for name, sim in kinds.items()},
        "Similarity by distance between positions",
        "offset (positions apart)",
        "mean cosine similarity",
    )
    return (*heats, curve)


@friendly
def order_views(text_a: str, text_b: str) -> tuple[str, list[list[str]]]:
    loaded = registry.load(ORDER_MODEL, "masked")
    model = loaded.model
    assert isinstance(model, TinyTransformer)  # only our model can switch its positions off
    r = positional.order_demo(model, loaded.tokenizer, text_a, text_b)
    verdict = "the same tokens in another order" if r.same_bag else "different tokens, not just another order"
    rows = [
        ["sum of token embeddings (a bag of words)", f"{r.bag_distance:.4f}"],
        ["model output, positions switched off", f"{r.distance_without_positions:.4f}"],
        ["model output, positions on", f"{r.distance_with_positions:.4f}"],
    ]
    note = (
        f"**A:** {' '.join(r.tokens_a)}  \n**B:** {' '.join(r.tokens_b)}  \nThese are {verdict}. "
        f"Distances are between the two texts' mean output vectors (whose length is about {r.norm:.1f}); "
        "0.0000 means equal up to rounding. "
        "Without positions, attention is a weighted average over a set: shuffling the words changes nothing. "
        f"With {model.config.positions} positions the two orders become different inputs."
    )
    return note, rows


def build() -> tuple[Callable[..., Any], list[Any], list[Any]]:
    """Wire the tab; returns (fn, inputs, outputs) to run when the page loads."""
    gr.Markdown(
        "Attention alone treats a sentence as a bag of words. A positional encoding gives each token a signal "
        "that depends on where it stands: a fixed wave added to the embedding (sinusoidal), a learned vector "
        "per position, or a rotation of queries and keys (rotary, RoPE)."
    )
    sliders.enter_applies()  # Enter in a slider's number box draws, as leaving the box does
    with gr.Tabs():
        with gr.Tab("Sinusoidal waves"):
            inputs, outputs = _sinusoid_tab()
        with gr.Tab("Learned tables") as learned_tab:
            _learned_tab(learned_tab)
        with gr.Tab("Rotary (RoPE)") as rope_tab:
            _rope_tab(rope_tab)
        with gr.Tab("Similarity") as sim_tab:
            _similarity_tab(sim_tab)
        with gr.Tab("Why order matters") as order_tab:
            _order_tab(order_tab)
    maths_panel("positional")
    return sinusoid_views, inputs, outputs


def _sinusoid_tab() -> tuple[list[Any], list[Any]]:
    """The sinusoidal table and its waves; returns their (inputs, outputs), which the page load draws."""
    with gr.Row():
        n_positions = _slider(SIN_POSITIONS, "Sequence length (positions)", elem_id="pe-len")
        dim = _slider(SIN_DIM, "Model width (dimensions)", elem_id="pe-dim")
        base = _slider(BASE, "Base", elem_id="pe-base")
    dims = gr.Textbox(value="0, 1, 10, 40, 100", label="Dimensions to draw as waves", elem_id="pe-dims")
    draw = gr.Button("Draw", elem_id="pe-go")
    note = gr.Markdown(elem_id="pe-note")
    heat = gr.Plot(label="Sinusoidal positional encoding", elem_id="pe-heatmap")
    waves = gr.Plot(label="Waves", elem_id="pe-waves")
    inputs, outputs = [n_positions, dim, base, dims], [heat, waves, note]
    draw.click(sinusoid_views, inputs, outputs, api_name="sinusoidal", **sliders.RAW)
    for control in (n_positions, dim, base):
        control.input(sinusoid_views, inputs, outputs, **LIVE)
    dims.submit(sinusoid_views, inputs, outputs, api_visibility="private", **sliders.RAW)
    return inputs, outputs


def _learned_tab(tab: gr.Tab) -> None:
    gr.Markdown(
        "GPT-2 and BERT learn one vector per position during pre-training. Here is such a table "
        "read from a real checkpoint, and its positions projected to 2-D or 3-D."
    )
    with gr.Row():
        source = gr.Dropdown(
            list(LEARNED_SOURCES),
            value=SIMILARITY_SOURCE,
            elem_id="pe-learned-source",
            allow_custom_value=True,  # a link may name a run only the sender has: the page-load refresh swaps it
            label="Checkpoint (GPT-2 and BERT need the Hub; yours from the Train tab appear here)",
        )
        register_picker(source, learned_choices)
        view = gr.Radio(["2-D", "3-D"], value="2-D", label="PCA view")
    learned_go = gr.Button("Show", elem_id="pe-learned-go")
    learned_heat = gr.Plot(label="Learned table", elem_id="pe-learned-heatmap")
    learned_pca = gr.Plot(label="PCA", elem_id="pe-learned-pca")
    learned_io = [source, view], [learned_heat, learned_pca]
    learned_go.click(learned_views, *learned_io, api_name="learned_positions")
    gr.on(  # always_last: a choice made while the tab's first drawing runs is drawn after it, not dropped
        [tab.select, source.change, view.change],
        learned_views,
        *learned_io,
        api_visibility="private",
        trigger_mode="always_last",
    )


def _rope_tab(tab: gr.Tab) -> None:
    gr.Markdown(
        "RoPE adds nothing to the embedding. It turns each pair of a query's and a key's dimensions "
        "by an angle that grows with the position, so their dot product depends only on how far "
        "apart they are."
    )
    with gr.Row():
        head_dim = _slider(HEAD_DIM, "Head dimension", elem_id="pe-rope-dim")
        pair = _slider((0, last_pair(HEAD_DIM[3]), 1, 0), "Pair i (0 spins fastest)", elem_id="pe-rope-pair")
        rope_base = _slider(BASE, "Base")
        rope_len = _slider(ROPE_POSITIONS, "Positions")
        seed = gr.Number(value=0, precision=0, label="Seed for q and k", elem_id="pe-rope-seed")
    rope_go = gr.Button("Draw", elem_id="pe-rope-go")
    rope_note = gr.Markdown(elem_id="pe-rope-note")
    with gr.Row():
        rope_circle = gr.Plot(label="Rotation", elem_id="pe-rope-circle")
        rope_heat = gr.Plot(label="Relative scores", elem_id="pe-rope-scores")
    rope_inputs = [head_dim, pair, rope_base, rope_len, seed]
    rope_outputs = [rope_circle, rope_heat, rope_note, pair]  # the pair slider's range follows the head
    rope_go.click(rope_views, rope_inputs, rope_outputs, api_name="rotary", **sliders.RAW)
    # one listener for every trigger, so always_last holds across them: each draw also sets the pair
    # slider, and a draw from older values (the tab's first one, a head size) that finished after the
    # learner's newest choice would put its pair back
    gr.on(
        [tab.select, seed.submit, *(c.input for c in (head_dim, pair, rope_base, rope_len, seed))],
        rope_views,
        rope_inputs,
        rope_outputs,
        **LIVE,
    )


def _similarity_tab(tab: gr.Tab) -> None:
    gr.Markdown(
        "How alike are the encodings of two positions? Sinusoidal and rotary give the same curve: "
        "similarity depends only on the distance. A learned table found its own shape."
    )
    sim_len = _slider(SIM_POSITIONS, "Positions", elem_id="pe-sim-len")
    sim_go = gr.Button("Compare", elem_id="pe-sim-go")
    with gr.Row():
        sim_plots = [gr.Plot(label=kind) for kind in ("sinusoidal", "learned", "rotary")]
    sim_curve = gr.Plot(label="Similarity by offset", elem_id="pe-sim-curve")
    sim_go.click(similarity_views, [sim_len], [*sim_plots, sim_curve], api_name="position_similarity", **sliders.RAW)
    sim_len.input(similarity_views, [sim_len], [*sim_plots, sim_curve], **LIVE)
    tab.select(similarity_views, [sim_len], [*sim_plots, sim_curve], api_visibility="private", **sliders.RAW)


def _order_tab(tab: gr.Tab) -> None:
    gr.Markdown(
        f"Two sentences with the same words in another order, through our BERT-style model "
        f"({ORDER_MODEL}) with its positions on and switched off. Attention itself has no notion of "
        "order: its only structure is the mask, the decoder's triangle or the encoder's square. See both "
        "on your own sentence under **Inside the model → Encoder vs decoder** in the Next Word and Fill "
        "Mask tabs."
    )
    with gr.Row():
        text_a = gr.Textbox(value="The cat sat on the mat", label="Sentence A", elem_id="pe-order-a")
        text_b = gr.Textbox(value="On the mat sat the cat", label="Sentence B", elem_id="pe-order-b")
    order_go = gr.Button("Compare", elem_id="pe-order-go")
    order_note = gr.Markdown(elem_id="pe-order-note")
    order_table = gr.Dataframe(
        headers=["what is compared", "distance A vs B"], interactive=False, elem_id="pe-order-table"
    )
    order_go.click(order_views, [text_a, text_b], [order_note, order_table], api_name="word_order")
    gr.on(  # always_last: a sentence entered while the tab's first drawing runs is compared after it, not dropped
        [tab.select, text_a.submit, text_b.submit],
        order_views,
        [text_a, text_b],
        [order_note, order_table],
        api_visibility="private",
        trigger_mode="always_last",
    )
