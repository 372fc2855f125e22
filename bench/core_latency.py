"""Latency of each tab's core request on the bundled models, as a ratio to one bare forward pass.

    .venv/bin/python bench/core_latency.py [--repeats 50]

Both columns are measured side by side in this process, so the ratio holds on a noisy machine
where the milliseconds do not. Next Word has its own, fuller benchmark: bench/next_word_speed.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground import registry  # noqa: E402
from playground.fill_mask import fill_mask  # noqa: E402
from playground.next_sentence import next_sentence  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def bare_forward(loaded, *texts):
    enc = loaded.tokenizer(*texts, return_tensors="pt")
    with torch.no_grad():
        return lambda: loaded.model(**enc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(2)
    bert = registry.load("tiny-shakespeare-bert", "masked")
    masked = "To be, or not to [MASK]: that is the question."
    a, b = "The man went to the store.", "He bought a gallon of milk."
    rows = [
        (
            "fill mask (top-5)",
            lambda: fill_mask(bert.model, bert.tokenizer, masked, 5),
            bare_forward(bert, masked.replace("[MASK]", bert.tokenizer.mask_token)),
        ),
        ("next sentence", lambda: next_sentence(bert.model, bert.tokenizer, a, b), bare_forward(bert, a, b)),
    ]
    print(f"{'request':<22}{'median ms':>10}{'bare fwd ms':>13}{'ratio':>8}")
    for name, request, forward in rows:
        with torch.no_grad():
            req_ms, fwd_ms = median_ms(request, args.repeats), median_ms(forward, args.repeats)
        print(f"{name:<22}{req_ms:>10.2f}{fwd_ms:>13.2f}{req_ms / fwd_ms:>8.2f}")


if __name__ == "__main__":
    main()
