"""Masked LM: what the model would put in each [MASK] of a sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from .next_word import TokenProb
from .tokenization import token_label

MASK = "[MASK]"


@dataclass
class MaskPrediction:
    position: int  # index of the mask among the sentence's tokens
    candidates: list[TokenProb]  # best first


@dataclass
class FillMaskResult:
    masks: list[MaskPrediction]
    filled: str  # the sentence with each mask replaced by its top candidate
    tokens: list[str]  # the tokens the model saw


def to_model_mask(text: str, tokenizer) -> str:
    """Write '[MASK]' in the model's own spelling (RoBERTa-style models use '<mask>')."""
    return re.sub(r"\[mask\]", tokenizer.mask_token, text, flags=re.IGNORECASE)


@torch.no_grad()
def fill_mask(model, tokenizer, text: str, top_k: int = 5) -> FillMaskResult:
    if tokenizer.mask_token is None:
        raise ValueError("This model has no mask token, so it cannot fill in blanks.")
    text = to_model_mask(text or "", tokenizer)
    if tokenizer.mask_token not in text:
        raise ValueError(f"Put {MASK} where a word is missing, e.g. 'To be, or not to {MASK}'.")
    enc = tokenizer(text, return_tensors="pt", truncation=True)
    enc = {k: v.to(next(model.parameters()).device) for k, v in enc.items()}
    ids = enc["input_ids"][0]
    positions = (ids == tokenizer.mask_token_id).nonzero().flatten().tolist()
    if not positions:
        raise ValueError(f"The text is longer than the model's context and its {MASK} was cut off; shorten it.")
    logprobs = torch.log_softmax(model(**enc).logits[0].float(), dim=-1)  # (T, V)
    k = min(max(1, int(top_k)), logprobs.size(-1))
    masks, filled = [], ids.clone()
    for pos in positions:
        values, indices = torch.topk(logprobs[pos], k)
        masks.append(
            MaskPrediction(
                pos, [TokenProb(token_label(tokenizer, int(i)), int(i), float(v.exp()), float(v)) for v, i in zip(values, indices)]
            )
        )
        filled[pos] = indices[0]
    return FillMaskResult(
        masks, tokenizer.decode(filled.tolist(), skip_special_tokens=True), tokenizer.convert_ids_to_tokens(ids.tolist())
    )
