"""The Train tab's "watch it learn" part: a step slider over a paused or saved run's snapshots with the probes'
predictions at that step (tiny/timeline.py), and loss against training compute beside published runs
(tiny/compute.py); layout and wiring only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import gradio as gr

from .. import charts, encoder, probes, registry, session
from ..bundled import bundled_path
from ..tiny import compute
from ..tiny.checkpoint import read_config
from ..tiny.timeline import PROBE_KINDS, RANK_RULE, Probe, Reading, Timeline, courses, rank_ticks
from ..tiny.train import uniform_loss
from . import sliders
from .common import friendly, on_page_load, register_picker, session_id

KIND_LABELS = {f"{label} ({kind})": kind for kind, label in PROBE_KINDS.items()}
UNITS = {"loss per token (nats)": False, "bits per character": True}
BUNDLED = ("tiny-shakespeare-gpt", "tiny-shakespeare-bert", "tiny-english-bert")
SCALING_NOTE = (
    "**What a scaling law is.** Train the same kind of model with more compute (a bigger model, more tokens, "
    "or both) and the loss falls along a straight line on log-log axes: loss ≈ a·C^(−b). Kaplan et al. (2020) and "
    "Hoffmann et al. (2022, *Chinchilla*) measured it over many orders of magnitude; it is how labs choose a model "
    "size before spending the compute. Train three or more runs on the same corpus and tokenizer here, at "
    "different sizes or lengths, and a fitted line appears. Training FLOPs = tokens × (6N + 12·L·H·Q·T), "
    "nanoGPT's count (N parameters; L layers, H heads of width Q, context T)."
)


def run_choices(sid: str | None) -> list[str]:
    own = session.peek(sid)
    return own.timeline_runs() if own else []


def _timeline(name: str | None, sid: str) -> tuple[Timeline, Any]:
    if not name:
        raise gr.Error("Train a run and pause it or let it finish, then pick it here.", print_exception=False)
    return session.get(sid).timeline(name)


def _frame(timeline: Timeline, step: float | None) -> int:
    """The snapshot at or before the slider's step (the first one when the slider is before them all)."""
    frames = timeline.frames
    chosen = [s for s in frames if s <= (step if step is not None else frames[-1])]
    return chosen[-1] if chosen else frames[0]


def _guesses(readings: dict[Probe, list[Reading]], step: int) -> str:
    """What every probe gave at `step`, as a table."""
    rows = ["| probe | followed | its rank | the model's top guesses |", "|---|---|---|---|"]
    for probe, course in readings.items():
        r = next(r for r in course if r.step == step)
        guesses = " · ".join(f"`{t!r}` {p:.1%}" for t, p in r.top)
        followed = f"P(IsNext) {r.prob:.1%}" if probe.kind == "pair" else f"{probe.word}: {r.prob:.3g}"
        rows.append(f"| {probe.label.replace('|', '/')} | {followed} | {r.rank or '–'} | {guesses} |")
    return "\n".join([*rows, "", RANK_RULE]) if readings else "Add a probe to follow."


def _curve(timeline: Timeline, step: int, vocab: int):
    train = [(p["step"], p["train_loss"]) for p in timeline.curve if p.get("train_loss") is not None]
    val = [(p["step"], p["val_loss"]) for p in timeline.curve if p.get("val_loss") is not None]
    fig = charts.loss_curve(train, val, uniform_loss(timeline.objective, vocab), f"Loss, at step {step}")
    fig.add_vline(x=step, line_color="gray", line_dash="dash")
    return fig


def _probe_chart(readings: dict[Probe, list[Reading]], step: int):
    charted = courses(readings)
    fig = charts.probe_timeline([(c.label, c.steps, c.probs, c.ranks) for c in charted], step)
    ticks = rank_ticks([r for c in charted for r in c.ranks])
    fig.update_yaxes(tickvals=ticks, ticktext=[f"{t:,}" for t in ticks], row=2, col=1)
    return fig


def _sample(timeline: Timeline, step: int) -> str:
    """The nearest sample at or before `step`, with its step; before the first one, when that came."""
    found = timeline.sample_at(step)
    if found:
        return f"(step {found[0]:,})\n{found[1]}"
    first = next((p["step"] for p in timeline.curve if p.get("sample")), None)
    if first is None:
        return "This run wrote no sample."
    return f"No sample yet at step {step:,}: the first was written at step {first:,}, with the first validation check."


