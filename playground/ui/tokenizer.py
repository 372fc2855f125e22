"""Tokenizer tab: one text through BERT's WordPiece and GPT-2's byte-level BPE, side by side."""

from __future__ import annotations

import gradio as gr

from .. import registry
from ..tokenization import Tokenized, token_label, tokenize

SIDES = {
    "bert-base-uncased": "BERT · WordPiece (`##` continues a word)",
    "gpt2": "GPT-2 · byte-level BPE (`Ġ` is a space)",
}
EXAMPLES = [
    ["Transformers learn relationships between words."],
    ["hypatia"],
    ["unbelievably, the naïve café owner tweeted 🤖"],
]


def _view(name: str, text: str) -> tuple[list, str, list]:
    tok = registry.reference_tokenizer(name)
    t: Tokenized = tokenize(tok, text, name)
    spans = [(token_label(tok, i), str(n % 4)) for n, i in enumerate(t.ids)]
    stats = (
        f"**{t.n_tokens}** tokens · {t.chars_per_token:.2f} characters per token · "
        f"{t.tokens_per_word:.2f} tokens per word · {t.unk_count} `[UNK]`"
    )
    table = [[n, raw, i] for n, (raw, i) in enumerate(zip(t.tokens, t.ids))]
    return spans, stats, table


def compare(text: str):
    text = text or ""
    out = []
    for name in SIDES:
        out.extend(_view(name, text))
    return out


PALETTE = {"0": "#c7d2fe", "1": "#fde68a", "2": "#bbf7d0", "3": "#fecaca"}


def build():
    """Wire the tab; returns (fn, inputs, outputs) to run when the page loads."""
    gr.Markdown(
        "Before a model sees text, a tokenizer cuts it into pieces from a fixed vocabulary and turns each piece "
        "into an id. Different models cut the same text differently."
    )
    text = gr.Textbox(label="Text", value=EXAMPLES[0][0], lines=3, elem_id="tk-text")
    gr.Examples(EXAMPLES, inputs=[text])
    outputs = []
    with gr.Row():
        for name, title in SIDES.items():
            with gr.Column():
                gr.Markdown(f"### {title}")
                spans = gr.HighlightedText(
                    label=name, color_map=PALETTE, show_legend=False, show_inline_category=False, elem_id=f"tk-{name}"
                )
                stats = gr.Markdown(elem_id=f"tk-stats-{name}")
                table = gr.Dataframe(
                    headers=["#", "token", "id"], label="Tokens and ids", interactive=False, max_height=300,
                    elem_id=f"tk-table-{name}",
                )
                outputs += [spans, stats, table]
    text.change(compare, [text], outputs, api_name="tokenize", show_progress="hidden")
    return compare, [text], outputs
