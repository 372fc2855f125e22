"""A classifier on a pre-trained body, and the input as that body sees it.

BERT-style (reads both ways): `[CLS] A [SEP] B [SEP]` with segment ids 0 for `[CLS] A [SEP]` and 1 for
`B [SEP]`; the label is read from the final hidden state of `[CLS]`, which attends to every token, through
BERT's pooler (dense + tanh, pre-trained with next sentence prediction) where the body has one, as BERT's own
fine-tuning does: the fine-tuned model is then exactly transformers' BertForSequenceClassification.

GPT-style (reads left to right): GPT-1's input transformation, `<start> A <delim> B <extract>` (or `<start> A
<extract>` for one text), and the label is read at `<extract>`, the only token that has seen all the others.
The three added tokens get new embeddings, learnt during fine-tuning; they live in the classifier, not in
the body's table, so a frozen body stays bit-identical (a hook swaps them in after the body's lookup).

Works for our TinyTransformer (its `hidden_states`) and for Hub models (`output_hidden_states=True`) alike.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
from transformers import PreTrainedTokenizerBase

from ..protocols import context_limit

ADDED = ("<start>", "<delim>", "<extract>")  # GPT-1's new tokens, ids base_vocab + 0, 1, 2
MAX_LENGTH = 128  # tokens per example: enough for a passage, and keeps CPU steps short


@dataclass
class Encoded:
    """A batch as the body sees it."""

    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T) 1 = token, 0 = padding (on the right)
    token_type_ids: torch.Tensor  # (B, T) segment 0 (A) or 1 (B); all 0 for GPT-style

    def to(self, device: torch.device | str) -> Encoded:
        return Encoded(*(t.to(device) for t in (self.input_ids, self.attention_mask, self.token_type_ids)))

    @property
    def read_at(self) -> torch.Tensor:
        """(B,) the position each row's label is read at: [CLS] is 0; <extract> is the last token."""
        return self.attention_mask.sum(1) - 1


@dataclass
class Seen:
    """One input as the model sees it, for the page."""

    tokens: list[str]
    ids: list[int]
    token_type_ids: list[int]
    read_at: int  # the position the classifier reads
    kind: str  # "bert" or "gpt"


def model_kind(model: Any) -> str:
    """ "gpt" for a model that reads left to right (ours with causal=True, a Hub *ForCausalLM), else "bert"."""
    causal = getattr(model.config, "causal", None)
    if causal is None:
        causal = type(model).__name__.endswith("ForCausalLM")
    return "gpt" if causal else "bert"


def input_embeddings(model: Any) -> nn.Embedding:
    """The token embedding table: Hub models name it get_input_embeddings(), ours tok_emb."""
    get = getattr(model, "get_input_embeddings", None)
    return get() if callable(get) else model.tok_emb


def body_states(body: Any, enc: Encoded, kind: str) -> torch.Tensor:
    """(B, T, C) the body's last hidden states."""
    types = enc.token_type_ids if kind == "bert" else None
    own = getattr(body, "hidden_states", None)
    if callable(own):  # ours: the final layer before any head, without computing the LM head
        return own(enc.input_ids, enc.attention_mask, types)
    kwargs = {"input_ids": enc.input_ids, "attention_mask": enc.attention_mask, "output_hidden_states": True}
    if types is not None:
        kwargs["token_type_ids"] = types
    return body(**kwargs).hidden_states[-1]


def bert_pooler(body: Any) -> nn.Module | None:
    """A Hub BERT's pooler, (B, T, C) -> (B, C) tanh(dense([CLS])), where the body has one (BertForPreTraining,
    BertModel; BertForMaskedLM is built without it). Our own models keep theirs inside the NSP head."""
    pooler = getattr(getattr(body, "bert", body), "pooler", None)
    return pooler if isinstance(pooler, nn.Module) else None


