"""The (model, tokenizer) pair every core function takes, as types, and what core code reads from any model.

Core functions work alike for a Hugging Face checkpoint and for our TinyTransformer: both are torch modules
that take `input_ids` (and, for BERT, `token_type_ids`, `attention_mask`) and return an output with scores,
and both come with a fast Hugging Face tokenizer. `LanguageModel` names that contract, so no task module
branches on "is this the tiny one".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import torch
from transformers import PreTrainedTokenizerBase

# tokenizers without a known limit say model_max_length = 1e30; anything this large means "no limit"
NO_LIMIT = 1_000_000
# the config fields that size a model's position table: TinyConfig, GPT-2, BERT / Llama and most others
POSITION_FIELDS = ("context_length", "n_positions", "max_position_embeddings")


@runtime_checkable
class LanguageModel(Protocol):
    """A causal or masked LM (or BERT with its pre-training heads), Hugging Face's or ours."""

    config: Any  # a PretrainedConfig or our TinyConfig: read through POSITION_FIELDS, vocab_size, ...

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """A ModelOutput: `.logits` (B, T, V) for a causal or masked LM; `.prediction_logits` and
        `.seq_relationship_logits` (B, 2) for BERT with its pre-training heads (see mlm_logits)."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[torch.nn.Parameter]: ...


def context_limit(model: LanguageModel | None, tokenizer: PreTrainedTokenizerBase) -> int:
    """The longest input the model takes, in tokens: the smallest of its position table's size (whichever of
    POSITION_FIELDS its config has) and the tokenizer's `model_max_length` when that is a real limit.
    NO_LIMIT when neither says (e.g. a tokenizer alone that sets none). `model` None: the tokenizer's alone."""
    config = getattr(model, "config", None)
    limits = [getattr(config, name, None) for name in POSITION_FIELDS] + [tokenizer.model_max_length]
    known = [n for n in limits if isinstance(n, int) and 0 < n < NO_LIMIT]
    return min(known, default=NO_LIMIT)


def mlm_logits(output) -> torch.Tensor:
    """(B, T, V) masked-LM scores: .logits of a masked LM, .prediction_logits of a BERT loaded with its
    pre-training heads (the registry loads such a checkpoint once for Fill Mask and Next Sentence)."""
    logits = getattr(output, "prediction_logits", None)
    return output.logits if logits is None else logits
