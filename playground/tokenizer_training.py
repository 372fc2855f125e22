"""Training BPE / WordPiece with a merge-by-merge replay.

A byte-level BPE (learnt by HF `tokenizers`; we recount its merges to show how often each pair occurred) or
a WordPiece (learnt here by WordPiece's own score count(ab) / (count(a) * count(b)): HF's WordPieceTrainer
merges by BPE's count). Either way the merges come in order, so a slider can replay them: at step k, the
k-th merge and how a sample tokenizes with only the first k.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

from .errors import UserError
from .tiny import data
from .tokenization import MAX_UPLOAD_BYTES, piece_label

MAX_TRAIN_BYTES = MAX_UPLOAD_BYTES  # training text, uploaded or pasted
VOCAB_RANGE = (300, 16_000)  # BPE starts at 261 (5 specials + 256 bytes)
ALGORITHMS = ("bpe", "wordpiece")
MAX_SAMPLE_CHARS = 2_000  # the replayed sample: small, so the slider stays fast
MAX_WORD_CHARS = data.MAX_WORD_CHARS  # WordPiece: a longer word is one [UNK], as in BERT


# ---------------------------------------------------------------- training text


def check_training_text(text: str) -> str:
    text = text or ""
    if not text.strip():
        raise UserError(
            "There is no text to train on: paste some text, upload a .txt file, or pick the bundled corpus."
        )
    size = len(text.encode("utf-8"))
    if size > MAX_TRAIN_BYTES:
        raise UserError(
            f"The training text is {size / 1e6:.1f} MB; the limit is {MAX_TRAIN_BYTES / 1e6:.0f} MB. Use an excerpt."
        )
    return text


def _word_counts(backend: Tokenizer, text: str) -> Counter[str]:
    """Words after the tokenizer's normaliser and pre-tokenizer, with how often each occurs.

    Pre-tokenized chunk by chunk, like the trainer sees the text, so our counts match its own."""
    counts: Counter[str] = Counter()
    for chunk in data.chunks(text):
        if backend.normalizer is not None:
            chunk = backend.normalizer.normalize_str(chunk)
        counts.update(word for word, _ in backend.pre_tokenizer.pre_tokenize_str(chunk))
    return counts


# ---------------------------------------------------------------- merges


class _MergeTable:
    """The training words (each a list of symbol ids, with its count in the corpus) and the count of every
    adjacent pair in them, kept up to date as pairs merge: a merge touches only the words that hold its pair.

    scored=True also keeps WordPiece's score count(ab) / (count(a) * count(b)) for every pair in a numpy
    array, rescoring only the pairs whose counts moved, so picking the best pair is one argmax."""

    def __init__(self, words: dict[tuple[str, ...], int], join: Callable[[str, str], str], scored: bool = False):
        self.join = join
        self.scored = scored
        self.symbols: list[str] = []  # symbol id -> text
        self.symbol_ids: dict[str, int] = {}
        self.symbol_count: list[int] = []  # how often each symbol occurs in the segmented corpus
        self.slots: dict[tuple[int, int], int] = {}  # pair -> slot
        self.left: list[int] = []  # slot -> symbol ids
        self.right: list[int] = []
        self.count: list[int] = []  # slot -> occurrences in the corpus (words weighted by their count)
        self.where: list[set[int]] = []  # slot -> indices of the words holding the pair
        self.pairs_of: list[set[int]] = []  # symbol id -> slots it is part of (its count moves their scores)
        self.score = np.zeros(1024)  # slot -> score; grown by doubling
        self.words = [[self._symbol(s) for s in w] for w in words]
        self.freq = list(words.values())
        self.n_tokens = 0  # symbols in the whole segmented corpus
        for wi, (word, f) in enumerate(zip(self.words, self.freq)):
            self.n_tokens += len(word) * f
            for s in word:
                self.symbol_count[s] += f
            for pair in zip(word, word[1:]):
                slot = self._slot(pair)
                self.count[slot] += f
                self.where[slot].add(wi)
        if scored:
            self._rescore(range(len(self.count)))

    def _symbol(self, text: str) -> int:
        if text not in self.symbol_ids:
            self.symbol_ids[text] = len(self.symbols)
            self.symbols.append(text)
            self.symbol_count.append(0)
            self.pairs_of.append(set())
        return self.symbol_ids[text]

    def _slot(self, pair: tuple[int, int]) -> int:
        slot = self.slots.get(pair)
        if slot is None:
            slot = self.slots[pair] = len(self.count)
            self.left.append(pair[0])
            self.right.append(pair[1])
            self.count.append(0)
            self.where.append(set())
            self.pairs_of[pair[0]].add(slot)
            self.pairs_of[pair[1]].add(slot)
            if slot >= len(self.score):
                self.score = np.concatenate([self.score, np.zeros(len(self.score))])
        return slot

    def pair(self, slot: int) -> tuple[str, str]:
        return self.symbols[self.left[slot]], self.symbols[self.right[slot]]

    def counts(self, slot: int) -> tuple[int, int, int]:
        """The pair's count and its two parts' counts."""
        return self.count[slot], self.symbol_count[self.left[slot]], self.symbol_count[self.right[slot]]

    def find(self, left: str, right: str) -> int | None:
        a, b = self.symbol_ids.get(left), self.symbol_ids.get(right)
        return None if a is None or b is None else self.slots.get((a, b))

    def best(self) -> int | None:
        """The pair with the highest score (the first one on a tie: deterministic), or None when none is left."""
        slot = int(np.argmax(self.score[: len(self.count)])) if self.count else 0
        return slot if self.count and self.score[slot] > 0 else None

    def merge(self, slot: int) -> str:
        """Merge the pair everywhere it occurs; returns the merged symbol's text."""
        a, b = self.left[slot], self.right[slot]
        new = self._symbol(self.join(self.symbols[a], self.symbols[b]))
        moved: set[int] = set()  # slots whose count changed
        for wi in sorted(self.where[slot]):  # sorted: new slots get ids in a reproducible order
            old = self.words[wi]
            word = _merge_word(old, a, b, new)
            n, f = len(old) - len(word), self.freq[wi]
            if n == 0:
                continue
            old_pairs, new_pairs = list(zip(old, old[1:])), list(zip(word, word[1:]))
            for pair in old_pairs:
                s = self.slots[pair]
                self.count[s] -= f
                moved.add(s)
            for pair in new_pairs:
                s = self._slot(pair)
                self.count[s] += f
                self.where[s].add(wi)
                moved.add(s)
            for pair in set(old_pairs) - set(new_pairs):
                self.where[self.slots[pair]].discard(wi)
            self.words[wi] = word
            self.symbol_count[a] -= n * f
            self.symbol_count[b] -= n * f
            self.symbol_count[new] += n * f
            self.n_tokens -= n * f
        if self.scored:  # a, b and new changed count, so every pair they are in has a new score
            self._rescore(moved | self.pairs_of[a] | self.pairs_of[b] | self.pairs_of[new])
        return self.symbols[new]

    def _rescore(self, slots: Iterable[int]) -> None:
        slots = list(slots)
        if not slots:
            return
        count, sym = self.count, self.symbol_count
        self.score[slots] = [
            count[s] / (sym[self.left[s]] * sym[self.right[s]]) if count[s] > 0 else 0.0 for s in slots
        ]


