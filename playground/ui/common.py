"""What every tab shares: turning core errors into a sentence in the page, and model notices."""

from __future__ import annotations

import csv
import functools
import inspect
import logging
import math
import secrets
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gradio as gr
import torch
from gradio.context import Context

from .. import examples, gguf, maths, registry, session
from ..errors import UserError

log = logging.getLogger("playground")


def friendly(fn):
    """Show a `UserError`'s sentence as it is; log anything else with its traceback under an error id.

    A plain ValueError is a bug or a developer's misuse too (e.g. "positions must be one of ..."): its text
    is not written for the user, so it gets the generic sentence like any other unexpected error."""

    # print_exception=False: Gradio prints the traceback of every gr.Error it is handed unless told not to;
    # a user's mistake is no bug (no traceback in the log), and an unexpected error is logged here, once
    def explain(err: Exception) -> gr.Error:
        if isinstance(err, gr.Error):
            err.print_exception = False
            return err
        if isinstance(err, UserError):
            return gr.Error(str(err), print_exception=False)
        if isinstance(err, (MemoryError, torch.OutOfMemoryError)):
            log.warning("out of memory in %s: %s", fn.__name__, err)
            return gr.Error(
                "That did not fit in memory. Use a smaller model, batch or context (or shorter text) "
                "and try again; anything saved before is kept.",
                print_exception=False,
            )
        error_id = secrets.token_hex(4)  # 8 hex characters: enough to find the one traceback in the log
        log.exception("unexpected error %s in %s", error_id, fn.__name__)
        return gr.Error(
            f"Something went wrong on our side (error id {error_id}). Please try again or change the input; "
            "if it keeps happening, report the error id.",
            print_exception=False,
        )

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - every error becomes a message
                raise explain(err) from err

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001
            raise explain(err) from err

    return wrapper


PickerChoices = Callable[[str], list]  # session id -> a picker's choices for that browser session
PageLoad = tuple[Callable[..., Any], list, list, str | None]  # (fn, inputs, outputs, js to run after)


@dataclass
class Page:
    """What the parts of one demo register while it is built (each demo its own: two demos in one process do
    not share or clear each other's):
    - `pickers`: (dropdown, its choices) for every model picker; build_demo refreshes them when a tab is opened,
      so a checkpoint trained in one tab shows up in the others;
    - `loads`: (fn, inputs, outputs, js to run after) that a part of the page runs on page load, after the
      session is found again and the pickers refreshed (build_demo chains them one after another: run beside
      each other, a late one could land over what another, or the learner, has just set)."""

    pickers: list[tuple[gr.Dropdown, PickerChoices]] = field(default_factory=list)
    loads: list[PageLoad] = field(default_factory=list)


_PAGES: weakref.WeakKeyDictionary[gr.Blocks, Page] = weakref.WeakKeyDictionary()


def page_of(demo: gr.Blocks) -> Page:
    """The pickers and page loads registered while `demo` was built."""
    page = _PAGES.get(demo)
    if page is None:
        page = _PAGES[demo] = Page()
    return page


def _building() -> Page:
    """The Page of the demo whose `with gr.Blocks()` is open (every builder runs inside one)."""
    demo = Context.root_block
    if demo is None:
        raise RuntimeError("pickers and page loads are registered while a gr.Blocks is being built")
    return page_of(demo)


def register_picker(dropdown: gr.Dropdown, choices: PickerChoices) -> None:
    """Refresh `dropdown` with `choices(session id)` whenever a tab of the demo being built is opened."""
    _building().pickers.append((dropdown, choices))


def on_page_load(fn: Callable[..., Any], inputs: list, outputs: list, js: str | None = None) -> None:
    """Run `fn` on page load, after the session is restored and the pickers refreshed (see Page.loads)."""
    _building().loads.append((fn, inputs, outputs, js))


def shown(keeper: Any, outputs: tuple) -> tuple:
    """`outputs`, also kept on `keeper` (a session's run: its `shown`) over what it showed before, where a
    skipped output leaves the old one on the page; a reloaded page is handed them back by `recall`."""
    before = keeper.shown or (gr.skip(),) * len(outputs)
    # (an update is copied: Gradio takes the value out of the very dict it is handed)
    keeper.shown = tuple(old if _skipped(new) else _copy(new) for old, new in zip(before, outputs))
    return outputs


