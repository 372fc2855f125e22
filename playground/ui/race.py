"""The Train tab's race: two recipes (or any mix of their ingredients) trained side by side on the same text and
batches, their curves against steps and against training seconds; layout and wiring only (tiny/race.py)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import gradio as gr

from .. import charts, session
from ..errors import UserError
from ..tiny import recipes, sources
from ..tiny.config import TrainConfig
from ..tiny.race import LANES, LIVE, Race, Racing, differences, ingredients
from .common import friendly, on_page_load, session_id
from .train_form import LIMITS, MAX_RUNS, UI_INTERVAL, TrainForm, clock, form_api, parameter

LAPS = 20  # logging events per side: each has a validation loss, and the sides take turns between them
STATES = {"preparing": "Preparing", "racing": "Racing", "stopping": "Stopping…", "stopped": "Stopped", "done": "Done"}
STOP_WAIT = 30.0  # seconds a Stop waits for the race to end: it ends within one logging interval, far less


def _name(chosen: set[str]) -> str:
    if not chosen:
        return "classic"
    if chosen == set(recipes.WHY):
        return "modern"
    return "classic + " + ", ".join(sorted(chosen))


def _configs(form: TrainForm, a: list[str], b: list[str]) -> tuple[TrainConfig, TrainConfig]:
    base = form.config()
    every = max(1, math.ceil(base.steps / LAPS))
    base = replace(base, log_every=every, eval_every=every)
    return ingredients(base, set(a or [])), ingredients(base, set(b or []))


def _readout(race: Race, names: dict[str, str], state: str) -> str:
    lines = [f"**{state}** · {clock(race.seconds())} of training in all", ""]
    lines += ["| side | recipe | step | training s | tokens/s | validation loss |", "|---|---|---|---|---|---|"]
    for side, run in race.lanes().items():
        val = next((e.val_loss for e in reversed(race.laps[side]) if e.val_loss is not None), None)
        rate = run.tokens / max(run.elapsed, 1e-9)
        loss = "–" if val is None else f"{val:.3f}"
        lines.append(
            f"| {side} | {names[side]} | {run.step}/{run.cfg.steps} | {run.elapsed:.1f} | {rate:,.0f} | {loss} |"
        )
    target, first = race.to_reach()
    if not math.isnan(target) and all(first.values()):
        got = " · ".join(f"{s} at step {first[s][0]} ({first[s][1]:.1f} s)" for s in LANES)  # type: ignore[index]
        lines += ["", f"Both reached validation loss **{target:.3f}**: {got}. {_verdict(first)}"]  # type: ignore[arg-type]
    lanes = race.lanes()
    diff = differences(lanes["A"].cfg, lanes["B"].cfg)
    if diff:
        lines += ["", "What differs, and why it may matter:"]
        lines += [f"- **{k.replace('_', ' ')}** (A: {va}, B: {vb}): {why}" for k, va, vb, why in diff]
    return "\n".join(lines)


def _verdict(first: dict[str, tuple[int, float]]) -> str:
    """Who got there first, in steps and in training seconds: "faster" can mean either, and on a CPU a recipe
    that learns more per step (Muon) may still cost more per second."""
    by_steps = min(LANES, key=lambda s: first[s][0])
    by_seconds = min(LANES, key=lambda s: first[s][1])
    if by_steps == by_seconds:
        return f"{by_steps} got there first, in steps and in training seconds."
    return (
        f"{by_steps} got there in fewer steps but {by_seconds} in less training time: {by_steps}'s steps cost more "
        "here (see tokens/s). Fewer steps is what counts when data is scarce, fewer seconds when compute is; on a "
        "GPU the balance can turn."
    )


def _view(racing: Racing) -> tuple[Any, str]:
    """(chart, readout) of the session's race as it stands."""
    assert racing.race is not None
    return _chart(racing.race, racing.names), _readout(racing.race, racing.names, STATES[racing.state])


