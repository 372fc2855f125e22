"""The guided tour: the six tabs as one lesson, in the textbook's order (text → tokens → positions → next word →
masked words → sentence pairs → pre-training, then fine-tuning and the inside view). Each step is one short
paragraph, one thing to try with its inputs filled in, and one question whose answer waits until asked for."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    title: str
    tab: str  # the tab it opens (its title in the page)
    text: str  # one short paragraph: what this step is about
    try_it: str  # what to do there
    question: str
    answer: str
    inputs: dict[str, object] = field(default_factory=dict)  # elem_id -> the value it opens with


STEPS = [
    Step(
        "1. Text becomes tokens",
        "Tokenizer",
        "A model never sees letters or words: a tokenizer cuts the text into pieces from a fixed vocabulary and "
        "turns each into a number. Different models cut the same text differently.",
        "The sentence below is filled in: look at how each tokenizer cuts it.",
        "Into how many pieces does BERT cut *unbelievably*, and GPT-2?",
        "BERT (WordPiece, 30,522 pieces, lower-cased) cuts it into five: `un ##bel ##ie ##va ##bly` (`##` marks a "
        "piece that continues a word). GPT-2 (byte-level BPE, 50,257 pieces) keeps it whole, as one token "
        "` unbelievably` with its leading space. A larger vocabulary keeps more words whole.",
        {"tk-text": "Tokenization is unbelievably simple."},
    ),
    Step(
        "2. Where each token stands",
        "Positional Encoding",
        "Attention compares every token with every other, and on its own it has no idea of order: *dog bites man* "
        "and *man bites dog* would look alike. A positional encoding adds where each token stands.",
        "The sinusoidal encoding is drawn for 64 dimensions: each row is a position, each column a dimension.",
        "Which dimensions change fastest as the position grows: the first ones or the last?",
        "The first. Pair 0 turns by one radian per position (a wavelength of about 6 positions); the last pairs have "
        "wavelengths up to 10,000 × 2π positions, so over 50 positions they barely move. Together they give every "
        "position its own pattern, and nearby positions similar ones.",
        {"pe-dim": 64},
    ),
    Step(
        "3. Predict the next word",
        "Next Word",
        "A GPT-style model is pre-trained on one task only: given the text so far, give a probability to every "
        "possible next token. Billions of times over, on web text, that is pre-training.",
        "The prompt is filled in: press **Predict next word**, then move the temperature to 2 and look at the bars.",
        "Which token comes first, and what does a temperature of 2 do to the bars?",
        "A model that has read about France puts ` Paris` first (GPT-2 and SmolLM2 do; our tiny Shakespeare model "
        "cannot: it never read about France). A temperature of 2 halves every score before the softmax, so the "
        "bars flatten: unlikely tokens get drawn more often. Generating text, token after token, changes no "
        "weight: open **Step by step** and press **Check the weights**.",
        {"nw-prompt": "The capital of France is"},
    ),
    Step(
        "4. Fill in the blank",
        "Fill Mask",
        "BERT-style models are pre-trained differently: 15% of the tokens are hidden and the model guesses them from "
        "both sides, left and right.",
        "The sentence with a `[MASK]` is filled in: press **Fill the mask**.",
        "Which words does the model propose, and which parts of the sentence gave them away?",
        "Words like *medicine*, *pills* or *medication*. The clues sit on both sides of the blank: *doctor* and "
        "*patient* before it, *twice a day* after it. A GPT-style model reading left to right could use only the "
        "first half.",
        {"fm-text": "The doctor told the patient to take the [MASK] twice a day."},
    ),
    Step(
        "5. Does B follow A?",
        "Next Sentence",
        "BERT had a second pre-training task: half of its pairs were a sentence and the one after it, half a "
        "sentence and a random one. It learnt to tell them apart.",
        "The pair is filled in: press **Does B follow A?**. Then replace sentence B with *Penguins cannot fly.* and judge again.",
        "How does the probability of IsNext change?",
        "It is high for the real continuation and falls for the penguin sentence, which shares no topic with A. "
        "(Later models such as RoBERTa dropped this task: masked words alone taught as much.)",
        {"ns-a": "I went to the store to buy some milk.", "ns-b": "They had run out, so I bought juice instead."},
    ),
    Step(
        "6. Pre-train one yourself",
        "Train Tiny Model",
        "Now do it: a small transformer, from random weights, on Shakespeare's plays, a character at a time.",
        "Press **Train** (200 steps, well under a minute). Then open **Watch it learn** and drag the step slider.",
        "Where does the loss start, and why exactly there?",
        "At the dashed line, ln V: with about 70 characters, ln 70 ≈ 4.25. An untrained model spreads its "
        "probability evenly over the V tokens, and the loss of a uniform guess is −log(1/V) = ln V. In the "
        "scrubber, the chosen word's rank climbs from a blind guess towards the top as the loss falls.",
        {"tr-steps": 200},
    ),
    Step(
        "7. Fine-tune after pre-training",
        "Train Tiny Model",
        "Pre-training is not the end: a pre-trained model is fine-tuned on a small labelled task. The claim every "
        "lesson ends on is that pre-training makes this easier. Test it.",
        "Scroll to **Fine-tune after pre-training** and press **Fine-tune**: the same task trains a pre-trained "
        "model and the same architecture from random weights, side by side.",
        "With 256 labelled examples, how far apart do the two end?",
        "Far: on *Who wrote it?* the pre-trained model reached 83% and the one from scratch 29% (3 seeds, "
        "bench/finetune_quality.py). With 64 or 1,024 labels the gap is smaller but still there.",
    ),
    Step(
        "8. Inside the model",
        "Next Word",
        "Attention is where each token gathers what it needs from the others, head by head, layer by layer.",
        "Open **Inside the model** below the prediction and press **Look inside**; then open the **Logit lens** "
        "and press **Read every layer**.",
        "Are there heads that always look at the token just before?",
        "Yes: the **head patterns** table ranks the heads by that score, and the best ones draw a line just below "
        "the diagonal. The logit lens shows the answer forming: early layers guess common words, later ones the "
        "right one.",
        {"nw-prompt": "Bob gave Alice the book because he loves"},
    ),
]


def step(title: str) -> Step:
    return next((s for s in STEPS if s.title == title), STEPS[0])


def next_title(title: str) -> str:
    i = STEPS.index(step(title))
    return STEPS[min(i + 1, len(STEPS) - 1)].title


def targets() -> list[str]:
    """Every input the tour sets, once each, in order."""
    return list(dict.fromkeys(key for s in STEPS for key in s.inputs))