def recall(keeper: Any, initial: tuple) -> tuple:
    """What `shown` kept, and the page's `initial` values where nothing was shown yet. (Never a skip: on page
    load a skipped output blanks Gradio's copy of the component, which a whole-page link then carries.)"""
    kept = keeper.shown if keeper is not None and keeper.shown else initial
    return tuple(first if _skipped(value) else value for value, first in zip(kept, initial))


def _copy(output: Any) -> Any:
    return dict(output) if isinstance(output, dict) else output


def _skipped(output: Any) -> bool:
    return isinstance(output, dict) and output == gr.skip()


def number(value: Any, what: str, default: float | None = None, minimum: float | None = None) -> float:
    """What a gr.Number holds, read once for every number box. A cleared box sends None: that is `default` where
    the box has one (an empty seed reads 0), else a sentence asking for a number (UserError); so is text that is
    no number, infinity or NaN, and a number below `minimum`. `what` names the box as the sentence begins it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise UserError(f"{what} is empty: type a number.")
        return default
    try:
        typed = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{what} must be a number, not {str(value)[:40]!r}.") from None
    if not math.isfinite(typed):
        raise UserError(f"{what} must be a finite number.")
    if minimum is not None and typed < minimum:
        raise UserError(f"{what} must be {minimum:g} or more.")
    return typed


def whole_number(value: Any, what: str, default: int | None = None, minimum: int | None = None) -> int:
    """`number` for a box of whole numbers (precision=0: a seed, a position), cut to its whole part."""
    return int(number(value, what, default, minimum))


# Filling a form on page load only when the session kept one. Any output to a field, even a skipped one, writes
# Gradio's copy of it (which a whole-page link carries) and may land over what the learner has just typed; so
# the page-load handler returns the kept values into a hidden JSON, and only when they are there does the page
# press a hidden button whose handler fills the form.
def spans(label: str, colours: dict[str, str], elem_id: str, legend: bool = False) -> gr.HighlightedText:
    """Text coloured span by span (tokens, segments, a masking's fates): the category shows as the colour (and
    the legend when asked), never as a word after every span."""
    return gr.HighlightedText(
        label=label, color_map=colours, show_legend=legend, show_inline_category=False, elem_id=elem_id
    )


HIDDEN = "pp-hidden"  # (the CSS in ui/__init__.py hides it; a hidden element can still be clicked from a script)


def kept_values(prefix: str) -> gr.JSON:
    return gr.JSON(None, elem_id=f"{prefix}-kept-form", elem_classes=[HIDDEN])


def hidden_trigger(elem_id: str) -> gr.Button:
    return gr.Button("fill", elem_id=elem_id, elem_classes=[HIDDEN])


def press_if_set(elem_id: str) -> str:
    return f"(kept) => {{ if (kept) document.querySelector('#{elem_id}').click(); }}"


def linked(request: gr.Request | None) -> bool:
    """Whether the page opened from a whole-page link (whose values win over what the session kept)."""
    return bool(request and request.query_params.get("deep_link"))


def model_picker(task: str, elem_id: str) -> gr.Dropdown:
    """Bundled, this session's and Hub checkpoints for the task; any other Hub id can be typed in."""
    dropdown = gr.Dropdown(
        registry.choices(task),
        value=registry.default_model(task),
        allow_custom_value=True,
        elem_id=elem_id,
        label="Model (bundled ones work offline; or type any Hugging Face model id)",
    )
    register_picker(dropdown, functools.partial(model_choices, task))
    return dropdown


def model_choices(task: str, sid: str | None) -> list[str]:
    """A tab's model choices, this session's own checkpoints that fit the task among them."""
    own = session.peek(sid)
    return registry.choices(task, own.models_for(task) if own else ())


def model_header(task: str, prefix: str) -> tuple[gr.Dropdown, gr.Markdown]:
    """The model picker with the page's share button beside it, and the model note below (`{prefix}-note`)."""
    with gr.Row():
        model = model_picker(task, f"{prefix}-model")
        gr.DeepLinkButton("Copy a link to the whole page", size="sm", scale=0, min_width=180)
    return model, gr.Markdown(elem_id=f"{prefix}-note")


def session_id(request: gr.Request | None) -> str:
    """The browser session's id ("cli" when called without one, e.g. from a test)."""
    return getattr(request, "session_hash", None) or "cli"


