"""Inside the model: attention weights equal the models' own, rows are distributions, masks hold, the logit
lens ends on the real output, and the head detectors find a head built to follow a pattern.

Random-weight GPT-2, BERT and Llama models are built from the real tokenizer files (no Hub); the tiny models
are the bundled checkpoints."""

import copy

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForPreTraining, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from playground import attention as at
from playground import registry
from playground.errors import UserError
from playground.tiny.model import Block, TinyConfig, TinyTransformer

from .narrow import of_type

LONG = "Bob, who lives in New York and works as a software engineer, loves exploring new restaurants in the city."


@pytest.fixture(scope="module")
def gpt2():
    torch.manual_seed(0)
    tok = registry.reference_tokenizer("gpt2")
    config = GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=4)
    return GPT2LMHeadModel(config).eval(), tok


@pytest.fixture(scope="module")
def bert():
    torch.manual_seed(0)
    tok = registry.reference_tokenizer("bert-base-uncased")
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    return BertForPreTraining(config).eval(), tok


@pytest.fixture(scope="module")
def llama():
    torch.manual_seed(0)
    tok = registry.reference_tokenizer("gpt2")  # any real tokenizer: the model's weights are random anyway
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=False,
    )
    return LlamaForCausalLM(config).eval(), tok


@pytest.fixture(scope="module")
def tiny_gpt():
    loaded = registry.load("tiny-shakespeare-gpt", "causal")
    return loaded.model, loaded.tokenizer


@pytest.fixture(scope="module")
def tiny_bert():
    loaded = registry.load("tiny-shakespeare-bert", "masked")
    return loaded.model, loaded.tokenizer


def _own_attentions(model, tok, *texts):
    """The model's own output_attentions, from a copy built with eager attention: the reference."""
    eager = copy.deepcopy(model)
    eager.set_attn_implementation("eager")
    enc = tok(*texts, return_tensors="pt")
    with torch.no_grad():
        out = eager(**enc, output_attentions=True)
    return torch.stack([a[0] for a in out.attentions]).numpy()


@pytest.mark.parametrize("name", ["gpt2", "bert", "llama", "tiny_gpt", "tiny_bert"])
def test_every_row_is_a_distribution_and_a_decoder_never_looks_ahead(request, name):
    model, tok = request.getfixturevalue(name)
    att = at.extract(model, tok, LONG)
    assert att.weights.shape[2:] == (len(att.tokens), len(att.tokens)) == (len(att.ids),) * 2
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)
    future = np.triu(np.ones_like(att.weights[0, 0], dtype=bool), 1)
    if att.causal:
        assert (att.weights[..., future] == 0).all()  # exactly 0, not just small
    else:
        assert (att.weights[..., future] > 0).any()  # an encoder looks both ways
    assert att.causal == (name in ("gpt2", "llama", "tiny_gpt"))


@pytest.mark.parametrize("name", ["gpt2", "bert"])
def test_the_extracted_weights_equal_the_models_own_output_attentions(request, name):
    model, tok = request.getfixturevalue(name)
    before = model.config._attn_implementation
    att = at.extract(model, tok, LONG)
    np.testing.assert_allclose(att.weights, _own_attentions(model, tok, LONG), atol=1e-6)
    assert model.config._attn_implementation == before  # the normal path keeps its implementation


def test_a_pair_has_its_segments_and_its_cls_and_seps_are_special(bert):
    model, tok = bert
    att = at.extract(model, tok, "The cat sat on the mat.", "It was warm there.")
    np.testing.assert_allclose(
        att.weights, _own_attentions(model, tok, "The cat sat on the mat.", "It was warm there."), atol=1e-6
    )
    assert att.tokens[0] == "[CLS]" and att.tokens.count("[SEP]") == 2
    assert att.segments[0] == 0 and att.segments[-1] == 1 and set(att.segments) == {0, 1}
    assert [t for t, s in zip(att.tokens, att.special) if s] == ["[CLS]", "[SEP]", "[SEP]"]


def test_padding_gets_no_weight(tiny_bert):
    model, tok = tiny_bert
    enc = tok(["To be or not to be", "To be"], padding=True, return_tensors="pt")
    out = at.forward_inside(model, tok, dict(enc))
    pads = enc["attention_mask"][1] == 0
    assert pads.any()
    for layer in out.attentions:
        assert (layer[1][..., pads] == 0).all()


@pytest.mark.parametrize("name", ["tiny_gpt", "tiny_bert"])
def test_the_tiny_models_explicit_attention_gives_the_sdpa_output(request, name):
    model, tok = request.getfixturevalue(name)
    enc = tok(LONG, return_tensors="pt")
    with torch.no_grad():
        fast = model(**enc)
        explicit = model(**enc, output_attentions=True, output_hidden_states=True)
    torch.testing.assert_close(explicit.logits, fast.logits, atol=1e-4, rtol=1e-4)
    assert fast.attentions is None and len(explicit.attentions) == model.config.n_layer
    assert len(explicit.hidden_states) == model.config.n_layer + 1


def test_a_long_input_is_capped_and_says_so(gpt2):
    model, tok = gpt2
    att = at.extract(model, tok, " ".join(["word"] * 80), max_tokens=50)
    assert len(att.tokens) == 50 and att.truncated == 30
    with pytest.raises(UserError, match="Write a sentence"):
        at.extract(model, tok, "   ")


