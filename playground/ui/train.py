"""Train Tiny Model tab: pretrain our small transformer live, TensorFlow-Playground style; layout and wiring only.

The run itself is the session's (playground.tiny.run.TrainingRun, in the core Session): Train and Step are
queued events with a global concurrency limit; Pause, Stop and Reset skip the queue and only raise a flag
that the running loop reads between steps. The form is `TrainForm` (ui/train_form.py), written once; the tab's
other parts (the timeline, the race, fine-tuning) are built below this one's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gradio as gr

from .. import budget, charts, session
from ..errors import UserError
from ..tiny import sources
from ..tiny.recipes import RECIPES, WHY
from ..tiny.run import Outcome
from ..tiny.train import Estimate, Progress, Trainer, count_parameters, estimate, uniform_loss
from ..tiny.train import Limits as Limits  # re-exported (tests patch LIMITS, BUDGET, UI_INTERVAL here: read here)
from . import export, finetune, race, timeline
from .common import friendly, linked, maths_panel, recall, register_picker, session_id, shown
from .train_form import (
    BUDGET,
    FROM_TOKENIZER_TAB,
    HUB_DATASET,
    LIMITS,
    MASKED_MAX_LR,
    MAX_RUNS,
    OBJECTIVES,
    PASTED,
    PRESET_FIELDS,
    PRESETS,
    TOKENIZERS,
    UI_INTERVAL,
    UPLOADED,
    Controls,
    Shown,
    TrainForm,
    clock,
    ended,
    form_api,
    kept_form,
    refill_on_load,
    streamed,
    zip_for,
)
from .train_form import CORPORA as CORPORA  # re-exported: the tests and benchmarks read the form's names here

MASKED_TOKENIZER = "WordPiece, trained on the corpus"  # what BERT uses; a masked objective switches to it
MASKED_TOKENIZER_INFO = (
    "Masked LM hides whole tokens: a [MASK] over one character is guessed from its neighbours "
    "and teaches no words, so a subword tokenizer (WordPiece, as BERT) suits it."
)
SAMPLE_LABELS = {
    False: "What the model writes now (continuing a line of the corpus)",
    True: "What the model fills in now (its guess at each [MASK])",
}


def tokenizer_choices(sid: str | None) -> list[str]:
    own = session.peek(sid)
    return [*TOKENIZERS, *(name + FROM_TOKENIZER_TAB for name in (own.tokenizers if own else {}))]


def session_tokenizer(choice: str, sid: str | None) -> Any:
    """The Tokenizer tab's tokenizer for this choice, or None for the kinds built here."""
    if choice in TOKENIZERS:
        return None
    own = session.peek(sid)
    return sources.own_tokenizer(choice.removesuffix(FROM_TOKENIZER_TAB), own.tokenizers if own else {})


# ---------------------------------------------------------------- views


@dataclass
class TrainView(Shown):
    """What one event shows; a field left None keeps what the page shows (gr.skip()). The fields name the
    outputs (`Panel`'s components of the same names)."""

    curve: Any = None
    status: str | None = None
    sample: str | None = None
    stats: str | None = None
    mine: Any = None  # a dropdown update: this session's models
    download: str | None = None


INITIAL = (None, "Press **Train**.", "", "", None, None)  # what TrainView's outputs show on a fresh page


def _status(state: str, e: Progress | None, run: Trainer | None, note: str = "") -> str:
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


def _stats(e: Progress | None, run: Trainer | None) -> str:
    if e is None or run is None:
        return ""
    parts = [
        f"{e.tokens_per_s:,.0f} tokens/s",
        f"{e.step_seconds * 1000:,.1f} ms/step",
        f"elapsed {clock(e.elapsed)}",
        f"ETA {clock(e.eta())}" if not e.done else "",
        run.describe_device(),
        *(f"{k.replace('_', ' ').replace('nsp', 'NSP')} {v:.1%}" for k, v in e.metrics.items()),
    ]
    return " · ".join(p for p in parts if p)


def _curve(run: Trainer | None, final: Progress | None = None) -> Any:
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


def _view(run: Trainer, e: Progress | None, state: str, note: str = "") -> TrainView:
    sample = e.sample if e is not None and e.sample else None
    return TrainView(_curve(run, e), _status(state, e, run, note), sample, _stats(e, run))


def _reset_view(note: str = "Reset: press **Train** to start a fresh model.") -> TrainView:
    return TrainView(charts.loss_curve([], [], None, "Training loss"), note, "", "")