def scratch_copy(body: Any, seed: int) -> Any:
    """The same architecture from random weights: the body's class built from its config, seeded."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return type(body)(copy.deepcopy(body.config))


class Classifier(nn.Module):
    """A body (pre-trained or not) + a linear head on one position's final hidden state."""

    def __init__(self, body: nn.Module, tokenizer: PreTrainedTokenizerBase, labels: tuple[str, ...], seed: int = 0):
        super().__init__()
        self.body = body
        self.tokenizer = tokenizer
        self.labels = tuple(labels)
        self.kind = model_kind(body)
        table = input_embeddings(body)
        self.base_vocab = table.num_embeddings
        width = table.embedding_dim
        self.max_length = min(context_limit(body, tokenizer), MAX_LENGTH)
        with torch.random.fork_rng(devices=[]):  # the same head for the same seed, whatever the body
            torch.manual_seed(seed)
            # (3, C) GPT-1's added tokens, initialised like the body's embeddings
            self.added = nn.Parameter(torch.randn(len(ADDED), width) * 0.02) if self.kind == "gpt" else None
            self.head = nn.Linear(width, len(self.labels))  # (C -> L)
            nn.init.normal_(self.head.weight, std=0.02)
            nn.init.zeros_(self.head.bias)

    # ------------------------------------------------------------ inputs

    def encode(self, texts: list[str], texts_b: list[str] | None = None) -> Encoded:
        if self.kind == "bert":
            enc = self.tokenizer(
                texts,
                texts_b,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
                return_token_type_ids=True,
            )
            return Encoded(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        return self._encode_gpt(texts, texts_b)

    def _encode_gpt(self, texts: list[str], texts_b: list[str] | None) -> Encoded:
        start, delim, extract = (self.base_vocab + i for i in range(len(ADDED)))
        a_ids = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        b_ids = self.tokenizer(texts_b, add_special_tokens=False)["input_ids"] if texts_b else [None] * len(texts)
        rows = []
        for a, b in zip(a_ids, b_ids):
            if b is None:
                rows.append([start, *a[: self.max_length - 2], extract])
                continue
            a, b = _truncate_longest_first(list(a), list(b), self.max_length - 3)
            rows.append([start, *a, delim, *b, extract])
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        return Encoded(ids, mask, torch.zeros_like(ids))

    def seen(self, text: str, text_b: str | None = None) -> Seen:
        """The input as the model sees it: its tokens (added ones by name), segments and where the head reads."""
        enc = self.encode([text], [text_b] if text_b else None)
        ids = enc.input_ids[0].tolist()
        tokens = [
            ADDED[i - self.base_vocab] if i >= self.base_vocab else str(self.tokenizer.convert_ids_to_tokens(i))
            for i in ids
        ]
        read_at = 0 if self.kind == "bert" else int(enc.read_at[0])
        return Seen(tokens, ids, enc.token_type_ids[0].tolist(), read_at, self.kind)

    # ------------------------------------------------------------ forward

    @contextmanager
    def _added_tokens(self, input_ids: torch.Tensor):
        """Ids past the body's table are GPT-1's added tokens: the body looks up a harmless id 0 for them and a
        hook on its embedding layer puts the classifier's own vectors in their place."""
        extra = input_ids >= self.base_vocab  # (B, T)
        if self.added is None or not bool(extra.any()):
            yield input_ids
            return
        added = self.added
        rows = added[(input_ids - self.base_vocab).clamp(min=0)]  # (B, T, C)

        def swap(_module, _inputs, out: torch.Tensor) -> torch.Tensor:
            return torch.where(extra[..., None], rows.to(out.dtype), out)

        handle = input_embeddings(self.body).register_forward_hook(swap)
        try:
            yield input_ids.masked_fill(extra, 0)
        finally:
            handle.remove()

    def features(self, enc: Encoded) -> torch.Tensor:
        """(B, C) the final hidden state at [CLS] (BERT; through its pooler where it has one) or <extract> (GPT)."""
        with self._added_tokens(enc.input_ids) as ids:
            h = body_states(self.body, Encoded(ids, enc.attention_mask, enc.token_type_ids), self.kind)  # (B, T, C)
        pooler = self.pooler
        if pooler is not None:
            return pooler(h)
        at = torch.zeros_like(enc.read_at) if self.kind == "bert" else enc.read_at
        return h[torch.arange(h.size(0), device=h.device), at]

    def forward(self, enc: Encoded) -> torch.Tensor:
        return self.head(self.features(enc).float())  # (B, L) label scores

    def freeze_body(self) -> None:
        """A linear probe: the body neither learns nor drops out, and GPT-1's added tokens keep their random
        vectors; only the head learns, so an input's features never change (the trainer computes them once)."""
        self.body.requires_grad_(False)
        self.body.eval()
        if self.added is not None:
            self.added.requires_grad_(False)

    @property
    def pooler(self) -> nn.Module | None:
        """BERT's pooler, part of the body (it learns or freezes with it), where a BERT-style body has one."""
        return bert_pooler(self.body) if self.kind == "bert" else None

    @property
    def frozen(self) -> bool:
        return not any(p.requires_grad for name, p in self.named_parameters() if not name.startswith("head."))

    def train(self, mode: bool = True) -> Classifier:
        super().train(mode)
        if not next(self.body.parameters()).requires_grad:
            self.body.eval()  # a frozen body stays in eval mode
        return self

    @torch.no_grad()
    def predict(self, text: str, text_b: str | None = None) -> dict[str, float]:
        """Label -> probability for one input."""
        was = self.training
        self.eval()
        try:
            device = self.head.weight.device
            probs = torch.softmax(self(self.encode([text], [text_b] if text_b else None).to(device))[0], -1)
        finally:
            self.train(was)
        return dict(zip(self.labels, probs.tolist()))


def _truncate_longest_first(a: list[int], b: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Cut tokens from the end of the longer side until both fit `budget` (as the tokenizer's longest_first)."""
    while len(a) + len(b) > budget:
        if len(a) >= len(b):
            a.pop()
        else:
            b.pop()
    return a, b