def test_views_rank_what_they_claim(gpt2):
    model, tok = gpt2
    att = at.extract(model, tok, LONG)
    looks = at.looks(att, 1, 0, query=len(att.tokens) - 1, k=5)
    assert [x.weight for x in looks] == sorted((x.weight for x in looks), reverse=True)
    assert looks[0].weight == pytest.approx(at.matrix(att, 1, 0)[-1].max())
    mean = at.matrix(att, 1, None)
    np.testing.assert_allclose(mean, att.weights[1].mean(0))
    links = at.long_range(att, 1, None, k=5)
    assert [x.score for x in links] == sorted((x.score for x in links), reverse=True)
    assert all(x.weight == pytest.approx(mean[x.query, x.key]) for x in links)
    sinks = at.sink_share(att)
    assert sinks.shape == (att.layers, att.heads) and ((sinks >= 0) & (sinks <= 1 + 1e-6)).all()


def _look_back_model(tok) -> TinyTransformer:
    """A 2-layer tiny model whose layer 1, head 1 is wired to attend to the previous token: the token
    embeddings are zero, so the stream is the position table (one-hot positions), and that head's keys are the
    positions shifted by one, so q_i · k_j peaks at j = i - 1 (scaled so that its softmax is nearly one-hot)."""
    torch.manual_seed(0)
    T, C, H = 16, 64, 2
    model = TinyTransformer(TinyConfig(vocab_size=len(tok), context_length=T, n_layer=2, n_head=H, n_embd=C))
    d = C // H
    with torch.no_grad():
        model.tok_emb.weight.zero_()
        model.pos_emb.weight.copy_(torch.eye(T, C))
        blocks = [of_type(b, Block) for b in model.blocks]
        for block in blocks:  # the residual stream stays the positions: no branch writes to it
            block.attn.proj.weight.zero_()
            block.attn.proj.bias.zero_()
            block.mlp.proj.weight.zero_()
            block.mlp.proj.bias.zero_()
        qkv = of_type(model.blocks[1], Block).attn.qkv
        q_rows, k_rows = slice(d, 2 * d), slice(C + d, C + 2 * d)  # head 1's query and key rows
        qkv.weight[q_rows] = 0
        qkv.weight[k_rows] = 0
        qkv.bias.zero_()
        for i in range(T - 1):
            qkv.weight[d + i, i] = 30.0  # query of position i: direction i
            qkv.weight[C + d + i, i - 1 if i else T - 1] = 30.0  # key of position j points at direction j + 1
    return model.eval()


def test_the_previous_token_detector_finds_a_head_built_to_look_back(gpt2):
    tok = gpt2[1]
    att = at.extract(_look_back_model(tok), tok, "one two three four five six seven eight nine ten eleven")
    best = at.pattern_scores(att, "previous token")[0]
    assert (best.layer, best.head) == (1, 1) and best.score > 0.9
    runner_up = at.pattern_scores(att, "previous token")[1]
    assert runner_up.score < 0.7
    word = 2
    to_word = at.pattern_scores(att, "a chosen word", word)
    assert len(to_word) == att.layers * att.heads
    with pytest.raises(UserError, match="Choose a word between 0 and"):
        at.pattern_scores(att, "a chosen word", 10_000)


def test_the_same_token_detector_needs_a_repeat(gpt2):
    model, tok = gpt2
    with pytest.raises(UserError, match="repeats"):
        at.pattern_scores(at.extract(model, tok, "one two three"), "same token")
    scores = at.pattern_scores(at.extract(model, tok, "the cat and the dog and the bird"), "same token")
    assert 0 < scores[0].score <= 1


@pytest.mark.parametrize("name", ["gpt2", "llama", "tiny_gpt"])
def test_the_logit_lens_ends_on_the_models_real_distribution(request, name):
    model, tok = request.getfixturevalue(name)
    lens = at.logit_lens(model, tok, "The quick brown fox jumps over the lazy", k=5)
    assert len(lens.layers) == model.config.num_hidden_layers + 1 if name != "tiny_gpt" else model.config.n_layer + 1
    with torch.no_grad():
        real = torch.softmax(
            model(**tok("The quick brown fox jumps over the lazy", return_tensors="pt")).logits[0, -1].float(), -1
        )
    top = torch.topk(real, 5)
    last = lens.layers[-1]
    assert [p for _, p in last.top] == pytest.approx(top.values.tolist(), abs=1e-5)
    assert last.final_rank == 1 and last.final_prob == pytest.approx(float(top.values[0]), abs=1e-5)
    assert all(layer.final_rank >= 1 for layer in lens.layers)


def test_the_logit_lens_is_for_decoders(bert):
    model, tok = bert
    with pytest.raises(UserError, match="causal"):
        at.logit_lens(model, tok, "The cat sat")


def test_the_masks_of_a_decoder_and_an_encoder():
    m = at.masks(["a", "b", "c"])
    assert m.causal.tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert m.bidirectional.all()


def test_the_eager_twin_shares_the_weights_and_the_model_keeps_sdpa(gpt2):
    model, tok = gpt2
    twin = at.explicit(model)
    assert twin is not model and twin is at.explicit(model)  # made once
    assert all(a is b for a, b in zip(twin.parameters(), model.parameters()))  # nothing copied
    assert model.config._attn_implementation != "eager" and twin.config._attn_implementation == "eager"


def test_a_long_pair_is_cut_side_by_side_and_counted(bert):
    """Two pasted books: each side is cut to what could be kept before the pair is built (the tokenizer's
    own pair truncation grows with the square of the length)."""
    model, tok = bert
    att = at.extract(model, tok, "word " * 5000, "other " * 5000, max_tokens=64)
    assert len(att.tokens) == 64 and att.truncated == 5000 + 5000 + 3 - 64
    assert att.tokens.count("[SEP]") == 2 and set(att.segments) == {0, 1}
