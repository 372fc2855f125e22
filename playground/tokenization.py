"""Tokenizers side by side: how one text splits into tokens, with the numbers that compare them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase
from transformers.convert_slow_tokenizer import bytes_to_unicode


@dataclass
class Tokenized:
    name: str
    tokens: list[str]  # as the tokenizer names them ("##ing", "Ġfox", "<0xE2>")
    ids: list[int]
    n_words: int
    n_chars: int
    unk_count: int

    @property
    def n_tokens(self) -> int:
        return len(self.ids)

    @property
    def chars_per_token(self) -> float:
        return self.n_chars / self.n_tokens if self.n_tokens else 0.0

    @property
    def tokens_per_word(self) -> float:
        return self.n_tokens / self.n_words if self.n_words else 0.0


def token_label(tokenizer: PreTrainedTokenizerBase, token_id: int) -> str:
    """A token as a person should read it: its text, or its bytes when it is not whole characters."""
    text = tokenizer.decode([token_id])
    if "\ufffd" not in text:
        return text
    raw = tokenizer.convert_ids_to_tokens(token_id)
    return "".join(f"<0x{b:02X}>" for b in _byte_level_bytes(raw)) if raw else text


@functools.cache
def _char_to_byte() -> dict[str, int]:
    return {char: byte for byte, char in bytes_to_unicode().items()}


def _byte_level_bytes(token: str) -> bytes:
    """GPT-2's byte-level alphabet maps each byte to a printable character; undo that."""
    to_byte = _char_to_byte()
    return bytes(to_byte[c] for c in token if c in to_byte)


def tokenize(tokenizer: PreTrainedTokenizerBase, text: str, name: str = "") -> Tokenized:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    unk = tokenizer.unk_token_id
    unk_count = sum(1 for i in ids if i == unk) if unk is not None and unk != tokenizer.eos_token_id else 0
    return Tokenized(name, tokens, ids, len(text.split()), len(text), unk_count)
