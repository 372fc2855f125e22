"""Tokenizers side by side: one text through several tokenizers -> tokens as a person reads them (markers
kept, bytes that are not whole characters as <0xE2>, never "�"), ids, counts, and the round trip
decode(encode(text)) with what it changed. Also the one reader of uploaded text files (both the Tokenizer
and the Train tab read uploads through it).

Training tokenizers and replaying their merges: tokenizer_training.py.
"""

from __future__ import annotations

import codecs
import difflib
import functools
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from tokenizers import decoders
from transformers import PreTrainedTokenizerBase
from transformers.convert_slow_tokenizer import bytes_to_unicode

from .errors import UserError

MAX_TEXT_CHARS = 2_000_000  # the comparison tokenizes all of it ...
MAX_SHOWN = 1_000  # ... but renders only this many tokens per tokenizer
DIFF_CHARS = 5_000  # the round-trip diff is shown for this much of the text (a page of spans, not a book)
MAX_UPLOAD_BYTES = 5_000_000  # an uploaded text file, unless the caller says otherwise


# ---------------------------------------------------------------- reading tokens


def _hex_bytes(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)  # registered for decoding only
    return "".join(f"<0x{b:02X}>" for b in err.object[err.start : err.end]), err.end


codecs.register_error("playground-hex", _hex_bytes)


@functools.cache
def _char_to_byte() -> dict[str, int]:
    return {char: byte for byte, char in bytes_to_unicode().items()}


def _byte_level_bytes(token: str) -> bytes:
    """GPT-2's byte-level alphabet maps each byte to a printable character ('Ġ' is the space); undo that."""
    to_byte = _char_to_byte()
    return bytes(to_byte[c] for c in token if c in to_byte)


def _bytes_text(raw: bytes) -> str:
    """UTF-8 where the bytes make whole characters, <0xE2> where they do not."""
    return raw.decode("utf-8", errors="playground-hex")


INVISIBLE = {"Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cn"}  # control, format (zero-width), spaces, unassigned
# (and variation selectors, as in ❤️ = U+2764 U+FE0F: marks that show nothing on their own)


def _visible(text: str, byte_level: bool) -> str:
    """Name what cannot be seen: Ġ / Ċ for a byte-level space / newline (GPT-2's own spelling), <0x09> for
    other control bytes, <U+200B> for invisible characters, ◌ under a combining mark that starts a token."""
    out = []
    for c in text:
        if byte_level and c == " ":
            out.append("Ġ")
        elif byte_level and c == "\n":
            out.append("Ċ")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"<0x{ord(c):02X}>")
        elif c != " " and (unicodedata.category(c) in INVISIBLE or "VARIATION SELECTOR" in unicodedata.name(c, "")):
            out.append(f"<U+{ord(c):04X}>")
        else:
            out.append(c)
    shown = "".join(out)
    return "◌" + shown if shown and unicodedata.combining(shown[0]) else shown


def piece_label(piece: str, byte_level: bool) -> str:
    """A vocabulary entry, spelt with its markers ("Ġworld", "##yp"), split bytes as <0xE2>."""
    if byte_level:
        return _visible(_bytes_text(_byte_level_bytes(piece)), byte_level=True)
    return _visible(piece, byte_level=False)


def is_byte_level(tokenizer: PreTrainedTokenizerBase) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return backend is not None and isinstance(backend.decoder, decoders.ByteLevel)


def token_labels(tokenizer: PreTrainedTokenizerBase, ids: Iterable[int], markers: bool = False) -> list[str]:
    """Tokens as a person should read them; bytes that are not whole characters as <0xE2>, never "�".

    markers=False: the text (" world"); markers=True: as the tokenizer spells it ("Ġworld", "##yp")."""
    ids = [int(i) for i in ids]
    specials = set(tokenizer.all_special_tokens)
    byte_level = is_byte_level(tokenizer)
    labels = []
    for token_id, raw in zip(ids, tokenizer.convert_ids_to_tokens(ids)):
        if raw is None or raw in specials:
            labels.append(raw or f"<id {token_id}>")
        elif byte_level:
            text = _bytes_text(_byte_level_bytes(raw))
            labels.append(_visible(text, byte_level=True) if markers else text)
        elif markers:
            labels.append(_visible(raw, byte_level=False))
        else:
            text = cast(str, tokenizer.decode([token_id]))
            labels.append(raw if "\ufffd" in text else text)
    return labels