def picker_refresh(page: Page) -> Callable[..., list[dict[str, Any]]]:
    """The handler that refreshes every picker of `page` (refresh_pickers), for its inputs and outputs."""

    def refresh(request: gr.Request, *chosen: Any) -> list[dict[str, Any]]:  # (gradio passes the request only
        return refresh_pickers(page.pickers, request, *chosen)  # to a positional parameter)

    return refresh


def refresh_pickers(
    pickers: list[tuple[gr.Dropdown, PickerChoices]], request: gr.Request | None, *chosen: Any
) -> list[dict[str, Any]]:
    """Every picker's choices for this session, each keeping the model chosen in it (an update without a value
    would reset the server's copy to the first choice, which a whole-page link would then restore; but an empty
    choice is not written back). A choice that only another browser has (a link's) gives way to the picker's
    default, and one toast says so."""
    sid = session_id(request)
    updates: list[dict[str, Any]] = []
    gone: list[str] = []  # what only another browser has
    instead: list[str] = []  # the defaults shown in their place
    for (dropdown, list_choices), value in zip(pickers, chosen):
        choices = list_choices(sid)
        kept = _available(value, choices)
        if kept != value:
            gone.extend(v for v in (value if isinstance(value, list) else [value]) if kept is None or v not in kept)
            default = dropdown.value if isinstance(dropdown.value, list) else [dropdown.value] * bool(dropdown.value)
            instead += [] if kept else default
            kept = kept or dropdown.value
        update: dict[str, Any] = {"choices": choices}
        if kept:  # an empty one is left out: this refresh may land after an event that has just filled it
            update["value"] = kept
        updates.append(gr.update(**update))
    if gone:
        gr.Warning(swap_sentence(gone, instead))
    return updates


# the endings of the names of what a browser session made itself (its models, the Tokenizer tab's tokenizers)
OWN_ENDINGS = (session.SUFFIX, " (Tokenizer tab)")


def elsewhere(value: Any, choices: list) -> bool:
    """Whether `value` names something another browser session made (a link's), which this one lacks."""
    return isinstance(value, str) and value.endswith(OWN_ENDINGS) and value not in choices


def _available(value: Any, choices: list) -> Any:
    """`value` (one choice or a list) without what only another browser has; None when nothing is left."""
    if isinstance(value, list):
        return [v for v in value if not elsewhere(v, choices)] or None
    return None if elsewhere(value, choices) else value


def swap_sentence(gone: list[str], instead: list[str]) -> str:
    shown = (
        f"{_listed(instead)} {'is' if len(instead) == 1 else 'are'} shown instead"
        if instead
        else "the page goes on without"
    )
    return (
        f"This link names {_listed(gone)}, made in the sender's browser and kept only there: {shown}, and "
        "the rest is as the link set it."
    )


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def link_model(name: str, task: str, request: gr.Request | None) -> str:
    """The model a link names, or the task's default (with a toast saying why) when only another browser has it."""
    if not elsewhere(name, model_choices(task, session_id(request))):
        return name
    default = registry.default_model(task)
    gr.Warning(swap_sentence([name], [default]))
    return default


def restore_workspace(token: str | None, request: gr.Request = None) -> str:
    """On page load: join the session this browser had before a reload (its token is kept in the browser's
    own storage), so trained models and tokenizers are still choices (the pickers are refreshed next)."""
    return session.attach(session_id(request), token)


def _forget_models(folders: Iterable[Path]) -> None:
    for folder in folders:
        registry.forget(folder)


session.on_close(_forget_models)  # a closed session's models leave the model cache


def resolve_model(name: str, task: str, sid: str | None) -> registry.LoadedModel:
    """The model called `name` for `task`: the caller's own checkpoint (and only the caller's) or a catalogue
    model or Hub id; UserError (or HubUnavailable) with a readable reason."""
    own = session.peek(sid)
    if own is not None and name in own.checkpoints:
        if task not in own.checkpoint_tasks(name):
            fitting = ", ".join(model_choices(task, sid))
            raise UserError(f"{name} cannot do {registry.TASK_WORDS[task]}; choose one of {fitting}.")
        return registry.load_folder(own.checkpoints[name], name)
    if name.endswith(session.SUFFIX):
        raise UserError(f"{name} is not a model of this browser session (it may have ended); train or upload it again.")
    return registry.load(name, task)


