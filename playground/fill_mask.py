"""Masked LM: what the model would put in each [MASK] of a sentence, and how likely your own words are."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import torch
from transformers import PreTrainedTokenizerBase

from .devices import device_of
from .errors import UserError
from .predictions import TokenProb
from .protocols import LanguageModel, context_limit, mlm_logits
from .tokenization import is_byte_level, model_inputs, token_label

MASK = "[MASK]"
MAX_MASKS = 20  # one chart and table row block per mask: more is unreadable


@dataclass
class MaskPrediction:
    position: int  # index of the mask among the sentence's tokens
    candidates: list[TokenProb]  # best first


@dataclass
class FillMaskResult:
    masks: list[MaskPrediction]
    filled: str  # the sentence with each mask replaced by its top candidate
    tokens: list[str]  # the tokens the model saw
    truncated: int = 0  # tokens cut from the end to fit the model's context


@dataclass
class CandidateScore:
    word: str  # as the user typed it
    token: str  # the token that was scored: the word's first when it is several
    id: int
    prob: float  # the model's probability for that token at the mask
    rank: int  # 1 = the model's top choice among its whole vocabulary
    n_tokens: int  # how many tokens the word is; above 1 only the first is scored (as the pipeline's targets)


@dataclass
class CandidateResult:
    scores: list[CandidateScore]  # in the order the words were given
    mask_number: int  # which mask (1-based) was scored
    n_masks: int
    truncated: int = 0


@dataclass
class MaskedLogits:
    """One forward pass over a sentence with masks."""

    ids: torch.Tensor  # (T,) the token ids the model saw
    positions: list[int]  # where the masks are, in order
    logprobs: torch.Tensor  # (T, V) log-probabilities at every position
    text: str  # the text with masks in the model's own spelling
    truncated: int


def to_model_mask(text: str, tokenizer: PreTrainedTokenizerBase) -> str:
    """Write '[MASK]' in the model's own spelling (RoBERTa-style models use '<mask>')."""
    return re.sub(r"\[mask\]", lambda _: tokenizer.mask_token, text, flags=re.IGNORECASE)


@torch.no_grad()
def masked_logits(model: LanguageModel, tokenizer: PreTrainedTokenizerBase, text: str) -> MaskedLogits:
    if tokenizer.mask_token is None:
        raise UserError("This model has no mask token, so it cannot fill in blanks.")
    if not (text or "").strip():
        raise UserError(f"Write a sentence with {MASK} where a word is missing, e.g. 'To be, or not to {MASK}'.")
    text = to_model_mask(text, tokenizer)
    if tokenizer.mask_token not in text:
        raise UserError(f"Put {MASK} where a word is missing, e.g. 'To be, or not to {MASK}'.")
    n_written = text.count(tokenizer.mask_token)
    if n_written > MAX_MASKS:
        raise UserError(f"The sentence has {n_written} masks; use at most {MAX_MASKS} at a time.")
    enc, cut = model_inputs(tokenizer, text, max_length=context_limit(model, tokenizer))
    ids = enc["input_ids"][0]
    positions = (ids == tokenizer.mask_token_id).nonzero().flatten().tolist()
    if not positions:
        raise UserError(f"The text is longer than the model's context and its {MASK} was cut off; shorten it.")
    device = device_of(model)
    logits = mlm_logits(model(**{k: v.to(device) for k, v in enc.items()}))[0]  # (T, V)
    return MaskedLogits(ids, positions, torch.log_softmax(logits.float(), dim=-1).cpu(), text, cut)


def fill_mask(model: LanguageModel, tokenizer: PreTrainedTokenizerBase, text: str, top_k: int = 5) -> FillMaskResult:
    out = masked_logits(model, tokenizer, text)
    k = min(max(1, int(top_k)), out.logprobs.size(-1))
    masks, filled = [], out.ids.clone()
    for pos in out.positions:
        values, indices = torch.topk(out.logprobs[pos], k)
        candidates = [
            TokenProb(token_label(tokenizer, int(i)), int(i), float(v.exp()), float(v)) for v, i in zip(values, indices)
        ]
        masks.append(MaskPrediction(pos, candidates))
        filled[pos] = indices[0]
    # the sentence without its frame ([CLS], [SEP], padding) but with [UNK] where the vocabulary cannot spell a
    # character (an emoji): dropping it silently would hide what the model read
    frame = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    return FillMaskResult(
        masks,
        cast(str, tokenizer.decode([i for i in filled.tolist() if i not in frame])),
        cast(list[str], tokenizer.convert_ids_to_tokens(out.ids.tolist())),
        out.truncated,
    )


