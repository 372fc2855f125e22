"""BERT's next sentence prediction: does sentence B follow sentence A? And the 50/50 pairs it learns from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import torch
from transformers import PreTrainedTokenizerBase

from .devices import device_of
from .errors import UserError
from .protocols import LanguageModel, context_limit
from .tiny.data import SentencePairs, load_corpus, split_sentences, split_train_val
from .tokenization import model_inputs

IS_NEXT, NOT_NEXT = 0, 1  # BERT's labels: softmax index 0 is IsNext
LABELS = ("IsNext", "NotNext")
MAX_PAIRS = 64
TRIES = 50  # draws to find a pair not built yet, before settling for fewer pairs


@dataclass
class NSPResult:
    is_next: float  # probability that B follows A (softmax index 0, as BERT's label 0)
    not_next: float
    tokens: list[str]  # [CLS] A [SEP] B [SEP] as the model sees it
    ids: list[int]
    token_type_ids: list[int]  # 0 for [CLS] A [SEP], 1 for B [SEP]
    truncated: int = 0  # tokens cut (from the longer sentence first) to fit the model's context


@dataclass
class Pair:
    a: str
    b: str
    label: int  # IS_NEXT or NOT_NEXT
    a_span: tuple[int, int]  # sentence indices [start, stop) in the passage
    b_span: tuple[int, int]
    is_next: float = 0.0  # the model's probability that B follows A

    @property
    def verdict(self) -> int:
        return IS_NEXT if self.is_next >= 0.5 else NOT_NEXT


@dataclass
class PairsResult:
    pairs: list[Pair]
    n_sentences: int  # in the passage
    seed: int
    asked: int = 0  # pairs asked for; fewer when the passage holds fewer distinct ones
    tokens_per_side: int = 0  # the run length used: the one asked for, or less to fit a short passage
    asked_per_side: int = 0
    passage_tokens: int = 0

    @property
    def n_is_next(self) -> int:
        return sum(p.label == IS_NEXT for p in self.pairs)

    @property
    def accuracy(self) -> float:
        return sum(p.verdict == p.label for p in self.pairs) / len(self.pairs)

    @property
    def share_is_next(self) -> float:
        return sum(p.label == IS_NEXT for p in self.pairs) / len(self.pairs)


@torch.no_grad()
def next_sentence(
    model: LanguageModel, tokenizer: PreTrainedTokenizerBase, sentence_a: str, sentence_b: str
) -> NSPResult:
    if not (sentence_a or "").strip() or not (sentence_b or "").strip():
        raise UserError("Write both sentences: the model judges whether B follows A.")
    enc, cut = model_inputs(tokenizer, sentence_a, sentence_b, context_limit(model, tokenizer))
    device = device_of(model)
    out = model(**{k: v.to(device) for k, v in enc.items()})
    probs = torch.softmax(out.seq_relationship_logits[0].float(), dim=-1)
    ids = enc["input_ids"][0].tolist()
    return NSPResult(
        float(probs[IS_NEXT]),
        float(probs[NOT_NEXT]),
        cast(list[str], tokenizer.convert_ids_to_tokens(ids)),
        ids,
        enc["token_type_ids"][0].tolist(),
        cut,
    )


@lru_cache(maxsize=1)
def held_out_shakespeare() -> str:
    """The last tenth of tinyshakespeare: the bundled BERT never trained on it."""
    return split_train_val(load_corpus("tinyshakespeare"))[1]


def coin_range(n: int, mass: float = 0.95) -> tuple[int, int]:
    """How many of n fair coin tosses come up heads in `mass` of the tries: the central range of Binomial(n, 1/2)."""
    pmf = [math.comb(n, k) / 2**n for k in range(n + 1)]
    low, high, tail = 0, n, (1 - mass) / 2
    while sum(pmf[: low + 1]) <= tail:
        low += 1
    while sum(pmf[high:]) <= tail:
        high -= 1
    return low, high


def fitted_budget(lengths: list[int], tokens_per_side: int) -> int:
    """The run length to use: the one asked for, or less where the passage is short, so that A takes at most
    about a quarter of it and never so much that no sentence is left for a random B."""
    fit = min(sum(lengths) // 4, sum(lengths[:-1]) - 1)
    return max(1, min(int(tokens_per_side), fit))


def build_pairs(
    tokenizer: PreTrainedTokenizerBase, text: str, n_pairs: int = 16, seed: int = 0, tokens_per_side: int = 62
) -> PairsResult:
    """Training pairs the BERT way: A is a run of whole sentences, B the run right after it (IsNext) on a coin
    toss and a run from elsewhere (NotNext) otherwise; each side up to `tokens_per_side` tokens (at least one
    sentence; fewer tokens where the passage is short). No pair comes twice: a short passage may give fewer."""
    if not 1 <= int(n_pairs) <= MAX_PAIRS:
        raise UserError(f"Build between 1 and {MAX_PAIRS} pairs.")
    n = len(split_sentences(text or ""))
    if n < 4:
        raise UserError(
            f"Found {n} sentence{'s' * (n != 1)}: paste a passage of at least 4 sentences, each ending in . ! ? or ; "
            "(or leave the box empty to use Shakespeare)."
        )
    source = SentencePairs(text, tokenizer)
    gen = torch.Generator().manual_seed(int(seed))
    lengths = [len(s) for s in source.sentences]
    budget = fitted_budget(lengths, tokens_per_side)
    context = 2 * budget + 3  # SentencePairs' budget is (context - 3) // 2 a side
    pairs, seen = [], set()
    for _ in range(int(n_pairs)):
        wanted = None
        for _ in range(TRIES):  # the first draw's coin decides the label; a repeat is drawn again with that label
            a, b, label = source.spans(context, gen)
            wanted = label if wanted is None else wanted
            if label == wanted and (a, b) not in seen:
                seen.add((a, b))
                pairs.append(Pair(_join(source, a), _join(source, b), label, a, b))
                break
    return PairsResult(pairs, n, int(seed), int(n_pairs), budget, int(tokens_per_side), sum(lengths))


def _join(source: SentencePairs, span: tuple[int, int]) -> str:
    return " ".join(source.texts[span[0] : span[1]])


@torch.no_grad()
def judge_pairs(model: LanguageModel, tokenizer: PreTrainedTokenizerBase, pairs: list[Pair]) -> None:
    """Fill in each pair's is_next probability: one batched forward pass."""
    enc = tokenizer(
        [p.a for p in pairs],
        [p.b for p in pairs],
        return_tensors="pt",
        padding=True,
        truncation="longest_first",
        max_length=context_limit(model, tokenizer),
        return_token_type_ids=True,
    )
    device = device_of(model)
    out = model(**{k: v.to(device) for k, v in enc.items()})
    probs = torch.softmax(out.seq_relationship_logits.float(), dim=-1)[:, IS_NEXT].tolist()  # (B,)
    for pair, p in zip(pairs, probs):
        pair.is_next = p


def nsp_pairs(
    model: LanguageModel,
    tokenizer: PreTrainedTokenizerBase,
    text: str = "",
    n_pairs: int = 16,
    seed: int = 0,
    tokens_per_side: int = 62,
) -> PairsResult:
    """Pairs from the passage (held-out Shakespeare when empty), with the model's verdict on each."""
    passage = text if (text or "").strip() else held_out_shakespeare()
    result = build_pairs(tokenizer, passage, n_pairs, seed, tokens_per_side)
    judge_pairs(model, tokenizer, result.pairs)
    return result