Symbol = TypeVar("Symbol", int, str)


def _merge_word(word: Sequence[Symbol], a: Symbol, b: Symbol, new: Symbol) -> list[Symbol]:
    """Every a followed by b becomes new, left to right: training merges symbol ids, the replay merges text."""
    out: list[Symbol] = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def _wordpiece_join(left: str, right: str) -> str:
    return left + right.removeprefix("##")


def _wordpiece_split(word: str) -> tuple[str, ...]:
    return (word[0],) + tuple("##" + c for c in word[1:])


# ---------------------------------------------------------------- trained tokenizers


@dataclass(frozen=True)
class Merge:
    step: int  # 1 = the first merge learnt
    left: str  # the pair, as vocabulary entries ("Ġ", "t" / "h", "##u")
    right: str
    token: str  # the entry it makes ("Ġt" / "hu")
    count: int  # how often the pair occurred in the training words when it merged
    left_count: int  # how often each part occurred on its own then
    right_count: int
    score: float | None  # WordPiece: count / (left_count * right_count); None for BPE, which picks by count
    vocab_size: int  # vocabulary size after this merge (a merge can make an entry that exists already)
    tokens_per_word: float  # the training text's tokens per whitespace word after this merge


@dataclass
class TrainedTokenizer:
    kind: str  # "bpe" | "wordpiece"
    tokenizer: PreTrainedTokenizerFast  # the finished tokenizer, with [PAD] [UNK] [CLS] [SEP] [MASK]
    base_vocab: list[str]  # the vocabulary before any merge: specials and the alphabet
    merges: list[Merge]  # in the order learnt
    start_tokens_per_word: float  # the training text's tokens per word before any merge
    n_chars: int  # of the training text
    seconds: float  # training time
    ranks: dict[tuple[str, str], int] = field(init=False, repr=False)  # BPE replay: pair -> merge index

    def __post_init__(self):
        self.ranks = {(m.left, m.right): i for i, m in enumerate(self.merges)}

    @property
    def byte_level(self) -> bool:
        return self.kind == "bpe"

    def curves(self) -> tuple[list[int], list[int], list[float]]:
        """Per merge step 0..K: the vocabulary size and the training text's tokens per word."""
        steps = list(range(len(self.merges) + 1))
        vocab = [len(self.base_vocab)] + [m.vocab_size for m in self.merges]
        per_word = [self.start_tokens_per_word] + [m.tokens_per_word for m in self.merges]
        return steps, vocab, per_word


