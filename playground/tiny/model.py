"""Our own small transformer, GPT-style or BERT-style, in one file.

Read top to bottom: config -> attention -> MLP -> block -> heads -> model.
Shapes in comments: B batch, T sequence length, C width (n_embd), H heads, V vocab.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

POSITION_KINDS = ("learned", "sinusoidal", "rotary", "none")
HEAD_KINDS = ("lm", "mlm", "nsp")
NORM_KINDS = ("layernorm", "rmsnorm")
MLP_KINDS = ("gelu", "relu2")


@dataclass
class TinyConfig:
    vocab_size: int = 65  # tokens the embedding and output layers know
    context_length: int = 256  # longest sequence the position table covers
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads per block; n_embd must divide by it
    n_embd: int = 128  # width of the residual stream
    dropout: float = 0.0  # on attention weights, residual branches and embeddings
    causal: bool = True  # True: GPT (each token sees only its past); False: BERT (sees all)
    positions: str = "learned"  # added "learned" or "sinusoidal" table, "rotary" (RoPE), or "none"
    heads: tuple[str, ...] = ("lm",)  # any of "lm" (next token), "mlm" (masked token), "nsp"
    type_vocab_size: int = 0  # segment embeddings (2 for BERT's sentence A/B); 0 for none
    bias: bool = True  # biases in Linear and LayerNorm layers
    pad_token_id: int | None = None  # padding positions are never attended to
    # the speedrun's ingredients (defaults: GPT-2 as nanoGPT builds it); each one sentence of why in recipes.py
    norm: str = "layernorm"  # "rmsnorm": scale only, no mean and no bias (cheaper, as good)
    mlp: str = "gelu"  # "relu2": ReLU squared, sparse and sharper than GELU
    qk_norm: bool = False  # RMS-normalise each head's queries and keys: attention logits cannot blow up
    tied_head: bool = True  # False: the output layer is its own matrix, not the input embedding transposed
    logit_softcap: float = 0.0  # > 0: logits squashed to (-cap, cap) by cap·tanh(logits / cap)

    def __post_init__(self):
        self.heads = tuple(self.heads)
        if self.n_embd % self.n_head:
            raise ValueError(f"width {self.n_embd} must be divisible by heads {self.n_head}")
        if self.positions not in POSITION_KINDS:
            raise ValueError(f"positions must be one of {POSITION_KINDS}")
        if not self.heads or set(self.heads) - set(HEAD_KINDS):
            raise ValueError(f"heads must be a non-empty subset of {HEAD_KINDS}")
        if "lm" in self.heads and not self.causal:
            raise ValueError("a next-token ('lm') head needs causal=True")
        if {"mlm", "nsp"} & set(self.heads) and self.causal:
            raise ValueError("MLM and NSP heads need causal=False (bidirectional attention)")
        if self.norm not in NORM_KINDS or self.mlp not in MLP_KINDS:
            raise ValueError(f"norm must be one of {NORM_KINDS} and mlp one of {MLP_KINDS}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TinyConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class TinyOutput:
    """What forward returns; named like Hugging Face outputs so core code treats both alike."""

    logits: torch.Tensor | None = None  # (B, T, V) token scores from the lm or mlm head
    seq_relationship_logits: torch.Tensor | None = None  # (B, 2) NSP scores; index 0 = IsNext
    loss: torch.Tensor | None = None  # sum of the token loss and the NSP loss that were asked for
    token_loss: torch.Tensor | None = None
    nsp_loss: torch.Tensor | None = None
    # masked LM given targets: scores only where a target is set, (N, V) in row-major order
    # of those positions; .logits is then None (the head skips the ~85% of positions not picked)
    picked_logits: torch.Tensor | None = None
    past_key_values: KVCache | None = None  # keys and values of every token so far (use_cache=True)
    # output_attentions=True: per layer, (B, H, T, S) softmax weights (row i: how query i spreads over the keys)
    attentions: tuple[torch.Tensor, ...] | None = None
    # output_hidden_states=True: the residual stream entering each layer and leaving the last, as Hugging Face
    # gives it: n_layer + 1 tensors of (B, T, C), the last one after the final LayerNorm
    hidden_states: tuple[torch.Tensor, ...] | None = None


def sinusoidal_positions(n_positions: int, dim: int, base: float = 10000.0) -> torch.Tensor:
    """Vaswani et al.'s table: PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(same)."""
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]  # (P, 1)
    inv_freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (ceil(d/2),)
    angles = pos * inv_freq  # (P, ceil(d/2))
    table = torch.zeros(n_positions, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles[:, : dim // 2])
    return table.float()


def rotary_angles(n_positions: int, head_dim: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """RoPE's (cos, sin) tables, each (P, head_dim/2): pair i of a query or key turns by pos / base^(2i/d)."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.arange(n_positions, dtype=torch.float64)[:, None] * inv_freq  # (P, d/2)
    return angles.cos().float(), angles.sin().float()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Turn each (even, odd) pair of x (..., T, d) by its angle; then q·k depends only on the offset."""
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (..., T, d/2)
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class KVCache:
    """Keys and values of the tokens already seen, per layer, so the next token attends to them without
    recomputing them (as Hugging Face's DynamicCache: update(k, v, layer) and get_seq_length())."""

    def __init__(self, n_layer: int):
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layer  # each (B, H, T_past, C/H)

    def get_seq_length(self) -> int:
        return 0 if self.layers[0] is None else self.layers[0][0].size(2)

    def update(self, k: torch.Tensor, v: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Append the new tokens' (B, H, T, C/H) keys and values; return all of them, (B, H, T_past + T, C/H)."""
        past = self.layers[layer]
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        self.layers[layer] = (k, v)
        return k, v


def make_norm(cfg: TinyConfig, dim: int | None = None) -> nn.Module:
    dim = dim or cfg.n_embd
    if cfg.norm == "rmsnorm":
        return nn.RMSNorm(dim, eps=1e-6)
    return nn.LayerNorm(dim, bias=cfg.bias)


class SelfAttention(nn.Module):
    def __init__(self, cfg: TinyConfig):
        super().__init__()
        self.n_head = cfg.n_head
        # QK-norm: gains over each head's width, applied to q and k before the rotation
        self.q_norm = nn.RMSNorm(cfg.n_embd // cfg.n_head, eps=1e-6) if cfg.qk_norm else None
        self.k_norm = nn.RMSNorm(cfg.n_embd // cfg.n_head, eps=1e-6) if cfg.qk_norm else None
        self.causal = cfg.causal
        self.dropout = cfg.dropout
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(
        self,
        x: torch.Tensor,
        key_mask: torch.Tensor | None = None,
        rope=None,
        cache: KVCache | None = None,
        layer: int = 0,
        weights: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """`weights`: when a list, the attention is computed explicitly and its (B, H, T, S) softmax appended
        (same output as SDPA up to float rounding; SDPA's fused kernels never form that matrix)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, T, C) -> (B, H, T, C/H)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:  # (cos, sin), each (T, C/H/2) for these tokens' positions
            q, k = rotate(q, *rope), rotate(k, *rope)
        if cache is not None:
            k, v = cache.update(k, v, layer)  # (B, H, S, C/H), S = cached + T keys
        S = k.size(2)
        mask = None
        if key_mask is not None:  # (B, S) True = may be attended to
            mask = key_mask[:, None, None, :]  # (B, 1, 1, S)
        if self.causal and (mask is not None or (S > T > 1)):
            # query i is token S - T + i: it sees keys up to itself (SDPA's is_causal aligns top-left)
            future = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)
            mask = future if mask is None else mask & future
        if weights is not None:
            y = self._explicit(q, k, v, mask, weights)
        else:
            y = F.scaled_dot_product_attention(  # flash / memory-efficient kernels when they apply
                q,
                k,
                v,
                attn_mask=mask,
                dropout_p=self.dropout if self.training else 0.0,
                is_causal=self.causal and mask is None and S == T,  # one new token after a cache sees all keys
            )
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble heads side by side
        return self.resid_dropout(self.proj(y))

    def _explicit(self, q, k, v, mask: torch.Tensor | None, weights: list[torch.Tensor]) -> torch.Tensor:
        """softmax(q·kᵀ/√d + mask)·v written out, keeping the (B, H, T, S) weights."""
        T, S = q.size(2), k.size(2)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))  # (B, H, T, S)
        if mask is None and self.causal and S == T:
            mask = torch.ones(T, S, dtype=torch.bool, device=q.device).tril()
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        att = scores.float().softmax(-1).to(q.dtype)
        weights.append(att)
        if self.training and self.dropout:
            att = F.dropout(att, self.dropout)
        return att @ v


class MLP(nn.Module):
    def __init__(self, cfg: TinyConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)
        self.relu2 = cfg.mlp == "relu2"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x)
        h = F.relu(h).square() if self.relu2 else F.gelu(h)
        return self.dropout(self.proj(h))


class Block(nn.Module):
    """Pre-norm block (as GPT-2): x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, cfg: TinyConfig):
        super().__init__()
        self.ln_1 = make_norm(cfg)
        self.attn = SelfAttention(cfg)
        self.ln_2 = make_norm(cfg)
        self.mlp = MLP(cfg)

    def forward(
        self,
        x: torch.Tensor,
        key_mask: torch.Tensor | None = None,
        rope=None,
        cache: KVCache | None = None,
        layer: int = 0,
        weights: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), key_mask, rope, cache, layer, weights)
        return x + self.mlp(self.ln_2(x))


class MaskedLMHead(nn.Module):
    """BERT's MLM head: a dense + GELU + LayerNorm transform, then scores against the embedding table."""

    def __init__(self, cfg: TinyConfig):
        super().__init__()
        self.dense = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.ln = nn.LayerNorm(cfg.n_embd)
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def forward(self, h: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        return self.ln(F.gelu(self.dense(h))) @ embedding.T + self.bias  # (B, T, V)


class NSPHead(nn.Module):
    """BERT's pooler (dense + tanh on the first token) and a 2-way IsNext / NotNext classifier."""

    def __init__(self, cfg: TinyConfig):
        super().__init__()
        self.pool = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.classify = nn.Linear(cfg.n_embd, 2)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.classify(torch.tanh(self.pool(h[:, 0])))  # (B, 2)


class TinyTransformer(nn.Module):
    pos_table: torch.Tensor  # buffers, named for the type checker: (context_length, C) sinusoids
    rope_cos: torch.Tensor  # (context_length, C/H/2) rotary angles
    rope_sin: torch.Tensor

    def __init__(self, cfg: TinyConfig):
        super().__init__()
        self.config = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        if cfg.positions == "learned":
            self.pos_emb = nn.Embedding(cfg.context_length, cfg.n_embd)
        elif cfg.positions == "sinusoidal":
            self.register_buffer("pos_table", sinusoidal_positions(cfg.context_length, cfg.n_embd), persistent=False)
        elif cfg.positions == "rotary":
            cos, sin = rotary_angles(cfg.context_length, cfg.n_embd // cfg.n_head)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.type_emb = nn.Embedding(cfg.type_vocab_size, cfg.n_embd) if cfg.type_vocab_size else None
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = make_norm(cfg)
        # an untied output layer (the speedrun's); tied, the output reuses tok_emb (GPT-2's)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False) if not cfg.tied_head else None
        self.mlm_head = MaskedLMHead(cfg) if "mlm" in cfg.heads else None
        self.nsp_head = NSPHead(cfg) if "nsp" in cfg.heads else None
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        return self.tok_emb.weight.device

    def position_table(self) -> torch.Tensor | None:
        """(context_length, C) position vectors, or None when the model has none."""
        if self.config.positions == "learned":
            return self.pos_emb.weight
        if self.config.positions == "sinusoidal":
            return self.pos_table
        return None

    def unembed(self, h: torch.Tensor) -> torch.Tensor:
        """(..., C) final hidden states -> (..., V) next-token logits: the output layer (tied to the input
        embedding unless the config unties it), soft-capped when the config asks."""
        logits = self.lm_head(h) if self.lm_head is not None else h @ self.tok_emb.weight.T
        cap = self.config.logit_softcap
        return cap * torch.tanh(logits / cap) if cap else logits

    def hidden_states(
        self,
        input_ids: torch.Tensor,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T) 1 = real token, 0 = padding
        token_type_ids: torch.Tensor | None = None,  # (B, T) segment 0 (sentence A) or 1 (B)
        cache: KVCache | None = None,  # earlier tokens' keys and values; these T tokens come after them
        weights: list[torch.Tensor] | None = None,  # when a list: each layer's attention weights appended
        states: list[torch.Tensor] | None = None,  # when a list: the residual stream entering each layer appended
    ) -> torch.Tensor:
        """(B, T, C) the final layer's output, before any head."""
        cfg = self.config
        B, T = input_ids.shape
        start = cache.get_seq_length() if cache is not None else 0  # position of the first new token
        if start + T > cfg.context_length:
            raise ValueError(f"sequence of {start + T} tokens is longer than the context of {cfg.context_length}")
        x = self.tok_emb(input_ids)  # (B, T, C)
        table = self.position_table()
        if table is not None:
            x = x + table[start : start + T]
        if self.type_emb is not None:
            types = token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids)
            x = x + self.type_emb(types)
        x = self.drop(x)

        key_mask = None
        if attention_mask is not None and not bool(attention_mask.all()):
            key_mask = attention_mask.bool()
        elif cfg.pad_token_id is not None and not cfg.causal:
            pads = input_ids == cfg.pad_token_id
            key_mask = ~pads if bool(pads.any()) else None
        rope = (
            (self.rope_cos[start : start + T], self.rope_sin[start : start + T]) if cfg.positions == "rotary" else None
        )
        for i, block in enumerate(self.blocks):
            if states is not None:
                states.append(x)
            x = block(x, key_mask, rope, cache, i, weights)
        return self.ln_f(x)

    def forward(  # noqa: PLR0913 - transformers' keyword names, so core code calls ours as it calls theirs
        self,
        input_ids: torch.Tensor,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T) 1 = real token, 0 = padding
        token_type_ids: torch.Tensor | None = None,  # (B, T) segment 0 (sentence A) or 1 (B)
        targets: torch.Tensor | None = None,  # (B, T) token to predict at each position; -100 = none
        nsp_labels: torch.Tensor | None = None,  # (B,) 0 = B follows A, 1 = random B
        past_key_values: KVCache | None = None,  # the cache of earlier tokens; updated in place
        use_cache: bool = False,  # return the keys and values (a new cache when none was given)
        output_attentions: bool = False,  # also return each layer's attention weights (explicit, not SDPA)
        output_hidden_states: bool = False,  # also return the residual stream at every layer
        **_ignored,  # tolerate HF-style extras such as return_dict
    ) -> TinyOutput:
        cfg = self.config
        if use_cache and past_key_values is None:
            past_key_values = KVCache(cfg.n_layer)
        weights: list[torch.Tensor] | None = [] if output_attentions else None
        states: list[torch.Tensor] | None = [] if output_hidden_states else None
        h = self.hidden_states(input_ids, attention_mask, token_type_ids, past_key_values, weights, states)  # (B,T,C)

        out = TinyOutput(past_key_values=past_key_values)
        out.attentions = tuple(weights) if weights is not None else None
        out.hidden_states = (*states, h) if states is not None else None
        if self.nsp_head is not None:
            out.seq_relationship_logits = self.nsp_head(h)
        losses = []
        if self.mlm_head is not None and targets is not None:
            picked = targets != -100  # (B, T)
            out.picked_logits = self.mlm_head(h[picked], self.tok_emb.weight)  # (N, V)
            out.token_loss = F.cross_entropy(out.picked_logits.float(), targets[picked])
            losses.append(out.token_loss)
        elif self.mlm_head is not None:
            out.logits = self.mlm_head(h, self.tok_emb.weight)
        else:  # "lm": next-token scores
            out.logits = self.unembed(h)  # (B, T, V)
            if targets is not None:
                out.token_loss = F.cross_entropy(
                    out.logits.float().view(-1, cfg.vocab_size), targets.reshape(-1), ignore_index=-100
                )
                losses.append(out.token_loss)
        if nsp_labels is not None and out.seq_relationship_logits is not None:
            out.nsp_loss = F.cross_entropy(out.seq_relationship_logits.float(), nsp_labels)
            losses.append(out.nsp_loss)
        if losses:
            out.loss = torch.stack(losses).sum()
        return out

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,  # (B, T)
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample continuations one token at a time (causal models only); returns (B, T + new).

        Each step feeds only the new token, with the KV cache of the ones before; once the text is longer
        than the context, every position shifts, so each step re-reads the last context_length tokens."""
        if not self.config.causal:
            raise ValueError("generate needs a causal (GPT-style) model")
        idx, ctx = input_ids, self.config.context_length
        cache = KVCache(self.config.n_layer)
        for _ in range(max_new_tokens):
            if idx.size(1) <= ctx:
                logits = self(idx[:, cache.get_seq_length() :], past_key_values=cache).logits
            else:
                logits = self(idx[:, -ctx:]).logits
            logits = logits[:, -1, :].float() / max(temperature, 1e-6)  # (B, V)
            if top_k:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = F.softmax(logits, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, nxt], dim=1)
        return idx
