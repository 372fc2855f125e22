"""BERT's masking recipe made visible: which tokens get picked, what happens to them, and what it costs the model.

Each token (never [CLS], [SEP] or another special token) is picked with probability p, so a sentence gets
*about* p of its tokens picked, not exactly. Of the picked tokens 80% become [MASK], 10% a random token and
10% stay as they were; the model must predict the original at every picked position, and its loss is the
cross entropy over those positions only (labels are -100 everywhere else). The recipe itself is transformers'
`DataCollatorForLanguageModeling`, the one our trainer uses.

Whole-word masking picks words instead of tokens: all sub-tokens of a word are picked together, each then
meeting its own 80/10/10 fate, as in Google's original whole-word BERT. (transformers' own `whole_word_mask`
option would turn every picked token into [MASK], dropping the random and unchanged cases.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from transformers import PreTrainedTokenizerBase

from .devices import device_of
from .errors import UserError
from .protocols import LanguageModel, context_limit, mlm_logits
from .tiny.data import masker
from .tokenization import model_inputs, token_label

FATES = ("not picked", "[MASK]", "random", "unchanged")
NOT_PICKED, MASKED, RANDOM, UNCHANGED = range(4)
MAX_ROLLS = 5000


@dataclass(frozen=True)
class Recipe:
    p: float = 0.15  # chance that each token (or word) is picked
    mask: float = 0.8  # share of picked tokens replaced by [MASK]
    random: float = 0.1  # share replaced by a random token; the rest (10%) stay unchanged
    whole_word: bool = False  # pick whole words: a word's sub-tokens share one pick

    def __post_init__(self):
        for name in ("p", "mask", "random"):
            if not 0 <= getattr(self, name) <= 1:
                raise UserError(f"The {name} rate must be between 0% and 100%.")
        if self.mask + self.random > 1 + 1e-9:
            raise UserError(
                f"[MASK] ({self.mask:.0%}) and random ({self.random:.0%}) add up to more than 100% of the picked tokens; "
                "lower one of them (what is left stays unchanged)."
            )

    @property
    def unchanged(self) -> float:
        return max(0.0, 1 - self.mask - self.random)

    def chosen(self) -> dict[str, float]:
        """Expected share of the pickable tokens for each fate."""
        return {
            "not picked": 1 - self.p,
            "[MASK]": self.p * self.mask,
            "random": self.p * self.random,
            "unchanged": self.p * self.unchanged,
        }


@dataclass
class Sentence:
    """A sentence as the masker sees it."""

    enc: dict  # model inputs, batch of 1
    ids: torch.Tensor  # (T,)
    special: torch.Tensor  # (T,) bool: never picked
    word_ids: torch.Tensor  # (T,) word index of each token, -1 for special tokens
    truncated: int


@dataclass
class MaskedToken:
    position: int
    token: str  # the original token, readable
    id: int
    input_id: int  # what the model sees after masking
    input_token: str
    label: int  # the id to predict, -100 where not picked
    fate: str  # one of FATES, or "special" for [CLS]/[SEP]
    guess: str = ""  # the model's top prediction here (picked positions only)
    guess_prob: float | None = None
    true_prob: float | None = None  # the model's probability for the original token
    loss: float | None = None  # -log true_prob: this position's share of the MLM loss


@dataclass
class Simulation:
    tokens: list[MaskedToken]
    loss: float | None  # mean cross entropy over the picked positions; None when none was picked
    n_picked: int
    n_pickable: int
    seed: int
    recipe: Recipe
    truncated: int


@dataclass
class Rates:
    """Fates over many rolls of one sentence."""

    counts: np.ndarray  # (R, 4) tokens per fate (FATES order) in each roll
    n_pickable: int  # pickable tokens per roll
    recipe: Recipe

    @property
    def n_tokens(self) -> int:
        return int(self.counts.sum())

    def realised(self) -> dict[str, float]:
        """Share of all pickable tokens per fate, over every roll."""
        totals = self.counts.sum(axis=0) / max(1, self.n_tokens)
        return dict(zip(FATES, totals.tolist()))

    def among_picked(self) -> dict[str, float]:
        """Share of the picked tokens that became [MASK], random, unchanged."""
        picked = self.counts[:, 1:].sum(axis=0)
        return dict(zip(FATES[1:], (picked / max(1, picked.sum())).tolist()))

    def picked_per_roll(self) -> np.ndarray:
        return self.counts[:, 1:].sum(axis=1)  # (R,)

    def running(self) -> dict[str, np.ndarray]:
        """Each rate as estimated after 1, 2, ... R rolls, (R,) each: they settle on the chosen ones."""
        seen = np.cumsum(self.counts, axis=0)  # (R, 4)
        picked = seen[:, 1:].sum(axis=1)
        rates = {"picked (of all tokens)": picked / seen.sum(axis=1)}
        for f in (MASKED, RANDOM, UNCHANGED):
            rates[f"{FATES[f]} (of picked)"] = seen[:, f] / np.maximum(1, picked)
        return rates

    def targets(self) -> dict[str, float]:
        """The chosen rates, named as in running()."""
        r = self.recipe
        return {
            "picked (of all tokens)": r.p,
            "[MASK] (of picked)": r.mask,
            "random (of picked)": r.random,
            "unchanged (of picked)": r.unchanged,
        }

    def expected_picks(self) -> dict[int, float] | None:
        """Binomial(n, p): how many of the n tokens a roll picks, when each is picked on its own (not whole words)."""
        if self.recipe.whole_word:
            return None
        n, p = self.n_pickable, self.recipe.p
        pmf = {k: math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)}
        return {k: q for k, q in pmf.items() if q > 1e-4}  # the far tail would only stretch the chart


def prepare(tokenizer: PreTrainedTokenizerBase, text: str, max_length: int | None = None) -> Sentence:
    if tokenizer.mask_token is None:
        raise UserError("This model has no mask token, so it was not trained by masking.")
    if not (text or "").strip():
        raise UserError("Write a sentence to mask, e.g. 'To be, or not to be, that is the question.'")
    enc, cut = model_inputs(tokenizer, text, max_length=max_length)
    ids = enc["input_ids"][0]
    special = torch.isin(ids, torch.tensor(tokenizer.all_special_ids))
    if not (~special).any():
        raise UserError("The sentence has no ordinary tokens to pick; write some words.")
    # which word each token belongs to, from the fast tokenizer's pre-tokenization (None for specials)
    words = tokenizer(text, truncation=True, max_length=max_length).word_ids()
    word_ids = torch.tensor([-1 if w is None else w for w in words])
    word_ids[special] = -1
    return Sentence(enc, ids, special, word_ids, cut)


def roll(
    tokenizer: PreTrainedTokenizerBase, sentence: Sentence, recipe: Recipe, seed: int, rolls: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked inputs and labels, (rolls, T) each: the sentence masked `rolls` times by BERT's recipe."""
    ids = sentence.ids.expand(rolls, -1)  # (R, T)
    special = sentence.special.expand(rolls, -1)
    if not recipe.whole_word:
        collator = masker(tokenizer, seed, recipe.p, recipe.mask, recipe.random)
        return collator.torch_mask_tokens(ids.clone(), special_tokens_mask=special.clone())
    # pick words, then let the collator give every token of the picked words its own fate (p = 1 over those)
    gen = torch.Generator().manual_seed(seed)
    n_words = int(sentence.word_ids.max()) + 1
    words_picked = torch.rand((rolls, n_words), generator=gen) < recipe.p  # (R, W)
    picked = words_picked[:, sentence.word_ids.clamp(min=0)] & ~special  # (R, T)
    collator = masker(tokenizer, seed + 1, 1.0, recipe.mask, recipe.random)
    return collator.torch_mask_tokens(ids.clone(), special_tokens_mask=~picked)


