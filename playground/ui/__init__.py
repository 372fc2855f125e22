"""The only gradio code: one module per tab; `build_demo()` assembles the app."""

from __future__ import annotations

import gradio as gr

from . import fill_mask, next_sentence, next_word, positional, tokenizer, train

TABS = [
    ("Next Word", next_word),
    ("Fill Mask", fill_mask),
    ("Next Sentence", next_sentence),
    ("Tokenizer", tokenizer),
    ("Positional Encoding", positional),
    ("Train Tiny Model", train),
]

INTRO = """# Pretraining Playground
See and do how language models are pre-trained: predict the next word, fill in masked words, judge
whether one sentence follows another, cut text into tokens, encode word order, and train a small
transformer yourself. Everything runs on small models bundled with the app, so it works offline."""


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Pretraining Playground") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            for title, module in TABS:
                with gr.Tab(title):
                    on_load = module.build()
                    if on_load:
                        demo.load(*on_load, api_visibility="private")
    return demo