def check_vocab_size(vocab_size: int) -> int:
    lo, hi = VOCAB_RANGE
    if not lo <= vocab_size <= hi:  # compared before int(): NaN and inf fail here, with this sentence
        raise UserError(f"Vocabulary size must be between {lo:,} and {hi:,}.")
    return int(vocab_size)


def learn_tokenizer(text: str, kind: str = "bpe", vocab_size: int = 2000) -> TrainedTokenizer:
    """Train a byte-level BPE or a WordPiece on `text`, keeping every merge in order for the replay.

    The result's `.tokenizer` is a PreTrainedTokenizerFast with the tiny models' specials, ready for them."""
    text = check_training_text(text)
    vocab_size = check_vocab_size(vocab_size)
    if kind not in ALGORITHMS:
        raise ValueError(f"kind must be one of {', '.join(ALGORITHMS)}, not {kind!r}.")
    start = time.perf_counter()
    trained = _learn_bpe(text, vocab_size) if kind == "bpe" else _learn_wordpiece(text, vocab_size)
    trained.seconds = time.perf_counter() - start
    return trained


def _learn_bpe(text: str, vocab_size: int) -> TrainedTokenizer:
    """HF's BpeTrainer learns the merges; replaying them over the word counts gives each one's count."""
    tokenizer = data.train_tokenizer(text, "bpe", vocab_size)
    model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    pairs = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in model["merges"]]  # old: "a b"
    by_id = sorted(model["vocab"], key=model["vocab"].get)
    base = [t for t in by_id if len(t) == 1 or t in data.SPECIALS]  # merges make entries of 2+ characters
    n_words = len(text.split())
    table = _MergeTable({tuple(w): f for w, f in _word_counts(tokenizer.backend_tokenizer, text).items()}, str.__add__)
    start_tpw = table.n_tokens / n_words
    vocab = set(base)
    merges = []
    for step, (left, right) in enumerate(pairs, 1):
        slot = table.find(left, right)
        counts = table.counts(slot) if slot is not None else (0, 0, 0)
        if slot is not None:
            table.merge(slot)
        vocab.add(left + right)
        merges.append(Merge(step, left, right, left + right, *counts, None, len(vocab), table.n_tokens / n_words))
    return TrainedTokenizer("bpe", tokenizer, base, merges, start_tpw, len(text), 0.0)


def _learn_wordpiece(text: str, vocab_size: int) -> TrainedTokenizer:
    """WordPiece as BERT's paper describes it: merge the pair with the best count(ab) / (count(a) count(b))."""
    backend = data.wordpiece_pipeline()  # its normaliser and pre-tokenizer: words as BERT splits them
    counts = {w: f for w, f in _word_counts(backend, text).items() if len(w) <= MAX_WORD_CHARS}
    alphabet = sorted({c for w in counts for c in w})
    base = (
        list(data.SPECIALS) + alphabet + ["##" + c for c in alphabet]
    )  # both forms: any letter may start a word or go on one
    table = _MergeTable({_wordpiece_split(w): f for w, f in counts.items()}, _wordpiece_join, scored=True)
    n_words = len(text.split())
    start_tpw = table.n_tokens / n_words
    vocab = dict.fromkeys(base)  # ordered set: the ids
    merges: list[Merge] = []
    while len(vocab) < vocab_size and (slot := table.best()) is not None:
        left, right = table.pair(slot)
        pair_counts, score = table.counts(slot), float(table.score[slot])
        token = table.merge(slot)
        vocab[token] = None
        tpw = table.n_tokens / n_words
        merges.append(Merge(len(merges) + 1, left, right, token, *pair_counts, score, len(vocab), tpw))
    tokenizer = data.as_bert(data.wordpiece_pipeline({t: i for i, t in enumerate(vocab)}))
    return TrainedTokenizer("wordpiece", tokenizer, base, merges, start_tpw, len(text), 0.0)