def _outcome_view(outcome: Outcome, sid: str) -> TrainView:
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
    view.mine, view.download = _mine_update(sid, outcome.name), zip_for(outcome.name, sid)
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


def _train(form: TrainForm, request: gr.Request | None, max_steps: int | None) -> Iterator[tuple]:
    """Train the session's run (a new one from the form, or the paused one) and stream the page's views."""
    sid = session_id(request)
    own = session.get(sid)
    training = own.training
    made_room = ""  # the sentence naming models removed to make room on disk, shown while it trains
    with training.hold(), own.writing():
        told = ended(training, lambda outcome: _outcome_view(outcome, sid).outputs())
        if told is not None:  # the server stopped the paused run this page shows: say so before a new one
            yield told
            return
        if training.run is None:
            yield shown(training, _reset_view("Preparing the tokenizer and the data…").outputs())
            made_room = _start(form, sid)
            training.form = form
        else:
            run = training.run
            last = run.history[-1] if run.history else None
            going_on = "with the paused run and its settings (**Reset** to start a new one)."
            yield shown(training, _view(run, last, "Going on", going_on).outputs())
        assert training.run is not None
        steps = None if max_steps is None else training.run.steps_to_next_log()
        run = training.run
        yield from streamed(
            training,
            training.train(steps),
            lambda event: _view(run, event, "Stopping" if training.stop_requested else "Training", made_room).outputs(),
            lambda outcome: _outcome_view(outcome, sid).outputs(),
            UI_INTERVAL,
        )


@form_api(TrainForm)
def run_training(form: TrainForm, request: gr.Request | None) -> Iterator[tuple]:
    """Train (or go on with the paused run) until done, paused or stopped; stream the curve and samples."""
    yield from _train(form, request, None)


@form_api(TrainForm)
def step_training(form: TrainForm, request: gr.Request | None) -> Iterator[tuple]:
    """Train one logging interval (one step on CPU) of the paused run, or of a new one; then pause."""
    yield from _train(form, request, 1)


CONTROLS = Controls(
    part=lambda own: own.training,
    idle="Nothing is training.",
    stopping="Stopping: the model is saved after this step…",
    status_only=lambda status: TrainView(status=status).outputs(),
    settled=lambda outcome, sid: _outcome_view(outcome, sid).outputs(),
)
request_pause = CONTROLS.pause_handler("request_pause")
request_stop = CONTROLS.stop_handler("request_stop")


@friendly
def request_reset(request: gr.Request = None) -> tuple:
    own = session.peek(session_id(request))
    if own is not None and own.training.reset().state == "resetting":
        return TrainView(status="Resetting…").outputs()
    return shown(own.training, _reset_view().outputs()) if own else _reset_view().outputs()


# the form fields the estimate reads, in the order of its API's parameters
SIZING = (
    "objective",
    "steps",
    "n_layer",
    "n_head",
    "n_embd",
    "context",
    "batch",
    "lr",
    "dropout",
    "samples",
    "tokenizer",
    "vocab",
)


@form_api(TrainForm, only=SIZING)
def estimate_view(form: TrainForm, request: gr.Request | None) -> str:
    """Parameter count and time per step on this device, before starting (a bad setting is named here)."""
    try:
        cfg = form.config()
        est = estimate(cfg, sources.vocab_guess(cfg, session_tokenizer(form.tokenizer, session_id(request))))
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
        return f"≈ {est.seconds_per_step * 1000:,.0f} ms per step · {steps:,} steps ≈ {clock(est.seconds_per_step * steps)}"
    low, high = est.low * 1000, est.high * 1000
    return (
        f"≈ {low:,.0f}–{high:,.0f} ms per step · {steps:,} steps ≈ {clock(est.low * steps)}–{clock(est.high * steps)}"
    )


def _pace_basis(est: Estimate) -> str:
    if est.calibrated_on > 1:
        runs = f"calibrated on the last {est.calibrated_on} runs here"
    else:
        runs = "calibrated on the last run here" if est.calibrated_on else "estimate"
    return runs + (": this machine is busy, so a range" if est.busy else "")


