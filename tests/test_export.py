"""Export to standard transformers architectures (playground/export.py): tiny real runs of each recipe and
objective, exported and loaded back with plain transformers (Auto classes, AutoTokenizer, pipeline), their
logits compared with ours on a real passage of tinyshakespeare; refusals name the ingredient."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoModelForPreTraining, AutoTokenizer, pipeline

from playground import export
from playground.__main__ import main
from playground.bundled import bundled_path
from playground.errors import UserError
from playground.tiny import data, recipes
from playground.tiny.checkpoint import load_checkpoint, save_checkpoint
from playground.tiny.model import TinyConfig, TinyTransformer
from playground.tiny.train import Trainer

SMALL: dict[str, Any] = dict(
    n_layer=2, n_head=2, n_embd=32, context_length=32, batch_size=8, log_every=5, eval_every=10, steps=20
)
# name: (recipe, changes) — each a run a learner can start in the Train tab or with `python -m playground train`
RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    "classic-clm-bpe": ("classic", dict(objective="clm", tokenizer="bpe", vocab_size=300)),
    "classic-mlm-nsp-wordpiece": ("classic", dict(objective="mlm-nsp", tokenizer="wordpiece", vocab_size=300)),
    "classic-mlm-char": ("classic", dict(objective="mlm", tokenizer="char")),
    # the modern recipe without the two ingredients no standard decoder has
    "modern-clm-char": ("modern", dict(objective="clm", tokenizer="char", qk_norm=False, logit_softcap=0.0)),
}
ARCHITECTURES = {
    "classic-clm-bpe": "GPT2LMHeadModel",
    "classic-mlm-nsp-wordpiece": "MegatronBertForPreTraining",
    "classic-mlm-char": "MegatronBertForMaskedLM",
    "modern-clm-char": "ArceeForCausalLM",
}


def train_run(folder: Path, recipe: str, **changes) -> Path:
    """A few real training steps on tinyshakespeare, saved with the meta the Train tab writes."""
    text = data.load_corpus("tinyshakespeare")[:60_000]
    cfg = recipes.train_config(recipe, **(SMALL | changes))
    run = Trainer(cfg, text)
    list(run.advance())
    final = run.finish()
    meta = {
        "corpus": "tinyshakespeare",
        "train_config": asdict(cfg),
        "final_val_loss": final.val_loss,
        "tokens": run.tokens,
        "chars_per_token": run.chars_per_token,
        "val_curve": [{"step": e.step, "val_loss": e.val_loss} for e in run.history if e.val_loss is not None],
        **final.summary(),
    }
    return save_checkpoint(folder, run.model, run.tokenizer, meta)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {name: train_run(root / name, recipe, **changes) for name, (recipe, changes) in RUNS.items()}


@pytest.fixture(scope="module")
def exported(runs, tmp_path_factory) -> dict[str, export.Exported]:
    root = tmp_path_factory.mktemp("exported")
    return {name: export.export(folder, root / name, license="mit") for name, folder in runs.items()}


def passage(n: int = 600) -> str:
    return data.load_corpus("tinyshakespeare")[1000 : 1000 + n]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_the_export_loads_with_plain_transformers_and_computes_the_same_logits(runs, exported, name):
    ours, tokenizer, _ = load_checkpoint(runs[name])
    folder = exported[name].folder
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == [ARCHITECTURES[name]]
    assert "auto_map" not in config  # nothing custom: no trust_remote_code
    auto: type[AutoModelForCausalLM | AutoModelForMaskedLM | AutoModelForPreTraining]
    auto = AutoModelForCausalLM if ours.config.causal else AutoModelForMaskedLM
    if "nsp" in ours.config.heads:
        auto = AutoModelForPreTraining  # the body with both heads
    theirs = auto.from_pretrained(folder, dtype=torch.float32).eval()
    assert type(theirs).__name__ == ARCHITECTURES[name]
    ids = export.real_batch(tokenizer, ours.config.context_length)
    assert export.max_logit_difference(ours, theirs, ids) < export.MAX_DIFF
    assert exported[name].max_diff < export.MAX_DIFF


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_auto_tokenizer_gives_our_ids_on_real_text(runs, exported, name):
    _, ours, _ = load_checkpoint(runs[name])
    theirs = AutoTokenizer.from_pretrained(exported[name].folder)
    text = passage()
    assert theirs(text)["input_ids"] == ours(text)["input_ids"]
    assert theirs.mask_token == "[MASK]" and theirs.pad_token == "[PAD]"
    assert theirs.model_max_length == SMALL["context_length"]
    if name == "classic-mlm-nsp-wordpiece":  # pairs carry their segments, as NSP was trained on
        pair = theirs("To be, or not to be.", "That is the question.")
        assert set(pair["token_type_ids"]) == {0, 1}


@pytest.mark.slow
def test_text_generation_pipeline_runs_with_no_arguments(runs, exported):
    ours, tokenizer, _ = load_checkpoint(runs["classic-clm-bpe"])
    pipe = pipeline("text-generation", model=str(exported["classic-clm-bpe"].folder))
    out = pipe("First Citizen:", max_new_tokens=8, do_sample=False)
    ids = tokenizer("First Citizen:", return_tensors="pt")["input_ids"]
    expected = tokenizer.decode(ours.generate(ids, 8, top_k=1)[0])  # greedy: top_k=1 samples the argmax
    assert out[0]["generated_text"] == expected


@pytest.mark.slow
@pytest.mark.parametrize("name", ["classic-mlm-nsp-wordpiece", "classic-mlm-char"])
def test_fill_mask_pipeline_gives_our_top_guess(runs, exported, name):
    ours, tokenizer, _ = load_checkpoint(runs[name])
    pipe = pipeline("fill-mask", model=str(exported[name].folder))
    text = "Hear me [MASK]."  # short: a character model's context is 32 here
    guesses = pipe(text)
    enc = tokenizer(text, return_tensors="pt")
    at = (enc["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0]
    with torch.no_grad():
        probs = ours(enc["input_ids"]).logits[0, at].softmax(-1)
    assert guesses[0]["token"] == int(probs.argmax())
    assert guesses[0]["score"] == pytest.approx(float(probs.max()), abs=1e-4)


@pytest.mark.slow
def test_the_card_is_written_from_the_run(runs, exported):
    folder = exported["classic-mlm-nsp-wordpiece"].folder
    card = (folder / export.CARD).read_text()
    front = card.split("---")[1]
    assert "license: mit" in front and "library_name: transformers" in front and "pipeline_tag: fill-mask" in front
    for needed in ("Objective: mlm-nsp; recipe: classic", "tinyshakespeare", "public domain", "FLOPs", "tokens seen"):
        assert needed in card
    assert "Final validation loss" in card and "Nsp accuracy" in card
    # bits per character where the run measured characters per token (a causal run's validation split)
    assert "Bits per character" in (exported["classic-clm-bpe"].folder / export.CARD).read_text()
    assert f"]({export.CURVE})" in card and (folder / export.CURVE).read_text().startswith("<svg")
    assert 'pipeline("fill-mask"' in card
    assert "| n_embd | 32 |" in card and "| lr |" in card  # every hyper-parameter, the model's and the run's


def modern(**changes) -> TinyConfig:
    shape: dict[str, Any] = dict(vocab_size=99, context_length=16, n_layer=1, n_head=2, n_embd=16, positions="rotary")
    return TinyConfig(**(shape | changes))


@pytest.mark.parametrize(
    "cfg, named",
    [
        (
            modern(norm="rmsnorm", mlp="relu2", qk_norm=True, logit_softcap=15.0, tied_head=False),
            ["QK-norm", "soft-cap"],
        ),
        (modern(norm="rmsnorm", qk_norm=True), ["QK-norm"]),
        (modern(causal=False, heads=("mlm", "nsp"), type_vocab_size=2), ["rotary positions", "learned positions"]),
        (modern(positions="learned", norm="rmsnorm"), ["RMSNorm", "LayerNorm"]),
    ],
)
def test_what_no_standard_architecture_computes_is_refused_in_one_sentence(cfg, named, tmp_path):
    p = export.plan(cfg)
    assert not p.exportable
    assert all(word in p.sentence for word in named)
    assert p.sentence.endswith(".") and p.sentence.count(". ") == 0  # one sentence
    folder = save_checkpoint(tmp_path / "run", TinyTransformer(cfg), data.train_tokenizer("abc", "char"))
    with pytest.raises(UserError) as err:
        export.export(folder, tmp_path / "out")
    assert str(err.value) == p.sentence
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "cfg, architecture",
    [
        (modern(positions="learned"), "GPT2LMHeadModel"),
        (modern(positions="sinusoidal", bias=False, tied_head=False), "GPT2LMHeadModel"),
        (modern(norm="rmsnorm", mlp="relu2", tied_head=False), "ArceeForCausalLM"),
        (modern(positions="none", causal=False, heads=("mlm",)), "MegatronBertForMaskedLM"),
    ],
)
def test_each_exportable_shape_maps_exactly_even_untrained(cfg, architecture):
    torch.manual_seed(0)
    ours = TinyTransformer(cfg).eval()
    with torch.no_grad():  # away from the init: gains and biases not 1 and 0, so a missed one shows
        for p in ours.parameters():
            p.add_(0.1 * torch.randn_like(p))
    theirs = export.to_transformers(ours)
    assert type(theirs).__name__ == architecture and export.plan(cfg).exportable
    ids = torch.randint(0, cfg.vocab_size, (2, cfg.context_length))
    assert export.max_logit_difference(ours, theirs, ids) < export.MAX_DIFF


def test_the_check_catches_a_model_that_computes_something_else():
    """The comparison is sharp enough to fail: GPT-2's own tanh GELU instead of our exact one is caught."""
    from transformers.activations import ACT2FN
    from transformers.models.gpt2.modeling_gpt2 import GPT2Block, GPT2LMHeadModel

    torch.manual_seed(0)
    ours = TinyTransformer(modern(positions="learned")).eval()
    with torch.no_grad():
        for p in ours.parameters():
            p.mul_(20)
    theirs = export.to_transformers(ours)
    assert isinstance(theirs, GPT2LMHeadModel)  # learned positions and GELU: GPT-2's architecture
    for block in theirs.transformer.h:
        assert isinstance(block, GPT2Block)
        block.mlp.act = ACT2FN["gelu_new"]
    assert export.max_logit_difference(ours, theirs, torch.randint(0, 99, (2, 16))) > export.MAX_DIFF