def token_label(tokenizer: PreTrainedTokenizerBase, token_id: int, markers: bool = False) -> str:
    """One token as a person should read it (see token_labels)."""
    return token_labels(tokenizer, [token_id], markers)[0]


# ---------------------------------------------------------------- comparison


@dataclass
class Tokenized:
    name: str
    tokens: list[str]  # as the tokenizer names them ("##ing", "Ġfox", "ðŁ")
    ids: list[int]
    n_words: int  # whitespace-separated words in the text
    n_chars: int
    unk_count: int
    labels: list[str] = field(default_factory=list)  # the first MAX_SHOWN tokens, readable, markers kept

    @property
    def n_tokens(self) -> int:
        return len(self.ids)

    @property
    def truncated(self) -> bool:
        return len(self.labels) < self.n_tokens

    @property
    def chars_per_token(self) -> float:
        return self.n_chars / self.n_tokens if self.n_tokens else 0.0

    @property
    def tokens_per_word(self) -> float:
        return self.n_tokens / self.n_words if self.n_words else 0.0


def check_text(text: str) -> str:
    text = text or ""
    if len(text) > MAX_TEXT_CHARS:
        raise UserError(
            f"The text has {len(text):,} characters; the comparison takes up to {MAX_TEXT_CHARS:,}. "
            "Paste a shorter excerpt."
        )
    return text


def encode(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    # verbose=False: a long text is meant to be longer than the model's context here
    return tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]


def tokenize(tokenizer: PreTrainedTokenizerBase, text: str, name: str = "") -> Tokenized:
    text = check_text(text)
    ids = encode(tokenizer, text)
    unk = tokenizer.unk_token_id
    # GPT-2 names <|endoftext|> its unk token, but it never stands for an unknown piece
    unk_count = ids.count(unk) if unk is not None and unk != tokenizer.eos_token_id else 0
    return Tokenized(
        name,
        cast(list[str], tokenizer.convert_ids_to_tokens(ids)),
        ids,
        len(text.split()),
        len(text),
        unk_count,
        token_labels(tokenizer, ids[:MAX_SHOWN], markers=True),
    )


@dataclass
class RoundTrip:
    decoded: str  # decode(encode(text)) of the whole text
    exact: bool
    spans: list[tuple[str, str | None]]  # the compared part as a diff: (text, None | "changed" | "dropped")
    reasons: list[str]  # what changed, in words
    compared_chars: int  # how much of the input the spans cover (all of it unless the text is long)


def round_trip(tokenizer: PreTrainedTokenizerBase, text: str, ids: list[int] | None = None) -> RoundTrip:
    """decode(encode(text)) and where it differs from the text; `ids` saves encoding twice."""
    text = check_text(text)
    ids = encode(tokenizer, text) if ids is None else ids
    decoded = cast(str, tokenizer.decode(ids))
    part = text if len(text) <= DIFF_CHARS else _cut_at_space(text, DIFF_CHARS)
    part_decoded = decoded if part == text else cast(str, tokenizer.decode(encode(tokenizer, part)))
    spans, reasons = _char_diff(part, part_decoded, tokenizer.unk_token or "[UNK]")
    return RoundTrip(decoded, decoded == text, spans, reasons, len(part))


def _cut_at_space(text: str, limit: int) -> str:
    """At most `limit` characters, ending at a space so no word is cut in two."""
    cut = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit))
    return text[: cut if cut > 0 else limit]


Opcode = tuple[str, int, int, int, int]  # difflib's (tag, i1, i2, j1, j2)


def _char_diff(before: str, after: str, unk: str) -> tuple[list[tuple[str, str | None]], list[str]]:
    """The text after the round trip, as spans: unchanged (None), changed, or dropped from before."""
    spans: list[tuple[str, str | None]] = []
    reasons: dict[str, None] = {}  # ordered set
    for op, i1, i2, j1, j2 in bounded_opcodes(before, after):
        old, new = before[i1:i2], after[j1:j2]
        if op == "equal":
            spans.append((new, None))
            continue
        if new:  # whitespace shown visibly: a changed or dropped space is not an empty box
            spans.append((new if new.strip() else show_spaces(new), "changed"))
        else:
            spans.append((show_spaces(old), "dropped"))
        reasons.update(dict.fromkeys(_why(old, new, unk)))
    return _merge_spans(spans), list(reasons)


