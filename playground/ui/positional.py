"""Positional Encoding tab: the sinusoidal table of 'Attention Is All You Need' as a heatmap."""

from __future__ import annotations

import gradio as gr

from .. import charts
from ..positional import sinusoidal
from .common import friendly


@friendly
def sinusoid_heatmap(n_positions: float, dim: float, base: float):
    table = sinusoidal(int(n_positions), int(dim), float(base))
    return charts.heatmap(
        table, f"Sinusoidal encoding: {int(n_positions)} positions × {int(dim)} dimensions, base {base:g}",
        "dimension (pairs: sin, cos; lower pairs turn faster)", "position",
    )


def build():
    """Wire the tab; returns (fn, inputs, outputs) to run when the page loads."""
    gr.Markdown(
        "Attention alone treats a sentence as a bag of words. A positional encoding adds to each token a vector "
        "that depends only on where it stands. The original Transformer used fixed waves: "
        "PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(pos / base^(2i/d))."
    )
    with gr.Row():
        n_positions = gr.Slider(2, 512, value=64, step=1, label="Sequence length (positions)", elem_id="pe-len")
        dim = gr.Slider(2, 512, value=128, step=2, label="Model width (dimensions)", elem_id="pe-dim")
        base = gr.Slider(10, 100000, value=10000, step=10, label="Base", elem_id="pe-base")
    plot = gr.Plot(label="Sinusoidal positional encoding", elem_id="pe-heatmap")
    inputs = [n_positions, dim, base]
    for slider in inputs:
        slider.release(sinusoid_heatmap, inputs, [plot], api_visibility="private", show_progress="hidden")
    draw = gr.Button("Draw", elem_id="pe-go")
    draw.click(sinusoid_heatmap, inputs, [plot], api_name="sinusoidal")
    return sinusoid_heatmap, inputs, [plot]
