"""Fill Mask tab: what a masked LM puts in each [MASK]."""

from __future__ import annotations

import gradio as gr

from .. import charts
from ..fill_mask import fill_mask
from .common import friendly, load_model, model_note, model_picker

EXAMPLES = [
    ["To be, or not to [MASK]: that is the question."],
    ["Good morrow, my [MASK] lord."],
    ["The king is [MASK]; long live the king."],
    ["O Romeo, Romeo! wherefore art [MASK] Romeo?"],
]


@friendly
def predict(text: str, top_k: float, model: str = ""):
    loaded = load_model(model, "masked")
    result = fill_mask(loaded.model, loaded.tokenizer, text, int(top_k))
    first = result.masks[0].candidates
    fig = charts.probability_bars(
        [c.token for c in first], [c.prob for c in first], [c.id for c in first],
        "Candidates for the first [MASK]" + (f" (of {len(result.masks)})" if len(result.masks) > 1 else ""),
    )
    table = [
        [n + 1, rank + 1, c.token, c.id, round(c.prob, 4)]
        for n, mask in enumerate(result.masks)
        for rank, c in enumerate(mask.candidates)
    ]
    return f"**Filled in:** {result.filled}", fig, table, model_note(loaded)


def build() -> None:
    gr.Markdown(
        "A masked (BERT-style) language model sees the whole sentence, left and right, and guesses the "
        "hidden words. Write `[MASK]` where a word is missing."
    )
    with gr.Row():
        with gr.Column(scale=2):
            model = model_picker("masked", "fm-model")
            text = gr.Textbox(label="Sentence with [MASK]", value=EXAMPLES[0][0], lines=2, elem_id="fm-text")
            top_k = gr.Slider(1, 30, value=5, step=1, label="Candidates per mask (top-k)")
            go = gr.Button("Fill the mask", variant="primary", elem_id="fm-go")
            gr.Examples(EXAMPLES, inputs=[text])
        with gr.Column(scale=3):
            note = gr.Markdown()
            filled = gr.Markdown(elem_id="fm-filled")
            chart = gr.Plot(label="Top candidates", elem_id="fm-chart")
    table = gr.Dataframe(headers=["mask", "rank", "token", "id", "probability"], label="Every mask", interactive=False)
    outputs = [filled, chart, table, note]
    go.click(predict, [text, top_k, model], outputs, api_name="fill_mask")
    text.submit(predict, [text, top_k, model], outputs, api_visibility="private")
