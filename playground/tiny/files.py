"""The names of a checkpoint folder's files, and its config read back: a leaf both the checkpoint (which zips the
timeline) and the timeline (which rebuilds the model of a snapshot) import."""

from __future__ import annotations

import json
from pathlib import Path

from .model import TinyConfig

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CLASSIFIER_FILE = "classifier.safetensors"  # a fine-tuned model's head (and GPT-1's added tokens) beside its body
# a run's state for --resume, beside its weights: optimizer moments and RNG streams (tensors), counters and the
# curve (JSON); never a pickle. Not part of a zip: a download is the model, not the run
STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"


def read_config(folder: str | Path) -> tuple[TinyConfig, dict]:
    """(the model's shape, the run's meta: objective, losses, corpus…) from a checkpoint folder's config.json."""
    raw = json.loads((Path(folder) / CONFIG_FILE).read_text())
    return TinyConfig.from_dict(raw), raw.get("meta", {})
