"""What every tab shares: turning core errors into a sentence in the page, and model notices."""

from __future__ import annotations

import functools
import inspect
import logging

import gradio as gr

from .. import registry

log = logging.getLogger("playground")


def friendly(fn):
    """Core functions raise ValueError with a sentence for the user: show it, never a traceback."""

    def explain(err: Exception) -> gr.Error:
        if isinstance(err, gr.Error):
            return err
        if isinstance(err, ValueError):
            return gr.Error(str(err))
        log.exception("unexpected error in %s", fn.__name__)
        return gr.Error(f"Something went wrong ({type(err).__name__}). Please try again or change the input.")

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


def model_picker(task: str, elem_id: str) -> gr.Dropdown:
    """Bundled and Hub checkpoints for the task; any other Hub id can be typed in."""
    return gr.Dropdown(
        registry.choices(task), value=registry.DEFAULTS[task], allow_custom_value=True, elem_id=elem_id,
        label="Model (bundled ones work offline; or type any Hugging Face model id)",
    )


def load_model(name: str, task: str):
    """The chosen model, or the bundled default with a warning when the Hub cannot be reached."""
    loaded = registry.load_or_fallback(name or registry.DEFAULTS[task], task)
    if loaded.notice:
        gr.Warning(loaded.notice)
    return loaded


def model_note(loaded) -> str:
    desc = loaded.meta.get("name", loaded.name)
    loss = loaded.meta.get("final_val_loss")
    extra = f" · validation loss {loss:.2f}" if isinstance(loss, (int, float)) else ""
    notice = f"  \n⚠️ {loaded.notice}" if loaded.notice else ""
    return f"Model: **{desc}**{extra}{notice}"
