"""Causal LM next-token prediction: everything a learner wants to see, from ONE forward pass.

A causal LM scores every prefix of the prompt at once: the logits at position i are its guess for
token i+1. So one pass over the prompt gives the next-token distribution (the last position) and the
training view (every earlier position: the (prefix -> next token) pairs pre-training makes likely).
On top of the distribution: the sampling transforms (temperature, then top-k, then top-p), "score my
word", and step-by-step generation that reuses the model's KV cache.

Works alike for Hugging Face causal LMs and our TinyTransformer: both take `input_ids`,
`past_key_values`, `use_cache` and return `.logits` (B, T, V) and `.past_key_values`.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from transformers import PreTrainedTokenizerBase

from .devices import device_of
from .errors import UserError
from .predictions import TokenProb
from .protocols import LanguageModel, context_limit
from .tokenization import token_labels

SHOWN_PREFIX = 8  # training pairs show the last this-many tokens of each prefix


@dataclass
class Sampling:
    """How the next token is drawn; the transforms apply in this order, as in Hugging Face's generate."""

    temperature: float = 1.0  # divides the logits: < 1 sharpens, > 1 flattens; 0 = greedy (argmax)
    top_k: int = 0  # keep only the k most likely tokens; 0 (or >= vocab) keeps all
    top_p: float = 1.0  # keep the fewest most likely tokens whose probability adds up to >= p; 1 keeps all
    seed: int = 0  # the random draw is reproducible: same seed, same token (0 <= seed < 2**32)

    def __post_init__(self):
        if not math.isfinite(self.temperature) or self.temperature < 0:
            raise UserError("Temperature must be 0 (greedy) or more.")
        if self.top_k < 0:
            raise UserError("top-k must be 0 (off) or a positive number of tokens.")
        if not 0 <= self.top_p <= 1:
            raise UserError("top-p must be between 0 and 1 (1 keeps every token).")
        if not 0 <= self.seed < 2**32:
            raise UserError("The seed must be a whole number from 0 to 4,294,967,295.")


@dataclass
class Stage:
    """The next-token distribution after one sampling transform."""

    label: str  # e.g. "raw", "temperature 0.7", "top-k 40", "top-p 0.9"
    probs: torch.Tensor  # (V,) sums to 1; zero outside the support
    support: int  # how many tokens can still be drawn


@dataclass
class TrainingPair:
    """One training example hidden in the prompt: the model sees `context`, the truth is `target`."""

    context: str  # the end of the prefix (at most SHOWN_PREFIX tokens, "…" when cut)
    target: str
    target_id: int
    prob: float  # the model's probability of the true next token
    loss: float  # -log(prob): what pre-training pushes down
    rank: int  # 1 = the model's top guess was right


@dataclass
class TrainingView:
    pairs: list[TrainingPair]
    mean_loss: float | None  # the average loss over the pairs: the model's loss on this text
    perplexity: float | None  # exp(mean_loss): "as unsure as a uniform pick among this many tokens"


@dataclass
class NextWordResult:
    prompt_tokens: list[tuple[str, int]]  # (readable token, id) for the prompt the model saw
    top: list[TokenProb]  # most likely next tokens, best first
    truncated: int  # tokens dropped from the front to fit the model's context
    stages: list[Stage]  # raw, then each sampling transform that changes something
    sample: TokenProb  # one draw from the last stage with the seed (prob = its raw probability)
    training: TrainingView  # the (prefix -> next token) pairs inside the prompt


# ---------------------------------------------------------------- the prompt and the forward pass


def encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str, limit: int | None = None) -> tuple[list[int], int]:
    """Token ids of the prompt, cut from the front to fit `limit` tokens; and how many were cut."""
    if not prompt or not prompt.strip():
        raise UserError("Type a prompt first: the model predicts the word that comes after it.")
    ids = _encode(tokenizer, prompt)
    if not ids:
        raise UserError("The prompt has no tokens this model knows; try ordinary words.")
    ids = _bos(tokenizer) + ids
    limit = limit or tokenizer.model_max_length
    return ids[-limit:], max(0, len(ids) - limit)


