"""Inside a transformer: attention weights for any loaded model, views computed from them, the logit lens,
and the masks that make a model an encoder (BERT) or a decoder (GPT).

Attention comes from the same forward pass as the model's output: a Hugging Face model runs through an eager
twin sharing its weights (`output_attentions=True`; the model itself keeps SDPA), ours through its explicit
softmax(q·kᵀ/√d)·v path. Everything returned is plain numpy in dataclasses.

Shapes: L layers, H heads, T tokens. `Attention.weights` is (L, H, T, T); row i is how query token i spreads
its attention over the keys (it sums to 1); for a causal model everything right of the diagonal is 0.
"""

from __future__ import annotations

import copy
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .devices import device_of
from .errors import UserError
from .protocols import LanguageModel, context_limit
from .tiny.model import TinyTransformer
from .tokenization import model_inputs, shown_label, token_labels

MAX_TOKENS = 64  # the views cap the input here: a 50-token sentence is shown whole, a 64 × 64 map still reads
LENS_TOP_K = 5

# ---------------------------------------------------------------- extracting the weights


@dataclass
class Attention:
    tokens: list[str]  # T readable labels (a space or newline token as ␣ / ⏎)
    ids: list[int]  # T token ids
    weights: np.ndarray  # (L, H, T, T) float32, rows sum to 1
    causal: bool  # a decoder: token i sees only tokens 0..i
    truncated: int  # tokens of the input left out of the view (it keeps the first MAX_TOKENS)
    special: list[bool]  # T: [CLS], [SEP], <s>, ... (where "attention sinks" form)
    segments: list[int]  # T: 0 for sentence A, 1 for sentence B (all 0 without a pair)

    @property
    def layers(self) -> int:
        return self.weights.shape[0]

    @property
    def heads(self) -> int:
        return self.weights.shape[1]


def is_causal(model: LanguageModel) -> bool:
    """A decoder (GPT-style) rather than an encoder (BERT-style)."""
    if isinstance(model, TinyTransformer):
        return model.config.causal
    can_generate = getattr(model, "can_generate", None)
    return bool(can_generate()) if callable(can_generate) else False


_twins: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its eager twin, while the model lives
_twins_lock = threading.Lock()


def explicit(model: LanguageModel) -> LanguageModel:
    """The model, computing attention explicitly so `output_attentions=True` returns the weights.

    A Hugging Face model picks its attention kernel from one config every request shares; switching that to
    "eager" for one call would switch it under a request running at the same moment (whose causal mask, left to
    SDPA, the eager kernel would not apply: tokens would see the future). So this returns a twin: the same
    parameter tensors (nothing copied) in a module tree of its own whose config says "eager". Made once per
    model, in milliseconds. Ours (explicit on request) and eager models come back as they are."""
    if not isinstance(model, PreTrainedModel) or model.config._attn_implementation == "eager":
        return model
    with _twins_lock:
        twin = _twins.get(model)
        if twin is None or not all(a is b for a, b in zip(twin.parameters(), model.parameters(), strict=True)):
            shared = {id(t): t for t in (*model.parameters(), *model.buffers())}  # deepcopy keeps these as they are
            twin = copy.deepcopy(model, shared)
            twin.set_attn_implementation("eager")
            _twins[model] = twin
    return twin


def _encode(
    tokenizer: PreTrainedTokenizerBase, text: str, text_b: str | None, limit: int
) -> tuple[dict[str, torch.Tensor], int]:
    """The input as the model takes it, cut to `limit` tokens; and how many tokens the cut left out."""
    if not (text or "").strip() or (text_b is not None and not text_b.strip()):
        raise UserError("Write a sentence (and, for a pair, both sentences) to look inside the model.")
    enc, cut = model_inputs(tokenizer, text, text_b, limit)  # each side cut in linear time, then the pair
    if enc["input_ids"].shape[1] == 0:
        raise UserError("The text has no tokens this model knows.")
    return enc, cut


def forward_inside(
    model: LanguageModel, tokenizer: PreTrainedTokenizerBase, enc: dict[str, torch.Tensor], hidden: bool = False
):
    """One forward pass returning the attention weights (and, with `hidden`, every layer's residual stream)."""
    device = device_of(model)
    inputs = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        out = explicit(model)(**inputs, output_attentions=True, output_hidden_states=hidden)
    if not out.attentions or out.attentions[0] is None:
        raise UserError("This model does not show its attention weights.")
    return out


def _labels(tokenizer: PreTrainedTokenizerBase, ids: list[int]) -> list[str]:
    """Tokens as the views show them: a space or newline token reads ␣ / ⏎, never a blank cell or label."""
    return [shown_label(t) for t in token_labels(tokenizer, ids)]