def fates(original: torch.Tensor, inputs: torch.Tensor, labels: torch.Tensor, mask_id: int) -> torch.Tensor:
    """Fate index (FATES order) per token, by what the model sees.

    A random draw that happens to be the original token reads as unchanged, and one that draws [MASK]
    as [MASK]: for the model they are exactly that."""
    picked = labels != -100
    fate = torch.full_like(labels, NOT_PICKED)
    fate[picked & (inputs == mask_id)] = MASKED
    fate[picked & (inputs != mask_id) & (inputs != original)] = RANDOM
    fate[picked & (inputs == original)] = UNCHANGED
    return fate


@torch.no_grad()
def simulate(
    model: LanguageModel, tokenizer: PreTrainedTokenizerBase, text: str, recipe: Recipe = Recipe(), seed: int = 0
) -> Simulation:
    """Mask the sentence once with BERT's recipe and score the model on it, as one training step would."""
    sentence = prepare(tokenizer, text, context_limit(model, tokenizer))
    inputs, labels = (t[0] for t in roll(tokenizer, sentence, recipe, int(seed)))
    fate = fates(sentence.ids, inputs, labels, tokenizer.mask_token_id)
    device = device_of(model)
    enc = {**sentence.enc, "input_ids": inputs[None]}
    logits = mlm_logits(model(**{k: v.to(device) for k, v in enc.items()}))[0].float().cpu()  # (T, V)
    picked = labels != -100
    # the training loss: cross entropy over the picked positions only
    loss = float(F.cross_entropy(logits[picked], labels[picked])) if picked.any() else None
    logprobs = torch.log_softmax(logits, dim=-1)  # (T, V)
    tokens = []
    for pos, (orig, seen, label, f) in enumerate(
        zip(sentence.ids.tolist(), inputs.tolist(), labels.tolist(), fate.tolist())
    ):
        t = MaskedToken(
            pos,
            token_label(tokenizer, orig),
            orig,
            seen,
            token_label(tokenizer, seen),
            label,
            "special" if sentence.special[pos] else FATES[f],
        )
        if label != -100:
            guess = int(logprobs[pos].argmax())
            t.guess, t.guess_prob = token_label(tokenizer, guess), float(logprobs[pos, guess].exp())
            t.true_prob, t.loss = float(logprobs[pos, label].exp()), float(-logprobs[pos, label])
        tokens.append(t)
    return Simulation(
        tokens, loss, int(picked.sum()), int((~sentence.special).sum()), int(seed), recipe, sentence.truncated
    )


def rates(
    tokenizer: PreTrainedTokenizerBase, text: str, recipe: Recipe = Recipe(), seed: int = 0, rolls: int = 1000
) -> Rates:
    """Mask the sentence `rolls` times and count each fate: the realised rates approach the chosen ones."""
    if not 1 <= int(rolls) <= MAX_ROLLS:
        raise UserError(f"Choose between 1 and {MAX_ROLLS:,} rolls.")
    sentence = prepare(tokenizer, text, context_limit(None, tokenizer))
    inputs, labels = roll(tokenizer, sentence, recipe, int(seed), int(rolls))
    fate = fates(sentence.ids, inputs, labels, tokenizer.mask_token_id)[:, ~sentence.special]  # (R, pickable)
    counts = torch.stack([(fate == f).sum(dim=1) for f in range(len(FATES))], dim=1).numpy()
    return Rates(counts, int((~sentence.special).sum()), recipe)