ANCHOR = 4  # equal characters that re-synchronise the two texts after a change
WINDOW = 16  # difflib looks this far ahead of a change first, ...
MAX_WINDOW = 1_024  # ... doubling up to this; a change it cannot get past is one span to the end


def bounded_opcodes(a: str, b: str) -> list[Opcode]:
    """difflib's opcodes from a to b in time linear in the text: difflib (autojunk off, quadratic or worse on
    repetitive text) only ever sees a window after a change, until ANCHOR equal characters re-synchronise.

    A round trip changes text locally (a letter lower-cased, an accent or an invisible character dropped, a
    space added, [UNK] for a rare character), so a short window almost always finds the way back; a change
    that no window up to MAX_WINDOW gets past is reported coarsely, as one replaced span to the end."""
    ops: list[Opcode] = []
    n, m = len(a), len(b)
    prefix = _common_prefix(a, b)
    suffix = _common_prefix(a[prefix:][::-1], b[prefix:][::-1])  # trimmed first: an exact tail costs nothing
    n, m = n - suffix, m - suffix
    i = j = prefix
    if prefix:
        ops.append(("equal", 0, prefix, 0, prefix))
    while i < n or j < m:
        same = _common_prefix(a, b, i, j, n, m)
        if same:
            ops.append(("equal", i, i + same, j, j + same))
            i, j = i + same, j + same
            continue
        step = _resync(a, b, i, j, n, m)
        if step is None:  # no window got past this change: one span to the end
            ops.append(("replace" if i < n and j < m else "delete" if i < n else "insert", i, n, j, m))
            break
        ops.extend(step)
        i, j = step[-1][2], step[-1][4]
    if suffix:
        ops.append(("equal", n, n + suffix, m, m + suffix))
    return _merge_opcodes(ops)


def _resync(a: str, b: str, i: int, j: int, n: int, m: int) -> list[Opcode] | None:
    """The opcodes from (i, j), where a and b differ, to where they agree again for ANCHOR characters (or to
    the end of both); None when no window up to MAX_WINDOW finds such a place."""
    window = WINDOW
    while window <= MAX_WINDOW:
        end_a, end_b = min(i + window, n), min(j + window, m)
        matcher = difflib.SequenceMatcher(None, a[i:end_a], b[j:end_b], autojunk=False)
        ops: list[Opcode] = [(op, i + i1, i + i2, j + j1, j + j2) for op, i1, i2, j1, j2 in matcher.get_opcodes()]
        for k, (op, i1, i2, _, _) in enumerate(ops):
            if op == "equal" and i2 - i1 >= ANCHOR and k:  # back in step: stop before it
                return ops[:k]
        if end_a == n and end_b == m:  # the window holds both ends: its opcodes are the whole rest
            return ops
        window *= 2
    return None


def _common_prefix(a: str, b: str, i: int = 0, j: int = 0, n: int | None = None, m: int | None = None) -> int:
    """How many characters a[i:n] and b[j:m] share at their start, in time linear in that many: blocks of
    doubling size are compared (in C), never the whole rest."""
    n, m = len(a) if n is None else n, len(b) if m is None else m
    limit = min(n - i, m - j)
    lo, block = 0, 64
    while lo < limit:
        hi = min(lo + block, limit)
        if a[i + lo : i + hi] != b[j + lo : j + hi]:
            return lo + next(k for k in range(hi - lo) if a[i + lo + k] != b[j + lo + k])
        lo, block = hi, block * 2
    return limit


def _merge_opcodes(ops: list[Opcode]) -> list[Opcode]:
    """Neighbouring opcodes of the same kind as one (the walk can cut an equal run or a change in two)."""
    merged: list[Opcode] = []
    for op in ops:
        if merged and merged[-1][0] == op[0] and merged[-1][2] == op[1] and merged[-1][4] == op[3]:
            merged[-1] = (op[0], merged[-1][1], op[2], merged[-1][3], op[4])
        else:
            merged.append(op)
    return merged


def show_spaces(text: str) -> str:
    """Every space as ␣ and newline as ⏎ (other invisible characters named, as _visible does)."""
    return _visible(text.replace(" ", "␣").replace("\n", "⏎"), byte_level=False)


