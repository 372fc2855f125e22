"""The guided tour ("Start here", above the tabs): a step's paragraph, question and hidden answer, and a button
that opens the step's tab with its inputs filled in and presses the tab's own button, in the same page (the
session and its work stay). The answer is read from the models the tabs show when it is asked for; a link
(?tour=N) opens the page on step N, tried."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import gradio as gr

from .. import tour
from .common import friendly, load_model, on_page_load

# the elem_id of each tab's model picker, by task: an answer reads the model on screen from it (tour.Load's tasks)
PICKER_IDS = {"causal": "nw-model", "masked": "fm-model", "nsp": "ns-model"}

# Press the step's buttons in turn once the page shows the new inputs; a tab (or an accordion) renders its contents
# only once opened, so wait for each button to appear (at most 10 s). The step comes in as its title.
PRESS = (
    "(title) => { const ids = %s[title] || []; const start = Date.now();"
    " const press = (i) => { if (i >= ids.length) return; const b = document.querySelector('#' + ids[i]);"
    " if (b) { b.click(); setTimeout(() => press(i + 1), 300); }"
    " else if (Date.now() - start < 10000) setTimeout(() => press(i), 200); };"
    " setTimeout(() => press(0), 300); }"
)


def _step_text(s: tour.Step) -> str:
    return (
        f"### {s.title}\n{s.text}\n\n**Try it** ({s.tab}): {s.try_it}\n\n**Question:** {s.question}\n\n"
        f"[Link to this step]({tour.link(s)})"
    )


def show(title: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A step chosen: its text, the try button's label, the answer hidden again."""
    s = tour.step(title)
    return _step_text(s), gr.update(value=f"Try it: open {s.tab}"), gr.update(value="", visible=False)


def _reading() -> dict[str, Any]:
    return gr.update(value="Reading the models…", visible=True)


@friendly
def reveal(title: str, causal: str = "", masked: str = "", nsp: str = "", request: gr.Request = None) -> dict[str, Any]:
    """The answer: the lesson, and what the models the tabs show did with the step's inputs."""
    chosen = {"causal": causal, "masked": masked, "nsp": nsp}
    text = tour.answer(tour.step(title), lambda task: load_model(chosen[task], task, request))
    return gr.update(value=f"**Answer:** {text}", visible=True)


@dataclass
class Panel:
    """The tour's components that `wire` connects to the tabs."""

    box: gr.Accordion
    picker: gr.Radio
    go: gr.Button
    reveal: gr.Button
    answer: gr.Markdown


def build() -> Panel:
    """The tour's panel, for `wire`."""
    first = tour.STEPS[0]
    with gr.Accordion("Start here: a guided tour through the tabs (8 steps)", open=False, elem_id="tour") as panel:
        gr.Markdown(
            "New to this? Follow the textbook's order, one tab at a time. Each step opens its tab with the "
            "inputs filled in and runs it; nothing here blocks the tabs, which all work on their own. Each answer "
            "is read from the model the tab shows."
        )
        picker = gr.Radio([s.title for s in tour.STEPS], value=first.title, label="Step", elem_id="tour-step")
        text = gr.Markdown(_step_text(first), elem_id="tour-text")
        with gr.Row():
            go = gr.Button(f"Try it: open {first.tab}", variant="primary", elem_id="tour-try")
            answer_button = gr.Button("Show the answer", elem_id="tour-reveal")
            next_button = gr.Button("Next step →", elem_id="tour-next")
        answer = gr.Markdown(visible=False, elem_id="tour-answer")
    picker.change(show, [picker], [text, go, answer], api_visibility="private", queue=False)
    # "Reading the models…" at once; wire reads the answer next
    answer_button.click(_reading, None, [answer], api_visibility="private", queue=False)
    next_button.click(tour.next_title, [picker], [picker], api_visibility="private", queue=False)
    return Panel(panel, picker, go, answer_button, answer)


def wire(demo: gr.Blocks, p: Panel, tabs: gr.Tabs, by_id: dict[str, gr.components.Component]) -> None:
    """The try button: select the step's tab, set its inputs, press its button; the answer reads the tabs'
    pickers; a ?tour=N link opens the panel on step N and tries it."""
    keys = tour.targets()
    inputs = [by_id[key] for key in keys]
    opened = sorted({key for s in tour.STEPS for key in s.opens})
    press = PRESS % json.dumps({s.title: s.run for s in tour.STEPS if s.run})

    def open_step(title: str) -> tuple[Any, ...]:
        s = tour.step(title)
        values = (s.inputs[k] if k in s.inputs else gr.update() for k in keys)
        return (
            gr.Tabs(selected=s.tab),
            *values,
            *(gr.Accordion(open=True) if k in s.opens else gr.skip() for k in opened),
        )

    outputs = [tabs, *inputs, *(by_id[key] for key in opened)]
    p.go.click(open_step, [p.picker], outputs, api_visibility="private", queue=False).then(
        None, [p.picker], None, js=press
    )
    pickers = [by_id[PICKER_IDS[task]] for task in ("causal", "masked", "nsp")]
    p.reveal.click(reveal, [p.picker, *pickers], [p.answer], api_name="tour_answer")

    def from_link(request: gr.Request) -> tuple[Any, Any]:
        """Only the tour's own panel and picker: the tabs' inputs are left to their own page-load handlers (an
        output here, even a skipped one, would race them and blank a shared link's values)."""
        s = tour.from_link(request.query_params.get("tour")) if request else None
        if s is None:
            return gr.skip(), gr.skip()
        return gr.Accordion(open=True), s.title

    # then, for a ?tour= link only, press Try it (which opens the step's tab, sets its inputs and runs them); it
    # runs after the tabs' own page loads (build_demo chains it last), which would otherwise land over its inputs
    linked = (
        "() => { if (new URLSearchParams(location.search).get('tour'))"
        " setTimeout(() => document.querySelector('#tour-try').click(), 300); }"
    )
    on_page_load(from_link, [], [p.box, p.picker], js=linked)