def _status(timeline: Timeline, at: int, step: float | None) -> str:
    held = "" if step is None or round(step) == at else f" (step {round(step):,} has no snapshot: the one before it)"
    return (
        f"Step **{at:,}**{held} of {timeline.frames[-1]:,} · {len(timeline.frames)} snapshots "
        f"({'the last is the saved model itself' if timeline.final is not None else 'the last is where it paused'})"
    )


def _scrub(name: str | None, step: float | None, request: gr.Request | None, live: bool) -> tuple:
    if not name:  # no run yet (the list was refreshed empty)
        views = (None, "", None, "", "Train a run and pause it or let it finish, then pick it above.")
        return views if live else (*views, gr.update())
    timeline, tokenizer = _timeline(name, session_id(request))
    readings = timeline.read(tokenizer, probes.evaluate)
    if timeline.final is not None:
        timeline.save()  # the readings travel in the run's zip
    # the slider's events skip Gradio's range check (sliders.RAW): a cleared box is the last step, one past the
    # run is moved onto it, with a sentence
    step, moved = sliders.fit(step, 0, timeline.frames[-1], "Step", empty=timeline.frames[-1])
    at = _frame(timeline, step)
    views = (
        _probe_chart(readings, at),
        _guesses(readings, at),
        _curve(timeline, at, len(tokenizer)),
        _sample(timeline, at),
        _status(timeline, at, step if live else at) + (f"  \n{moved}" if moved else ""),
    )
    return views if live else (*views, gr.update(value=at))


@friendly
def scrub(name: str | None, step: float | None, request: gr.Request = None):
    """The run at the snapshot at or before `step`: the probes' course (chart), their guesses there, the loss and
    the nearest sample. Returns (probe chart, guesses table, loss curve, sample, status, slider), the slider set to
    the step shown: slider and status say the same."""
    return _scrub(name, step, request, live=False)


@friendly
def scrub_live(name: str | None, step: float | None, request: gr.Request = None):
    """`scrub` while the slider moves, all but the slider (set under the learner's pointer or typing, it would fight
    them): until its release sets it, the status says which snapshot stands for the slider's step."""
    return _scrub(name, step, request, live=True)


@friendly
def pick_run(name: str | None, request: gr.Request = None):
    """A run was chosen: the slider spans its snapshots, set to the last."""
    if not name:
        return gr.update(), gr.update(choices=[], value=None)
    timeline, _ = _timeline(name, session_id(request))
    frames = timeline.frames
    probes = [p.label for p in timeline.probes]
    return (
        gr.update(minimum=0, maximum=max(frames[-1], 1), value=frames[-1], step=1),
        gr.update(choices=probes, value=probes[0] if probes else None),
    )


@friendly
def add_probe(
    name: str | None, kind: str, text: str, word: str, text_b: str, step: float | None, request: gr.Request = None
):
    """Follow one more input through the run (read on its stored snapshots, so also after training); the next
    runs follow it too, and with no run yet it waits for the first."""
    sid = session_id(request)
    probe = Probe(KIND_LABELS.get(kind, kind), text or "", (word or "").strip(), text_b or "")
    session.get(sid).keep_probe(probe)
    if not name:
        note = f"Kept: the next run follows **{probe.label}** from its step 0."
        return gr.update(), gr.update(), gr.update(), gr.update(), note, gr.update(), gr.update()
    timeline, _ = _timeline(name, sid)
    timeline.add_probe(probe)
    probes = [p.label for p in timeline.probes]
    return (*scrub.__wrapped__(name, step, request), gr.update(choices=probes, value=probes[-1]))


@friendly
def remove_probe(name: str | None, label: str | None, step: float | None, request: gr.Request = None):
    """Stop following a probe: in the chosen run, and in the runs to come."""
    own = session.get(session_id(request))
    own.probes = [p for p in own.probes if p.label != label]
    if not name:
        note = "The next runs will not follow it."
        return gr.update(), gr.update(), gr.update(), gr.update(), note, gr.update(), gr.update()
    timeline, _ = _timeline(name, session_id(request))
    for probe in [p for p in timeline.probes if p.label == label]:
        timeline.remove_probe(probe)
    probes = [p.label for p in timeline.probes]
    return (*scrub.__wrapped__(name, step, request), gr.update(choices=probes, value=probes[0] if probes else None))


