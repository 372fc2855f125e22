"""Checkpoint folders: model.safetensors + config.json + the tokenizer's files.

Writes are atomic: everything goes to a temporary sibling folder that is renamed into place,
so a run killed mid-save leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import torch
from safetensors.torch import load_file, load_model, save_file, save_model
from transformers import PreTrainedTokenizerFast

from ..errors import UserError
from .files import CONFIG_FILE, STATE_JSON, STATE_TENSORS, WEIGHTS_FILE, read_config
from .model import TinyTransformer
from .timeline import FOLDER as TIMELINE
from .timeline import INDEX as TIMELINE_INDEX
from .timeline import MAX_BYTES as TIMELINE_BYTES
from .timeline import MAX_SNAPSHOTS, SNAPSHOT, Timeline

log = logging.getLogger(__name__)

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
    ((tensors, JSON-able state) from Trainer.state()) makes it resumable."""
    with written_atomically(folder) as tmp:
        save_model(model, str(tmp / WEIGHTS_FILE))  # handles the tied embedding / output weights
        config = {"model_type": "tiny-transformer", **model.config.to_dict(), "meta": meta or {}}
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        tokenizer.save_pretrained(tmp)
        if training is not None:
            save_training_state(tmp, training)
    return Path(folder)


def save_training_state(folder: Path, training: tuple[dict[str, torch.Tensor], dict]) -> None:
    """A run's state for --resume ((tensors, JSON-able state) from Trainer.state()) into `folder`."""
    tensors, state = training
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(folder / STATE_TENSORS))
    (folder / STATE_JSON).write_text(json.dumps(state, indent=1))


@contextmanager
def written_atomically(folder: str | Path) -> Iterator[Path]:
    """A temporary sibling folder to write into, renamed into place when the block ends without an error: a run
    killed mid-save leaves the previous folder whole. Its files are made readable (mkdtemp makes it private)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        yield tmp
        tmp.chmod(0o755)
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
    """The checkpoint as a zip of its files (safetensors + config + tokenizer), flat, for download.

    Weights are stored as they are: deflate saves under a tenth of float bytes and took most of the Train
    tab's time after its last step (bench/train_tab_pace.py); the text files are deflated."""
    folder, zip_path = Path(folder), Path(zip_path)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            if f.name in ZIP_FILES:
                zf.write(f, arcname=f.name, compress_type=_compression(f))
        timeline = folder / TIMELINE
        if (timeline / TIMELINE_INDEX).is_file():  # the run's snapshots and probe readings, for the scrubber
            for f in sorted(timeline.iterdir()):
                if _timeline_file(f.name):
                    zf.write(f, arcname=f"{TIMELINE}/{f.name}", compress_type=_compression(f))
    return zip_path


def zip_folder(folder: str | Path, zip_path: str | Path) -> Path:
    """Every file of `folder` in one zip, inside a folder of its name (an exported model unpacks as one folder),
    weights stored and text deflated; the zip is written whole or not at all."""
    folder, zip_path = Path(folder), Path(zip_path)
    part = zip_path.with_name(zip_path.name + ".part")
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"{folder.name}/{f.name}", compress_type=_compression(f))
    return part.replace(zip_path)


def _compression(f: Path) -> int:
    """Weights (safetensors, GGUF) stored as they are: deflate saves little on them and takes long; text deflated."""
    return zipfile.ZIP_STORED if f.suffix in (".safetensors", ".gguf") else zipfile.ZIP_DEFLATED


def _timeline_file(name: str) -> bool:
    return name == TIMELINE_INDEX or SNAPSHOT.fullmatch(name) is not None


def import_zip(zip_path: str | Path, folder: str | Path, max_bytes: int, max_files: int = len(ZIP_FILES)) -> Path:
    """Unpack a checkpoint zip into `folder` (new) after checking it; UserError saying what is wrong.

    Refused: not a zip, more than `max_files` entries, more than `max_bytes` unpacked (counted while
    unpacking, not trusted from the header), any path that is absolute or climbs out (zip slip),
    any file but those in ZIP_FILES and a timeline's (so no pickled weights), or contents that do not load.
    A timeline (timeline/: float16 snapshots and an index) that does not fit the model is dropped, with the
    model kept.
    """
    zip_path, folder = Path(zip_path), Path(folder)
    if not zipfile.is_zipfile(zip_path):
        raise UserError(f"{zip_path.name} is not a zip file: upload a checkpoint zip downloaded from this tab.")
    with zipfile.ZipFile(zip_path) as zf:
        names = _checked_entries(zf, max_bytes, max_files)
        folder.mkdir(parents=True)
        try:
            _unpack(zf, names, folder, max_bytes)
        except zipfile.BadZipFile as err:  # a damaged entry (its CRC does not match)
            shutil.rmtree(folder, ignore_errors=True)
            raise UserError(f"{zip_path.name} is damaged ({err}): download it again.") from err
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    try:
        _check_loadable(folder, max_bytes)
    except Exception as err:  # noqa: BLE001 - whatever is wrong inside, the answer is the same
        shutil.rmtree(folder, ignore_errors=True)
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"The zip does not hold a loadable checkpoint: {reason}.") from err
    return folder