@pytest.mark.slow
def test_the_cli_exports_and_refuses(runs, tmp_path, capsys):
    assert main(["export", str(runs["classic-clm-bpe"]), str(tmp_path / "out"), "--license", "mit"]) == 0
    assert "GPT-2" in capsys.readouterr().out and (tmp_path / "out" / "model.safetensors").is_file()
    assert main(["export", str(runs["classic-mlm-char"]), str(tmp_path / "x"), "--gguf", "f16"]) == 2
    assert "GGUF" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_plan_of_a_bundled_checkpoint_says_what_it_becomes():
    assert export.plan_checkpoint(bundled_path("tiny-shakespeare-gpt")).target is export.GPT2
    refused = export.plan_checkpoint(bundled_path("tiny-english-bert"))  # trained with rotary positions
    assert refused.target is None and "rotary positions" in refused.sentence


def test_a_fine_tuned_checkpoint_says_its_head_stays_behind(tmp_path):
    """A fine-tuned tiny GPT (its head in classifier.safetensors) exports as GPT-2, a language model: the plan
    says the classifier's head and added tokens are not part of it, before the learner presses Export."""
    from playground.finetune.heads import Classifier
    from playground.finetune.run import save_classifier

    model, tokenizer, _ = load_checkpoint(bundled_path("tiny-shakespeare-gpt"))
    folder = save_classifier(tmp_path / "ft", Classifier(model, tokenizer, ("a", "b")), {"task": "toy"})
    p = export.plan_checkpoint(folder)
    assert p.target is export.GPT2 and p.sentence.endswith(export.FINE_TUNED)
    assert export.FINE_TUNED not in export.plan_checkpoint(bundled_path("tiny-shakespeare-gpt")).sentence
