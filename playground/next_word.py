"""Causal LM next-token prediction: the distribution over the next token after a prompt."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .tokenization import token_label


@dataclass
class TokenProb:
    token: str  # readable text of the token
    id: int
    prob: float
    logprob: float


@dataclass
class NextWordResult:
    prompt_tokens: list[tuple[str, int]]  # (readable token, id) for the prompt the model saw
    top: list[TokenProb]  # most likely next tokens, best first
    truncated: int  # tokens dropped from the front to fit the model's context


def encode_prompt(tokenizer, prompt: str) -> tuple[list[int], int]:
    """Token ids of the prompt, cut from the front to fit the context; and how many were cut."""
    if not prompt or not prompt.strip():
        raise ValueError("Type a prompt first: the model predicts the word that comes after it.")
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    if not ids:
        raise ValueError("The prompt has no tokens this model knows; try ordinary words.")
    limit = tokenizer.model_max_length
    return ids[-limit:], max(0, len(ids) - limit)


@torch.no_grad()
def next_token_logits(model, ids: list[int]) -> torch.Tensor:
    """(V,) float32 scores for the token after `ids`."""
    input_ids = torch.tensor([ids], device=_device(model))
    return model(input_ids=input_ids).logits[0, -1].float()


def next_token_distribution(model, tokenizer, prompt: str, top_k: int = 10) -> NextWordResult:
    ids, cut = encode_prompt(tokenizer, prompt)
    logprobs = torch.log_softmax(next_token_logits(model, ids), dim=-1)
    values, indices = torch.topk(logprobs, min(max(1, int(top_k)), logprobs.numel()))
    top = [
        TokenProb(token_label(tokenizer, int(i)), int(i), float(v.exp()), float(v))
        for v, i in zip(values, indices)
    ]
    prompt_tokens = [(token_label(tokenizer, i), i) for i in ids]
    return NextWordResult(prompt_tokens, top, cut)


def _device(model) -> torch.device:
    return next(model.parameters()).device