def load_model(name: str, task: str, request: gr.Request | None = None) -> registry.LoadedModel:
    """The chosen model, or the bundled default with a warning when the Hub cannot be reached."""
    sid = session_id(request)
    loaded = registry.or_offline(task, lambda: resolve_model(name or registry.default_model(task), task, sid))
    if loaded.notice:
        notice_once(loaded.notice, sid)
    return loaded


def notice_once(notice: str, sid: str) -> None:
    """A toast the first time this browser session meets `notice`: one page action runs several handlers that
    load the same model (the prediction, the model note, the examples), and one warning is enough."""
    own = session.get(sid)
    if notice not in own.notices:
        own.notices.add(notice)
        gr.Warning(notice)


def model_examples(name: str, task: str, sid: str | None) -> list[list[str]]:
    """The examples for a model, its corpus read from the checkpoint when it is one of this session's."""
    own = session.peek(sid)
    return examples.examples(name, task, own.checkpoints.get(name) if own else None)


def model_note(loaded: registry.LoadedModel) -> str:
    desc = loaded.meta.get("name", loaded.name)
    loss = loaded.meta.get("final_val_loss")
    extra = f" · validation loss {loss:.2f}" if isinstance(loss, (int, float)) else ""
    notice = f"  \n⚠️ {loaded.notice}" if loaded.notice else ""
    return f"Model: **{desc}**{extra}. {examples.describe(loaded)}{notice}"


def conversion_progress(name: str) -> Iterator[str]:
    """While a packaged model converts its GGUF (once per server), a status line every second; only the
    requests for this model wait, the conversion runs in a thread of its own."""
    entry = registry.PACKAGED.get(name)
    if entry is None or not entry.gguf_file or not gguf.conversion_pending(entry):
        return
    thread, start = gguf.convert_in_background(entry), time.monotonic()
    while thread.is_alive():
        yield (
            f"⏳ Converting **{name}** once for this server (about {entry.convert_s} s; "
            f"{time.monotonic() - start:.0f} s so far)… Other models work meanwhile."
        )
        thread.join(1.0)


def model_switch(model: gr.Dropdown, task: str, dataset: gr.Dataset, note: gr.Markdown) -> None:
    """When the model dropdown changes: the note says what the model is, and the examples become its own
    (Shakespeare for a Shakespeare model, everyday English for the others)."""

    @friendly
    def switch(name: str, request: gr.Request = None):
        for line in conversion_progress(name):
            yield line, gr.skip(), gr.skip()
        sid = session_id(request)
        loaded = load_model(name, task, request)
        own = session.get(sid)
        picker: Any = gr.skip()
        if loaded.name != name and loaded.notice:  # a stand-in: the picker shows the model actually used
            own.stand_ins[task] = (loaded.name, loaded.notice)
            picker = gr.update(value=loaded.name)  # (a bare gr.Dropdown would warn: its choices are the page's)
        elif own.stand_ins.get(task, ("", ""))[0] == name:  # the change that move fired: keep saying why
            loaded = replace(loaded, notice=own.stand_ins.pop(task)[1])
        yield model_note(loaded), gr.Dataset(samples=model_examples(loaded.name, task, sid)), picker

    model.change(
        switch,
        model,
        [note, dataset, model],
        api_name=f"{model.elem_id}_switch".replace("-", "_"),
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="always_last",
    )


def csv_download(headers: list[str], rows: list[list], stem: str, request: gr.Request | None = None) -> str:
    """Write a table as CSV into the session's own folder; the path feeds a gr.DownloadButton."""
    folder = session.get(session_id(request)).new_folder("csv")
    path = folder / f"{stem}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(headers)
        writer.writerows(rows)
    return str(path)


def table_download(table: gr.Dataframe, button: gr.DownloadButton, stem: str) -> None:
    """Whenever the table changes, write it as CSV behind its download button."""

    @friendly
    def write(frame, request: gr.Request = None):
        if frame is None or len(frame) == 0:
            return gr.DownloadButton(value=None, interactive=False)
        path = csv_download(list(frame.columns), frame.values.tolist(), stem, request)
        return gr.DownloadButton(value=path, interactive=True)

    table.change(write, table, button, api_visibility="private", show_progress="hidden", queue=False)


def maths_panel(tab: str) -> None:
    """The tab's key formula in a collapsed panel, rendered as LaTeX (maths.FORMULAS)."""
    with gr.Accordion("The maths", open=False, elem_id=f"maths-{tab}"):
        gr.Markdown(maths.FORMULAS[tab], latex_delimiters=maths.DELIMITERS)
