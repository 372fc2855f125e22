"""Corpora larger than memory: tokenized once into a memory-mapped file of token ids, then read in place.

A corpus is a .txt file, a folder of .txt files (read in name order) or a Hugging Face dataset id (its `text`
column, streamed). Its token file is cached under PLAYGROUND_TOKEN_CACHE, named by the hash of the corpus's
bytes and of the tokenizer, so a second run (or every rank of a torchrun) reads the same file without
tokenizing again. Ids are uint16 when the vocabulary fits, else uint32: 2 or 4 bytes a token on disk, and only
the windows a batch needs are ever read into memory.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from transformers import PreTrainedTokenizerFast

from ..errors import UserError
from . import data

CACHE = Path(os.environ.get("PLAYGROUND_TOKEN_CACHE", Path.home() / ".cache" / "playground" / "tokens"))
PIECE_CHARS = 1_000_000  # text tokenized per call: bounded memory whatever the corpus size
SAMPLE_CHARS = 10_000_000  # what a new tokenizer for a large corpus is trained on (its first 10 M characters)


@dataclass
class TokenCorpus:
    """A whole corpus as one stream of token ids, memory-mapped; `train` and `val` are views, never copies."""

    path: Path
    tokens: np.ndarray  # (N,) uint16 or uint32, a read-only np.memmap
    val_fraction: float = 0.1

    @property
    def cut(self) -> int:
        return int(len(self.tokens) * (1 - self.val_fraction))

    @property
    def train(self) -> np.ndarray:
        return self.tokens[: self.cut]

    @property
    def val(self) -> np.ndarray:
        """The last tenth, as the in-memory path keeps the last tenth of the text."""
        return self.tokens[self.cut :]


def texts(source: str | Path) -> Iterator[str]:
    """The corpus's text, piece by piece: a .txt file, a folder of .txt files, or `hf:owner/name` (streamed)."""
    source = str(source)
    if source.startswith("hf:"):
        yield from _dataset_texts(source[3:])
        return
    path = Path(source)
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise UserError(f"{source} is neither a .txt file nor a folder holding .txt files.")
    for i, file in enumerate(files):
        if i:
            yield "\n"  # files join as paragraphs; one file reads exactly as load_corpus reads it
        with open(file, encoding="utf-8", errors="replace") as f:
            # PIECE_CHARS is a multiple of encode_corpus's pieces, so the ids equal those of the whole text
            while piece := f.read(PIECE_CHARS):
                yield piece


def _dataset_texts(dataset_id: str) -> Iterator[str]:
    from datasets import load_dataset  # heavy: only for a Hub dataset

    from ..hub import hub_offline

    if hub_offline():
        raise UserError(f"The Hugging Face Hub cannot be reached, so the dataset {dataset_id!r} cannot be streamed.")
    for row in load_dataset(dataset_id, split="train", streaming=True):
        text = row.get("text")
        if not isinstance(text, str):
            raise UserError(f"The dataset {dataset_id!r} has no 'text' column to train on.")
        yield text + "\n"


def sample(source: str | Path, chars: int = SAMPLE_CHARS) -> str:
    """The corpus's first `chars` characters: enough to train a tokenizer on, without reading it all."""
    parts, size = [], 0
    for piece in texts(source):
        parts.append(piece)
        size += len(piece)
        if size >= chars:
            break
    return "".join(parts)[:chars]


def tokenizer_hash(tokenizer: PreTrainedTokenizerFast) -> str:
    return hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest()


def corpus_hash(pieces: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece.encode("utf-8", errors="replace"))
    return digest.hexdigest()


def token_corpus(source: str | Path, tokenizer: PreTrainedTokenizerFast, cache: Path | None = None) -> TokenCorpus:
    """The corpus's token file, written once (atomically) and memory-mapped; later calls only map it.
    A Hub dataset is keyed by its id (it is streamed once); files by the hash of their bytes."""
    cache = cache or CACHE
    key = str(source)[3:] if str(source).startswith("hf:") else corpus_hash(texts(source))
    name = hashlib.sha256(f"{key}|{tokenizer_hash(tokenizer)}".encode()).hexdigest()[:32]
    dtype = np.uint16 if len(tokenizer) <= 2**16 else np.uint32
    path = cache / f"{name}.{np.dtype(dtype).name}"
    if not path.exists():
        _write(path, texts(source), tokenizer, dtype)
    tokens = np.memmap(path, dtype=dtype, mode="r")
    return TokenCorpus(path, tokens)


def _write(path: Path, pieces: Iterable[str], tokenizer: PreTrainedTokenizerFast, dtype: type) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                ids = data.encode_corpus(tokenizer, piece)  # (n,) int64, bounded by PIECE_CHARS
                out.write(ids.numpy().astype(dtype).tobytes())
        os.replace(tmp, path)  # whole or absent: a run killed mid-way never leaves half a file under the name
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
