"""The checkpoints we ship: they load, and they are good enough to teach with."""

import re

import pytest
import torch

from playground import registry
from playground.bundled import RECIPES, bundled_path
from playground.fill_mask import fill_mask
from playground.tiny.checkpoint import read_config
from playground.tiny.model import TinyTransformer

from .narrow import of_type


@pytest.mark.parametrize("name", list(RECIPES))
def test_bundled_checkpoint_is_small_and_documented(name):
    folder = bundled_path(name)
    sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "CARD.md"} <= set(sizes)
    assert sum(sizes.values()) <= 20 * 1024 * 1024
    _, meta = read_config(folder)
    assert meta["steps"] == RECIPES[name].steps
    assert meta["final_val_loss"] < 6.0  # far below ln(4096) ≈ 8.3, the uniform guess
    card = (folder / "CARD.md").read_text()
    assert f"{meta['final_val_loss']:.3f}" in card and meta["hardware"] in card


def test_gpt_continues_romeo_with_shakespeare_like_text(shakespeare):
    gpt = registry.load("tiny-shakespeare-gpt", "causal")
    ids = torch.tensor([gpt.tokenizer("ROMEO:").input_ids])
    model = of_type(gpt.model, TinyTransformer)
    out = model.generate(ids, 80, temperature=0.8, top_k=40, generator=torch.Generator().manual_seed(0))
    text = gpt.tokenizer.decode(out[0].tolist())
    assert isinstance(text, str)  # one sequence in, one string out
    words = re.findall(r"[a-z']+", text.lower())
    known = set(re.findall(r"[a-z']+", shakespeare.lower()))
    assert len(words) >= 30
    assert sum(w in known for w in words) / len(words) >= 0.9, text  # real words, not letter soup
    assert re.search(r"\n[A-Z][A-Za-z ]+:\n", text) or "\n" in text, text  # verse lines


def test_gpt_prefers_real_shakespeare_to_shuffled_words(shakespeare):
    gpt = registry.load("tiny-shakespeare-gpt", "causal")
    line = "But, soft! what light through yonder window breaks? It is the east, and Juliet is the sun."
    shuffled = " ".join(sorted(line.split()))

    def loss(text):
        ids = torch.tensor([gpt.tokenizer(text).input_ids])
        with torch.no_grad():
            logits = gpt.model(ids).logits[0, :-1]
        return torch.nn.functional.cross_entropy(logits, ids[0, 1:]).item()

    assert loss(line) < loss(shuffled) - 0.5


def test_bert_fills_to_be_or_not_to_be():
    bert = registry.load("tiny-shakespeare-bert", "masked")
    r = fill_mask(bert.model, bert.tokenizer, "To be, or not to [MASK]", top_k=5)
    assert "be" in [c.token.strip() for c in r.masks[0].candidates]
