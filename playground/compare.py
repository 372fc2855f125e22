"""The same input through two or three models at once: each one's top-k, the rank and probability it gives
one word, and its loss on the sentence, in a form that compares models with different tokenizers.

Each model loads and runs in its own thread and its result comes out as soon as it is ready, so a slow
model (a first load, a Hub download) never holds back the others; a model that fails carries its own
one-sentence error while the others give results.

The losses:
- causal (Next Word): the mean next-token cross-entropy over the prompt, the training view of
  `next_word.next_token_distribution` (every token but the first is predicted from the ones before it).
- masked (Fill Mask): the pseudo-log-likelihood (Salazar et al., 2020, "Masked Language Model Scoring") of the
  sentence with the given word(s) in its blanks: each token is masked in turn and scored by the model;
  the loss is the mean of -ln p(true token) over the tokens.
A loss per token depends on how the tokenizer cuts the text, so each loss also comes per character: the total
in bits divided by the characters the scored tokens cover (bits per character), which compares any two models.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace

import torch

from . import fill_mask as fm
from . import next_word as nw
from . import registry
from .devices import device_of
from .errors import UserError
from .protocols import context_limit

log = logging.getLogger("playground")

MIN_MODELS, MAX_MODELS = 2, 3
MAX_K = 30
PLL_BATCH = 32  # masked copies of the sentence per forward pass of the pseudo-log-likelihood
LOSS_NAMES = {"causal": "next-token cross-entropy", "masked": "pseudo-log-likelihood"}


@dataclass
class Candidate:
    token: str  # readable text of the token
    id: int
    prob: float
    rank: int  # 1 = the model's top guess
    mask: int = 0  # which [MASK] (1-based) for fill-mask; 0 for next word


@dataclass
class WordRank:
    """How one model ranks the word you track."""

    word: str  # as typed
    scored: str  # the token(s) scored, as this model spells them
    prob: float  # next word: the whole word's probability (product of its pieces); fill-mask: its first token's
    rank: int  # rank of its first token among all next tokens / all tokens at the mask (1 = top guess)
    n_tokens: int  # how many tokens this model cuts the word into
    mask: int = 0  # which [MASK] (1-based) for fill-mask; 0 for next word


@dataclass
class SentenceLoss:
    kind: str  # "next-token cross-entropy" or "pseudo-log-likelihood"
    nats: float  # mean -ln p per scored token
    n_tokens: int  # tokens scored
    n_chars: int  # characters of the text those tokens cover
    text: str  # the text scored (fill-mask: the sentence with the words filled in)

    @property
    def perplexity(self) -> float:
        return math.exp(self.nats)

    @property
    def total_bits(self) -> float:
        return self.nats * self.n_tokens / math.log(2)

    @property
    def bits_per_char(self) -> float | None:
        return self.total_bits / self.n_chars if self.n_chars else None


@dataclass
class ModelResult:
    """One column of the comparison; `error` says in one sentence why a model has no results."""

    name: str
    top: list[Candidate] = field(default_factory=list)
    words: list[WordRank] = field(default_factory=list)  # the tracked word (one per [MASK] for fill-mask)
    word_note: str = ""  # why the word could not be scored by this model, or why there is no loss
    loss: SentenceLoss | None = None
    tokens: list[str] = field(default_factory=list)  # the input as this model's tokens
    vocab_size: int = 0
    truncated: int = 0  # tokens cut to fit the model's context
    load_s: float = 0.0
    run_s: float = 0.0
    error: str = ""


# ---------------------------------------------------------------- the whole comparison


Loader = Callable[[str, str], registry.LoadedModel]  # (name, task) -> the model: whose names it can resolve


def compare(
    task: str, text: str, models: list[str], k: int = 5, word: str = "", load: Loader = registry.load
) -> list[ModelResult]:
    """Every model's result, in the order the models were given."""
    results = dict(stream(task, text, models, k, word, load))
    return [results[i] for i in range(len(results))]