def shown_label(label: str) -> str:
    """A token's text as a chart or table cell shows it: never blank. A token of spaces or newlines only reads
    ␣ / ⏎ (as the round-trip diff shows them); a word keeps its spaces (" Paris" reads as a word), with a
    newline as ⏎ and any other invisible character named."""
    return show_spaces(label) if not label.strip() else _visible(label.replace("\n", "⏎"), byte_level=False)


def _why(old: str, new: str, unk: str) -> list[str]:
    """What turned `old` into `new`: the normalisations BERT-style tokenizers apply, in the order they apply them."""
    if unk in new:
        return [f"unknown characters became {unk}"]
    reasons = []
    if [c for c in old if c.isspace()] != [c for c in new if c.isspace()]:
        reasons.append("spaces changed")
    now, target = "".join(old.split()), "".join(new.split())
    for reason, normalise in NORMALISATIONS:
        if now == target:
            break
        if normalise(now) != now:
            now = normalise(now)
            reasons.append(reason)
    if now != target:  # our guesses do not explain it
        reasons = [r for r in reasons if r == "spaces changed"] + ["other changes"]
    return reasons


def _strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


def _drop_invisible(s: str) -> str:
    return "".join(c for c in s if unicodedata.category(c) not in INVISIBLE)


NORMALISATIONS = [
    ("lower-cased", str.lower),
    ("accents stripped", _strip_accents),
    ("control or invisible characters dropped", _drop_invisible),
]


def _merge_spans(spans: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    merged: list[tuple[str, str | None]] = []
    for text, cat in spans:
        if merged and merged[-1][1] == cat:
            merged[-1] = (merged[-1][0] + text, cat)
        else:
            merged.append((text, cat))
    return merged


# ---------------------------------------------------------------- uploaded text


def head_of(tokenizer: PreTrainedTokenizerBase, text: str, n: int) -> tuple[str, int]:
    """The start of `text` holding its first n + 1 tokens, and how many tokens the whole text has.

    The tokenizer's own truncation of a pair costs time and memory quadratic in the pair's length (two pasted
    books took 24 GB); one plain encode of each side is linear, and what it cuts lies past anything kept."""
    if not getattr(tokenizer, "is_fast", False):
        return text, len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)["offset_mapping"]
    return (text if len(offsets) <= n + 1 else text[: offsets[n][1]]), len(offsets)


def model_inputs(
    tokenizer: PreTrainedTokenizerBase, text: str, pair: str | None = None, max_length: int | None = None
) -> tuple[dict, int]:
    """Model inputs (batch of 1) cut to max_length, longest side first for a pair; and how many tokens were cut."""
    if max_length is not None:  # each side cut first to what could be kept: the pair truncation stays cheap
        text, n_text = head_of(tokenizer, text, max_length)
        n_pair = 0
        if pair is not None:
            pair, n_pair = head_of(tokenizer, pair, max_length)
        full = n_text + n_pair + tokenizer.num_special_tokens_to_add(pair=pair is not None)
    else:
        full = len(tokenizer(text, pair, verbose=False)["input_ids"])  # verbose=False: too long is expected here
    enc = tokenizer(
        text,
        pair,
        return_tensors="pt",
        truncation="longest_first",
        max_length=max_length,
        return_token_type_ids=True if pair is not None else None,  # segment ids only for a pair: DistilBERT takes none
    )
    return dict(enc), full - enc["input_ids"].shape[1]


def read_text_file(path: str | os.PathLike, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """An uploaded file as text (a UTF-8 byte-order mark dropped), or a UserError saying why not: too big,
    binary (NUL bytes: UTF-16 and images have them), not UTF-8, or empty."""
    name, size = Path(path).name, os.path.getsize(path)
    if size > max_bytes:
        raise UserError(
            f"{name} is {size / 1e6:.1f} MB; uploaded text is limited to {max_bytes / 1e6:g} MB here. "
            "Upload a smaller .txt file or paste an excerpt."
        )
    raw = Path(path).read_bytes()
    if b"\x00" in raw:
        raise UserError(f"{name} is not a plain-text file (it contains NUL bytes): upload a UTF-8 .txt file.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserError(
            f"{name} is not UTF-8 text (byte {err.start:,} does not decode): save it as UTF-8 .txt."
        ) from err
    if not text.strip():
        raise UserError(f"{name} is empty: there is nothing to train on.")
    return text