# ---------------------------------------------------------------- loss against compute


def _points(sid: str | None) -> list[compute.Point]:
    points = []
    own = session.peek(sid)
    for name, folder in own.checkpoints.items() if own else []:
        config, meta = read_config(folder)
        parameters = meta.get("parameters")
        if parameters and not (folder / "classifier.safetensors").exists():  # fine-tuned ones are not pre-training
            point = compute.run_point(name.removesuffix(session.SUFFIX), meta, int(parameters), config.vocab_size)
            points += [replace(point, mine=True)] if point else []
    points += [p for name in BUNDLED if (p := compute.bundled_point(bundled_path(name)))]
    shipped = registry.PACKAGED[registry.ENCODER].folder
    if shipped is not None and registry.available(registry.ENCODER):  # its continued pre-training, ours
        points += [p for p in [encoder.compute_point(shipped)] if p]
    return points + compute.references()


@friendly
def compute_view(unit: str, request: gr.Request = None):
    """This session's runs, the bundled models and published runs on one log-log chart; a fit per comparable group."""
    bits = UNITS.get(unit, False)
    groups: dict[str, list[compute.Point]] = {}
    for p in _points(session_id(request)):
        if (bits and p.bits_per_char is None) or (p.only_bits and not bits):
            continue
        key = " · ".join(p.group.split(" · ")[:2]) if bits else p.group  # bits per char: any tokenizer
        groups.setdefault(key, []).append(p)
    # a law is fitted to the learner's own runs only: the published and bundled points beside them were trained on
    # other data, recipes and tokenizers, so a line through them would be no law of this setup
    fits = {k: f for k, ps in groups.items() if (f := compute.fit_power_law([p for p in ps if p.mine], bits))}
    value = (lambda p: p.bits_per_char) if bits else (lambda p: p.loss)
    fig = charts.loss_vs_compute(
        {k: [(p.label, p.flops, value(p)) for p in ps] for k, ps in groups.items()},
        fits,
        "bits per character" if bits else "validation loss (nats per token)",
        {p.label: p.curve for ps in groups.values() for p in ps if p.curve and not bits},
    )
    return fig, _compute_notes(groups, fits, bits)


def _compute_notes(groups: dict[str, list[compute.Point]], fits: dict, bits: bool) -> str:
    lines = [SCALING_NOTE, ""]
    if not bits and len(groups) > 1:
        lines.append(
            "Each marker shape is a group that can be compared only within itself: loss per token depends on the "
            "tokenizer and the task. Switch to **bits per character** to compare runs on the same corpus whatever "
            "their tokenizer."
        )
    for key, (a, b) in fits.items():
        mine = sum(p.mine for p in groups[key])
        lines.append(f"- **{key}**: loss ≈ {a:.3g} · C^(−{b:.3f}), fitted to your {mine} runs.")
    sources = [f"- **{p.label}**: {p.source}" for ps in groups.values() for p in ps if p.source]
    return "\n".join(lines + ["", "Reference points:", *sources])


# ---------------------------------------------------------------- layout


def _compute_section() -> tuple[gr.Radio, gr.Plot, gr.Markdown]:
    """Loss against compute, drawn on opening and on a change of unit: (unit, chart, notes)."""
    with gr.Accordion("Loss against compute", open=False, elem_id="lc-section") as section:
        unit = gr.Radio(list(UNITS), value=list(UNITS)[0], label="Loss as", elem_id="lc-unit")
        plot = gr.Plot(label="Loss against training FLOPs", elem_id="lc-plot")
        notes = gr.Markdown(elem_id="lc-notes")
    unit.change(compute_view, [unit], [plot, notes], api_name="loss_vs_compute")
    section.expand(compute_view, [unit], [plot, notes], api_visibility="private")
    return unit, plot, notes