def stream(
    task: str, text: str, models: list[str], k: int = 5, word: str = "", load: Loader = registry.load
) -> Iterator[tuple[int, ModelResult]]:
    """(index of the model in `models`, its result) as each model finishes, fastest first.

    With no word given, every model tracks the first model's top guess (see `_track_first_guess`): a model may
    then come out twice, first without the word and again with it. Input that no model could use (no prompt,
    no [MASK], too many models) raises UserError at once."""
    names = check_models(models)
    check_input(task, text, word)
    k = min(max(1, int(k)), MAX_K)
    runs = _run_all(task, text, names, k, word, load)
    if fm.parse_words(word):
        yield from ((i, result) for i, result, _ in runs)
    else:
        yield from _track_first_guess(task, text, runs)


ModelRun = tuple[int, ModelResult, registry.LoadedModel | None]  # (index, result, the model when it loaded)


def _run_all(task: str, text: str, names: list[str], k: int, word: str, load: Loader) -> Iterator[ModelRun]:
    """Every model at once, each in its own thread; results as they finish."""
    pool = ThreadPoolExecutor(len(names), thread_name_prefix="compare")
    try:
        futures = {pool.submit(_run, task, name, text, k, word, load): i for i, name in enumerate(names)}
        for future in as_completed(futures):
            yield futures[future], *future.result()
    finally:  # a closed stream (the page left) does not wait for the models still running
        pool.shutdown(wait=False, cancel_futures=True)


def _track_first_guess(task: str, text: str, runs: Iterator[ModelRun]) -> Iterator[tuple[int, ModelResult]]:
    """No word given: the word every model tracks is the first model's top guess (one per [MASK]), so the rank
    column always says something about this input (a fixed default word fits one prompt only). A model done
    before the first one comes out at once, and again with the word once the first one has guessed it."""
    waiting: list[ModelRun] = []
    guess: list[str] | None = None  # unknown until the first model is done; [] when it could not guess
    for run in runs:
        if run[0] == 0:
            guess = first_guess(run[1])
            for i, result, loaded in [run, *waiting]:
                yield i, track(task, result, loaded, text, guess)
        elif guess is None:
            waiting.append(run)
            yield run[0], run[1]
        else:
            yield run[0], track(task, run[1], run[2], text, guess)


def first_guess(result: ModelResult) -> list[str]:
    """A model's top guess as word(s) to track: its best candidate that is more than spaces, per [MASK]."""
    words: dict[int, str] = {}
    for c in result.top:  # best first within each mask
        if c.mask not in words and c.token.strip():
            words[c.mask] = c.token.strip()
    return [words[m] for m in sorted(words)]


def track(
    task: str, result: ModelResult, loaded: registry.LoadedModel | None, text: str, words: list[str]
) -> ModelResult:
    """The result with `words` tracked (a model that failed, or no words: as it was); never raises."""
    if loaded is None or result.error or not words:
        return result
    causal = task == "causal"  # its loss and note (a one-token prompt) do not depend on the word; a masked one's do
    tracked = replace(
        result, words=[], word_note=result.word_note if causal else "", loss=result.loss if causal else None
    )
    try:
        if task == "causal":
            _track_next_word(tracked, loaded.model, loaded.tokenizer, text, words[0])
        else:
            _track_masks(tracked, loaded.model, loaded.tokenizer, text, words)
    except Exception as err:  # noqa: BLE001 - the column keeps its results without the word
        log.exception("tracking %s in %s failed", words, result.name)
        tracked.word_note = f"The word could not be scored by this model ({type(err).__name__})."
    return tracked


def check_models(models: list[str] | str | None) -> list[str]:
    """2-3 distinct names, in the order given."""
    if isinstance(models, str):
        models = [models]
    names = list(dict.fromkeys(m.strip() for m in models or [] if m and m.strip()))
    if not MIN_MODELS <= len(names) <= MAX_MODELS:
        raise UserError(f"Choose {MIN_MODELS} or {MAX_MODELS} models to compare (you chose {len(names)}).")
    return names