def _chart(race: Race, names: dict[str, str]) -> Any:
    laps = {s: [(e.step, e.elapsed, e.train_loss, e.val_loss) for e in race.laps[s]] for s in LANES}
    return charts.race_curves(laps, {s: f"{s} ({names[s]})" for s in LANES})


@form_api(TrainForm, extra=(parameter("a", list[str] | None), parameter("b", list[str] | None)))
def run_race(
    form: TrainForm, request: gr.Request | None, a: list[str] | None = None, b: list[str] | None = None
) -> Iterator[tuple[Any, str]]:
    """Race two recipes on the Train form's text, shape and steps (its recipe and learning rate are each side's
    own): `a` and `b` list the modern ingredients each side uses (empty: classic; all: modern). Streams
    (chart, readout)."""
    racing = session.get(session_id(request)).racing
    with racing.hold():
        cfg_a, cfg_b = _configs(form, a or [], b or [])
        if cfg_a.objective == "mlm-nsp":
            raise UserError("Race a next-token or a masked-LM model; pairs for NSP are not raced.")
        yield None, "**Preparing** the tokenizer and both models…"
        text = sources.corpus_text(form.corpus_choice(), LIMITS.upload_bytes)
        racing.start(cfg_a, cfg_b, text, LIMITS, {"A": _name(set(a or [])), "B": _name(set(b or []))})
        last = 0.0
        for _lap in racing.advance(LIMITS.run_seconds):
            if time.monotonic() - last >= UI_INTERVAL:
                last = time.monotonic()
                yield _view(racing)
        yield _view(racing)  # settled: a Stop's reply shows the same


@friendly
def stop_race(request: gr.Request = None) -> tuple[Any, Any]:
    """Stop the session's race and show where it ended: (chart, readout). This reply and the race's own last update
    reach the page in either order, so both show the settled race (a "Stopping…" landing last stayed for good)."""
    own = session.peek(session_id(request))
    if own is not None:
        own.racing.stop()
        if own.racing.settle(STOP_WAIT) in LIVE:
            return gr.skip(), gr.skip()  # not ended yet: the race's own last update will show it
        if own.racing.race is not None:
            return _view(own.racing)
    return gr.skip(), "Nothing is racing."


@friendly
def restore_race(request: gr.Request = None) -> tuple[Any, str]:
    """On page load: the session's last race as it stands (chart, readout), so a reload shows it again; a fresh
    page's own empty values otherwise (never a skip, which would blank what a whole-page link carries)."""
    own = session.peek(session_id(request))
    return _view(own.racing) if own is not None and own.racing.race is not None else (None, "")


def build(form: list) -> None:
    """The race section; `form` is the Train tab's form (shape, text, steps), which both sides share."""
    choices = list(recipes.WHY)
    with gr.Accordion("Race two recipes", open=False, elem_id="race-section"):
        gr.Markdown(
            "Two models of the shape set above train on the same text and batches, taking turns; each one's clock "
            "counts only its own training. **A** and **B** each use the modern ingredients ticked (none: the "
            "classic GPT-2 recipe; all: the modern one). Untick one on B to see what it alone buys."
        )
        with gr.Row():
            a = gr.CheckboxGroup(choices, value=[], label="A: modern ingredients (none = classic)", elem_id="race-a")
            b = gr.CheckboxGroup(choices, value=choices, label="B: modern ingredients (all = modern)", elem_id="race-b")
        with gr.Row():
            go = gr.Button("▶ Race", variant="primary", elem_id="race-go")
            stop = gr.Button("■ Stop", variant="stop", elem_id="race-stop")
        readout = gr.Markdown(elem_id="race-readout")
        chart = gr.Plot(label="Loss against steps and seconds", elem_id="race-chart")
    go.click(
        run_race,
        [*form, a, b],
        [chart, readout],
        api_name="race",
        concurrency_limit=MAX_RUNS,
        concurrency_id="training",
    )
    stop.click(stop_race, None, [chart, readout], api_name="stop_race", queue=False)
    on_page_load(restore_race, [], [chart, readout])