def save_tokenizer_json(trained: TrainedTokenizer, folder: str | os.PathLike) -> Path:
    path = Path(folder) / "tokenizer.json"
    trained.tokenizer.backend_tokenizer.save(str(path))
    return path


# ---------------------------------------------------------------- replay


@dataclass
class ReplayStep:
    step: int  # merges applied
    merge: Merge | None  # the step-th merge; None at step 0
    tokens: list[str]  # the sample as spelt with only the first `step` merges
    labels: list[str]  # the same, readable
    vocab_size: int


def replay(trained: TrainedTokenizer, sample: str, step: int) -> ReplayStep:
    """How `sample` tokenizes after the first `step` merges (clamped to 0..K); at K, as the trained tokenizer."""
    words = _sample_words(trained, sample)
    step = min(max(int(step), 0), len(trained.merges))
    tokens = _replay_tokens(trained, words, step, _vocab_upto(trained, step))
    merge = trained.merges[step - 1] if step else None
    return ReplayStep(
        step,
        merge,
        tokens,
        [piece_label(t, trained.byte_level) for t in tokens],
        merge.vocab_size if merge else len(trained.base_vocab),
    )


def sample_curve(trained: TrainedTokenizer, sample: str, points: int = 200) -> tuple[list[int], list[float]]:
    """The sample's tokens per word at up to `points` evenly spaced merge steps (last one included)."""
    words, n_words = _sample_words(trained, sample), len(sample.split())
    if not n_words:
        return [], []
    last = len(trained.merges)
    steps = sorted(set(np.linspace(0, last, min(points, last + 1)).round().astype(int).tolist()))
    vocab, upto, per_word = set(trained.base_vocab), 0, []
    for step in steps:  # the WordPiece vocabulary grows as we go instead of being rebuilt per step
        vocab.update(m.token for m in trained.merges[upto:step])
        upto = step
        per_word.append(len(_replay_tokens(trained, words, step, vocab)) / n_words)
    return steps, per_word


def _sample_words(trained: TrainedTokenizer, sample: str) -> list[str]:
    sample = sample or ""
    if len(sample) > MAX_SAMPLE_CHARS:
        raise UserError(f"Keep the sample under {MAX_SAMPLE_CHARS:,} characters so the replay stays quick.")
    backend = trained.tokenizer.backend_tokenizer
    if backend.normalizer is not None:
        sample = backend.normalizer.normalize_str(sample)
    return [w for w, _ in backend.pre_tokenizer.pre_tokenize_str(sample)]


def _vocab_upto(trained: TrainedTokenizer, step: int) -> set[str]:
    return set(trained.base_vocab).union(m.token for m in trained.merges[:step])


def _replay_tokens(trained: TrainedTokenizer, words: list[str], step: int, vocab: set[str]) -> list[str]:
    if trained.kind == "bpe":
        return [t for w in words for t in _bpe_word(w, trained.ranks, step)]
    return [t for w in words for t in _greedy_longest_match(w, vocab)]


def _bpe_word(word: str, ranks: dict[tuple[str, str], int], step: int) -> list[str]:
    """BPE encoding with only the first `step` merges: apply the earliest-learnt pair present until none is."""
    parts = list(word)
    while len(parts) > 1:
        rank, pair = min((ranks.get(p, step), p) for p in zip(parts, parts[1:]))
        if rank >= step:
            break
        parts = _merge_word(parts, pair[0], pair[1], pair[0] + pair[1])
    return parts


def _greedy_longest_match(word: str, vocab: set[str]) -> list[str]:
    """WordPiece encoding: the longest vocabulary entry at each position ('##' after the first);
    a word it cannot spell is one [UNK], as in BERT."""
    if len(word) > MAX_WORD_CHARS:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                pieces.append(piece)
                start = end
                break
        else:
            return ["[UNK]"]
    return pieces