def check_input(task: str, text: str, word: str = "") -> None:
    if task == "causal":
        if not (text or "").strip():
            raise UserError("Type a prompt first: each model predicts the word that comes after it.")
    elif task == "masked":
        n = count_masks(text)
        if not n:
            raise UserError(f"Put {fm.MASK} where a word is missing, e.g. 'To be, or not to {fm.MASK}'.")
        if len(fm.parse_words(word)) > n:
            raise UserError(
                f"The sentence has {n} mask{'s' * (n != 1)} but {len(fm.parse_words(word))} words "
                "were given: give one word per mask, in order, separated by commas."
            )
    else:
        raise UserError("Models can be compared on next-word ('causal') or fill-mask ('masked') predictions.")


def count_masks(text: str) -> int:
    """[MASK]s in the text, however the model spells its own mask token (checked per model later)."""
    return len(re.findall(r"\[mask\]", text or "", flags=re.IGNORECASE))


def run_model(task: str, name: str, text: str, k: int, word: str, load: Loader = registry.load) -> ModelResult:
    """Load one model with `load` (the UI's resolves only the caller's own checkpoints) and run it; never raises."""
    return _run(task, name, text, k, word, load)[0]


def _run(
    task: str, name: str, text: str, k: int, word: str, load: Loader
) -> tuple[ModelResult, registry.LoadedModel | None]:
    """run_model's result and the model it loaded (None when it did not), for scoring a word later."""
    result, loaded = ModelResult(name), None
    start = time.perf_counter()
    try:
        loaded = load(name, task)
        result.load_s = time.perf_counter() - start  # ~0 once cached: models load once per process
        result.vocab_size = len(loaded.tokenizer)
        run = _next_word if task == "causal" else _fill_mask
        run(result, loaded.model, loaded.tokenizer, text, k, word)
    except UserError as err:  # a reason for the user: not cached, not this session's, no mask token, ...
        result.error = str(err)
    except (MemoryError, torch.OutOfMemoryError):
        result.error = "This model did not fit in memory; compare smaller models."
    except Exception as err:  # noqa: BLE001 - one failing model must not take the others down
        log.exception("comparing %s failed", name)
        result.error = f"Something went wrong with this model ({type(err).__name__})."
    elapsed = time.perf_counter() - start
    result.load_s, result.run_s = (result.load_s, elapsed - result.load_s) if result.vocab_size else (elapsed, 0.0)
    return result, loaded


# ---------------------------------------------------------------- next word


def _next_word(result: ModelResult, model, tokenizer, prompt: str, k: int, word: str) -> None:
    r = nw.next_token_distribution(model, tokenizer, prompt, k)  # top-k and the training view: one forward
    result.top = [Candidate(t.token, t.id, t.prob, i + 1) for i, t in enumerate(r.top)]
    result.tokens = [token for token, _ in r.prompt_tokens]
    result.truncated = r.truncated
    view = r.training
    if view.mean_loss is None:
        result.word_note = "A one-token prompt holds nothing to score: the loss needs at least two tokens."
    else:
        chars = covered_chars(tokenizer, prompt, len(r.prompt_tokens), skip_first=True)
        result.loss = SentenceLoss(LOSS_NAMES["causal"], view.mean_loss, len(view.pairs), chars, prompt)
    if word.strip():
        _track_next_word(result, model, tokenizer, prompt, word)


def _track_next_word(result: ModelResult, model, tokenizer, prompt: str, word: str) -> None:
    try:
        s = nw.score_word(model, tokenizer, prompt, word)
    except UserError as err:
        result.word_note = str(err)
    else:
        scored = "".join(t.token for t in s.tokens)
        result.words = [WordRank(word.strip(), scored, s.prob, s.ranks[0], len(s.tokens))]


