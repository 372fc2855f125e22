"""A timeline probe read off one snapshot, through the tabs' own code (Next Word, Fill Mask, Next Sentence), so
the scrubber shows what those tabs would show for this model at this step.

It lives above the task modules and is handed to `Timeline.read` as a callable: the trainer (`tiny/`) sits
below the tabs and never imports them."""

from __future__ import annotations

from transformers import PreTrainedTokenizerFast

from . import fill_mask, next_sentence, next_word
from .tiny.model import TinyTransformer
from .tiny.timeline import TOP_K, Probe, Reading


def evaluate(model: TinyTransformer, tokenizer: PreTrainedTokenizerFast, probe: Probe, step: int) -> Reading:
    """What `probe` reads at `step`: the top guesses, the probability of its word (or of IsNext) and its rank."""
    if probe.kind == "next":
        return _next(model, tokenizer, probe, step)
    if probe.kind == "mask":
        filled = fill_mask.fill_mask(model, tokenizer, probe.text, TOP_K)
        score = fill_mask.score_candidates(model, tokenizer, probe.text, [probe.word]).scores[0]
        return Reading(step, [(t.token, t.prob) for t in filled.masks[0].candidates], score.prob, score.rank)
    nsp = next_sentence.next_sentence(model, tokenizer, probe.text, probe.text_b)
    return Reading(step, [("IsNext", nsp.is_next), ("NotNext", nsp.not_next)], nsp.is_next)


def _next(model: TinyTransformer, tokenizer: PreTrainedTokenizerFast, probe: Probe, step: int) -> Reading:
    word = next_word.score_word(model, tokenizer, probe.text, probe.word)
    # the rank and the guesses at one place, from one forward pass: the word's first token that is not a bare
    # space (with characters " speak" starts with " ", so both are for "s", after the prompt and that space)
    first = next((i for i, t in enumerate(word.tokens) if str(tokenizer.decode([t.id])).strip()), 0)
    spaces = str(tokenizer.decode([t.id for t in word.tokens[:first]]))
    dist = next_word.next_token_distribution(model, tokenizer, probe.text + spaces, top_k=TOP_K)
    probs = dist.stages[0].probs  # (V,) the raw distribution the top guesses come from
    rank = int((probs > probs[word.tokens[first].id]).sum()) + 1
    return Reading(step, [(t.token, t.prob) for t in dist.top], word.prob, rank)
