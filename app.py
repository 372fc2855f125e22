"""Pretraining Playground: `python app.py` serves the app on http://127.0.0.1:7860."""

import os

import gradio as gr

from playground.ui import build_demo

demo = build_demo()

if __name__ == "__main__":
    on_spaces = bool(os.environ.get("SPACE_ID"))
    demo.queue(default_concurrency_limit=4).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0" if on_spaces else "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT") or os.environ.get("PORT") or 7860),
        theme=gr.themes.Soft(),
        max_file_size="10mb",
    )
