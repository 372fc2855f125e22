"""Checkpoint folders: model.safetensors + config.json + the tokenizer's files.

Writes are atomic: everything goes to a temporary sibling folder that is renamed into place,
so a run killed mid-save leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model
from transformers import PreTrainedTokenizerFast

from .model import TinyConfig, TinyTransformer

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def save_checkpoint(
    folder: str | Path, model: TinyTransformer, tokenizer: PreTrainedTokenizerFast, meta: dict | None = None
) -> Path:
    """Write the checkpoint; `meta` (objective, losses, ...) is stored beside the config."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        save_model(model, str(tmp / WEIGHTS_FILE))  # handles the tied embedding / output weights
        config = {"model_type": "tiny-transformer", **model.config.to_dict(), "meta": meta or {}}
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        tokenizer.save_pretrained(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; a checkpoint is meant to be read
        for f in tmp.iterdir():
            f.chmod(0o644)
        old = folder.with_name(f".{folder.name}.old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def read_config(folder: str | Path) -> tuple[TinyConfig, dict]:
    raw = json.loads((Path(folder) / CONFIG_FILE).read_text())
    return TinyConfig.from_dict(raw), raw.get("meta", {})


def is_checkpoint(folder: str | Path) -> bool:
    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        return False
    return json.loads((folder / CONFIG_FILE).read_text()).get("model_type") == "tiny-transformer"


def load_checkpoint(
    folder: str | Path, device: str | torch.device = "cpu"
) -> tuple[TinyTransformer, PreTrainedTokenizerFast, dict]:
    """(model in eval mode, its tokenizer, meta) from a folder written by save_checkpoint."""
    folder = Path(folder)
    config, meta = read_config(folder)
    model = TinyTransformer(config)
    load_model(model, str(folder / WEIGHTS_FILE), device=str(device))
    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    tokenizer.model_max_length = config.context_length  # so core code reads the limit one way for every model
    return model.to(device).eval(), tokenizer, meta
