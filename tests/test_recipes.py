"""The modern recipe's ingredients, each tested for the property it claims, and the recipe as a whole."""

import pytest
import torch

from playground.errors import UserError
from playground.tiny import data, recipes
from playground.tiny.checkpoint import save_checkpoint
from playground.tiny.config import TrainConfig
from playground.tiny.model import Block, TinyConfig, TinyTransformer
from playground.tiny.train import Trainer

from .narrow import of_type, present

SMALL = dict(n_layer=2, n_head=2, n_embd=32, context_length=32, batch_size=8, log_every=5, eval_every=10)


def modern_model(**changes) -> TinyTransformer:
    torch.manual_seed(0)
    fields = {k: v for k, v in recipes.RECIPES["modern"].items() if k in TinyConfig.__dataclass_fields__}
    return TinyTransformer(
        TinyConfig(vocab_size=50, context_length=16, n_layer=2, n_head=2, n_embd=32, **fields | changes)
    )


def test_rmsnorm_matches_its_formula():
    model = modern_model()
    norm = of_type(of_type(model.blocks[0], Block).ln_1, torch.nn.RMSNorm)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
    x = torch.randn(3, 5, 32)
    expected = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * norm.weight
    torch.testing.assert_close(norm(x), expected)
    assert not any("bias" in n for n, _ in norm.named_parameters())  # scale only


def test_qk_norm_gives_queries_and_keys_of_unit_rms():
    attn = of_type(modern_model().blocks[0], Block).attn
    seen: dict[str, torch.Tensor] = {}
    present(attn.q_norm).register_forward_hook(lambda m, i, o: seen.__setitem__("q", o))
    present(attn.k_norm).register_forward_hook(lambda m, i, o: seen.__setitem__("k", o))
    attn(torch.randn(2, 7, 32) * 50)  # however large the stream, q and k come out the same size
    for t in (seen["q"], seen["k"]):  # (B, H, T, C/H)
        torch.testing.assert_close(t.pow(2).mean(-1).sqrt(), torch.ones(t.shape[:-1]), atol=1e-3, rtol=1e-3)


def test_relu_squared_and_the_soft_capped_untied_head():
    model = modern_model()
    mlp = of_type(model.blocks[0], Block).mlp
    x = torch.randn(4, 32)
    torch.testing.assert_close(mlp(x), mlp.proj(torch.relu(mlp.fc(x)) ** 2))
    assert model.lm_head is not None and model.lm_head.weight.data_ptr() != model.tok_emb.weight.data_ptr()
    h = torch.randn(2, 3, 32) * 100
    logits = model.unembed(h)
    assert logits.abs().max() < 15.0  # squashed into (-cap, cap)
    torch.testing.assert_close(logits, 15.0 * torch.tanh(model.lm_head(h) / 15.0))


def test_muons_update_is_orthogonalised():
    """One Muon step moves a matrix by (a scaled) near-orthogonal matrix: its singular values bunch near 1,
    whatever the spread of the gradient's."""
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(64, 32))
    before = w.detach().clone()
    u, _, v = torch.linalg.svd(torch.randn(64, 32), full_matrices=False)
    grad = u @ torch.diag(torch.logspace(0, -1.5, 32)) @ v  # directions 30x apart in size
    w.grad = grad
    muon = torch.optim.Muon([w], lr=0.1, weight_decay=0.0, momentum=0.0, nesterov=False)
    muon.step()
    update = (before - w.detach()) / 0.1  # the orthogonalised direction (Keller's scale: sqrt(max(1, 64/32)))
    s = torch.linalg.svdvals(update / (64 / 32) ** 0.5)
    g = torch.linalg.svdvals(grad)
    assert g.max() / g.min() > 30  # the gradient: very unequal directions
    assert s.min() > 0.5 and s.max() < 1.5 and s.max() / s.min() < 2.5  # the update: all about the same size


def test_muon_takes_the_hidden_matrices_and_adamw_the_rest():
    model = modern_model()
    muon, adamw = recipes.optimizers(model, recipes.train_config("modern"), fused=False)
    muon_params = {id(p) for g in muon.param_groups for p in g["params"]}
    names = {n for n, p in model.named_parameters() if id(p) in muon_params}
    assert names and all(n.startswith("blocks.") and model.get_parameter(n).dim() == 2 for n in names)
    assert "tok_emb.weight" not in names and "lm_head.weight" not in names
    total = sum(len(g["params"]) for o in (muon, adamw) for g in o.param_groups)
    assert total == len(list(model.parameters()))  # every parameter trained, once


def test_the_trapezoid_holds_then_cools_down_to_zero():
    cfg = recipes.train_config("modern", steps=100, warmup_steps=10, lr=0.01)
    lrs = [recipes.lr_at(s, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(0.001) and lrs[9] == pytest.approx(0.01)
    assert lrs[20] == lrs[59] == pytest.approx(0.01)  # flat until the last 40%
    assert lrs[80] == pytest.approx(0.005) and lrs[99] == pytest.approx(0.01 / 40)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))


def test_a_recipe_is_a_preset_the_learners_flags_override():
    cfg = recipes.train_config("modern", lr=1e-3, qk_norm=False)
    assert cfg.optimizer == "muon" and cfg.positions == "rotary" and cfg.lr == 1e-3 and not cfg.qk_norm
    assert recipes.train_config("classic") == TrainConfig(**recipes.RECIPES["classic"])
    with pytest.raises(UserError, match="recipe"):
        recipes.train_config("fancy")
    assert set(recipes.WHY) <= set(TrainConfig.__dataclass_fields__)  # every ingredient is a setting


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["clm", "mlm"])
def test_the_modern_recipe_learns_and_resumes_exactly(tmp_path, objective):
    text = data.load_corpus("tinyshakespeare")[:100_000]
    cfg = recipes.train_config("modern", objective=objective, steps=20, warmup_steps=3, **SMALL)
    straight = Trainer(cfg, text)
    list(straight.advance())
    losses = [present(e.train_loss) for e in straight.history]
    assert losses[-1] < losses[0] - 0.3
    first = Trainer(cfg, text)
    list(first.advance(max_steps=10))
    save_checkpoint(tmp_path / "run", first.model, first.tokenizer, {}, training=first.state())
    resumed = Trainer.resume(tmp_path / "run", text)
    list(resumed.advance())
    assert [e.train_loss for e in resumed.history] == losses  # Muon's momentum carried over too
