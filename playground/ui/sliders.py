"""The number box beside every slider: Enter applies what was typed, and a number past the slider's range is
moved into it with a sentence, never Gradio's raw "Value 999 is greater than maximum value 31." error.

Gradio checks a slider's range before the handler runs and raises that error (with a traceback in the log),
so the events of these sliders skip its checks (`RAW`) and their handlers fit the values themselves (`fit`)."""

from __future__ import annotations

from typing import Any

import gradio as gr

RAW: dict[str, Any] = dict(preprocess=False)  # event options: the handler gets the typed number as it is, and fits it

# Gradio's number box sends its value when it loses focus (a "release"), not on Enter: this makes Enter do what
# leaving the box does, for every slider on the page. Installed once per page by whichever holder mounts first.
ENTER_APPLIES = """
if (!window.playgroundEnterApplies) {
  window.playgroundEnterApplies = true;
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (event.key === "Enter" && box instanceof HTMLInputElement && box.dataset.testid === "number-input") {
      box.blur();
    }
  });
}
"""


def enter_applies() -> gr.HTML:
    """An empty block (hidden by the page's CSS) whose only job is to install ENTER_APPLIES when it mounts: a
    tab's or an accordion's contents mount only once opened, so each place with sliders holds one."""
    return gr.HTML("", js_on_load=ENTER_APPLIES, container=False, padding=False, elem_classes="enter-applies")


def fit(value, low: float, high: float, what: str, step: float = 1, empty: float | None = None) -> tuple[float, str]:
    """A typed number moved into [low, high] on the slider's steps, and a sentence when it had to move ("" when it
    did not). An empty box counts as `empty` (the slider's default), else `low`."""
    fallback = low if empty is None else empty
    if value is None or value == "":
        return fallback, f"{what} was empty, so {fallback:g} is used."
    try:
        typed = float(value)
    except (TypeError, ValueError):
        return fallback, f"{what} must be a number, so {fallback:g} is used."
    on_step = low + round((typed - low) / step) * step
    chosen = min(max(on_step, low), high)
    if chosen == typed:
        return chosen, ""
    if low <= typed <= high:  # between two steps: quietly to the nearest one
        return chosen, ""
    return chosen, f"{what} goes from {low:g} to {high:g}, so {typed:g} became {chosen:g}."
