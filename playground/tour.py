"""The guided tour: the six tabs as one lesson, in the textbook's order (text → tokens → positions → next word →
masked words → sentence pairs → pre-training, then fine-tuning and the inside view). Each step is one short
paragraph, one thing to try (its inputs filled in and its tab's own button pressed), and one question whose answer
waits until asked for.

An answer has two parts: the general lesson, true of any model, and what the model on screen did with the step's
inputs, computed from it when the answer is asked for (`observe`). Where that model gets the textbook example
wrong, the second part says so and says why, instead of stating the textbook's answer as if it were on screen."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from . import attention, positional, registry
from .fill_mask import fill_mask
from .next_sentence import next_sentence
from .next_word import Sampling, next_token_distribution
from .tiny import data
from .tiny.config import TrainConfig
from .tiny.train import build_tokenizer, uniform_loss

# task ("causal", "masked", "nsp") -> the model the page shows for it (the UI resolves a session's own models)
Load = Callable[[str], registry.LoadedModel]


@dataclass(frozen=True)
class Observation:
    text: str  # what the model on screen did with the step's inputs, numbers included
    holds: bool  # whether that agrees with the textbook's answer
    model: str = ""  # the model it was read from ("" for a fact of the tokenizers or the maths)


@dataclass(frozen=True)
class Step:
    title: str
    tab: str  # the tab it opens (its title in the page)
    text: str  # one short paragraph: what this step is about
    try_it: str  # what to do there
    question: str
    answer: str  # the general lesson, true of any model
    inputs: dict[str, object] = field(default_factory=dict)  # elem_id -> the value it opens with
    # elem_ids of the tab's buttons that Try it presses in turn once the inputs are set (none: nothing to run), and
    # of the accordions it opens first (a closed accordion's buttons are not in the page)
    run: tuple[str, ...] = ()
    opens: tuple[str, ...] = ()
    observe: Callable[[Step, Load], Observation] | None = None  # what the model on screen does here


def _pieces(tokenizer, text: str, word: str) -> list[str]:
    """The tokens `tokenizer` cuts `word` into where it stands in `text` (offsets, so spaces count as they do)."""
    at = text.index(word)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = [i for i, (a, b) in zip(enc.input_ids, enc.offset_mapping) if a < at + len(word) and b > at]
    return tokenizer.convert_ids_to_tokens(ids)


def _tokens(step: Step, _load: Load) -> Observation:
    text, word = str(step.inputs["tk-text"]), "unbelievably"
    bert = _pieces(registry.reference_tokenizer("bert-base-uncased"), text, word)
    gpt2 = _pieces(registry.reference_tokenizer("gpt2"), text, word)
    return Observation(
        f"BERT's tokenizer cut *{word}* into {len(bert)}: `{' '.join(bert)}`; GPT-2's into {len(gpt2)}: "
        f"`{' '.join(t.replace('Ġ', '␣') for t in gpt2)}` (`␣` is the space it keeps with the word).",
        len(bert) > 1 and len(gpt2) == 1,
    )


def _positions(step: Step, _load: Load) -> Observation:
    dim = int(step.inputs["pe-dim"])  # type: ignore[call-overload]
    waves = positional.wavelengths(dim)
    turn = 360 * 50 / waves[-1]  # degrees the slowest pair turns over 50 positions
    return Observation(
        f"At {dim} dimensions, pair 0 comes round every {waves[0]:.1f} positions and pair {dim // 2 - 1} every "
        f"{waves[-1]:,.0f}: over 50 positions the last pair turns {turn:.1f}°, the first about {50 / waves[0]:.0f} "
        "full turns.",
        bool(waves[0] < waves[-1]),
    )


def _who(loaded: registry.LoadedModel) -> str:
    learned = str(loaded.meta.get("trained_on") or registry.trained_on(loaded.name))
    short = re.match(r"([^(]+)\(([^:;)]+)", learned)  # "general-english (10.5 M characters: ...)" -> the size only
    if short:
        learned = f"{short[1].strip()} ({short[2].strip()})"
    return f"it learned from {learned}" if learned else "it has read little of the world"


TEMPERATURE = 2.0  # what step 3 sets


def _next_word(step: Step, load: Load) -> Observation:
    loaded = load("causal")
    r = next_token_distribution(
        loaded.model, loaded.tokenizer, str(step.inputs["nw-prompt"]), 10, Sampling(temperature=TEMPERATURE)
    )
    first = r.top[0]
    raw, hot = r.stages[0].probs, r.stages[-1].probs  # (V,) before and after the temperature
    shown = [t.id for t in r.top]
    tail, hot_tail = 1 - float(raw[shown].sum()), 1 - float(hot[shown].sum())  # outside the ten shown
    flatter = (
        f"At temperature {TEMPERATURE:g}, {first.token!r} drops from {first.prob:.0%} to {float(hot[first.id]):.0%}, "
        f"and the tokens outside the top ten go from {tail:.0%} of the probability to {hot_tail:.0%}: the bars "
        "flatten" + (" into the long tail." if hot_tail > tail else ".")
    )
    if first.token.strip() == "Paris":
        return Observation(
            f"**{loaded.name}** puts {first.token!r} first ({first.prob:.0%}). {flatter}", True, loaded.name
        )
    return Observation(
        f"**{loaded.name}** gets this one wrong: it puts {first.token!r} first ({first.prob:.0%}), because {_who(loaded)}. "
        f"A model that has read about France (GPT-2, SmolLM2) puts ' Paris' first: pick one in the Model box, or "
        f"set them side by side in **Compare**. {flatter}",
        False,
        loaded.name,
    )


MEDICINES = {"medicine", "medicines", "medication", "medications", "pill", "pills", "drug", "drugs", "tablet",
             "tablets", "antibiotics", "antibiotic", "vitamins", "vitamin", "prescription", "meds", "capsules"}  # fmt: skip


def _fill_mask(step: Step, load: Load) -> Observation:
    loaded = load("masked")
    r = fill_mask(loaded.model, loaded.tokenizer, str(step.inputs["fm-text"]), top_k=5)
    words = [c.token.strip().lower() for c in r.masks[0].candidates]
    listed = ", ".join(f"*{w}* ({c.prob:.0%})" for w, c in zip(words, r.masks[0].candidates))
    fits = [w for w in words if w in MEDICINES]
    if fits:
        return Observation(f"**{loaded.name}** proposes {listed}: {', '.join(fits)} fit the clues.", True, loaded.name)
    return Observation(
        f"**{loaded.name}** gets this one wrong: it proposes {listed}, no medicine among them, because {_who(loaded)}. "
        "BERT-base read 3.3 billion words and fills the blank with *medicine*: pick bert-base-uncased on a networked "
        "host, or compare models side by side in **Compare**.",
        False,
        loaded.name,
    )


PENGUINS = "Penguins cannot fly."  # step 5's unrelated sentence B


def _next_sentence(step: Step, load: Load) -> Observation:
    loaded = load("nsp")
    a, b = str(step.inputs["ns-a"]), str(step.inputs["ns-b"])
    real = next_sentence(loaded.model, loaded.tokenizer, a, b).is_next
    random = next_sentence(loaded.model, loaded.tokenizer, a, PENGUINS).is_next
    numbers = f"P(IsNext) is {real:.0%} for the real continuation and {random:.0%} for *{PENGUINS}*"
    if real >= 0.5 > random:
        return Observation(f"On **{loaded.name}**, {numbers}: it falls, as it should.", True, loaded.name)
    wrong = "calls the real continuation NotNext" if real < 0.5 else "calls the penguin sentence IsNext"
    if real < 0.5 and random >= 0.5:
        wrong = "has the two the wrong way round"
    return Observation(
        f"On **{loaded.name}**, {numbers}: it gets this pair wrong ({wrong}), because {_who(loaded)}. BERT-base, "
        "pre-trained on 3.3 billion words, tells such pairs apart: pick bert-base-uncased on a networked host.",
        False,
        loaded.name,
    )


def _first_loss(_step: Step, _load: Load) -> Observation:
    cfg = TrainConfig()  # the Train tab's defaults: a character model on tinyshakespeare
    vocab = len(build_tokenizer(cfg, data.split_train_val(data.load_corpus("tinyshakespeare"))[0]))
    return Observation(
        f"The tab's default, a character model on tinyshakespeare, has V = {vocab} tokens, so its first loss sits "
        f"near ln {vocab} = {uniform_loss(cfg.objective, vocab):.2f}.",
        True,
    )


def _heads(step: Step, load: Load) -> Observation:
    loaded = load("causal")
    att = attention.extract(loaded.model, loaded.tokenizer, str(step.inputs["nw-prompt"]))
    best = attention.pattern_scores(att, "previous token")[0]
    share = f"head {best.layer}.{best.head} puts {best.score:.0%} of each token's attention on the token just before it"
    if best.score >= 0.3:
        return Observation(f"In **{loaded.name}**, {share}.", True, loaded.name)
    return Observation(
        f"In **{loaded.name}** no head does it clearly: the best, {share}. Small or briefly trained models often "
        "have none; GPT-2 and SmolLM2 have several.",
        False,
        loaded.name,
    )


STEPS = [
    Step(
        "1. Text becomes tokens",
        "Tokenizer",
        "A model never sees letters or words: a tokenizer cuts the text into pieces from a fixed vocabulary and "
        "turns each into a number. Different models cut the same text differently.",
        "The sentence below is filled in: look at how each tokenizer cuts it.",
        "Into how many pieces does BERT cut *unbelievably*, and GPT-2?",
        "BERT's WordPiece (30,522 pieces, lower-cased; `##` marks a piece that continues a word) and GPT-2's "
        "byte-level BPE (50,257 pieces, the space kept with the word) cut it differently: a larger vocabulary keeps "
        "more words whole.",
        {"tk-text": "Tokenization is unbelievably simple."},
        observe=_tokens,
    ),
    Step(
        "2. Where each token stands",
        "Positional Encoding",
        "Attention compares every token with every other, and on its own it has no idea of order: *dog bites man* "
        "and *man bites dog* would look alike. A positional encoding adds where each token stands.",
        "The sinusoidal encoding is drawn for 64 dimensions: each row is a position, each column a dimension.",
        "Which dimensions change fastest as the position grows: the first ones or the last?",
        "The first. Pair i turns with a wavelength of 2π·10000^(2i/d) positions: the first pairs come round every "
        "few positions, the last ones barely move over a sentence. Together they give nearby positions similar "
        "patterns and far-apart ones different patterns.",
        {"pe-dim": 64, "pe-dims": "0, 1, 10, 40, 62"},  # waves that fit the width: a fast pair, a slow one
        run=("pe-go",),
        observe=_positions,
    ),
    Step(
        "3. Predict the next word",
        "Next Word",
        "A GPT-style model is pre-trained on one task only: given the text so far, give a probability to every "
        "possible next token. Billions of times over, on web text, that is pre-training.",
        "The prompt is filled in, the temperature set to 2, and **Predict next word** pressed: the main bars are the "
        "model's own distribution, the *raw vs transformed* chart below shows them at temperature 2.",
        "Which token comes first, and what does a temperature of 2 do to the bars?",
        "A model that has read about France puts ` Paris` first. A temperature of 2 halves every score before the "
        "softmax, so the bars flatten: unlikely tokens get drawn more often. Generating text, token after token, "
        "changes no weight: open **Step by step** and press **Check the weights**.",
        {"nw-prompt": "The capital of France is", "nw-temperature": TEMPERATURE},
        run=("nw-go",),
        observe=_next_word,
    ),
    Step(
        "4. Fill in the blank",
        "Fill Mask",
        "BERT-style models are pre-trained differently: 15% of the tokens are hidden and the model guesses them from "
        "both sides, left and right.",
        "The sentence with a `[MASK]` is filled in and **Fill the mask** pressed.",
        "Which words does the model propose, and which parts of the sentence gave them away?",
        "A model that has read enough proposes *medicine*, *pills* or *medication*. The clues sit on both sides of "
        "the blank: *doctor* and *patient* before it, *twice a day* after it. A GPT-style model reading left to "
        "right could use only the first half.",
        {"fm-text": "The doctor told the patient to take the [MASK] twice a day."},
        run=("fm-go",),
        observe=_fill_mask,
    ),
    Step(
        "5. Does B follow A?",
        "Next Sentence",
        "BERT had a second pre-training task: half of its pairs were a sentence and the one after it, half a "
        "sentence and a random one. It learnt to tell them apart.",
        f"The pair is filled in and **Does B follow A?** pressed. Then replace sentence B with *{PENGUINS}* and "
        "judge again.",
        "How does the probability of IsNext change?",
        "A model that learned the task gives the real continuation a high P(IsNext), and a lower one to the penguin "
        "sentence, which shares no topic with A. (Later models such as RoBERTa dropped this task: masked words "
        "alone taught as much.)",
        {"ns-a": "I went to the store to buy some milk.", "ns-b": "They had run out, so I bought juice instead."},
        run=("ns-go",),
        observe=_next_sentence,
    ),
    Step(
        "6. Pre-train one yourself",
        "Train Tiny Model",
        "Now do it: a small transformer, from random weights, on Shakespeare's plays, a character at a time.",
        "**Train** is pressed (200 steps, well under a minute). Then open **Watch it learn** and drag the step slider.",
        "Where does the loss start, and why exactly there?",
        "At the dashed line, ln V: an untrained model spreads its probability evenly over the V tokens, and the "
        "loss of a uniform guess is −log(1/V) = ln V. In the scrubber, the chosen word's rank climbs from a blind "
        "guess towards the top as the loss falls.",
        {"tr-steps": 200},
        run=("tr-go",),
        observe=_first_loss,
    ),
    Step(
        "7. Fine-tune after pre-training",
        "Train Tiny Model",
        "Pre-training is not the end: a pre-trained model is fine-tuned on a small labelled task. The claim every "
        "lesson ends on is that pre-training makes this easier. Test it.",
        "Scroll to **Fine-tune after pre-training**: **Fine-tune** is pressed, and the same task trains a "
        "pre-trained model and the same architecture from random weights, side by side.",
        "With 256 labelled examples, how far apart do the two end?",
        "The pre-trained side should end well ahead, and its curve should climb sooner: it starts from what "
        "pre-training taught it. How far ahead depends on the model and the task: the chart in the tab is this run's "
        "answer, and bench/RESULTS.md records each default model's gap on every built-in task.",
        run=("ft-go",),
    ),
    Step(
        "8. Inside the model",
        "Next Word",
        "Attention is where each token gathers what it needs from the others, head by head, layer by layer.",
        "The prompt is filled in and predicted, and **Look inside** pressed (in **Inside the model**, opened below "
        "the prediction); then open the **Logit lens** and press **Read every layer**.",
        "Are there heads that always look at the token just before?",
        "In trained models, yes: the **Heads ranked** table (previous-token pattern) ranks the heads by that score, and the best ones draw "
        "a line just below the diagonal. The logit lens shows the answer forming: early layers guess common words, "
        "later ones the right one.",
        {"nw-prompt": "Bob gave Alice the book because he loves"},
        run=("nw-go", "nw-inside-go"),  # the prediction above, then the heads of the same prompt
        opens=("nw-inside",),
        observe=_heads,
    ),
]


def answer(s: Step, load: Load) -> str:
    """The step's lesson, and what the model on screen did (read from it now)."""
    if s.observe is None:
        return s.answer
    seen = s.observe(s, load)
    return f"{s.answer}\n\n**On screen:** {seen.text}"


def link(s: Step) -> str:
    """The query string that opens the page on this step, tried (?tour=N, N from 1)."""
    return f"?tour={STEPS.index(s) + 1}"


def from_link(value: str | None) -> Step | None:
    """The step a ?tour=N link names, or None (absent, not a number, out of range)."""
    try:
        n = int(str(value).strip())
    except ValueError:
        return None
    return STEPS[n - 1] if 1 <= n <= len(STEPS) else None


def step(title: str) -> Step:
    return next((s for s in STEPS if s.title == title), STEPS[0])


def next_title(title: str) -> str:
    i = STEPS.index(step(title))
    return STEPS[min(i + 1, len(STEPS) - 1)].title


def targets() -> list[str]:
    """Every input the tour sets, once each, in order."""
    return list(dict.fromkeys(key for s in STEPS for key in s.inputs))
