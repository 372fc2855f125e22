"""Checkpoint folders: model.safetensors + config.json + the tokenizer's files.

Writes are atomic: everything goes to a temporary sibling folder that is renamed into place,
so a run killed mid-save leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import torch
from safetensors.torch import load_file, load_model, save_file, save_model
from transformers import PreTrainedTokenizerFast

from ..errors import UserError
from .model import TinyConfig, TinyTransformer

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
# a run's state for --resume, beside its weights: optimizer moments and RNG streams (tensors), counters and the
# curve (JSON); never a pickle. Not part of a zip: a download is the model, not the run
STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"
# what a checkpoint zip may hold: weights only as safetensors (never a pickle), JSON and text
ZIP_FILES = {
    WEIGHTS_FILE,
    CONFIG_FILE,
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "CARD.md",
    "classifier.safetensors",  # a fine-tuned model's head (playground/finetune)
}


def save_checkpoint(
    folder: str | Path,
    model: TinyTransformer,
    tokenizer: PreTrainedTokenizerFast,
    meta: dict | None = None,
    training: tuple[dict[str, torch.Tensor], dict] | None = None,
) -> Path:
    """Write the checkpoint; `meta` (objective, losses, ...) is stored beside the config, and `training`
    ((tensors, JSON-able state) from Run.state()) makes it resumable."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        save_model(model, str(tmp / WEIGHTS_FILE))  # handles the tied embedding / output weights
        config = {"model_type": "tiny-transformer", **model.config.to_dict(), "meta": meta or {}}
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        tokenizer.save_pretrained(tmp)
        if training is not None:
            tensors, state = training
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp / STATE_TENSORS))
            (tmp / STATE_JSON).write_text(json.dumps(state, indent=1))
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


def load_training_state(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, state) written by save_checkpoint(training=...); UserError when the folder has none."""
    folder = Path(folder)
    if not (folder / STATE_TENSORS).is_file() or not (folder / STATE_JSON).is_file():
        raise UserError(
            f"{folder} holds no training state to resume (it needs {STATE_TENSORS} and {STATE_JSON}, written by "
            "`python -m playground train` with --save-every or at the end of a run)."
        )
    return load_file(str(folder / STATE_TENSORS)), json.loads((folder / STATE_JSON).read_text())


def export_zip(folder: str | Path, zip_path: str | Path) -> Path:
    """The checkpoint as a zip of its files (safetensors + config + tokenizer), flat, for download."""
    folder, zip_path = Path(folder), Path(zip_path)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            if f.name in ZIP_FILES:
                zf.write(f, arcname=f.name)
    return zip_path


def import_zip(zip_path: str | Path, folder: str | Path, max_bytes: int, max_files: int = len(ZIP_FILES)) -> Path:
    """Unpack a checkpoint zip into `folder` (new) after checking it; UserError saying what is wrong.

    Refused: not a zip, more than `max_files` entries, more than `max_bytes` unpacked (counted while
    unpacking, not trusted from the header), any path that is absolute or climbs out (zip slip),
    any file but those in ZIP_FILES (so no pickled weights), or contents that do not load.
    """
    zip_path, folder = Path(zip_path), Path(folder)
    if not zipfile.is_zipfile(zip_path):
        raise UserError(f"{zip_path.name} is not a zip file: upload a checkpoint zip downloaded from this tab.")
    with zipfile.ZipFile(zip_path) as zf:
        entries = [i for i in zf.infolist() if not i.is_dir()]
        if len(entries) > max_files:
            raise UserError(f"The zip holds {len(entries)} files; a checkpoint has at most {max_files}.")
        if sum(i.file_size for i in entries) > max_bytes:
            raise UserError(f"The zip unpacks to more than {max_bytes / 1e6:,.0f} MB, the limit for a checkpoint here.")
        names = {}
        for info in entries:
            path = PurePosixPath(info.filename.replace("\\", "/"))
            if path.is_absolute() or ".." in path.parts:
                raise UserError(f"The zip has an unsafe path ({info.filename!r}); it was not unpacked.")
            if path.name not in ZIP_FILES:
                hint = (
                    " (weights are accepted only as model.safetensors)"
                    if path.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt")
                    else ""
                )
                raise UserError(f"The zip holds {info.filename!r}, which is not part of a checkpoint{hint}.")
            if path.name in names:
                raise UserError(f"The zip holds {path.name} twice.")
            names[path.name] = info
        missing = {WEIGHTS_FILE, CONFIG_FILE, "tokenizer.json"} - set(names)
        if missing:
            raise UserError(f"The zip is not a checkpoint: {', '.join(sorted(missing))} is missing.")
        folder.mkdir(parents=True)
        try:
            _unpack(zf, names, folder, max_bytes)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    try:
        if not is_checkpoint(folder):
            raise ValueError("its config.json is not one of this app's tiny transformers")
        with torch.device("meta"):  # size the model from its config before allocating it
            parameters = TinyTransformer(read_config(folder)[0]).num_parameters()
        if 4 * parameters > max_bytes:
            raise ValueError(f"its config describes {parameters:,} parameters, more than this app accepts")
        load_checkpoint(folder)  # the weights must match the config; the tokenizer must load
    except Exception as err:  # noqa: BLE001 - whatever is wrong inside, the answer is the same
        shutil.rmtree(folder, ignore_errors=True)
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"The zip does not hold a loadable checkpoint: {reason}.") from err
    return folder


def _unpack(zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], folder: Path, max_bytes: int) -> None:
    budget = max_bytes
    for name, info in names.items():
        with zf.open(info) as src, open(folder / name, "wb") as dst:
            while chunk := src.read(1 << 20):
                budget -= len(chunk)
                if budget < 0:  # the header understated the size
                    raise UserError(
                        f"The zip unpacks to more than {max_bytes / 1e6:,.0f} MB, the limit for a checkpoint here."
                    )
                dst.write(chunk)