def extract(
    model: LanguageModel,
    tokenizer: PreTrainedTokenizerBase,
    text: str,
    text_b: str | None = None,
    max_tokens: int = MAX_TOKENS,
) -> Attention:
    """Every layer's and head's attention on `text` (or the pair text, text_b), from one forward pass."""
    limit = min(max_tokens, context_limit(model, tokenizer))
    enc, cut = _encode(tokenizer, text, text_b, limit)
    out = forward_inside(model, tokenizer, enc)
    weights = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()  # (L, H, T, T)
    ids = enc["input_ids"][0].tolist()
    specials = set(tokenizer.all_special_ids)
    types = enc.get("token_type_ids")
    segments = types[0].tolist() if types is not None else [0] * len(ids)
    return Attention(
        _labels(tokenizer, ids), ids, weights, is_causal(model), cut, [i in specials for i in ids], segments
    )


# ---------------------------------------------------------------- views


def matrix(att: Attention, layer: int, head: int | None) -> np.ndarray:
    """(T, T) one head's weights, or the mean over the layer's heads (head None)."""
    layer_weights = att.weights[layer]  # (H, T, T)
    return layer_weights.mean(0) if head is None else layer_weights[head]


@dataclass
class Look:
    index: int  # the key token
    token: str
    weight: float


def looks(att: Attention, layer: int, head: int | None, query: int, k: int = 10) -> list[Look]:
    """Where token `query` looks: the keys it attends to most, strongest first."""
    row = matrix(att, layer, head)[query]  # (T,)
    order = np.argsort(-row, kind="stable")[:k]
    return [Look(int(j), att.tokens[j], float(row[j])) for j in order if row[j] > 0]


@dataclass
class Link:
    query: int  # the token that looks
    key: int  # the token it looks at
    weight: float
    distance: int  # |query - key| in tokens

    @property
    def score(self) -> float:
        """Weight × distance: strong links between far-apart words rank first (Bob … loves)."""
        return self.weight * self.distance


def long_range(att: Attention, layer: int, head: int | None, k: int = 10, skip_special: bool = True) -> list[Link]:
    """The strongest links across a distance, ranked by weight × distance; special tokens left out by default
    (a [SEP] or the first token soaks up attention as a resting place, not as meaning)."""
    w = matrix(att, layer, head)
    n = len(att.tokens)
    q, key = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")  # (T, T) query and key index per cell
    score = w * np.abs(q - key)
    if skip_special:
        ordinary = ~np.array(att.special)
        score = score * ordinary[:, None] * ordinary[None, :]
    order = np.argsort(-score, axis=None, kind="stable")[:k]
    links = [
        Link(int(i), int(j), float(w[i, j]), abs(int(i) - int(j))) for i, j in zip(*np.unravel_index(order, w.shape))
    ]
    return [link for link in links if link.score > 0]


def sink_share(att: Attention) -> np.ndarray:
    """(L, H): the share of each head's attention that lands on special tokens or the first token, averaged over
    the queries: the "attention sink" where heads park attention they do not need."""
    sinks = np.array(att.special)
    sinks[0] = True
    return att.weights[..., sinks].sum(-1).mean(-1)


@dataclass
class HeadScore:
    layer: int
    head: int
    score: float  # mean attention on the pattern's target: 1.0 = the head does nothing else


PATTERNS = ("previous token", "same token", "a chosen word")


def pattern_scores(att: Attention, pattern: str, word: int | None = None) -> list[HeadScore]:
    """Heads ranked by how closely they follow `pattern`:
    - previous token: the weight each query puts on the token just before it;
    - same token: the weight on earlier copies of the query's own token (queries with such a copy only);
    - a chosen word: the weight on token `word`, from the queries that may see it (after it, for a decoder)."""
    w = att.weights  # (L, H, T, T)
    n = len(att.tokens)
    if pattern == "previous token":
        if n < 2:
            raise UserError("A previous-token head needs at least two tokens.")
        per_head = w[..., np.arange(1, n), np.arange(n - 1)].mean(-1)  # (L, H)
    elif pattern == "same token":
        ids = np.array(att.ids)
        earlier = (ids[:, None] == ids[None, :]) & np.tri(n, k=-1, dtype=bool)  # (T, T) key j < i holds i's token
        queries = earlier.any(1)
        if not queries.any():
            raise UserError("No token repeats in this text: write one that uses a word twice.")
        per_head = (w * earlier).sum(-1)[..., queries].mean(-1)
    elif pattern == "a chosen word":
        if word is None or not 0 <= word < n:
            raise UserError(f"Choose a word between 0 and {n - 1}.")
        seeing = np.arange(word, n) if att.causal else np.arange(n)
        per_head = w[..., seeing, word].mean(-1)
    else:
        raise ValueError(f"pattern must be one of {PATTERNS}")
    ranked = sorted(np.ndindex(per_head.shape), key=lambda lh: -per_head[lh])
    return [HeadScore(int(layer), int(head), float(per_head[layer, head])) for layer, head in ranked]


