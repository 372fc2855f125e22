"""The guided tour ("Start here", above the tabs): a step's paragraph, question and hidden answer, and a button
that opens the step's tab with its inputs filled in, in the same page (the session and its work stay)."""

from __future__ import annotations

import gradio as gr

from .. import tour


def _step_text(s: tour.Step) -> str:
    return f"### {s.title}\n{s.text}\n\n**Try it** ({s.tab}): {s.try_it}\n\n**Question:** {s.question}"


def show(title: str):
    """A step chosen: its text, the try button's label, the answer hidden again."""
    s = tour.step(title)
    return _step_text(s), gr.update(value=f"Try it: open {s.tab}"), gr.update(value="", visible=False)


def reveal(title: str):
    return gr.update(value=f"**Answer:** {tour.step(title).answer}", visible=True)


def build() -> tuple[list[str], gr.Radio, gr.Button]:
    """The tour's panel; returns (the elem_ids it fills, its step picker, its try button) for `wire`."""
    first = tour.STEPS[0]
    with gr.Accordion("Start here: a guided tour through the tabs (8 steps)", open=False, elem_id="tour"):
        gr.Markdown(
            "New to this? Follow the textbook's order, one tab at a time. Each step opens its tab with the "
            "inputs filled in; nothing here blocks the tabs, which all work on their own."
        )
        picker = gr.Radio([s.title for s in tour.STEPS], value=first.title, label="Step", elem_id="tour-step")
        text = gr.Markdown(_step_text(first), elem_id="tour-text")
        with gr.Row():
            go = gr.Button(f"Try it: open {first.tab}", variant="primary", elem_id="tour-try")
            answer_button = gr.Button("Show the answer", elem_id="tour-reveal")
            next_button = gr.Button("Next step →", elem_id="tour-next")
        answer = gr.Markdown(visible=False, elem_id="tour-answer")
    picker.change(show, [picker], [text, go, answer], api_visibility="private", queue=False)
    answer_button.click(reveal, [picker], [answer], api_visibility="private", queue=False)
    next_button.click(tour.next_title, [picker], [picker], api_visibility="private", queue=False)
    return tour.targets(), picker, go


def wire(picker: gr.Radio, go: gr.Button, tabs: gr.Tabs, inputs: list[gr.components.Component]) -> None:
    """The try button: select the step's tab and set its inputs (`inputs`: the components of tour.targets())."""
    keys = tour.targets()

    def open_step(title: str):
        s = tour.step(title)
        return gr.Tabs(selected=s.tab), *(s.inputs[k] if k in s.inputs else gr.update() for k in keys)

    go.click(open_step, [picker], [tabs, *inputs], api_visibility="private", queue=False)
