"""Next Word tab: what a causal LM thinks comes next."""

from __future__ import annotations

import gradio as gr

from .. import charts
from ..next_word import next_token_distribution
from .common import friendly, load_model, model_note, model_picker

EXAMPLES = [
    ["ROMEO:"],
    ["To be, or not to"],
    ["The quick brown"],
    ["I love to eat pizza with"],
    ["The cat sat on the"],
]


@friendly
def predict(prompt: str, top_k: float, model: str = ""):
    loaded = load_model(model, "causal")
    result = next_token_distribution(loaded.model, loaded.tokenizer, prompt, int(top_k))
    fig = charts.probability_bars(
        [t.token for t in result.top], [t.prob for t in result.top], [t.id for t in result.top],
        f"Next-token probabilities after {len(result.prompt_tokens)} prompt tokens",
    )
    table = [[i + 1, repr(t.token), t.id, round(t.prob, 4), round(t.logprob, 3)] for i, t in enumerate(result.top)]
    tokens = [(tok, str(i % 2)) for i, (tok, _) in enumerate(result.prompt_tokens)]
    note = model_note(loaded)
    if result.truncated:
        note += f" · the prompt was longer than the model's context: its first {result.truncated} tokens were dropped"
    return fig, table, tokens, note


def build() -> None:
    gr.Markdown(
        "A causal (GPT-style) language model reads the text so far and gives every token in its vocabulary "
        "a probability of coming next. Pre-training is nothing more than making the true next token likely."
    )
    with gr.Row():
        with gr.Column(scale=2):
            model = model_picker("causal", "nw-model")
            prompt = gr.Textbox(label="Prompt", value="To be, or not to", lines=2, elem_id="nw-prompt")
            top_k = gr.Slider(1, 50, value=10, step=1, label="How many candidates (top-k)")
            go = gr.Button("Predict next word", variant="primary", elem_id="nw-go")
            gr.Examples(EXAMPLES, inputs=[prompt])
        with gr.Column(scale=3):
            note = gr.Markdown(elem_id="nw-note")
            chart = gr.Plot(label="Next-token probabilities", elem_id="nw-chart")
    tokens = gr.HighlightedText(
        label="The prompt as tokens", color_map={"0": "#e0e7ff", "1": "#fde68a"}, show_legend=False, show_inline_category=False
    )
    table = gr.Dataframe(headers=["rank", "token", "id", "probability", "log-probability"], label="Top candidates", interactive=False)
    outputs = [chart, table, tokens, note]
    go.click(predict, [prompt, top_k, model], outputs, api_name="next_word")
    prompt.submit(predict, [prompt, top_k, model], outputs, api_visibility="private")
