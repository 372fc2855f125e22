"""Everyday-English probe sets for masked and next-sentence models, scored side by side.

    python bench/probe_bert.py                                      # the bundled BERTs
    python bench/probe_bert.py --models tiny-english-bert runs/my-bert --misses

- Masked: `bench/probes/masked.json`, everyday sentences with one [MASK] and the lower-case words we
  accept there. Top-5 hit rate: the share of sentences where an accepted word is among the model's five
  most likely tokens at the mask (whole-word tokens only: a WordPiece "##" piece never counts).
- NSP: `bench/probes/nsp.json`, sentence pairs, half true continuations and half unrelated. Accuracy:
  the share judged right, B counted as following A when P(IsNext) >= 0.5.

Models come through the app's registry (bundled names, Hub ids, or a checkpoint folder) and are scored
through the app's own core code (`playground.fill_mask.fill_mask`, `playground.next_sentence.next_sentence`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playground import encoder, registry  # noqa: E402
from playground.fill_mask import fill_mask  # noqa: E402
from playground.next_sentence import next_sentence  # noqa: E402

PROBES = ROOT / "bench" / "probes"
BUNDLED_BERTS = [name for name in registry.choices("nsp") if name in registry.BUNDLED or name in registry.PACKAGED]


def load_probes() -> tuple[list[dict], list[dict]]:
    """(masked items {"text", "fills"}, NSP items {"a", "b", "is_next"})."""
    masked = json.loads((PROBES / "masked.json").read_text())["items"]
    nsp = json.loads((PROBES / "nsp.json").read_text())["items"]
    return masked, nsp


@dataclass
class Scores:
    name: str
    top5: float  # masked: share of sentences with an accepted word in the top 5
    top1: float
    nsp: float  # NSP accuracy
    textbook: float  # share of the textbook pairs told apart by MARGIN
    misses: list[str] = field(default_factory=list)  # what the model got wrong, for --misses


def whole_word(tokenizer, token_id: int) -> str | None:
    """The lower-cased word a token stands for, or None for a word's continuation piece."""
    token = tokenizer.convert_ids_to_tokens(int(token_id))
    if token is None or token.startswith("##"):
        return None
    return token.lstrip("Ġ▁").lower()


def score_masked(model, tokenizer, items: list[dict], misses: list[str]) -> tuple[float, float]:
    top1 = top5 = 0
    for item in items:
        candidates = fill_mask(model, tokenizer, item["text"], top_k=5).masks[0].candidates
        words = [whole_word(tokenizer, c.id) for c in candidates]
        hit = [w in item["fills"] for w in words]
        top1 += hit[0]
        top5 += any(hit)
        if not any(hit):
            misses.append(f"  masked  {item['text']}  -> {', '.join(str(w) for w in words)}")
    return top5 / len(items), top1 / len(items)


def score_nsp(model, tokenizer, items: list[dict], misses: list[str]) -> float:
    right = 0
    for item in items:
        p = next_sentence(model, tokenizer, item["a"], item["b"]).is_next
        ok = (p >= 0.5) == item["is_next"]
        right += ok
        if not ok:
            misses.append(f"  nsp     {item['a']} | {item['b']}  (IsNext {p:.0%}, truth {item['is_next']})")
    return right / len(items)


def score(name: str) -> Scores:
    """Both probe scores for a model name from the registry, or a checkpoint folder."""
    masked, nsp = load_probes()
    folder = Path(name)
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    if encoder.is_encoder_folder(folder):  # a continued pre-training run of the packaged encoder
        model, tokenizer, _ = encoder.load(folder)
    else:
        loaded = registry.load_folder(folder) if folder.is_dir() else registry.load(name, "nsp")
        model, tokenizer = loaded.model, loaded.tokenizer
    misses: list[str] = []
    top5, top1 = score_masked(model, tokenizer, masked, misses)
    nsp_accuracy = score_nsp(model, tokenizer, nsp, misses)
    return Scores(name, top5, top1, nsp_accuracy, score_textbook(model, tokenizer, misses), misses)


# The textbook's NSP pairs (BERT's paper, the walk-throughs that quote it): B follows A, and an unrelated B does not.
# A model gets one right when P(IsNext) of the real B beats the unrelated one's by at least MARGIN.
TEXTBOOK = [
    ("The man went to the store.", "He bought a gallon of milk.", "Penguins fly into the sky."),
    ("I was very hungry.", "So I made myself some bread with cheese.", "The stock market closed higher today."),
]
MARGIN = 0.2


def score_textbook(model, tokenizer, misses: list[str]) -> float:
    right = 0
    for a, real, unrelated in TEXTBOOK:
        p_real = next_sentence(model, tokenizer, a, real).is_next
        p_unrelated = next_sentence(model, tokenizer, a, unrelated).is_next
        ok = p_real - p_unrelated >= MARGIN
        right += ok
        if not ok:
            misses.append(f"  textbook  {a} | {real} {p_real:.0%} vs {unrelated} {p_unrelated:.0%}")
    return right / len(TEXTBOOK)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=BUNDLED_BERTS, help="registry names or checkpoint folders")
    parser.add_argument("--misses", action="store_true", help="list what each model got wrong")
    args = parser.parse_args(argv)
    masked, nsp = load_probes()
    print(
        f"{len(masked)} masked sentences, {len(nsp)} NSP pairs ({sum(i['is_next'] for i in nsp)} true continuations)\n"
    )
    print(f"| model | masked top-5 hit rate | masked top-1 | NSP accuracy | textbook pairs (margin {MARGIN:.0%}) |")
    print("|---|---|---|---|---|")
    results = [score(name) for name in args.models]
    for s in results:
        print(f"| {s.name} | {s.top5:.1%} | {s.top1:.1%} | {s.nsp:.1%} | {s.textbook:.0%} |")
    if args.misses:
        for s in results:
            print(f"\n{s.name}: {len(s.misses)} misses")
            print("\n".join(s.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