@friendly
def restore(request: gr.Request, *values: Any) -> tuple:  # (gradio passes the request only to a positional parameter)
    """On page load: the Train part as this session last showed it (curve, status, sample, statistics, the model
    chosen for download), the estimate for the form, and the form it trained with, or None when it kept none (or
    a whole-page link's own values win). A run whose page went mid-chunk is paused. Inputs: the form; outputs:
    the views', the estimate, the kept form (a State: only a change to it fills the form, `fill_form`, so a
    fresh page's form is never written over what the learner may already have typed)."""
    sid = session_id(request)
    own = session.peek(sid)
    training = own.training if own else None
    if training is not None:  # a paused run the server stopped: what it learned, and why
        ended(training, lambda outcome: _outcome_view(outcome, sid).outputs())
    curve, status, sample, stats, mine, download = recall(training, INITIAL)
    if training is not None and training.run is not None and not training.busy:
        run = training.run
        last = run.history[-1] if run.history else None
        curve, status, sample, stats, *_ = _view(run, last, "Paused", "Press **Train** to go on.").outputs()
    chosen = mine.get("value") if isinstance(mine, dict) else None
    if chosen in _mine_choices(sid):
        mine = _mine_update(sid, chosen)
    form = training.form if training is not None and not linked(request) else None
    sizing = form if form is not None else TrainForm(*values)
    estimate = estimate_view(**{name: getattr(sizing, name) for name in SIZING}, request=request)
    return curve, status, sample, stats, mine, download, estimate, kept_form(form)


def _masked(objective: str) -> bool:
    return OBJECTIVES.get(objective, "clm") != "clm"


def apply_preset(name: str, objective: str = list(OBJECTIVES)[0]) -> tuple:
    """The preset's settings (PRESET_FIELDS, in that order), its learning rate gentler for masked LM."""
    preset = PRESETS[name]
    values = {field: getattr(preset, field) for field in PRESET_FIELDS}
    if _masked(objective):
        values["lr"] = min(values["lr"], MASKED_MAX_LR)
    return tuple(values.values())


def recipe_lr(recipe: str, objective: str, preset: str) -> float:
    """Choosing a recipe sets its learning rate: Muon (modern) takes a larger one; masked LM stays gentler."""
    lr = RECIPES[recipe]["lr"] if recipe == "modern" else PRESETS.get(preset, PRESETS["tiny"]).lr
    return min(lr, MASKED_MAX_LR * 3) if _masked(objective) and recipe == "modern" else lr


def objective_defaults(objective: str, tokenizer: str, lr: Any) -> tuple[dict, Any, dict]:
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


def show_corpus_fields(choice: str) -> tuple[dict, dict, dict]:
    return (
        gr.update(visible=choice == PASTED),
        gr.update(visible=choice == UPLOADED),
        gr.update(visible=choice == HUB_DATASET),
    )


def _mine_choices(sid: str | None) -> list[str]:
    own = session.peek(sid)
    return list(own.checkpoints) if own else []


def _mine_update(sid: str | None, value: str | None = None) -> dict:
    return gr.update(choices=_mine_choices(sid), value=value)


@friendly
def download_checkpoint(name: str, request: gr.Request = None) -> str | None:
    """The chosen checkpoint of this session as a zip (safetensors + config + tokenizer)."""
    if not name:
        return None
    sid = session_id(request)
    if name not in _mine_choices(sid):
        raise UserError(f"{name} is not a model of this session: train or upload one first.")
    return zip_for(name, sid)


@friendly
def upload_checkpoint(file: Any, request: gr.Request = None) -> tuple[dict, str | None, str]:
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
    return _mine_update(sid, name), zip_for(name, sid), note


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


@dataclass
class Panel:
    """The run's side of the tab: its buttons, what it shows (TrainView's fields) and this session's models."""

    go: gr.Button
    pause: gr.Button
    step: gr.Button
    stop: gr.Button
    reset: gr.Button
    status: gr.Markdown
    stats: gr.Markdown
    curve: gr.Plot
    sample: gr.Textbox
    mine: gr.Dropdown
    keep: gr.Checkbox
    download: gr.DownloadButton
    upload_zip: gr.UploadButton

    def outputs(self) -> list:
        """The components TrainView's outputs go to, in its order."""
        return [getattr(self, f.name) for f in fields(TrainView)]


def build() -> tuple[Callable, list, list]:
    gr.Markdown(
        "Pre-train a small transformer from scratch, right here. Pick what it learns, from which text, and how big "
        "it is; press **Train** and watch the loss fall from the uniform guess (dashed) while the samples turn into "
        "language. **Pause**, **Step** one interval at a time, **Stop** to keep the model, **Reset** to start over. "
        "A finished model becomes a choice in the other tabs."
    )
    with gr.Row():
        with gr.Column(scale=2):
            form, preset, estimate_md = _build_form()
        with gr.Column(scale=3):
            panel = _build_panel()
    inputs = list(form.values())
    ended = _wire_run(inputs, panel)
    _wire_form(form, preset, panel.sample)
    maths_panel("train")
    timeline.build(ended)
    race.build(inputs)
    finetune.build()
    sizing: list[Any] = [form[name] for name in SIZING]
    gr.on(
        [c.change for c in sizing],
        estimate_view,
        sizing,
        [estimate_md],
        api_name="estimate_training",
        queue=False,
        show_progress="hidden",
    )
    kept = refill_on_load("tr", form)  # the form a reload finds in the session (see restore)
    return restore, inputs, [*panel.outputs(), estimate_md, kept]


