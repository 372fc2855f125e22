"""Which models and tasks fine-tuning can start from, by name (the tab's pickers and the CLI share these)."""

from __future__ import annotations

import functools
from pathlib import Path

from .. import registry
from ..errors import UserError
from ..hub import hub_offline
from . import tasks

HUB_BODIES = ("bert-base-uncased", "gpt2")  # offered on a networked host, with the registry's size limits
HUB_KINDS = {"gpt2": "causal"}  # the kind of model each Hub body is (else BERT-style), for its offline substitute
HUB_PREFIX = "hub:"  # a task named hub:<dataset>[/<config>] is a Hugging Face dataset


def default_body() -> str:
    """The best real BERT-style body this host has: the packaged English encoder (bench/RESULTS.md: 93% against
    scratch's 50% on the verdict task at 64 labels, where tiny-english-bert is at chance), else tiny-english-bert."""
    return registry.ENCODER if registry.available(registry.ENCODER) else "tiny-english-bert"


def probe_first(name: str) -> bool:
    """Whether a body starts as a linear probe (frozen): those of 100 M parameters or more, whose two whole copies
    (pre-trained and scratch) would take many minutes on two cores; a probe keeps each example's features and
    takes about a minute (bench/RESULTS.md)."""
    packaged = registry.PACKAGED.get(name)
    return name in HUB_BODIES or (packaged is not None and "causal" in packaged.tasks)


def body_choices(own: list[str] | None = None) -> list[str]:
    """The default, the real packaged models (the English encoder, SmolLM2), the other bundled ones, the caller's
    own checkpoints, then the Hub's."""
    packaged = [name for name in registry.PACKAGED if registry.available(name)]
    return list(dict.fromkeys([default_body(), *packaged, *registry.BUNDLED, *(own or []), *HUB_BODIES]))


def load_body(name: str, folder: Path | None = None) -> registry.LoadedModel:
    """A pre-trained model by catalogue name or Hub id (a BERT-style one as a masked LM, else as a causal LM), or
    a session's checkpoint folder."""
    if folder is not None:
        return registry.load_folder(folder, name)
    if Path(name).is_dir():
        return registry.load_folder(Path(name))
    entry = registry.BUNDLED.get(name)
    if entry is not None:
        return registry.load(name, entry.tasks[0])
    # as the other tabs: the best offline model of the same kind, and a notice
    return registry.or_offline(HUB_KINDS.get(name, "masked"), lambda: _load_hub_body(name))


def _load_hub_body(name: str) -> registry.LoadedModel:
    try:
        return registry.load(name, "masked")
    except UserError as masked_err:
        try:
            return registry.load(name, "causal")
        except UserError:
            raise masked_err from None


def load_task(name: str) -> tasks.Task:
    """A built-in task, a CSV file, or hub:<dataset>[/<config>] (a Hugging Face dataset, on a networked host)."""
    if name in tasks.BUILT_IN:
        return _built_in(name)
    if name.startswith(HUB_PREFIX):
        dataset, _, config = name.removeprefix(HUB_PREFIX).partition("/")
        return tasks.from_hub(dataset, config or None, hub_offline())
    if name.lower().endswith(".csv"):
        return tasks.from_csv(Path(name))
    raise UserError(
        f"There is no task called {name!r}: use {', '.join(tasks.BUILT_IN)}, a .csv file or hub:<dataset>/<config>."
    )


@functools.cache
def _built_in(name: str) -> tasks.Task:
    """Built once per process (a few seconds): the tab, the sweep and the CLI share it; never modified."""
    return tasks.built_in(name)
