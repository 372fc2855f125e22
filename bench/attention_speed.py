"""Cost of one "Inside the model" request against a bare forward pass on the same input, side by side.

    .venv/bin/python bench/attention_speed.py [--repeats 30]

Rows: the bundled tiny GPT and tiny BERT, and a GPT-2-architecture model (GPT-2 small's shape, 124 M parameters,
random weights: the speed does not depend on the values) on the long-range sentence (~25 tokens).
Columns: a bare forward (SDPA), the attention extraction alone (one eager forward), the core request (extraction
+ every view the accordion shows), and the whole handler's work including the plotly figures; each as a median
and as a ratio to the bare forward measured in the same run. Target: the core request within 2x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground import attention as at  # noqa: E402
from playground import charts, registry  # noqa: E402

TEXT = "Bob, who lives in New York and works as a software engineer, loves exploring new restaurants in the city."


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def views(att: at.Attention) -> None:
    """Everything the accordion computes from the weights (layer 0, head 0, the last token followed)."""
    at.matrix(att, 0, 0)
    at.looks(att, 0, 0, len(att.tokens) - 1)
    at.long_range(att, 0, None)
    at.sink_share(att)
    at.pattern_scores(att, "previous token")
    at.masks(att.tokens)


def figures(att: at.Attention) -> None:
    charts.attention_grid(att.weights, "grid", (0, 0))
    charts.attention_map(at.matrix(att, 0, 0), att.tokens, "big", 0)
    charts.attention_links(at.matrix(att, 0, 0)[-1], att.tokens, len(att.tokens) - 1, "links")
    m = at.masks(att.tokens)
    charts.mask_pair(att.tokens, m.causal, m.bidirectional)


def row(name: str, model, tok, repeats: int) -> None:
    enc = tok(TEXT, return_tensors="pt")
    with torch.no_grad():
        bare = median_ms(lambda: model(**enc), repeats)
    extract = median_ms(lambda: at.extract(model, tok, TEXT), repeats)
    core = median_ms(lambda: views(at.extract(model, tok, TEXT)), repeats)
    att = at.extract(model, tok, TEXT)

    def views_and_figures() -> None:
        views(at.extract(model, tok, TEXT))
        figures(att)

    whole = median_ms(views_and_figures, max(5, repeats // 3))
    print(
        f"{name:<28}{len(att.tokens):>7}{bare:>9.1f}ms{extract:>8.1f}ms{core:>9.1f}ms{whole:>9.1f}ms"
        f"   {core / bare:>5.2f}x / {whole / bare:>5.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    gpt2_tok = registry.reference_tokenizer("gpt2")
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=len(gpt2_tok))).eval()  # GPT-2 small's shape
    tiny_gpt = registry.load("tiny-shakespeare-gpt", "causal")
    tiny_bert = registry.load("tiny-shakespeare-bert", "masked")
    models = [
        ("tiny-shakespeare-gpt", tiny_gpt.model, tiny_gpt.tokenizer),
        ("tiny-shakespeare-bert", tiny_bert.model, tiny_bert.tokenizer),
        ("GPT-2 small shape (124 M)", gpt2, gpt2_tok),
    ]
    print(
        f"{'model':<28}{'tokens':>7}{'bare fwd':>10}{'extract':>9}{'core req':>10}{'+figures':>10}   ratios (core / +fig)"
    )
    for name, model, tok in models:
        row(name, model, tok, args.repeats)
    lens_model = ("GPT-2 small shape", gpt2, gpt2_tok)
    enc = gpt2_tok(TEXT, return_tensors="pt")
    with torch.no_grad():
        bare = median_ms(lambda: gpt2(**enc), args.repeats)
    lens = median_ms(lambda: at.logit_lens(gpt2, gpt2_tok, TEXT), args.repeats)
    print(f"logit lens, {lens_model[0]}: {lens:.1f} ms vs bare forward {bare:.1f} ms: {lens / bare:.2f}x")


if __name__ == "__main__":
    main()
