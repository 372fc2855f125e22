"""Every slider and number box of every public endpoint, at its minimum, its maximum and a typical value,
gives a result or a sentence, never a bare "Error" (issue #16).

A slider offers its whole range, so every value on it must give a result; only a slider whose range
depends on another control (listed in DEPENDENT) may answer a value out of that range with a sentence.
A number box takes whatever is typed, so a sentence saying what it accepts is a good answer there.

The controls are found by walking the built app (`demo.fns`), not listed by hand, so a new slider is swept
the day it is added. Each call goes through `gradio_client` against the launched app, one parameter at a
time, the others at their defaults; each call gets a fresh client (a fresh browser session), so no state
(a paused training run, a generation) leaks from one call into the next.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

pytestmark = pytest.mark.slow

UNBOUNDED_LOW, UNBOUNDED_HIGH = -1, 10**9  # a number box without limits: a negative and a huge value

# The Train tab's run endpoints train for real: their base is the smallest model for 10 steps (a few seconds
# a call on 2 cores, most of it reading the corpus); a typical value of one setting is tried on that model.
SMALL_RUN = dict(steps=10, n_layer=1, n_head=2, n_embd=32, context=16, batch=4, samples=1)
# fine-tuning: a few steps of 16 labels; the sweep: one count (its 40-step minimum); on the bundled tiny BERT, not
# the default 22.7 M-parameter encoder: these calls sweep the form's controls, not a model
SMALL_FINETUNE = dict(model="tiny-english-bert", steps=4, labels=16)
BASE: dict[str, Mapping[str, object]] = {
    "/train": SMALL_RUN,
    "/step_training": SMALL_RUN,
    "/finetune": SMALL_FINETUNE,
    "/step_finetune": SMALL_FINETUNE,
    "/finetune_sweep": dict(model="tiny-english-bert", counts="16"),
    "/race": SMALL_RUN,
    "/add_probe": dict(text="ROMEO:", word="O"),  # with no run yet it is kept for the next one
}
# (endpoint, parameter, which) not swept, and why
SKIP = {
    ("/train", "steps", "max"): "5,000 real training steps; /estimate_training and /step_training take 5,000",
    ("/race", "steps", "max"): "two models for 5,000 real steps each; /train's other values cover the form",
    ("/finetune", "steps", "typical"): "48 real steps of two models and their evaluations (over 90 s on a loaded "
    "2-core machine); /estimate_finetune takes 48, and /finetune runs 4 steps for every other value",
}
# /step_training reads the form with the same handler (and checks) as /train: only its sliders, which set how
# far one step goes, are swept there; its number boxes are swept through /train (keeps the sweep near 3 min)
SLIDERS_ONLY = {"/step_training", "/step_finetune"}
# sliders whose valid range depends on another control: through the API (one value at a time) a sentence is
# the right answer; the page should keep them in range (tests/e2e/test_sweep_browser.py drags them there)
DEPENDENT = {
    ("/rotary", "pair"): "pair i < head dimension / 2",
}
# endpoints that need an earlier call in the same session before they can show anything
SETUP = {"/replay_merges": ("/train_tokenizer", dict(vocab_size=300))}


@dataclass(frozen=True)
class Case:
    endpoint: str
    parameter: str
    which: str  # "min", "max" or "typical"
    value: float

    def __str__(self) -> str:
        return f"{self.endpoint} {self.parameter}={self.value} ({self.which})"


def numeric_inputs(demo: gr.Blocks, api_info: dict) -> dict[str, list[tuple[str, gr.components.Component]]]:
    """Public endpoint -> (API parameter name, component) of each of its sliders and number boxes."""
    found: dict[str, list[tuple[str, gr.components.Component]]] = {}
    for fn in demo.fns.values():
        if fn.api_visibility != "public" or not fn.api_name:
            continue
        endpoint = "/" + fn.api_name
        shown = [c for c in fn.inputs if not c.skip_api]  # the API's parameters, in order (gr.State is not one)
        params = api_info["named_endpoints"][endpoint]["parameters"]
        assert len(shown) == len(params), endpoint
        kinds = gr.Slider if endpoint in SLIDERS_ONLY else (gr.Slider, gr.Number)
        numeric: list[tuple[str, gr.components.Component]] = [
            (p["parameter_name"], c) for p, c in zip(params, shown) if isinstance(c, kinds)
        ]
        if numeric:
            found[endpoint] = numeric
    return found


def cases_of(endpoint: str, parameter: str, component) -> list[Case]:
    low = component.minimum if component.minimum is not None else UNBOUNDED_LOW
    high = component.maximum if component.maximum is not None else UNBOUNDED_HIGH
    values = {"min": low, "max": high, "typical": component.value}
    return [
        Case(endpoint, parameter, which, v) for which, v in values.items() if (endpoint, parameter, which) not in SKIP
    ]


def defaults(api_info: dict, endpoint: str) -> dict:
    """Every parameter at the value the page starts with (empty where the page starts empty)."""
    out = {}
    for p in api_info["named_endpoints"][endpoint]["parameters"]:
        if p["parameter_has_default"]:
            out[p["parameter_name"]] = p["parameter_default"]
        else:
            out[p["parameter_name"]] = "" if p["component"] == "Textbox" else None
    return {**out, **BASE.get(endpoint, {})}


# what a learner must never read instead of a sentence
NOT_A_SENTENCE = re.compile(r"Something went wrong|Traceback|\b[A-Z]\w*(Error|Exception)\b|^\s*Error\s*$")


def problem(message: str | None) -> str | None:
    """Why an error message is not a sentence for the user, or None when it is one."""
    if not message or not message.strip() or message.startswith("("):
        return message or "an error without a message"
    words = message.split()
    # a library's own message ("expected non-negative integer") starts in lower case; ours never do
    if NOT_A_SENTENCE.search(message) or len(words) < 3 or words[0][0].islower():
        return f"not a sentence: {message!r}"
    return None


def verdict(case: Case, component, ok: bool, message: str | None) -> str | None:
    """Why this call failed the sweep, or None when it passed."""
    if ok:
        return None
    if case.which == "typical":  # the value the page starts with: a sweep of calls that all fail tests nothing
        return f"the typical value gives an error: {message!r}"
    if isinstance(component, gr.Slider) and (case.endpoint, case.parameter) not in DEPENDENT:
        return f"a value the slider offers gives an error: {message!r}"
    return problem(message)


CALL_SECONDS = 90  # a call that takes longer (on a loaded 2-core machine) has run away: a defect too


def call(url: str, api_info: dict, endpoint: str, overrides: dict) -> tuple[bool, str | None]:
    """(True, None) for a result, (False, message) for an error; a fresh client is a fresh session."""
    client = Client(url, verbose=False)
    if endpoint in SETUP:
        setup_endpoint, setup_args = SETUP[endpoint]
        client.predict(**{**defaults(api_info, setup_endpoint), **setup_args}, api_name=setup_endpoint)
    job = client.submit(**{**defaults(api_info, endpoint), **overrides}, api_name=endpoint)
    try:
        outputs = job.result(timeout=CALL_SECONDS)
    except AppError as err:
        return False, err.message
    except TimeoutError:
        return False, f"(no answer within {CALL_SECONDS} s)"
    except Exception as err:  # noqa: BLE001 - whatever else the client raises is reported, not a crash
        return False, f"{type(err).__name__}: {err}"
    return (True, None) if outputs is not None else (False, "(no output)")


@pytest.fixture(scope="module")
def app(app_url):
    from app import demo

    info = Client(app_url, verbose=False).view_api(return_format="dict", print_info=False)
    return app_url, demo, info


def test_the_walk_finds_the_controls_of_every_tab(app):
    _, demo, info = app
    found = numeric_inputs(demo, info)
    # one endpoint per tab at least, so a walk that silently finds nothing fails here
    for endpoint in ("/next_word", "/fill_mask", "/nsp_pairs", "/train_tokenizer", "/sinusoidal", "/train"):
        assert endpoint in found, endpoint
    assert sum(len(v) for v in found.values()) >= 40


def test_every_numeric_control_at_min_max_and_typical_gives_a_result_or_a_sentence(app):
    url, demo, info = app
    cases = [
        (case, component)
        for endpoint, params in numeric_inputs(demo, info).items()
        for name, component in params
        for case in cases_of(endpoint, name, component)
    ]

    def run(key: tuple) -> tuple[bool, str | None]:
        endpoint, parameter, value = key
        return call(url, info, endpoint, {parameter: value})

    keys = {(case.endpoint, case.parameter, case.value) for case, _ in cases}  # min and typical are often equal
    with ThreadPoolExecutor(2) as pool:  # two at a time: the app's queue serves several sessions at once
        results = dict(zip(keys, pool.map(run, keys)))
    failures = [
        f"{case}: {why}"
        for case, component in cases
        if (why := verdict(case, component, *results[(case.endpoint, case.parameter, case.value)]))
    ]
    assert not failures, f"{len(failures)} of {len(cases)} calls failed the sweep:\n" + "\n".join(failures)
