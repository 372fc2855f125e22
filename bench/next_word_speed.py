"""Next Word speed, as ratios measured side by side in one run (calls alternate, so load hits both alike).

    .venv/bin/python bench/next_word_speed.py [--repeats 200] [--steps 32] [--skip-gpt2] [--threads 2]

1. One full Next Word request (top-10, the sampling stages with a seeded draw, the training pairs) vs one
   bare forward pass of the model on the same prompt. Goal: <= 1.2x (everything comes from one forward).
   With all three sampling transforms on, and with them neutral (the tab's defaults: only the raw stage).
2. N single generation steps with the KV cache (what the Next token button does N times) vs one
   generate(max_new_tokens=N). Goal: <= 1.5x. Greedy and sampled; and N steps without a cache, for contrast.

On the bundled tiny GPT (goal: < 20 ms median per request) and on a GPT-2-architecture model with random
weights (GPT2LMHeadModel(GPT2Config()), 124M parameters) and the real GPT-2 tokenizer, 16-token prompt.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground import next_word as nw  # noqa: E402
from playground import registry  # noqa: E402
from playground.tiny.model import TinyTransformer  # noqa: E402

LINE = "ROMEO: But, soft! what light through yonder window breaks? It is the east, and Juliet is the sun."
SAMPLING = nw.Sampling(temperature=0.8, top_k=40, top_p=0.9, seed=0)


def paired_ms(a, b, repeats: int) -> tuple[float, float]:
    """Median milliseconds of a() and b(), called in alternation after one warm-up each."""
    a(), b()
    times_a: list[float] = []
    times_b: list[float] = []
    for _ in range(repeats):
        for fn, times in ((a, times_a), (b, times_b)):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times_a), statistics.median(times_b)


def steps(model, tokenizer, prompt: str, n: int, greedy: bool):
    gen = nw.start_generation(model, tokenizer, prompt)
    for _ in range(n):
        nw.next_step(model, tokenizer, gen, SAMPLING, greedy)


def steps_without_cache(model, ids: list[int], n: int):
    ids = list(ids)
    for _ in range(n):
        ids.append(int(nw.prompt_logits(model, ids)[-1].argmax()))


@torch.inference_mode()
def generate(model, input_ids: torch.Tensor, n: int, greedy: bool):
    if isinstance(model, TinyTransformer):  # our own generate: top-1 sampling is greedy
        return model.generate(
            input_ids, n, temperature=1.0 if greedy else SAMPLING.temperature, top_k=1 if greedy else SAMPLING.top_k
        )
    sampled = {} if greedy else dict(temperature=SAMPLING.temperature, top_k=SAMPLING.top_k, top_p=SAMPLING.top_p)
    return model.generate(
        input_ids,
        max_new_tokens=n,
        min_new_tokens=n,
        do_sample=not greedy,
        pad_token_id=model.config.eos_token_id,
        **sampled,
    )


def rows_for(name: str, model, tokenizer, prompt: str, repeats: int, n: int) -> list[tuple]:
    ids = nw.encode_prompt(tokenizer, prompt)[0]
    input_ids = torch.tensor([ids])

    @torch.inference_mode()
    def bare():
        model(input_ids=input_ids)

    rows = []
    for label, sampling in (("T 0.8, top-k 40, top-p 0.9", SAMPLING), ("sampling knobs neutral", nw.Sampling())):
        req, fwd = paired_ms(
            lambda sampling=sampling: nw.next_token_distribution(model, tokenizer, prompt, 10, sampling), bare, repeats
        )
        rows.append((name, f"request, {label}", req, f"bare forward, {len(ids)} tokens", fwd, "<= 1.2"))
    gen_repeats = max(5, repeats // 10)
    for greedy in (True, False):
        mode = "greedy" if greedy else "sampled"
        ours, ref = paired_ms(
            lambda greedy=greedy: steps(model, tokenizer, prompt, n, greedy),
            lambda greedy=greedy: generate(model, input_ids, n, greedy),
            gen_repeats,
        )
        rows.append((name, f"{n} cached steps, {mode}", ours, f"generate({n}), {mode}", ref, "<= 1.5"))
    uncached, cached = paired_ms(
        lambda: steps_without_cache(model, ids, n), lambda: steps(model, tokenizer, prompt, n, True), gen_repeats
    )
    rows.append((name, f"{n} steps without a cache", uncached, f"{n} cached steps", cached, ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=200, help="for the tiny model; GPT-2 gets a tenth")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--skip-gpt2", action="store_true")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the app uses the default: 2 here)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gpt2_tokenizer = registry.reference_tokenizer("gpt2")
    prompt = gpt2_tokenizer.decode(gpt2_tokenizer(LINE).input_ids[:16])  # 16 GPT-2 tokens
    assert isinstance(prompt, str)  # one sequence in, one string out

    tiny = registry.load("tiny-shakespeare-gpt", "causal")
    rows = rows_for("tiny-shakespeare-gpt", tiny.model, tiny.tokenizer, prompt, args.repeats, args.steps)
    if not args.skip_gpt2:
        from transformers import GPT2Config, GPT2LMHeadModel

        torch.manual_seed(0)
        model = GPT2LMHeadModel(GPT2Config()).eval()
        rows += rows_for("GPT-2 arch, random", model, gpt2_tokenizer, prompt, max(3, args.repeats // 10), args.steps)

    print(f"{'model':<22}{'what':<38}{'ms':>9}  {'reference':<28}{'ms':>9}{'ratio':>7}  goal")
    for model, what, ms, ref, ref_ms, goal in rows:
        print(f"{model:<22}{what:<38}{ms:>9.2f}  {ref:<28}{ref_ms:>9.2f}{ms / ref_ms:>7.2f}  {goal}")


if __name__ == "__main__":
    main()
