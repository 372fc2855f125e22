"""Positional encodings against their closed forms, and the word-order demo's numbers."""

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

from playground import positional, registry
from playground.errors import UserError
from playground.tiny.model import TinyTransformer

from .narrow import of_type, present


def test_sinusoidal_encoding_closed_form():
    pe = positional.sinusoidal(32, 8, 10000)
    pos, i = np.meshgrid(np.arange(32), np.arange(4), indexing="ij")
    np.testing.assert_allclose(pe[:, 0::2], np.sin(pos / 10000 ** (2 * i / 8)), atol=1e-6)
    np.testing.assert_allclose(pe[:, 1::2], np.cos(pos / 10000 ** (2 * i / 8)), atol=1e-6)
    assert positional.wavelengths(8, 10000)[0] == pytest.approx(2 * np.pi)


@pytest.mark.parametrize("bad", [(0, 8, 10000), (8, 1, 10000), (8, 8, 1.0)])
def test_sinusoidal_refuses_nonsense(bad):
    with pytest.raises(UserError, match="Use 1 to 8192 positions, 2 to 4096 dimensions and a base above 1"):
        positional.sinusoidal(*bad)


def test_rope_score_depends_only_on_offset():
    rng = np.random.default_rng(0)
    scores = positional.rope_scores(rng.standard_normal(16), rng.standard_normal(16), 40)
    for offset in (-5, 0, 3, 17):
        diagonal = np.diagonal(scores, offset)
        np.testing.assert_allclose(diagonal, diagonal[0], atol=1e-4)
    assert not np.allclose(np.diagonal(scores, 0)[0], np.diagonal(scores, 3)[0])


def test_rope_trajectory_is_a_circle_turning_at_the_pairs_frequency():
    trail = positional.rope_trajectory(10, 8, pair=1, base=10000)
    np.testing.assert_allclose(np.linalg.norm(trail, axis=1), 1.0, atol=1e-6)
    theta = 10000 ** (-2 / 8)
    np.testing.assert_allclose(trail[3], [np.cos(3 * theta), np.sin(3 * theta)], atol=1e-6)
    with pytest.raises(UserError, match="pair between 0 and 3"):
        positional.rope_trajectory(10, 8, pair=4)


def test_sinusoidal_and_rotary_similarity_are_the_same_curve():
    sin_curve = positional.similarity_by_offset(positional.cosine_similarity(positional.sinusoidal(64, 32)))
    rope_curve = positional.similarity_by_offset(positional.rope_similarity(64, 32))
    np.testing.assert_allclose(sin_curve, rope_curve, atol=1e-5)
    assert sin_curve[0] == pytest.approx(1.0)


def test_learned_tables_are_read_from_real_architectures():
    gpt2 = GPT2LMHeadModel(GPT2Config(n_positions=20, n_embd=16, n_layer=1, n_head=2, vocab_size=99))
    bert = BertModel(
        BertConfig(
            max_position_embeddings=24,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            vocab_size=99,
        )
    )
    assert present(positional.learned_table(gpt2)).shape == (20, 16)
    assert present(positional.learned_table(bert)).shape == (24, 16)
    np.testing.assert_array_equal(positional.learned_table(gpt2), gpt2.transformer.wpe.weight.detach().numpy())


def test_bundled_gpt_table_and_its_pca():
    table = present(positional.learned_table(registry.load("tiny-shakespeare-gpt", "causal").model))
    assert table.shape == (128, 192)
    p = positional.pca(table, 3)
    assert p.coords.shape == (128, 3)
    assert 0 < p.explained.sum() <= 1 and list(p.explained) == sorted(p.explained, reverse=True)
    assert positional.learned_table(registry.load("tiny-shakespeare-bert", "masked").model) is None  # rotary


def test_without_positions_a_shuffled_sentence_is_the_same_input():
    bert = registry.load("tiny-shakespeare-bert", "masked")
    r = positional.order_demo(
        of_type(bert.model, TinyTransformer), bert.tokenizer, "The cat sat on the mat", "On the mat sat the cat"
    )
    assert r.same_bag
    assert r.bag_distance < 1e-4
    assert r.distance_without_positions < 1e-3 * r.norm  # identical up to float rounding
    assert r.distance_with_positions > 0.05 * r.norm  # positions make the two orders differ


def test_order_demo_needs_a_bidirectional_model():
    gpt = registry.load("tiny-shakespeare-gpt", "causal")
    with pytest.raises(UserError, match="causal mask already leaks word order"):
        positional.order_demo(of_type(gpt.model, TinyTransformer), gpt.tokenizer, "a b", "b a")


def test_switching_positions_off_keeps_every_other_weight():
    bert = of_type(registry.load("tiny-shakespeare-bert", "masked").model, TinyTransformer)
    twin = positional.without_positions(bert)
    assert twin.config.positions == "none"
    torch.testing.assert_close(twin.tok_emb.weight, bert.tok_emb.weight)


def test_waves_beyond_the_width_are_left_out_with_a_note():
    from playground.ui import positional as tab

    heat, waves, note = tab.sinusoid_views(64, 64, 10000, "0, 1, 10, 40, 100")
    assert [t.name.split(" (")[0] for t in waves.data] == ["dim 0", "dim 1", "dim 10", "dim 40"]
    assert "64 dimensions" in heat.layout.title.text and "dimension 100" in note
    with pytest.raises(Exception, match="dimension 500 does not exist"):  # nothing left to draw
        tab.sinusoid_views(64, 64, 10000, "500")


def test_the_rope_pair_keeps_within_the_head_and_the_circle_is_whole():
    from playground.ui import positional as tab

    circle, _, _, pair = tab.rope_views(16, 31, 10000, 48, 0)
    assert pair.maximum == 7 and pair.value == 7 and "Pair 7" in circle.layout.title.text
    points = circle.data[1]
    np.testing.assert_allclose(np.hypot(points.x, points.y), 1.0, atol=1e-6)  # on the unit circle
    assert list(points.text[:3]) == ["0", "1", "2"]  # numbered in order
    assert circle.layout.xaxis.range == (-1.3, 1.3) and circle.layout.yaxis.scaleanchor == "x"


def test_a_draw_leaves_a_pair_inside_the_head_to_the_learner():
    """Only a pair that had to move is written back: a slow draw from older values finishing after the
    learner's newest pair must not put the old one back (the race CI's browser test caught)."""
    from playground.ui import positional as tab

    kept = tab.rope_views(64, 5, 10000, 48, 0)[3]
    assert kept.constructor_args == {"maximum": 31}  # an update that leaves the slider's value alone
    moved = tab.rope_views(16, 31, 10000, 48, 0)[3]
    assert moved.constructor_args == {"maximum": 7, "value": 7}