def _bos(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """[bos] for a model trained with it in front of every text (Gemma: without it, it babbles), else []."""
    bos = tokenizer.bos_token_id
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if bos is None or backend is None:
        return []
    return [bos] if backend.encode("a", add_special_tokens=True).ids[0] == bos else []


def _encode(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """tokenizer(text, add_special_tokens=False).input_ids, straight from the Rust tokenizer when there is
    one (the Python wrapper costs more than the rest of a request on our tiny model)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return backend.encode(text, add_special_tokens=False).ids
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def split_words(tokenizer: PreTrainedTokenizerBase, text: str, min_pieces: int = 3) -> list[tuple[str, int]]:
    """(word, number of tokens) for each distinct word of `text` the tokenizer cuts into `min_pieces` or more
    ("pizza" -> "p", "iz", "z", "a"); empty without a fast (Rust) tokenizer, which alone knows the words."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return []
    enc = backend.encode(text, add_special_tokens=False)
    spans: dict[int, list[int]] = {}  # word index -> [start, end) in text
    count: dict[int, int] = {}
    for word, (start, end) in zip(enc.word_ids, enc.offsets):
        if word is not None:
            spans.setdefault(word, [start, end])[1] = end
            count[word] = count.get(word, 0) + 1
    words = {text[slice(*spans[w])].strip(): n for w, n in count.items() if n >= min_pieces}
    return [(w, n) for w, n in words.items() if w]


def token_texts(tokenizer: PreTrainedTokenizerBase, ids: list[int]) -> list[str]:
    """token_labels, remembered per tokenizer: a token reads the same wherever it occurs."""
    known = _TEXTS.setdefault(tokenizer, {})
    missing = [i for i in dict.fromkeys(ids) if i not in known]
    if missing:
        known.update(zip(missing, token_labels(tokenizer, missing)))
    return [known[i] for i in ids]


_TEXTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # tokenizer -> {id: readable label}


@torch.inference_mode()
def prompt_logits(model: LanguageModel, ids: list[int]) -> torch.Tensor:
    """(T, V) float32: row i scores the token after ids[: i + 1]."""
    input_ids = torch.tensor([ids], device=device_of(model))
    return model(input_ids=input_ids, use_cache=False).logits[0].float()


# ---------------------------------------------------------------- sampling transforms


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Logits / T; T = 0 leaves only the argmax (greedy)."""
    if temperature == 0:
        return torch.full_like(logits, -math.inf).scatter(-1, logits.argmax(-1, keepdim=True), 0.0)
    return logits / temperature


def apply_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep exactly the k highest logits (ties broken by topk's order); k = 0 or >= vocab keeps all."""
    if k <= 0 or k >= logits.size(-1):
        return logits
    top = torch.topk(logits, k)
    return torch.full_like(logits, -math.inf).scatter(-1, top.indices, top.values)


def _nucleus(logits: torch.Tensor, p: float, support: int) -> tuple[torch.Tensor, int]:
    """Nucleus (top-p) on (V,) logits of which `support` are finite (only those need sorting); and how many it kept."""
    best, order = torch.topk(logits, support)  # the finite logits, best first
    probs = torch.softmax(best, -1)
    kept = max(1, int((probs.cumsum(-1) - probs < p).sum()))  # tokens whose higher-ranked mass is still < p
    return torch.full_like(logits, -math.inf).scatter(-1, order[:kept], best[:kept]), kept


def sampling_stages(logits: torch.Tensor, sampling: Sampling) -> list[Stage]:
    """The (V,) distribution raw, then after each transform that changes it: temperature, top-k, top-p."""
    support = logits.numel()
    stages = [Stage("raw", torch.softmax(logits, -1), support)]
    if sampling.temperature != 1:
        logits = apply_temperature(logits, sampling.temperature)
        support = 1 if sampling.temperature == 0 else support
        label = "greedy (temperature 0)" if sampling.temperature == 0 else f"temperature {sampling.temperature:g}"
        stages.append(Stage(label, torch.softmax(logits, -1), support))
    if 0 < sampling.top_k < support:
        logits, support = apply_top_k(logits, sampling.top_k), sampling.top_k
        stages.append(Stage(f"top-k {sampling.top_k}", torch.softmax(logits, -1), support))
    if sampling.top_p < 1 and support > 1:
        logits, support = _nucleus(logits, sampling.top_p, support)
        stages.append(Stage(f"top-p {sampling.top_p:g}", torch.softmax(logits, -1), support))
    return stages


def draw(probs: torch.Tensor, seed: int) -> int:
    """One token id from a (V,) distribution, by inverse CDF (multinomial costs more to set up);
    the same seed gives the same token, and a token of probability 0 is never drawn."""
    cdf = probs.cumsum(-1)
    u = torch.rand(1, generator=torch.Generator(probs.device).manual_seed(seed), device=probs.device) * cdf[-1]
    return int(torch.searchsorted(cdf, u, right=True).clamp_(max=probs.numel() - 1))


# ---------------------------------------------------------------- the one-pass request


@torch.inference_mode()
def next_token_distribution(
    model: LanguageModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt: str,
    top_k: int = 10,
    sampling: Sampling | None = None,
) -> NextWordResult:
    """Top-k next tokens, the sampling stages and a seeded draw, and the training pairs: one forward pass."""
    ids, cut = encode_prompt(tokenizer, prompt, context_limit(model, tokenizer))
    logits = prompt_logits(model, ids)  # (T, V)
    logprobs = torch.log_softmax(logits, -1)  # (T, V)
    last = logprobs[-1]  # (V,) log-probabilities of the next token
    values, indices = torch.topk(last, min(max(1, int(top_k)), last.numel()))
    sampling = sampling or Sampling()
    stages = sampling_stages(logits[-1], sampling)
    drawn = draw(stages[-1].probs, sampling.seed)

    top_ids = indices.tolist()
    labels = token_texts(tokenizer, [*ids, *top_ids, drawn])
    prompt_labels, top_labels = labels[: len(ids)], labels[len(ids) : -1]
    top = [TokenProb(t, i, math.exp(v), v) for t, i, v in zip(top_labels, top_ids, values.tolist())]
    drawn_logprob = float(last[drawn])
    sample = TokenProb(labels[-1], drawn, math.exp(drawn_logprob), drawn_logprob)
    training = _training_view(logprobs[:-1], ids, prompt_labels)
    return NextWordResult(list(zip(prompt_labels, ids)), top, cut, stages, sample, training)


def _training_view(logprobs: torch.Tensor, ids: list[int], labels: list[str]) -> TrainingView:
    """logprobs (T-1, V) after every prefix but the whole prompt; the truth is ids[1:]."""
    if not len(ids) > 1:
        return TrainingView([], None, None)
    targets = torch.tensor(ids[1:], device=logprobs.device)[:, None]  # (T-1, 1)
    picked, ranks = _picked(logprobs, targets)
    pairs = []
    for i, (lp, rank) in enumerate(zip(picked, ranks)):
        start = max(0, i + 1 - SHOWN_PREFIX)
        context = ("…" if start else "") + "".join(labels[start : i + 1])
        pairs.append(TrainingPair(context, labels[i + 1], ids[i + 1], math.exp(lp), -lp, rank))
    mean = -sum(picked) / len(picked)
    return TrainingView(pairs, mean, math.exp(mean))


def _picked(scores: torch.Tensor, targets: torch.Tensor) -> tuple[list[float], list[int]]:
    """Per row of (N, V) scores, the target's score and its rank (1 = highest); targets (N, 1)."""
    chosen = scores.gather(1, targets)  # (N, 1)
    return chosen[:, 0].tolist(), [n + 1 for n in (scores > chosen).sum(1).tolist()]


def training_pairs(model: LanguageModel, tokenizer: PreTrainedTokenizerBase, text: str) -> TrainingView:
    """Only the training view of `text` (the API's training_pairs)."""
    return next_token_distribution(model, tokenizer, text, top_k=1).training


# ---------------------------------------------------------------- score my word


@dataclass
class WordScore:
    text: str  # what was scored, e.g. " fox" (GPT-2-style tokenizers put the space in front of a word)
    spaced: bool  # True when we added that space
    tokens: list[TokenProb]  # the word's tokens, each with its probability given the prompt and the pieces before
    ranks: list[int]  # each token's rank among all next tokens at its step (1 = the top guess)
    prob: float  # the product of the tokens' probabilities: the probability of the whole word
    logprob: float
    truncated: int  # prompt tokens dropped from the front to fit the context


@torch.inference_mode()
def score_word(model: LanguageModel, tokenizer: PreTrainedTokenizerBase, prompt: str, word: str) -> WordScore:
    """The probability and rank of any word as the continuation of the prompt: one forward pass over
    prompt + the word's tokens but the last (a multi-token word is the product of its conditionals)."""
    if not word or not word.strip():
        raise UserError("Type a word to score: how likely is it to come next?")
    if not prompt or not prompt.strip():
        raise UserError("Type a prompt first: the word is scored as what comes after it.")
    spaced = not prompt[-1].isspace() and word[0].isalnum()
    text = " " + word if spaced else word
    word_ids = _encode(tokenizer, text)
    if not word_ids:
        raise UserError(f"{word!r} has no tokens this model knows.")
    limit = context_limit(model, tokenizer)
    if len(word_ids) >= limit:
        raise UserError(f"{word!r} is {len(word_ids)} tokens long, more than this model's context of {limit} allows.")
    ids, cut = encode_prompt(tokenizer, prompt, limit - len(word_ids) + 1)
    logits = prompt_logits(model, ids + word_ids[:-1])[len(ids) - 1 :]  # (W, V): row j predicts word token j
    targets = torch.tensor(word_ids, device=logits.device)[:, None]  # (W, 1)
    logprobs, ranks = _picked(torch.log_softmax(logits, -1), targets)
    labels = token_texts(tokenizer, word_ids)
    tokens = [TokenProb(t, i, math.exp(lp), lp) for t, i, lp in zip(labels, word_ids, logprobs)]
    total = sum(logprobs)
    return WordScore(text, spaced, tokens, ranks, math.exp(total), total, cut)


# ---------------------------------------------------------------- step-by-step generation


@dataclass
class Step:
    """One generated token, as the step log shows it."""

    step: int  # 1, 2, ...
    token: str
    id: int
    prob: float  # the model's (raw) probability of this token
    rank: int  # its rank under the raw distribution (1 = the model's top choice)
    drawn_prob: float  # its probability under the distribution it was drawn from (1.0 for greedy)
    mode: str  # "greedy" or "sampled"


@dataclass
class Generation:
    """A growing text and the model's KV cache of it; kept per browser session (in gr.State)."""

    key: tuple  # what it was started for (model, prompt): anything else starts afresh
    ids: list[int]  # the prompt's tokens, then the generated ones
    prompt_len: int
    truncated: int  # prompt tokens dropped to fit the context
    past: object = None  # the model's KV cache of ids[:cached]
    cached: int = 0
    steps: list[Step] = field(default_factory=list)
    windowed: bool = False  # the text outgrew the context: each step re-reads the last context's worth
    fingerprint: str = ""  # the model's weights when the generation started (fingerprint.weights_fingerprint)


def start_generation(
    model: LanguageModel, tokenizer: PreTrainedTokenizerBase, prompt: str, key: tuple = ()
) -> Generation:
    ids, cut = encode_prompt(tokenizer, prompt, context_limit(model, tokenizer))
    return Generation(key, ids, len(ids), cut)


@torch.inference_mode()
def next_step(
    model: LanguageModel,
    tokenizer: PreTrainedTokenizerBase,
    gen: Generation,
    sampling: Sampling | None = None,
    greedy: bool = True,
) -> Step:
    """Append one token to `gen` (greedy, or drawn with `sampling`); only the new tokens go through the model."""
    logits = _advance(model, tokenizer, gen)  # (V,)
    sampling = sampling or Sampling()
    number = len(gen.steps) + 1
    if greedy or sampling.temperature == 0:
        token, drawn_prob, mode = int(logits.argmax()), 1.0, "greedy"
    else:
        final = sampling_stages(logits, sampling)[-1].probs
        token = draw(final, sampling.seed * 1_000_003 + number)  # per step: N single steps = generate N
        drawn_prob, mode = float(final[token]), "sampled"
    logprob = float(logits[token] - torch.logsumexp(logits, -1))
    rank = int((logits > logits[token]).sum()) + 1
    step = Step(number, token_texts(tokenizer, [token])[0], token, math.exp(logprob), rank, drawn_prob, mode)
    gen.ids.append(token)
    gen.steps.append(step)
    return step


def generate(
    model: LanguageModel,
    tokenizer: PreTrainedTokenizerBase,
    gen: Generation,
    n: int,
    sampling: Sampling | None = None,
    greedy: bool = True,
) -> Iterator[Step]:
    """`n` more tokens, one at a time, as they come."""
    for _ in range(n):
        yield next_step(model, tokenizer, gen, sampling, greedy)


def _advance(model: LanguageModel, tokenizer: PreTrainedTokenizerBase, gen: Generation) -> torch.Tensor:
    """(V,) logits for the token after gen.ids, feeding the model only what its cache has not seen."""
    limit = context_limit(model, tokenizer)
    device = device_of(model)
    if len(gen.ids) > limit:  # past the context every position shifts: re-read the last window, no cache
        gen.past, gen.cached, gen.windowed = None, 0, True
        return model(input_ids=torch.tensor([gen.ids[-limit:]], device=device), use_cache=False).logits[0, -1].float()
    new = torch.tensor([gen.ids[gen.cached :]], device=device)
    out = model(input_ids=new, past_key_values=gen.past, use_cache=True)
    gen.past, gen.cached = out.past_key_values, len(gen.ids)
    return out.logits[0, -1].float()