def covered_chars(tokenizer, text: str, n_tokens: int, skip_first: bool) -> int:
    """Characters of `text` covered by its last `n_tokens` tokens (no special tokens), from the end of the
    first of them when it is not scored (a causal LM never predicts its first token); spaces between count."""
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"][-n_tokens:]
    if not offsets:
        return 0
    return offsets[-1][1] - (offsets[0][1] if skip_first else offsets[0][0])


# ---------------------------------------------------------------- fill mask


def _fill_mask(result: ModelResult, model, tokenizer, text: str, k: int, word: str) -> None:
    r = fm.fill_mask(model, tokenizer, text, k)
    result.top = [
        Candidate(c.token, c.id, c.prob, rank + 1, n + 1)
        for n, mask in enumerate(r.masks)
        for rank, c in enumerate(mask.candidates)
    ]
    result.tokens = r.tokens
    result.truncated = r.truncated
    _track_masks(result, model, tokenizer, text, fm.parse_words(word))


def _track_masks(result: ModelResult, model, tokenizer, text: str, words: list[str]) -> None:
    """Word n in mask n: its rank and probability there; with a word in every mask, the sentence's loss."""
    for n, w in enumerate(words):
        try:
            s = fm.score_candidates(model, tokenizer, text, [w], n + 1).scores[0]
        except UserError as err:
            result.word_note = str(err)
            break
        result.words.append(WordRank(w, s.token, s.prob, s.rank, s.n_tokens, n + 1))
    n_masks = len({c.mask for c in result.top})
    if not words:
        result.word_note = "Give the word that belongs in the blank to get each model's loss on the whole sentence."
    elif len(words) < n_masks:
        result.word_note = "Give one word per [MASK] (separated by commas) to get the loss on the whole sentence."
    else:
        result.loss = pseudo_log_likelihood(model, tokenizer, fill_in(text, words))


def fill_in(text: str, words: list[str]) -> str:
    """The sentence with its [MASK]s replaced by the words, in order."""
    given = iter(words)
    return re.sub(r"\[mask\]", lambda _: next(given), text, flags=re.IGNORECASE)


@torch.inference_mode()
def pseudo_log_likelihood(model, tokenizer, text: str) -> SentenceLoss:
    """Mask each (non-special) token of `text` in turn and score the true token: mean -ln p over the tokens."""
    enc = tokenizer(
        text,
        truncation=True,
        max_length=context_limit(model, tokenizer),
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    ids = torch.tensor(enc["input_ids"])  # (T,)
    positions = [i for i, special in enumerate(enc["special_tokens_mask"]) if not special]
    if not positions:
        raise UserError("The sentence has no tokens this model knows.")
    where = torch.tensor(positions)  # (N,)
    copies = ids.repeat(len(positions), 1)  # (N, T): copy j has the token at where[j] masked
    copies[torch.arange(len(positions)), where] = tokenizer.mask_token_id
    device = device_of(model)
    parts = []  # ln p(true token | the rest), per masked position, one (n,) tensor per batch
    for chunk, at in zip(copies.split(PLL_BATCH), where.split(PLL_BATCH)):
        logits = fm.mlm_logits(model(input_ids=chunk.to(device)))[torch.arange(len(at)), at].float()  # (n, V)
        parts.append(torch.log_softmax(logits, -1).gather(1, ids[at, None].to(device))[:, 0].cpu())
    scores = torch.cat(parts)  # (N,)
    offsets = enc["offset_mapping"]
    chars = offsets[positions[-1]][1] - offsets[positions[0]][0]
    return SentenceLoss(LOSS_NAMES["masked"], float(-scores.mean()), len(positions), chars, text)


# ---------------------------------------------------------------- reading the results together


def same_tokens(results: list[ModelResult]) -> bool:
    """Whether the models that ran cut the input into the same tokens: only then do losses per token compare."""
    cuts = {tuple(r.tokens) for r in results if not r.error}
    return len(cuts) <= 1
