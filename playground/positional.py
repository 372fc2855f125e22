"""Positional encodings as numbers to plot: why a transformer knows word order.

Three kinds: the fixed sinusoidal table of "Attention Is All You Need", learned tables read
from checkpoints, and rotary encodings (RoPE), which turn queries and keys instead of adding
a vector. Shapes: P positions, D dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from .errors import UserError
from .protocols import LanguageModel
from .tiny.model import TinyTransformer, rotary_angles, rotate, sinusoidal_positions


def _check(n_positions: int, dim: int, base: float = 10000.0) -> tuple[int, int, float]:
    """The sizes as ints, or a sentence; comparisons come first so NaN and inf fail them."""
    if not (1 <= n_positions <= 8192) or not (2 <= dim <= 4096) or not 1 < base < 1e12:
        raise UserError("Use 1 to 8192 positions, 2 to 4096 dimensions and a base above 1.")
    return int(n_positions), int(dim), float(base)


def sinusoidal(n_positions: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """(P, D): PE[pos, 2i] = sin(pos / base^(2i/D)), PE[pos, 2i+1] = cos(pos / base^(2i/D))."""
    return sinusoidal_positions(*_check(n_positions, dim, base)).numpy()


def wavelengths(dim: int, base: float = 10000.0) -> np.ndarray:
    """(D/2,) positions one full turn of each sin/cos pair takes: 2π·base^(2i/D), from 2π up to ~2π·base."""
    return 2 * np.pi * base ** (np.arange(0, dim, 2) / dim)


# ------------------------------------------------------------------ learned tables


def learned_table(model: LanguageModel) -> np.ndarray | None:
    """(P, D) learned position vectors of a checkpoint, or None when it has none.

    Our tiny models expose position_table(); GPT-2 keeps its table in transformer.wpe, BERT-family
    models in embeddings.position_embeddings (RoBERTa's first two rows are padding offsets).
    """
    if isinstance(model, TinyTransformer):
        if model.config.positions != "learned":
            return None
        table = model.position_table()
        assert table is not None  # learned positions always have their table
        return table.detach().float().cpu().numpy()
    for path in ("transformer.wpe", "embeddings.position_embeddings", "bert.embeddings.position_embeddings"):
        module: object = model
        for part in path.split("."):
            module = getattr(module, part, None)
        if isinstance(module, torch.nn.Embedding):
            return module.weight.detach().float().cpu().numpy()
    return None


@dataclass
class PCAResult:
    coords: np.ndarray  # (P, k) each position projected on the top k principal directions
    explained: np.ndarray  # (k,) share of the table's variance each direction explains


def pca(table: np.ndarray, k: int = 3) -> PCAResult:
    centred = table - table.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(k, vt.shape[0])
    var = s**2
    return PCAResult(centred @ vt[:k].T, var[:k] / var.sum())


# ------------------------------------------------------------------ rotary (RoPE)


def rope_trajectory(n_positions: int, head_dim: int, pair: int, base: float = 10000.0) -> np.ndarray:
    """(P, 2): where the unit vector (1, 0) in dimension pair `pair` lands at each position.

    RoPE turns pair i by pos·θ_i with θ_i = base^(-2i/d): low pairs spin fast, high pairs slowly.
    """
    n_positions, head_dim, base = _check(n_positions, head_dim, base)
    if not 0 <= pair < head_dim // 2:
        raise UserError(f"Pick a pair between 0 and {head_dim // 2 - 1}.")
    cos, sin = rotary_angles(n_positions, head_dim, base)  # (P, d/2)
    return np.stack([cos[:, int(pair)].numpy(), sin[:, int(pair)].numpy()], axis=1)


def rope_scores(query: np.ndarray, key: np.ndarray, n_positions: int, base: float = 10000.0) -> np.ndarray:
    """(P, P) attention scores q_m · k_n after rotating q to position m and k to position n.

    The matrix is constant along each diagonal: the score depends only on the offset m - n.
    """
    n_positions, dim, base = _check(n_positions, query.shape[-1], base)
    cos, sin = rotary_angles(n_positions, dim, base)
    q = rotate(torch.as_tensor(query, dtype=torch.float32).expand(n_positions, dim), cos, sin)  # (P, d)
    k = rotate(torch.as_tensor(key, dtype=torch.float32).expand(n_positions, dim), cos, sin)
    return (q @ k.T).numpy()


def rope_similarity(n_positions: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """(P, P) cosine similarity of one vector rotated to position m and to position n.

    For the all-ones vector this is mean_i cos((m - n)·θ_i): the same curve as the sinusoidal
    table's similarity, which is why RoPE is often called its multiplicative cousin.
    """
    return rope_scores(np.ones(dim), np.ones(dim), n_positions, base) / dim


# ------------------------------------------------------------------ similarity


def cosine_similarity(table: np.ndarray) -> np.ndarray:
    """(P, P) cosine similarity between every pair of position vectors."""
    unit = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
    return unit @ unit.T


def similarity_by_offset(similarity: np.ndarray) -> np.ndarray:
    """(P,) mean similarity of positions `offset` apart, for offset 0 .. P-1."""
    return np.array([np.diagonal(similarity, offset).mean() for offset in range(similarity.shape[0])])


# ------------------------------------------------------------------ why order matters


@dataclass
class OrderDemo:
    tokens_a: list[str]
    tokens_b: list[str]
    same_bag: bool  # the two texts use the same tokens, only in another order
    bag_distance: float  # |sum of token embeddings of A - of B|: 0 for the same bag
    distance_without_positions: float  # between mean output vectors, positions switched off
    distance_with_positions: float  # the same with the model's positions on
    norm: float  # size of a mean output vector, to read the distances against


def without_positions(model: TinyTransformer) -> TinyTransformer:
    """The same weights with positions switched off (a bag-of-words transformer)."""
    twin = TinyTransformer(replace(model.config, positions="none")).to(model.device).eval()
    twin.load_state_dict(model.state_dict(), strict=False)  # a learned table, if any, is left out
    return twin


@torch.no_grad()
def order_demo(model: TinyTransformer, tokenizer: PreTrainedTokenizerBase, text_a: str, text_b: str) -> OrderDemo:
    """Run two orderings of the same words through a bidirectional model with and without positions."""
    if model.config.causal:
        raise UserError("Use a bidirectional (BERT-style) model: a causal mask already leaks word order.")
    if not (text_a or "").strip() or not (text_b or "").strip():
        raise UserError("Write two sentences, ideally the same words in another order.")
    enc_a = tokenizer(text_a, return_tensors="pt", truncation=True)
    enc_b = tokenizer(text_b, return_tensors="pt", truncation=True)
    ids_a, ids_b = enc_a.input_ids.to(model.device), enc_b.input_ids.to(model.device)
    bag = lambda ids: model.tok_emb(ids)[0].sum(0)  # noqa: E731 - (C,) order-free summary

    def mean_hidden(m, ids):
        return m.hidden_states(ids)[0].mean(0)  # (C,)

    twin = without_positions(model)
    with_a, with_b = mean_hidden(model, ids_a), mean_hidden(model, ids_b)
    return OrderDemo(
        cast(list[str], tokenizer.convert_ids_to_tokens(ids_a[0].tolist())),
        cast(list[str], tokenizer.convert_ids_to_tokens(ids_b[0].tolist())),
        sorted(ids_a[0].tolist()) == sorted(ids_b[0].tolist()),
        float((bag(ids_a) - bag(ids_b)).norm()),
        float((mean_hidden(twin, ids_a) - mean_hidden(twin, ids_b)).norm()),
        float((with_a - with_b).norm()),
        float(with_a.norm()),
    )