def parse_words(words: str | list[str]) -> list[str]:
    """'lord, king ,queen' -> ['lord', 'king', 'queen']; a list passes through, blanks dropped."""
    items = words.split(",") if isinstance(words, str) else words
    return [w.strip() for w in items if w and w.strip()]


def score_candidates(
    model: LanguageModel, tokenizer: PreTrainedTokenizerBase, text: str, words: str | list[str], mask_number: int = 1
) -> CandidateResult:
    """The probability and rank of each word at one mask, like the fill-mask pipeline's `targets`."""
    words = parse_words(words)
    if not words:
        raise UserError("List the words to score, separated by commas, e.g. 'be, see, go'.")
    out = masked_logits(model, tokenizer, text)
    n = len(out.positions)
    if not 1 <= int(mask_number) <= n:
        raise UserError(f"The sentence has {n} mask{'s' * (n != 1)}; choose a mask number from 1 to {n}.")
    row = out.logprobs[out.positions[int(mask_number) - 1]]  # (V,)
    space = _space_before_mask(out.text, tokenizer, int(mask_number))
    scores = []
    for word in words:
        ids = tokenizer((" " if space else "") + word, add_special_tokens=False)["input_ids"]
        if not ids:
            raise UserError(f"{word!r} has no tokens in this model's vocabulary.")
        first = ids[0]
        rank = int((row > row[first]).sum()) + 1
        scores.append(
            CandidateScore(word, token_label(tokenizer, first), first, float(row[first].exp()), rank, len(ids))
        )
    return CandidateResult(scores, int(mask_number), n, out.truncated)


SUGGESTED_RANKS = (1, 2, 5, 20)  # among whole words: two likely ones, a plausible one, a long shot
SUGGEST_SCAN = 5_000  # the model's top tokens searched for them (a random model may rank words anywhere)


def suggest_words(
    model: LanguageModel, tokenizer: PreTrainedTokenizerBase, text: str, mask_number: int = 1
) -> list[str]:
    """Words worth scoring at a mask when the learner gave none: the whole words (letters only, not a "##" piece)
    the model itself ranks 1st, 2nd, 5th and 20th there among whole words. A fixed list goes stale with the
    sentence ("be, see, go, die" after "The capital of France is"): these fit any sentence, from likely to
    unlikely. Fewer come back when the model's top tokens hold fewer whole words."""
    out = masked_logits(model, tokenizer, text)
    n = len(out.positions)
    if not 1 <= int(mask_number) <= n:
        raise UserError(f"The sentence has {n} mask{'s' * (n != 1)}; choose a mask number from 1 to {n}.")
    row = out.logprobs[out.positions[int(mask_number) - 1]]  # (V,)
    order = torch.topk(row, min(SUGGEST_SCAN, row.numel())).indices.tolist()
    words: dict[str, str] = {}  # lower-cased -> as the model spells it first: " Paris" and "paris" are one word
    for token_id in order:
        word = token_label(tokenizer, token_id).strip()
        if word.isalpha() and word.lower() not in words:
            words[word.lower()] = word
            if len(words) == max(SUGGESTED_RANKS):
                break
    found = list(words.values())
    return [found[r - 1] for r in SUGGESTED_RANKS if r <= len(found)]


def _space_before_mask(text: str, tokenizer: PreTrainedTokenizerBase, mask_number: int) -> bool:
    """Byte-level BPE spells a word after a space differently ('Ġking' vs 'king'): score the spelling that fits."""
    if not is_byte_level(tokenizer):
        return False  # WordPiece splits on spaces first: a word is the same token wherever it stands
    # RoBERTa's <mask> takes in the space before it, so after a space it stands for ' word'
    start = [m.start() for m in re.finditer(re.escape(tokenizer.mask_token), text)][mask_number - 1]
    return start > 0 and text[start - 1].isspace()
