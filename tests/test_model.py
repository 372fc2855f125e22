"""TinyTransformer: shapes, causal masking, heads, positions, checkpoint round trip."""

import math

import pytest
import torch

from playground.tiny import data
from playground.tiny.checkpoint import load_checkpoint, save_checkpoint
from playground.tiny.model import TinyConfig, TinyTransformer, rotary_angles, rotate, sinusoidal_positions


def test_gpt_logits_shape_and_tied_weights(gpt_config):
    model = TinyTransformer(gpt_config)
    ids = torch.randint(99, (3, 10))
    out = model(ids)
    assert out.logits.shape == (3, 10, 99)
    assert out.seq_relationship_logits is None
    # the output layer is the embedding (GPT-2's weight tying): no separate lm_head matrix
    assert not any("lm_head" in n for n, _ in model.named_parameters())


def test_future_token_cannot_change_an_earlier_logit(gpt_config):
    model = TinyTransformer(gpt_config).eval()
    ids = torch.randint(99, (1, 12))
    changed = ids.clone()
    changed[0, 8] = (ids[0, 8] + 1) % 99
    a, b = model(ids).logits, model(changed).logits
    torch.testing.assert_close(a[0, :8], b[0, :8])
    assert not torch.allclose(a[0, 8:], b[0, 8:])


def test_bidirectional_model_sees_the_future(bert_config):
    model = TinyTransformer(bert_config).eval()
    ids = torch.randint(5, 99, (1, 12))
    changed = ids.clone()
    changed[0, 8] = (ids[0, 8] + 1) % 99 or 5
    assert not torch.allclose(model(ids).logits[0, :8], model(changed).logits[0, :8])


def test_mlm_and_nsp_heads_and_losses(bert_config):
    model = TinyTransformer(bert_config)
    ids = torch.randint(5, 99, (4, 12))
    targets = torch.full_like(ids, -100)
    targets[:, 3] = ids[:, 3]
    out = model(ids, token_type_ids=torch.zeros_like(ids), targets=targets, nsp_labels=torch.tensor([0, 1, 0, 1]))
    assert out.picked_logits.shape == (4, 99)  # the head ran only where a target is set
    assert out.seq_relationship_logits.shape == (4, 2)
    model.eval()
    full = model(ids, token_type_ids=torch.zeros_like(ids)).logits
    assert full.shape == (4, 12, 99)
    torch.testing.assert_close(model(ids, targets=targets).picked_logits, full[:, 3])
    # an untrained model is close to a uniform guess on both tasks
    assert abs(out.token_loss.item() - math.log(99)) < 1.0
    assert abs(out.nsp_loss.item() - math.log(2)) < 0.5
    torch.testing.assert_close(out.loss, out.token_loss + out.nsp_loss)


def test_padding_does_not_change_real_tokens(bert_config):
    model = TinyTransformer(bert_config).eval()
    ids = torch.randint(5, 99, (1, 8))
    padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    mask = torch.cat([torch.ones(1, 8), torch.zeros(1, 4)], dim=1)
    torch.testing.assert_close(
        model(ids).logits, model(padded, attention_mask=mask).logits[:, :8], atol=1e-5, rtol=1e-4
    )


def test_too_long_input_is_refused_with_a_reason(gpt_config):
    with pytest.raises(ValueError, match="longer than the context"):
        TinyTransformer(gpt_config)(torch.zeros(1, 17, dtype=torch.long))


@pytest.mark.parametrize("bad", [dict(n_embd=30, n_head=4), dict(positions="alibi"), dict(causal=False, heads=("lm",))])
def test_config_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        TinyConfig(**bad)


def test_sinusoidal_table_matches_closed_form():
    table = sinusoidal_positions(50, 16, base=10000.0)
    for pos in (0, 1, 7, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_rotary_attention_score_depends_only_on_the_offset():
    cos, sin = rotary_angles(64, 8)
    q, k = torch.randn(8), torch.randn(8)

    def score(m, n):
        return (
            rotate(q[None], cos[m : m + 1], sin[m : m + 1]) @ rotate(k[None], cos[n : n + 1], sin[n : n + 1]).T
        ).item()

    assert score(10, 7) == pytest.approx(score(40, 37), abs=1e-4)
    assert score(3, 3) == pytest.approx(float(q @ k), abs=1e-4)  # offset 0: no turn at all
    assert score(10, 7) != pytest.approx(score(10, 2), abs=1e-3)


def test_rotary_model_has_no_position_table(bert_config):
    model = TinyTransformer(TinyConfig(**{**bert_config.to_dict(), "positions": "rotary"})).eval()
    assert model.position_table() is None
    ids = torch.randint(5, 99, (2, 9))
    assert model(ids).logits.shape == (2, 9, 99)


def test_positions_none_makes_a_bag_of_words(gpt_config):
    cfg = TinyConfig(**{**gpt_config.to_dict(), "positions": "none", "causal": False, "heads": ("mlm",)})
    model = TinyTransformer(cfg).eval()
    ids = torch.tensor([[5, 6, 7, 8]])
    perm = torch.tensor([[8, 6, 5, 7]])
    # with no positions and no causal mask, each token's output ignores where it stands
    a, b = model(ids).logits[0], model(perm).logits[0]
    torch.testing.assert_close(a[0], b[2], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal", "rotary"])
def test_save_load_round_trip_gives_identical_logits(tmp_path, small_text, positions, bert_config):
    tokenizer = data.train_tokenizer(small_text, "wordpiece", 300)
    cfg = TinyConfig(**{**bert_config.to_dict(), "vocab_size": len(tokenizer), "positions": positions})
    model = TinyTransformer(cfg).eval()
    folder = save_checkpoint(tmp_path / "ckpt", model, tokenizer, {"note": "test"})
    loaded, tok2, meta = load_checkpoint(folder)
    ids = torch.tensor([tokenizer("to be or not to be").input_ids])
    torch.testing.assert_close(model(ids).logits, loaded(ids).logits, atol=0, rtol=0)
    assert tok2("to be or not to be").input_ids == tokenizer("to be or not to be").input_ids
    assert meta == {"note": "test"}


def test_a_failed_save_leaves_the_previous_checkpoint(tmp_path, small_text, gpt_config, monkeypatch):
    tokenizer = data.train_tokenizer(small_text, "char")
    cfg = TinyConfig(**{**gpt_config.to_dict(), "vocab_size": len(tokenizer)})
    model = TinyTransformer(cfg).eval()
    folder = save_checkpoint(tmp_path / "ckpt", model, tokenizer)
    before = load_checkpoint(folder)[0].tok_emb.weight.clone()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(tokenizer), "save_pretrained", disk_full)
    with pytest.raises(OSError):
        save_checkpoint(folder, TinyTransformer(cfg), tokenizer)
    torch.testing.assert_close(load_checkpoint(folder)[0].tok_emb.weight, before)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary folder left behind