def _checked_entries(zf: zipfile.ZipFile, max_bytes: int, max_files: int) -> dict[str, zipfile.ZipInfo]:
    """{name in the folder: its entry}, after the counts, sizes (as the header says), paths and names pass."""
    entries = [i for i in zf.infolist() if not i.is_dir()]
    # a run's snapshots may come with the model: counted and capped apart from it (timeline.py's caps)
    snapshots = [i for i in entries if _part(i.filename) == TIMELINE]
    model = [i for i in entries if _part(i.filename) != TIMELINE]
    if len(model) > max_files or len(snapshots) > MAX_SNAPSHOTS + 1:
        raise UserError(
            f"The zip holds {len(entries)} files; a checkpoint has at most {max_files} "
            f"(and {MAX_SNAPSHOTS + 1} in its timeline/)."
        )
    for part, limit in ((model, max_bytes), (snapshots, TIMELINE_BYTES)):
        if sum(i.file_size for i in part) > limit:
            raise UserError(_too_big(limit))
    names: dict[str, zipfile.ZipInfo] = {}
    for info in entries:
        name = _entry_name(info.filename)
        if name in names:
            raise UserError(f"The zip holds {name} twice.")
        names[name] = info
    missing = {WEIGHTS_FILE, CONFIG_FILE, "tokenizer.json"} - set(names)
    if missing:
        raise UserError(f"The zip is not a checkpoint: {', '.join(sorted(missing))} is missing.")
    return names


def _entry_name(filename: str) -> str:
    """Where an entry goes in the folder; UserError for a path that climbs out or a file no checkpoint has."""
    path = PurePosixPath(filename.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise UserError(f"The zip has an unsafe path ({filename!r}); it was not unpacked.")
    if path.parent.name == TIMELINE and _timeline_file(path.name):  # (a zipped folder nests it all)
        return f"{TIMELINE}/{path.name}"
    if path.name in ZIP_FILES:
        return path.name
    pickled = path.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt")
    hint = " (weights are accepted only as model.safetensors)" if pickled else ""
    raise UserError(f"The zip holds {filename!r}, which is not part of a checkpoint{hint}.")


def _check_loadable(folder: Path, max_bytes: int) -> None:
    """The unpacked folder is one of ours, of an accepted size, its weights fit its config, its tokenizer loads."""
    if not is_checkpoint(folder):
        raise ValueError("its config.json is not one of this app's tiny transformers")
    with torch.device("meta"):  # size the model from its config before allocating it
        parameters = TinyTransformer(read_config(folder)[0]).num_parameters()
    if 4 * parameters > max_bytes:
        raise ValueError(f"its config describes {parameters:,} parameters, more than this app accepts")
    load_checkpoint(folder)  # the weights must match the config; the tokenizer must load
    _check_timeline(folder)


def _check_timeline(folder: Path) -> None:
    """A timeline that does not load or fit the model is dropped (logged): the model is what the user came for."""
    if not (folder / TIMELINE).exists():
        return
    try:
        timeline = Timeline.load(folder)
        if timeline is None:
            raise UserError(f"{TIMELINE_INDEX} is missing")
        for step in timeline.frames:
            timeline.model_at(step)
    except UserError as err:
        log.warning("dropped the timeline of an uploaded checkpoint: %s", err)
        shutil.rmtree(folder / TIMELINE, ignore_errors=True)


def _part(filename: str) -> str:
    """TIMELINE for a timeline's entry, "" for the model's."""
    return TIMELINE if PurePosixPath(filename.replace("\\", "/")).parent.name == TIMELINE else ""


def _too_big(limit: int) -> str:
    return f"The zip unpacks to more than {limit / 1e6:,.0f} MB, the limit for a checkpoint here."


def _unpack(zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], folder: Path, max_bytes: int) -> None:
    budget = {"": max_bytes, TIMELINE: TIMELINE_BYTES}  # counted while unpacking: a header may understate
    for name, info in names.items():
        part = _part(name)
        (folder / name).parent.mkdir(exist_ok=True)  # timeline/
        with zf.open(info) as src, open(folder / name, "wb") as dst:
            while chunk := src.read(1 << 20):
                budget[part] -= len(chunk)
                if budget[part] < 0:
                    raise UserError(_too_big(max_bytes if part == "" else TIMELINE_BYTES))
                dst.write(chunk)
