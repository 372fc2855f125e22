"""The model catalogue: a name -> where its weights are -> a loaded (model, tokenizer), cached.

Loading is lazy (nothing heavy at import) and cached once per model per process; a lock per
entry keeps two sessions from loading the same model twice at the same moment.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from .bundled import bundled_path
from .tiny.checkpoint import is_checkpoint, load_checkpoint
from .tiny.data import ASSETS

TASKS = ("causal", "masked", "nsp")
TOKENIZER_DIR = ASSETS / "tokenizers"


@dataclass(frozen=True)
class ModelEntry:
    name: str  # what the dropdown shows
    folder: Path  # a checkpoint folder written by our trainer
    tasks: tuple[str, ...]  # which tabs it can serve
    description: str = ""


@dataclass
class LoadedModel:
    name: str
    model: object  # a torch module whose output has .logits (and .seq_relationship_logits for NSP)
    tokenizer: PreTrainedTokenizerBase
    meta: dict


BUNDLED = {
    "tiny-shakespeare-gpt": ModelEntry(
        "tiny-shakespeare-gpt",
        bundled_path("tiny-shakespeare-gpt"),
        ("causal",),
        "our GPT-style model, pretrained on tinyshakespeare (bundled, works offline)",
    ),
    "tiny-shakespeare-bert": ModelEntry(
        "tiny-shakespeare-bert",
        bundled_path("tiny-shakespeare-bert"),
        ("masked", "nsp"),
        "our BERT-style model (masked LM + NSP), pretrained on tinyshakespeare (bundled, works offline)",
    ),
}
DEFAULTS = {"causal": "tiny-shakespeare-gpt", "masked": "tiny-shakespeare-bert", "nsp": "tiny-shakespeare-bert"}

_cache: dict[Path, LoadedModel] = {}
_locks: dict[Path, threading.Lock] = {}
_guard = threading.Lock()


def choices(task: str) -> list[str]:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}")
    return [name for name, entry in BUNDLED.items() if task in entry.tasks]


def load(name: str, task: str) -> LoadedModel:
    """The model called `name`, ready for `task`; raises ValueError with a readable reason."""
    entry = BUNDLED.get(name)
    if entry is None:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(choices(task))}")
    if task not in entry.tasks:
        raise ValueError(f"{name} cannot do {task} prediction; choose one of {', '.join(choices(task))}")
    return load_folder(entry.folder, name)


def load_folder(folder: Path, name: str | None = None) -> LoadedModel:
    """A tiny-transformer checkpoint folder, loaded once per process."""
    folder = Path(folder).resolve()
    with _guard:
        lock = _locks.setdefault(folder, threading.Lock())
    with lock:
        if folder not in _cache:
            if not is_checkpoint(folder):
                raise ValueError(f"{folder} is not a checkpoint folder (config.json + model.safetensors)")
            model, tokenizer, meta = load_checkpoint(folder)
            _cache[folder] = LoadedModel(name or folder.name, model, tokenizer, meta)
        return _cache[folder]


_tokenizers: dict[str, PreTrainedTokenizerBase] = {}


def reference_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """The real tokenizers we vendor: 'gpt2' (byte-level BPE) and 'bert-base-uncased' (WordPiece)."""
    with _guard:
        if name not in _tokenizers:
            folder = TOKENIZER_DIR / name
            if not folder.is_dir():
                raise ValueError(f"no bundled tokenizer called {name!r}")
            # from_pretrained(folder), not GPT2TokenizerFast(vocab_file=...): the latter builds an empty vocab
            _tokenizers[name] = AutoTokenizer.from_pretrained(folder)
        return _tokenizers[name]