def build(train_events: list) -> None:
    """The part's layout, below the training controls; `train_events` are the Train tab's events after which a run
    may have been paused or saved (the run list and the compute chart refresh then)."""
    with gr.Accordion("Watch it learn: scrub through a run", open=False, elem_id="tl-section"):
        gr.Markdown(
            "While a run trains, light snapshots of the model are kept (at most 33 per run and 100 MB, in this "
            "session's workspace; the newest 4 runs keep theirs). Pick a paused or finished run and drag the step "
            "slider: see what the model predicted **at that step** for the probes below, and the chosen word "
            "climb from a blind guess to the top. Add your own probes at any time: they are read on the stored "
            "snapshots, so a probe added after training still sees the whole run; one added before a run is followed "
            "from its step 0. The downloaded zip keeps it all."
        )
        with gr.Row():
            run = gr.Dropdown([], label="Run", elem_id="tl-run", scale=3, allow_custom_value=True)  # (as tr-mine)
            register_picker(run, run_choices)
            offered = gr.State([])  # the runs the list last offered: one not among them is new, and is chosen
            refresh = gr.Button("↻ Runs", elem_id="tl-refresh", scale=0, min_width=80)
        step = gr.Slider(0, 1, value=0, step=1, label="Step", elem_id="tl-step")
        status = gr.Markdown(elem_id="tl-status")
        with gr.Row():
            probe_chart = gr.Plot(label="The followed words", elem_id="tl-probes")
            loss = gr.Plot(label="Loss at that step", elem_id="tl-loss")
        guesses = gr.Markdown(elem_id="tl-guesses")
        sample = gr.Textbox(
            label="The nearest sample at or before that step", lines=3, interactive=False, elem_id="tl-sample"
        )
        with gr.Accordion("Probes: add your own", open=False):
            with gr.Row():
                kind = gr.Radio(list(KIND_LABELS), value=list(KIND_LABELS)[0], label="Kind", elem_id="tl-kind")
                text = gr.Textbox(label="Text (a prompt, a sentence with [MASK], or sentence A)", elem_id="tl-text")
                word = gr.Textbox(label="Word to follow", elem_id="tl-word")
                text_b = gr.Textbox(label="Sentence B (pairs only)", elem_id="tl-text-b")
            with gr.Row():
                add = gr.Button("Add probe", elem_id="tl-add")
                probes = gr.Dropdown([], label="Followed probes", elem_id="tl-probe-list", scale=3)
                remove = gr.Button("Remove probe", elem_id="tl-remove")
    unit, compute_plot, compute_md = _compute_section()

    views = [probe_chart, guesses, loss, sample, status]
    run.change(pick_run, [run], [step, probes], api_name="timeline_run").then(
        scrub, [run, step], [*views, step], api_visibility="private", **sliders.RAW
    )
    # input, not change: the run's pick and the release set the slider too, and scrub themselves
    live: dict[str, Any] = dict(trigger_mode="always_last", show_progress="hidden")
    # the step skips Gradio's range check everywhere (sliders.RAW): _scrub fits it into the run, saying so
    step.input(scrub_live, [run, step], views, api_visibility="private", **live, **sliders.RAW)
    step.release(scrub, [run, step], [*views, step], api_name="scrub", **live, **sliders.RAW)
    add.click(
        add_probe, [run, kind, text, word, text_b, step], [*views, step, probes], api_name="add_probe", **sliders.RAW
    )
    remove.click(remove_probe, [run, probes, step], [*views, step, probes], api_name="remove_probe", **sliders.RAW)
    refresh.click(refresh_runs, [run, offered], [run, offered], api_visibility="private", queue=False)
    on_page_load(refresh_runs, [run, offered], [run, offered])  # after a reload: the newest run, shown again
    for event in train_events:
        event.then(refresh_runs, [run, offered], [run, offered], api_visibility="private", queue=False).then(
            compute_view, [unit], [compute_plot, compute_md], api_visibility="private"
        )


def refresh_runs(current: str | None, offered: list[str] | None, request: gr.Request = None):
    """The run list again, and the run to show: the newest of those new since the list was last offered (a run just
    finished or paused), else the one chosen while it is still there. Returns (run dropdown, the runs offered)."""
    choices = run_choices(session_id(request))  # newest first
    new = [c for c in choices if c not in (offered or [])]
    chosen = new[0] if new else current if current in choices else (choices[0] if choices else None)
    return gr.update(choices=choices, value=chosen), choices
