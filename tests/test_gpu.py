"""Every inference path on CUDA gives what it gives on the CPU (skipped without a GPU; bench/gpu_check.sh runs
them on a GPU machine): Next Word, Fill Mask, Next Sentence, the attention views and the logit lens, the scrubber's
probes, and fine-tuning. The training loop's no-host-sync test is in test_train.py."""

from __future__ import annotations

import math

import pytest
import torch

from playground import attention, fill_mask, next_sentence, next_word
from playground.bundled import bundled_path
from playground.finetune.run import FineTuneConfig, FineTuneTrainer
from playground.tiny.checkpoint import load_checkpoint

from .narrow import present
from .test_finetune import toy_task

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU"),
]
TOL = 2e-3  # TF32 matmuls on the GPU


def both(name: str):
    """The bundled checkpoint twice: on the CPU and on the GPU."""
    cpu, tokenizer, _ = load_checkpoint(bundled_path(name))
    gpu, _, _ = load_checkpoint(bundled_path(name), device="cuda")
    return cpu, gpu, tokenizer


def test_next_word_on_cuda_equals_the_cpu():
    cpu, gpu, tok = both("tiny-shakespeare-gpt")
    a = next_word.next_token_distribution(cpu, tok, "ROMEO:\nWhat say you", top_k=5)
    b = next_word.next_token_distribution(gpu, tok, "ROMEO:\nWhat say you", top_k=5)
    assert [t.id for t in a.top] == [t.id for t in b.top]
    assert all(math.isclose(x.prob, y.prob, abs_tol=TOL) for x, y in zip(a.top, b.top))
    gen = next_word.start_generation(gpu, tok, "ROMEO:")
    for _ in next_word.generate(gpu, tok, gen, 8, next_word.Sampling(), True):
        pass
    assert len(gen.steps) == 8


def test_fill_mask_and_next_sentence_on_cuda_equal_the_cpu():
    cpu, gpu, tok = both("tiny-english-bert")
    text = "The doctor told the patient to take the [MASK] twice a day."
    a, b = fill_mask.fill_mask(cpu, tok, text), fill_mask.fill_mask(gpu, tok, text)
    assert [t.id for t in a.masks[0].candidates] == [t.id for t in b.masks[0].candidates]
    p, q = (next_sentence.next_sentence(m, tok, "I went out.", "It was raining.") for m in (cpu, gpu))
    assert math.isclose(p.is_next, q.is_next, abs_tol=TOL)


def test_attention_and_the_logit_lens_on_cuda_equal_the_cpu():
    cpu, gpu, tok = both("tiny-shakespeare-gpt")
    a, b = (attention.extract(m, tok, "Bob gave Alice the book because he loves her") for m in (cpu, gpu))
    assert abs(a.weights - b.weights).max() < TOL
    la, lb = (attention.logit_lens(m, tok, "ROMEO:\nWhat say you") for m in (cpu, gpu))
    assert la.final_token == lb.final_token
    assert [[t for t, _ in layer.top] for layer in la.layers] == [[t for t, _ in layer.top] for layer in lb.layers]


def test_fine_tuning_on_cuda_learns():
    _, gpu, tok = both("tiny-english-bert")
    cfg = FineTuneConfig(labels=32, steps=30, log_every=5, eval_every=30, lr=1e-3, device="cuda")
    run = FineTuneTrainer(cfg, gpu, tok, toy_task())
    events = list(run.advance())
    assert run.device.type == "cuda" and present(events[-1].train_loss) < 0.5 * present(events[0].train_loss)
