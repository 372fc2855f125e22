"""BERT's next sentence prediction: does sentence B follow sentence A? And the 50/50 pairs it learns from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from .fill_mask import context_limit, device_of, encode
from .tiny.data import SentencePairs, load_corpus, split_sentences, split_train_val

IS_NEXT, NOT_NEXT = 0, 1  # BERT's labels: softmax index 0 is IsNext
LABELS = ("IsNext", "NotNext")
MAX_PAIRS = 64


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

    @property
    def accuracy(self) -> float:
        return sum(p.verdict == p.label for p in self.pairs) / len(self.pairs)

    @property
    def share_is_next(self) -> float:
        return sum(p.label == IS_NEXT for p in self.pairs) / len(self.pairs)


@torch.no_grad()
def next_sentence(model, tokenizer, sentence_a: str, sentence_b: str) -> NSPResult:
    if not (sentence_a or "").strip() or not (sentence_b or "").strip():
        raise ValueError("Write both sentences: the model judges whether B follows A.")
    enc, cut = encode(tokenizer, sentence_a, sentence_b, context_limit(model, tokenizer))
    device = device_of(model)
    out = model(**{k: v.to(device) for k, v in enc.items()})
    probs = torch.softmax(out.seq_relationship_logits[0].float(), dim=-1)
    ids = enc["input_ids"][0].tolist()
    return NSPResult(
        float(probs[IS_NEXT]), float(probs[NOT_NEXT]), tokenizer.convert_ids_to_tokens(ids), ids,
        enc["token_type_ids"][0].tolist(), cut,
    )


@lru_cache(maxsize=1)
def held_out_shakespeare() -> str:
    """The last tenth of tinyshakespeare: the bundled BERT never trained on it."""
    return split_train_val(load_corpus("tinyshakespeare"))[1]


def build_pairs(tokenizer, text: str, n_pairs: int = 16, seed: int = 0, tokens_per_side: int = 62) -> tuple[list[Pair], int]:
    """Training pairs the BERT way: A is a run of whole sentences, B the run right after it (IsNext) half of the
    time and a run from elsewhere (NotNext) otherwise; each side up to `tokens_per_side` tokens (at least one
    sentence). Returns the pairs and the passage's number of sentences."""
    if not 1 <= int(n_pairs) <= MAX_PAIRS:
        raise ValueError(f"Build between 1 and {MAX_PAIRS} pairs.")
    n = len(split_sentences(text or ""))
    if n < 4:
        raise ValueError(
            f"Found {n} sentence{'s' * (n != 1)}: paste a passage of at least 4 sentences, each ending in . ! ? or ; "
            "(or leave the box empty to use Shakespeare)."
        )
    source = SentencePairs(text, tokenizer)
    gen = torch.Generator().manual_seed(int(seed))
    context = 2 * max(1, int(tokens_per_side)) + 3  # SentencePairs' budget is (context - 3) // 2 a side
    pairs = []
    for _ in range(int(n_pairs)):
        a, b, label = source.spans(context, gen)
        pairs.append(Pair(_join(source, a), _join(source, b), label, a, b))
    return pairs, n


def _join(source: SentencePairs, span: tuple[int, int]) -> str:
    return " ".join(source.texts[span[0] : span[1]])


@torch.no_grad()
def judge_pairs(model, tokenizer, pairs: list[Pair]) -> None:
    """Fill in each pair's is_next probability: one batched forward pass."""
    enc = tokenizer(
        [p.a for p in pairs], [p.b for p in pairs], return_tensors="pt", padding=True, truncation="longest_first",
        max_length=context_limit(model, tokenizer), return_token_type_ids=True,
    )
    device = device_of(model)
    out = model(**{k: v.to(device) for k, v in enc.items()})
    probs = torch.softmax(out.seq_relationship_logits.float(), dim=-1)[:, IS_NEXT].tolist()  # (B,)
    for pair, p in zip(pairs, probs):
        pair.is_next = p


def nsp_pairs(model, tokenizer, text: str = "", n_pairs: int = 16, seed: int = 0, tokens_per_side: int = 62) -> PairsResult:
    """Pairs from the passage (held-out Shakespeare when empty), with the model's verdict on each."""
    passage = text if (text or "").strip() else held_out_shakespeare()
    pairs, n = build_pairs(tokenizer, passage, n_pairs, seed, tokens_per_side)
    judge_pairs(model, tokenizer, pairs)
    return PairsResult(pairs, n, int(seed))