def _build_form() -> tuple[dict[str, Any], gr.Radio, gr.Markdown]:
    """The form's column, its components made from TrainForm section by section: field name -> component (in
    the form's field order, the handlers' parameters'), the preset choice, the estimate."""
    form = {**TrainForm.widgets("text"), **TrainForm.widgets("tokens")}
    register_picker(form["tokenizer"], tokenizer_choices)
    preset = gr.Radio(list(PRESETS), value="tiny", label="Model size preset", elem_id="tr-preset")
    with gr.Accordion("Hyper-parameters", open=True):
        with gr.Row():
            form |= TrainForm.widgets("shape")
        with gr.Row():
            form |= TrainForm.widgets("optimiser")
        form |= TrainForm.widgets("run")
        with gr.Accordion("What the modern recipe changes, and why", open=False):
            gr.Markdown("\n".join(f"- **{name.replace('_', ' ')}**: {why}" for name, why in WHY.items()))
    estimate_md = gr.Markdown(elem_id="tr-estimate")
    return {f.name: form[f.name] for f in fields(TrainForm)}, preset, estimate_md


def _build_panel() -> Panel:
    """The buttons, the status, statistics, curve and sample, and this session's models."""
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
        register_picker(mine, _mine_choices)
        keep = gr.Checkbox(
            False,
            label="Keep (never removed to make room on disk)",
            elem_id="tr-keep",
            scale=1,
            info=f"A session keeps up to {budget.megabytes(BUDGET.session)} of models; the oldest not "
            "kept go first when a new one needs room.",
        )
        download = gr.DownloadButton("Download zip", elem_id="tr-download", scale=1)
        upload_zip = gr.UploadButton("Upload a checkpoint zip", file_types=[".zip"], elem_id="tr-upload-zip", scale=1)
    export.build(mine)  # Export and publish: below this session's models
    return Panel(go, pause, step, stop, reset, status, stats, curve, sample, mine, keep, download, upload_zip)


def _wire_run(inputs: list, panel: Panel) -> list:
    """Train, Step, Pause, Stop, Reset and this session's models; the events after which a run may be paused,
    saved or dropped (the timeline part refreshes its run list then)."""
    outputs = panel.outputs()
    training: dict[str, Any] = dict(concurrency_limit=MAX_RUNS, concurrency_id="training")
    ended = [
        panel.go.click(run_training, inputs, outputs, api_name="train", **training),
        panel.step.click(step_training, inputs, outputs, api_name="step_training", **training),
        panel.stop.click(request_stop, None, outputs, api_name="stop_training", queue=False),
        panel.reset.click(request_reset, None, outputs, api_name="reset_training", queue=False),
        panel.upload_zip.upload(
            upload_checkpoint,
            [panel.upload_zip],
            [panel.mine, panel.download, panel.status],
            api_name="upload_checkpoint",
        ),
    ]
    panel.pause.click(request_pause, None, [panel.status], api_name="pause_training", queue=False)
    panel.mine.change(download_checkpoint, [panel.mine], [panel.download], api_name="download_checkpoint", queue=False)
    panel.mine.change(is_kept, [panel.mine], [panel.keep], api_visibility="private", queue=False)
    panel.keep.input(keep_model, [panel.mine, panel.keep], [panel.keep], api_name="keep_model", queue=False)
    return ended


def _wire_form(form: dict[str, Any], preset: gr.Radio, sample: gr.Textbox) -> None:
    """What one field sets in the others: the preset, the recipe's learning rate, the objective's defaults and
    the corpus's own fields."""
    private: dict[str, Any] = dict(api_visibility="private", queue=False)
    objective, lr = form["objective"], form["lr"]
    preset.change(apply_preset, [preset, objective], [form[name] for name in PRESET_FIELDS], **private)
    form["recipe"].change(recipe_lr, [form["recipe"], objective, preset], [lr], **private)
    objective.change(objective_defaults, [objective, form["tokenizer"], lr], [form["tokenizer"], lr, sample], **private)
    form["corpus"].change(
        show_corpus_fields, [form["corpus"]], [form["pasted"], form["upload"], form["dataset"]], **private
    )
