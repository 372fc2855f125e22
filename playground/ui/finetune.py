"""The fine-tuning part of the Train Tiny Model tab: pretrained vs scratch side by side; layout and wiring only.

The run is the session's (playground.finetune.run.FineTuning, TrainingRun's state machine): Train and Step are
queued, Pause and Stop only raise a flag the loop reads between steps. The sweep runs under the same lock, so
Stop ends it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

import gradio as gr

from .. import budget, charts, session
from ..errors import UserError
from ..finetune import export, models, tasks
from ..finetune.run import (
    LABEL_COUNTS,
    STARTS,
    WHY_DEFAULTS,
    FineTuneConfig,
    FineTuneProgress,
    FineTuneTrainer,
    FineTuning,
    estimate_seconds,
    predict,
    steps_for,
    sweep,
)
from ..registry import LoadedModel
from ..tiny.model import TinyTransformer
from ..tiny.run import Outcome
from . import export as export_ui
from .common import friendly, linked, number, on_page_load, recall, register_picker, session_id, shown
from .train_form import (
    BUDGET,
    LIMITS,
    MAX_RUNS,
    UI_INTERVAL,
    Controls,
    Shown,
    clock,
    ended,
    form_api,
    kept_form,
    parameter,
    refill_on_load,
    streamed,
    whole,
    zip_for,
)

# the first is the form's default: one-sentence reviews, so the default encoder's run takes about a minute on two
# cores (59 s, bench/RESULTS.md; "Who wrote it?"'s 40-word passages take 195 s), and its words give nothing away
TASK_CHOICES = {
    "Which way does the review lean? (both classes share their words)": "verdict",
    "Who wrote it? (Shakespeare, Austen, Melville, State of the Union)": "who-wrote-it",
    "Does B continue A? (sentence pairs)": "continues",
}
CSV_TASK = "my own CSV (text,label or text_a,text_b,label)"
HUB_TASK = "a Hugging Face dataset (needs the Hub)"
MODES = {"Fine-tune the whole model": False, "Frozen body: a linear probe (only the head learns)": True}
DEFAULTS = FineTuneConfig()


@dataclass
class FineTuneForm:
    """The form as the page sends it (field order: the APIs' parameters; a cleared number box sends None)."""

    model: str
    task: str
    labels: float | None = DEFAULTS.labels
    steps: float | None = DEFAULTS.steps  # None: 3 epochs over the labels
    mode: str = list(MODES)[0]
    lr: float | None = DEFAULTS.lr
    seed: float | None = DEFAULTS.seed
    upload: Any = None
    dataset: str = ""

    def config(self) -> FineTuneConfig:
        freeze = MODES.get(self.mode, False)
        lr = number(self.lr, "The learning rate")
        if not lr > 0:
            raise UserError(f"The learning rate must be a positive number, not {lr:g}.")
        labels = whole(self.labels, "Labelled examples")
        steps = whole(
            self.steps, "Steps", default=steps_for(labels, DEFAULTS.batch_size, DEFAULTS.epochs)
        )  # empty: 3 epochs
        return FineTuneConfig(
            task=self.task_name(),
            labels=labels,
            steps=steps,
            # 5 accuracy points: 4 on a fixed subset of the validation set, the last on all of it
            eval_every=max(1, steps // 5),
            log_every=max(1, steps // 100),
            freeze=freeze,
            lr=lr,
            probe_lr=lr if freeze else DEFAULTS.probe_lr,
            seed=whole(self.seed, "Seed", minimum=0),
        )

    def task_name(self) -> str:
        if self.task in TASK_CHOICES:
            return TASK_CHOICES[self.task]
        if self.task == CSV_TASK:
            path = getattr(self.upload, "name", self.upload)
            if not path:
                raise UserError("Upload a CSV file first (columns text,label or text_a,text_b,label).")
            return str(path)
        if self.task == HUB_TASK:
            if not (self.dataset or "").strip():
                raise UserError("Write a Hugging Face dataset id, e.g. glue/sst2.")
            return models.HUB_PREFIX + self.dataset.strip()
        raise UserError(f"Choose a task: {', '.join([*TASK_CHOICES, CSV_TASK, HUB_TASK])}.")


def body_choices(sid: str | None) -> list[str]:
    own = session.peek(sid)
    return models.body_choices(list(own.checkpoints) if own else [])


def _body(name: str, sid: str | None) -> LoadedModel:
    own = session.peek(sid)
    folder = own.checkpoints.get(name) if own else None
    if not name:
        raise UserError("Choose a pre-trained model.")
    return models.load_body(name, folder)


def _load_task(name: str) -> tasks.Task:
    if name.lower().endswith(".csv"):
        return tasks.from_csv(name, LIMITS.upload_bytes)
    return models.load_task(name)


# ---------------------------------------------------------------- views


@dataclass
class FineTuneView(Shown):
    """What one event shows; None keeps what the page shows."""

    curve: Any = None
    status: str | None = None
    download: str | None = None


INITIAL = (None, "Press **Fine-tune**.", None)  # what FineTuneView's outputs show on a fresh page


def _curve(run: FineTuneTrainer | None, final: FineTuneProgress | None = None) -> Any:
    if run is None:
        return charts.finetune_curves({}, {})
    events = [e for e in [*run.history, final] if isinstance(e, FineTuneProgress)]
    train = {
        "pretrained": [(e.step, e.train_loss) for e in events if e.train_loss is not None],
        "scratch": [(e.step, e.scratch_train_loss) for e in events if e.scratch_train_loss is not None],
    }
    accuracy: dict[str, list[tuple[int, float]]] = {side: [] for side in STARTS}
    for e in events:
        for side in STARTS:
            acc = e.accuracy(side)
            if acc is not None and (not accuracy[side] or accuracy[side][-1][0] != e.step):
                accuracy[side].append((e.step, acc))
    return charts.finetune_curves(train, accuracy, 1 / len(run.task.labels))


def _status(state: str, e: FineTuneProgress | None, note: str = "") -> str:
    text = f"**{state}**" + (" · " + " · ".join(e.describe()) if e is not None else "")
    if e is not None and not e.done and state != "Stopping":
        text += f" · ETA {clock(e.eta())}"
    return text + (f"  \n{note}" if note else "")


def _running(ft: FineTuning, run: FineTuneTrainer, event: FineTuneProgress) -> str:
    """The status while the loop runs; once Stop is pressed, what the wait is for (the last evaluation reads every
    validation example, which on a long task takes a while)."""
    if ft.stop_requested:
        last = f"A last evaluation on all {len(run.task.val)} validation examples, then the model is kept."
        return _status("Stopping", event, last)
    return _status("Training", event, run.notice)


def _outcome_view(outcome: Outcome, sid: str) -> FineTuneView:
    if outcome.state == "empty":
        return FineTuneView(charts.finetune_curves({}, {}), "Stopped before the first step: nothing to keep.")
    run = outcome.run
    assert isinstance(run, FineTuneTrainer)
    if outcome.state == "paused":
        last = run.history[-1] if run.history else None
        assert last is None or isinstance(last, FineTuneProgress)
        return FineTuneView(_curve(run), _status("Paused", last, "**Fine-tune** goes on, **Step** takes one interval."))
    final = outcome.final
    assert isinstance(final, FineTuneProgress)
    joined = f"The fine-tuned pre-trained model joined this session as **{outcome.name}** (download below)."
    note = f"{outcome.notice} {joined}".strip() if outcome.name else outcome.notice
    view = FineTuneView(_curve(run, final), _status("Stopped" if final.stopped else "Done", final, note))
    exported = str(outcome.folder) if outcome.folder is not None and outcome.folder.suffix == ".zip" else ""
    view.download = zip_for(outcome.name, sid) if outcome.name else exported  # "": not an earlier run's model
    return view


# ---------------------------------------------------------------- handlers


def _room_for(run: FineTuneTrainer, sid: str) -> str:
    """Room on disk for what the run leaves: our tiny model joins the session, a real BERT becomes a transformers
    export (a zip, staged as a folder first; it replaces the session's last one). Other bodies' copies are not
    kept. Returns the sentence naming what was removed for it."""
    pretrained = run.models["pretrained"]
    if not isinstance(pretrained.body, TinyTransformer) and export.refusal(pretrained):
        return ""
    parameters = sum(p.numel() for p in pretrained.parameters())
    writes, served = budget.run_bytes(parameters, timeline=False), budget.zip_bytes(parameters, timeline=False)
    return session.reserve(session.get(sid), writes, BUDGET, served=served)


def _train(form: FineTuneForm, request: gr.Request | None, one_interval: bool) -> Iterator[tuple]:
    sid = session_id(request)
    own = session.get(sid)
    ft = own.finetuning
    with ft.hold(), own.writing():
        told = ended(ft, lambda outcome: _outcome_view(outcome, sid).outputs())
        if told is not None:  # the server stopped the paused run this page shows: say so before a new one
            yield told
            return
        if ft.run is None:
            cfg = form.config()  # a form to correct is said before anything claims to load
            loading = FineTuneView(charts.finetune_curves({}, {}), "Loading the model and the task…", download="")
            yield shown(ft, loading.outputs())
            loaded, task = _body(form.model, sid), _load_task(cfg.task)
            run = FineTuneTrainer(cfg, loaded.model, loaded.tokenizer, task, loaded.name)
            made_room = _room_for(run, sid)
            run.notice = f"{loaded.notice} {task.notice} {made_room}".strip()
            ft.begin(run, task.name, LIMITS)
            ft.form = form
        assert isinstance(ft.run, FineTuneTrainer)
        steps = ft.run.steps_to_next_log() if one_interval else None
        run = ft.run
        yield from streamed(
            ft,
            ft.train(steps),
            lambda event: FineTuneView(_curve(run), _running(ft, run, event)).outputs(),
            lambda outcome: _outcome_view(outcome, sid).outputs(),
            UI_INTERVAL,
        )


@form_api(FineTuneForm)
def run_finetune(form: FineTuneForm, request: gr.Request | None) -> Iterator[tuple]:
    """Fine-tune both models (or go on with the paused run); stream the chart."""
    yield from _train(form, request, False)


@form_api(FineTuneForm)
def step_finetune(form: FineTuneForm, request: gr.Request | None) -> Iterator[tuple]:
    """Fine-tune one logging interval, then pause."""
    yield from _train(form, request, True)


CONTROLS = Controls(
    part=lambda own: own.finetuning,
    idle="Nothing is fine-tuning.",
    stopping="Stopping after this step, then a last evaluation on every validation example…",
    status_only=lambda status: FineTuneView(status=status).outputs(),
    settled=lambda outcome, sid: _outcome_view(outcome, sid).outputs(),
)
pause_finetune = CONTROLS.pause_handler("pause_finetune")
stop_finetune = CONTROLS.stop_handler("stop_finetune")


@friendly
def restore(request: gr.Request = None) -> tuple:
    """On page load: the fine-tuning chart, status and download as this session last showed them, and the form
    it ran with, or None (nothing kept, or a whole-page link's own values win); a run whose page went mid-chunk
    shows as paused. Outputs: the views', the kept form (a State: only a change to it fills the form)."""
    sid = session_id(request)
    own = session.peek(sid)
    ft = own.finetuning if own else None
    if ft is not None:  # a paused run the server stopped: what it learned, and why
        ended(ft, lambda outcome: _outcome_view(outcome, sid).outputs())
    view = recall(ft, INITIAL)
    if ft is not None and isinstance(ft.run, FineTuneTrainer) and not ft.busy:
        curve, status, _ = _outcome_view(Outcome("paused", ft.run), sid).outputs()
        view = (curve, status, view[2])
    form = ft.form if ft is not None and not linked(request) else None
    return *view, kept_form(form)


SIZING = ("model", "task", "labels", "steps", "mode")  # the fields the estimate reads, in its API's order


@form_api(FineTuneForm, only=SIZING)
def estimate_finetune(form: FineTuneForm, request: gr.Request | None) -> str:
    """About how long the side-by-side run and the sweep take here, before starting."""
    sid = session_id(request)
    try:
        cfg = form.config()
        name = cfg.task if cfg.task in tasks.BUILT_IN else "who-wrote-it"  # a file or dataset: as the longest
        loaded, task_ = _body(form.model, sid), models.load_task(name)
    except UserError as err:
        return f"⚠️ {err}"
    run_s = estimate_seconds(cfg, loaded.model, loaded.tokenizer, task_)
    sweep_s = sum(estimate_seconds(cfg, loaded.model, loaded.tokenizer, task_, n) for n in LABEL_COUNTS)
    auto = steps_for(cfg.labels, cfg.batch_size, cfg.epochs)
    return (
        f"≈ {clock(run_s)} for {cfg.steps} steps of both models · the sweep ({', '.join(map(str, LABEL_COUNTS))} "
        f"labels) ≈ {clock(sweep_s)} · {cfg.epochs:g} epochs over {cfg.labels} labels would be {auto} steps "
        "(estimates; the real pace shows once training starts)"
    )


COUNTS = ",".join(map(str, LABEL_COUNTS))  # the label counts the sweep offers first


@form_api(
    FineTuneForm, only=("model", "task", "mode", "lr", "seed", parameter("counts", str, COUNTS), "upload", "dataset")
)
def run_sweep(form: FineTuneForm, request: gr.Request | None, counts: str = COUNTS) -> Iterator[tuple[Any, str]]:
    """Accuracy against labelled examples, both models: one side-by-side run per count (Stop ends it)."""
    sid = session_id(request)
    try:
        wanted = tuple(sorted({int(n) for n in str(counts).replace(" ", "").split(",") if n}))
    except ValueError:
        raise UserError(
            f"Label counts are whole numbers separated by commas, e.g. 16,64,256; not {counts!r}."
        ) from None
    if not wanted or min(wanted) < 2:
        raise UserError("Give at least one label count of 2 or more, e.g. 16,64,256,1024.")
    form = replace(form, labels=wanted[0], steps=1)
    cfg = form.config()
    ft = session.get(sid).finetuning
    with ft.hold("sweeping label counts", "stop"):
        loaded, task_ = _body(form.model, sid), _load_task(cfg.task)
        task_.check_labels(wanted[-1])  # refused before the status says it sweeps
        chance = 1 / len(task_.labels)
        yield charts.label_sweep([], chance), f"Sweeping {', '.join(map(str, wanted))} labels…"
        points: list[tuple[int, dict[str, float]]] = []
        said: list[str] = []
        for point in sweep(cfg, loaded.model, loaded.tokenizer, task_, wanted, ft.halted):
            points.append((point.labels, point.accuracy))
            acc = point.accuracy
            said.append(
                f"{point.labels} labels: pre-trained {acc['pretrained']:.0%}, scratch {acc['scratch']:.0%} "
                f"({point.steps} steps, {point.seconds:.0f} s)"
            )
            yield charts.label_sweep(points, chance), f"**Sweeping** · {said[-1]}"
        verdict = "Done" if len(points) == len(wanted) else f"Stopped after {len(points)} of {len(wanted)} counts"
        yield charts.label_sweep(points, chance), f"**{verdict}**  \n" + "  \n".join(said)


@friendly
def try_it(text: str, text_b: str = "", request: gr.Request = None) -> tuple[str, list]:
    """Each model's label probabilities for a sentence (or a pair), and the input as the model sees it."""
    own = session.peek(session_id(request))
    if own is None:
        raise UserError("Fine-tune first (press Train), then try a sentence.")
    classifiers = own.finetuning.classifiers()
    probs = predict(classifiers, text, text_b)
    seen = classifiers["pretrained"].seen(text, text_b or None)
    table = "| label | " + " | ".join(STARTS) + " |\n|---|" + "---|" * len(STARTS) + "\n"
    for label in classifiers["pretrained"].labels:
        table += f"| {label} | " + " | ".join(f"{probs[s][label]:.1%}" for s in STARTS) + " |\n"
    marks = [
        (tok, "read here" if i == seen.read_at else f"segment {'AB'[seg]}" if seen.kind == "bert" else None)
        for i, (tok, seg) in enumerate(zip(seen.tokens, seen.token_type_ids))
    ]
    return table, marks


def show_task_fields(task: str) -> tuple[dict, dict]:
    return gr.update(visible=task == CSV_TASK), gr.update(visible=task == HUB_TASK)


def mode_for(model: str) -> tuple[str, float]:
    """What learns and its learning rate, when the learner picks a body: a linear probe for the large ones
    (models.probe_first)."""
    mode = list(MODES)[1 if models.probe_first(model) else 0]
    return mode, lr_for(mode)


def lr_for(mode: str) -> float:
    """The default learning rate of a mode: a head alone takes 10x larger steps than a whole model."""
    return DEFAULTS.probe_lr if MODES.get(mode) else DEFAULTS.lr


def auto_steps(labels: float) -> Any:
    try:
        return steps_for(int(labels), DEFAULTS.batch_size, DEFAULTS.epochs)
    except (TypeError, ValueError):
        return gr.skip()


# ---------------------------------------------------------------- layout


@dataclass
class Panel:
    """The run's side of the part: its buttons and what it shows (FineTuneView's fields)."""

    go: gr.Button
    pause: gr.Button
    step: gr.Button
    stop: gr.Button
    status: gr.Markdown
    curve: gr.Plot
    download: gr.DownloadButton

    def outputs(self) -> list:
        """The components FineTuneView's outputs go to, in its order."""
        return [getattr(self, f.name) for f in fields(FineTuneView)]


def build() -> None:
    gr.Markdown(
        "## Fine-tune after pre-training\n"
        "Take a pre-trained model and train it a little more on a labelled task; beside it, **the same "
        "architecture from random weights** gets the same examples, batches, steps and seed. The gap between the "
        f"two is what pre-training bought. {WHY_DEFAULTS}"
    )
    with gr.Row():
        with gr.Column(scale=2):
            form, estimate_md = _build_form()
        with gr.Column(scale=3):
            panel = _build_panel()
            export_ui.build_finetuned()
    _wire_run(form, panel)
    with gr.Row():
        with gr.Column():
            _build_try_it()
        with gr.Column():
            _build_sweep(form)
    _wire_form(form)
    kept = refill_on_load("ft", form)  # the form a reload finds in the session (see restore)
    on_page_load(restore, [], [*panel.outputs(), kept])
    sizing: list[Any] = [form[name] for name in SIZING]
    # triggers None: on page load and on every change, so the time shows before anything starts (measured once
    # per process and model, so only the first page waits for it)
    gr.on(None, estimate_finetune, sizing, [estimate_md], api_name="estimate_finetune", queue=False)


def _build_form() -> tuple[dict[str, Any], gr.Markdown]:
    """The form's column: field name -> component (in FineTuneForm's field order), and the estimate."""
    model = gr.Dropdown(
        models.body_choices(),
        value=models.default_body(),
        label="Pre-trained model",
        elem_id="ft-model",
        allow_custom_value=True,  # a link may name a model only the sender has: the page-load refresh swaps it
    )
    register_picker(model, body_choices)
    task = gr.Radio([*TASK_CHOICES, CSV_TASK, HUB_TASK], value=list(TASK_CHOICES)[0], label="Task", elem_id="ft-task")
    upload = gr.File(label="CSV (UTF-8, header row)", file_types=[".csv"], visible=False, elem_id="ft-upload")
    dataset = gr.Textbox(label="Dataset id", placeholder="glue/sst2", visible=False, elem_id="ft-dataset")
    with gr.Row():
        labels = gr.Number(DEFAULTS.labels, precision=0, label="Labelled examples", elem_id="ft-labels")
        steps = gr.Number(
            steps_for(DEFAULTS.labels), precision=0, label="Steps (3 epochs by default)", elem_id="ft-steps"
        )
        lr = gr.Number(DEFAULTS.lr, label="Learning rate (pre-training: 1e-3)", elem_id="ft-lr")
        seed = gr.Number(DEFAULTS.seed, precision=0, label="Seed", elem_id="ft-seed")
    mode = gr.Radio(list(MODES), value=list(MODES)[0], label="What learns", elem_id="ft-mode")
    estimate_md = gr.Markdown(elem_id="ft-estimate")
    made = dict(model=model, task=task, labels=labels, steps=steps, mode=mode, lr=lr, seed=seed, upload=upload)
    made["dataset"] = dataset
    return {f.name: made[f.name] for f in fields(FineTuneForm)}, estimate_md


def _build_panel() -> Panel:
    with gr.Row():
        go = gr.Button("▶ Fine-tune", variant="primary", elem_id="ft-go")
        pause = gr.Button("Pause", elem_id="ft-pause")
        step = gr.Button("Step", elem_id="ft-step")
        stop = gr.Button("■ Stop", variant="stop", elem_id="ft-stop")
    status = gr.Markdown(INITIAL[1], elem_id="ft-status")
    curve = gr.Plot(label="Loss and accuracy", elem_id="ft-curve")
    download = gr.DownloadButton("Download the fine-tuned model (zip)", elem_id="ft-download")
    return Panel(go, pause, step, stop, status, curve, download)


def _build_try_it() -> None:
    """A sentence (or a pair) classified by both models."""
    text_a = gr.Textbox(label="Try it: a sentence (or sentence A)", elem_id="ft-try-a")
    text_b = gr.Textbox(label="Sentence B (pair tasks)", elem_id="ft-try-b")
    try_btn = gr.Button("Classify", elem_id="ft-try")
    probs = gr.Markdown(elem_id="ft-probs")
    seen = gr.HighlightedText(label="The input as the model sees it", elem_id="ft-seen")
    try_btn.click(try_it, [text_a, text_b], [probs, seen], api_name="finetune_try")


def _build_sweep(form: dict[str, Any]) -> None:
    """Accuracy against the number of labelled examples."""
    counts = gr.Textbox(COUNTS, label="Sweep: label counts", elem_id="ft-counts")
    sweep_btn = gr.Button("Run the sweep", elem_id="ft-sweep")
    sweep_status = gr.Markdown(elem_id="ft-sweep-status")
    sweep_plot = gr.Plot(label="Accuracy against labels", elem_id="ft-sweep-plot")
    inputs = [form[name] for name in ("model", "task", "mode", "lr", "seed")] + [
        counts,
        form["upload"],
        form["dataset"],
    ]
    sweep_btn.click(
        run_sweep,
        inputs,
        [sweep_plot, sweep_status],
        api_name="finetune_sweep",
        concurrency_limit=MAX_RUNS,
        concurrency_id="training",
    )


def _wire_run(form: dict[str, Any], panel: Panel) -> None:
    """Fine-tune, Step, Pause and Stop."""
    inputs, outputs = list(form.values()), panel.outputs()
    training: dict[str, Any] = dict(concurrency_limit=MAX_RUNS, concurrency_id="training")
    panel.go.click(run_finetune, inputs, outputs, api_name="finetune", **training)
    panel.step.click(step_finetune, inputs, outputs, api_name="step_finetune", **training)
    panel.pause.click(pause_finetune, None, [panel.status], api_name="pause_finetune", queue=False)
    panel.stop.click(stop_finetune, None, outputs, api_name="stop_finetune", queue=False)


def _wire_form(form: dict[str, Any]) -> None:
    """What the task and the label count set in the form."""
    task = form["task"]
    task.change(
        show_task_fields, [task], [form["upload"], form["dataset"]], api_name="finetune_task_fields", queue=False
    )
    # (input: the learner's own edit only, so a restored form keeps its own steps and mode)
    form["model"].input(mode_for, [form["model"]], [form["mode"], form["lr"]], api_name="finetune_mode", queue=False)
    form["mode"].input(lr_for, [form["mode"]], [form["lr"]], api_name="finetune_lr", queue=False)
    form["labels"].input(auto_steps, [form["labels"]], [form["steps"]], api_name="finetune_auto_steps", queue=False)