# ---------------------------------------------------------------- encoder vs decoder


@dataclass
class Masks:
    tokens: list[str]
    causal: np.ndarray  # (T, T) bool: a decoder's token i may look at j <= i
    bidirectional: np.ndarray  # (T, T) bool: an encoder's token sees every token


def masks(tokens: list[str]) -> Masks:
    n = len(tokens)
    return Masks(tokens, np.tri(n, dtype=bool), np.ones((n, n), dtype=bool))


# ---------------------------------------------------------------- logit lens


@dataclass
class LensLayer:
    layer: int  # 0 = the embeddings, i = after block i
    top: list[tuple[str, float]]  # the k likeliest next tokens read from here, with probabilities
    final_rank: int  # where the model's final choice ranks here (1 = top)
    final_prob: float


@dataclass
class LogitLens:
    tokens: list[str]  # the input the model saw
    position: int  # the position read (its next token is predicted)
    final_token: str  # the final layer's top choice
    layers: list[LensLayer]
    truncated: int


# the final norm of each family: our model, GPT-2 style, Llama / Mistral / Gemma / Qwen style, GPT-NeoX
_FINAL_NORMS = ("ln_f", "transformer.ln_f", "model.norm", "gpt_neox.final_layer_norm", "model.decoder.final_layer_norm")


def _final_norm(model: LanguageModel) -> torch.nn.Module:
    for path in _FINAL_NORMS:
        module: object = model
        for part in path.split("."):
            module = getattr(module, part, None)
        if isinstance(module, torch.nn.Module):
            return module
    raise UserError("The logit lens reads GPT-2-, Llama-style and this app's models; this one's final norm is unknown.")


def _unembed(model: LanguageModel, h: torch.Tensor) -> torch.Tensor:
    """(..., C) normed hidden states -> (..., V) logits through the model's own output layer."""
    if isinstance(model, TinyTransformer):
        return model.unembed(h)
    head = model.get_output_embeddings()  # type: ignore[attr-defined]
    logits = head(h)
    cap = getattr(model.config, "final_logit_softcapping", None)
    return torch.tanh(logits / cap) * cap if cap else logits


def logit_lens(
    model: LanguageModel,
    tokenizer: PreTrainedTokenizerBase,
    text: str,
    position: int = -1,
    k: int = LENS_TOP_K,
    max_tokens: int = MAX_TOKENS,
) -> LogitLens:
    """What a causal LM would predict after each layer: the final norm and output layer applied to the residual
    stream there. The last row is the model's real output distribution."""
    if not is_causal(model):
        raise UserError("The logit lens reads next-word predictions: choose a GPT-style (causal) model.")
    enc, cut = _encode(tokenizer, text, None, min(max_tokens, context_limit(model, tokenizer)))
    n = enc["input_ids"].shape[1]
    if not -n <= position < n:
        raise UserError(f"Choose a position between 0 and {n - 1}.")
    position %= n
    out = forward_inside(model, tokenizer, enc, hidden=True)
    states = out.hidden_states  # L + 1 of (1, T, C); the last already through the final norm
    norm = _final_norm(model)
    with torch.no_grad():
        rows = [norm(h[0, position]) for h in states[:-1]] + [states[-1][0, position]]
        probs = torch.softmax(_unembed(model, torch.stack(rows)).float(), -1).cpu()  # (L + 1, V)
    final = int(probs[-1].argmax())
    layers = []
    for i, p in enumerate(probs):
        top = torch.topk(p, k)
        labels = _labels(tokenizer, top.indices.tolist())
        rank = int((p > p[final]).sum()) + 1
        layers.append(LensLayer(i, list(zip(labels, top.values.tolist())), rank, float(p[final])))
    ids = enc["input_ids"][0].tolist()
    return LogitLens(_labels(tokenizer, ids), position, _labels(tokenizer, [final])[0], layers, cut)


@dataclass
class CrossSegment:
    cls_to_b: float  # the share of [CLS]'s attention that lands on sentence B's tokens
    b_to_a: float  # the share of B's tokens' attention that lands on sentence A (across the [SEP])
    a_to_b: float


def cross_segment(att: Attention, layer: int, head: int | None = None) -> CrossSegment:
    """How much a pair's halves look at each other (mean over heads unless `head`): what NSP has to learn from."""
    w = matrix(att, layer, head)
    seg, special = np.array(att.segments), np.array(att.special)
    a, b = (seg == 0) & ~special, (seg == 1) & ~special
    if not a.any() or not b.any():
        raise UserError("Give both sentences, A and B, to see how they attend to each other.")
    return CrossSegment(float(w[0, b].sum()), float(w[b][:, a].sum(1).mean()), float(w[a][:, b].sum(1).mean()))
