"""The only gradio code: one module per tab; `build_demo()` assembles the app."""

from __future__ import annotations

import gradio as gr

from .. import sessions
from . import common, fill_mask, next_sentence, next_word, positional, tokenizer, train

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
    common.PICKERS.clear()
    # delete_cache: every hour, Gradio deletes the uploaded and generated files older than an hour
    with gr.Blocks(title="Pretraining Playground", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO)
        tabs = []
        with gr.Tabs():
            for title, module in TABS:
                with gr.Tab(title) as tab:
                    on_load = module.build()
                    if on_load:
                        demo.load(*on_load, api_visibility="private")
                tabs.append(tab)
        pickers = [dropdown for dropdown, _ in common.PICKERS]
        for tab in tabs:  # a model trained in one tab becomes a choice in the others
            tab.select(common.refresh_pickers, None, pickers, api_visibility="private", queue=False)
        # the workspace's token, kept (encrypted) in this browser's localStorage, so a reload finds the work again
        workspace = gr.BrowserState(None, storage_key="playground-workspace")
        demo.load(common.restore_workspace, workspace, [workspace, *pickers], api_visibility="private", queue=False)
        demo.unload(_end_session)
    return demo


def _end_session(request: gr.Request):
    """The page went (closed or reloading): its models and files wait a grace period for a reload, then go."""
    sessions.leave(common.session_id(request))
