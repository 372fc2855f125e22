"""Next sentence prediction: probabilities, segment ids, truncation, the label convention and the 50/50 pair
builder, on the bundled tiny BERT and a tiny random BertForPreTraining with the real BERT vocabulary."""

import pytest
import torch
from transformers import BertConfig, BertForPreTraining

from playground import registry
from playground.errors import UserError
from playground.next_sentence import IS_NEXT, NOT_NEXT, build_pairs, coin_range, next_sentence, nsp_pairs
from playground.tiny.data import split_sentences

from .hub_cache import put_in_hub_cache

PASSAGE = (
    "The man went to the store. He bought a gallon of milk. Then he walked home in the rain. "
    "His dog met him at the door! Penguins are flightless birds. They live in the south; "
    "some swim very fast. Is the sea cold there? It is very cold. The sun came out at last."
)


@pytest.fixture(scope="module")
def nsp():
    return registry.load("tiny-shakespeare-bert", "nsp")


@pytest.fixture(scope="module")
def hub_bert():
    """A random BERT whose NSP head always says index 0, loaded as a Hub id."""
    tok = registry.reference_tokenizer("bert-base-uncased")
    torch.manual_seed(0)
    model = BertForPreTraining(
        BertConfig(
            vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
        )
    )
    with torch.no_grad():
        model.cls.seq_relationship.weight.zero_()
        model.cls.seq_relationship.bias.copy_(torch.tensor([5.0, -5.0]))  # logit of index 0 far above index 1
    put_in_hub_cache("test-org/tiny-bert-isnext", tok, model)
    return registry.load("test-org/tiny-bert-isnext", "nsp")


def test_probabilities_and_segments(nsp):
    r = next_sentence(nsp.model, nsp.tokenizer, "The man went to the store.", "He bought a gallon of milk.")
    assert r.is_next + r.not_next == pytest.approx(1.0)
    assert r.tokens[0] == "[CLS]" and r.tokens[-1] == "[SEP]" and r.tokens.count("[SEP]") == 2
    first_sep = r.tokens.index("[SEP]")
    assert set(r.token_type_ids[: first_sep + 1]) == {0} and set(r.token_type_ids[first_sep + 1 :]) == {1}
    assert r.truncated == 0
    with pytest.raises(UserError, match="both sentences"):
        next_sentence(nsp.model, nsp.tokenizer, "Only A.", " ")


def test_index_0_is_isnext_on_a_constructed_head(hub_bert):
    r = next_sentence(
        hub_bert.model, hub_bert.tokenizer, "The man went to the store.", "Penguins are flightless birds."
    )
    assert r.is_next == pytest.approx(torch.sigmoid(torch.tensor(10.0)).item(), rel=1e-5)  # softmax([5, -5])[0]
    assert r.not_next < 1e-4


def test_segment_ids_with_the_real_bert_vocabulary(hub_bert):
    r = next_sentence(hub_bert.model, hub_bert.tokenizer, "The man went to the store.", "He bought milk.")
    assert r.ids[:3] == [101, 1996, 2158]  # [CLS] the man
    sep = r.ids.index(102)
    assert r.token_type_ids == [0] * (sep + 1) + [1] * (len(r.ids) - sep - 1)
    assert r.tokens[sep + 1 :] == ["he", "bought", "milk", ".", "[SEP]"]


def test_a_pair_over_the_context_is_cut_longest_first(nsp):
    long_a = "Now is the winter of our discontent made glorious summer. " * 30
    r = next_sentence(nsp.model, nsp.tokenizer, long_a, "He bought a gallon of milk.")
    assert len(r.ids) == nsp.tokenizer.model_max_length and r.truncated > 0
    b_tokens = [t for t, seg in zip(r.tokens, r.token_type_ids) if seg == 1]
    assert b_tokens == nsp.tokenizer.tokenize("He bought a gallon of milk.") + ["[SEP]"]  # B kept whole


def test_pairs_are_half_isnext_and_true_pairs_are_consecutive(nsp):
    sentences = split_sentences(PASSAGE)
    labels = []
    for seed in range(32):  # 8 pairs a seed: well within the distinct pairs of a 10-sentence passage
        result = build_pairs(nsp.tokenizer, PASSAGE, n_pairs=8, seed=seed, tokens_per_side=1)  # one sentence a side
        assert result.n_sentences == len(sentences) and len(result.pairs) == 8
        for p in result.pairs:
            labels.append(p.label)
            assert p.a == sentences[p.a_span[0]] and p.b == sentences[p.b_span[0]]
            if p.label == IS_NEXT:
                assert p.b_span[0] == p.a_span[1]  # B is the sentence right after A
            else:
                assert p.b_span[0] != p.a_span[1] and not p.a_span[0] <= p.b_span[0] < p.a_span[1]
    assert sum(label == IS_NEXT for label in labels) / len(labels) == pytest.approx(0.5, abs=0.08)


def test_no_pair_comes_twice_and_a_short_passage_gives_fewer(nsp):
    result = build_pairs(nsp.tokenizer, PASSAGE, n_pairs=64, seed=0, tokens_per_side=1)
    spans = [(p.a_span, p.b_span) for p in result.pairs]
    assert len(spans) == len(set(spans))
    assert result.n_is_next <= len(split_sentences(PASSAGE)) - 1  # only 9 true next sentences exist
    assert len(result.pairs) < result.asked == 64


def test_a_short_passage_gets_runs_that_fit_it(nsp):
    """Issue #16: 7 sentences at the default 62 tokens a side failed ('too short for runs this long')."""
    seven = (
        "The sun rose over the hills. A farmer walked to his field. He carried a heavy sack of seed. His dog ran "
        "ahead of him. The birds sang in the tall trees. By noon the work was done. He sat down to eat his bread."
    )
    for seed in range(20):
        result = build_pairs(nsp.tokenizer, seven, n_pairs=16, seed=seed, tokens_per_side=62)
        assert result.tokens_per_side < 62 and result.asked_per_side == 62
        assert result.tokens_per_side <= result.passage_tokens // 4
        assert all(p.label == NOT_NEXT or p.b_span[0] == p.a_span[1] for p in result.pairs)


def test_coin_range_holds_95_percent_of_binomial_outcomes():
    assert coin_range(16) == (4, 12)  # P(X <= 3) = 1.1%, P(X <= 4) = 3.8%
    assert coin_range(64) == (24, 40)
    assert coin_range(1) == (0, 1)


def test_runs_of_sentences_fit_the_budget(nsp):
    for p in build_pairs(nsp.tokenizer, PASSAGE, n_pairs=16, seed=0, tokens_per_side=20).pairs:
        assert p.a_span[1] - p.a_span[0] >= 1
        if p.a_span[1] - p.a_span[0] > 1:
            assert len(nsp.tokenizer.tokenize(p.a)) <= 20


def test_the_model_judges_every_pair(nsp):
    r = nsp_pairs(nsp.model, nsp.tokenizer, PASSAGE, n_pairs=6, seed=3)
    assert len(r.pairs) == 6 and all(0 <= p.is_next <= 1 for p in r.pairs)
    assert r.accuracy == sum(p.verdict == p.label for p in r.pairs) / 6
    assert {p.verdict for p in r.pairs} <= {IS_NEXT, NOT_NEXT}
    same = nsp_pairs(nsp.model, nsp.tokenizer, PASSAGE, n_pairs=6, seed=3)
    assert [(p.a, p.b, p.label) for p in same.pairs] == [(p.a, p.b, p.label) for p in r.pairs]  # seeded


@pytest.mark.slow
def test_the_bundled_model_beats_a_coin_on_held_out_shakespeare(nsp):
    runs = [nsp_pairs(nsp.model, nsp.tokenizer, "", n_pairs=64, seed=seed) for seed in range(4)]  # held-out text
    assert runs[0].n_sentences > 1000
    assert sum(r.accuracy for r in runs) / len(runs) > 0.6  # its card says 70.7% on validation pairs


@pytest.mark.parametrize("text", ["no sentence boundaries here at all", "One. Two. Three.", ""])
def test_text_without_enough_sentences_is_explained(nsp, text):
    with pytest.raises(UserError, match="at least 4 sentences"):
        build_pairs(nsp.tokenizer, text)


@pytest.mark.slow
def test_the_pair_builder_endpoint(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    summary, table, note = client.predict(PASSAGE, 8, 1, 0, "tiny-shakespeare-bert", api_name="/nsp_pairs")
    assert summary.startswith("Seed 0: **8 pairs** from your passage") and len(table["data"]) == 8
    assert {row[3] for row in table["data"]} <= {"IsNext", "NotNext"}
    summary, table, note = client.predict("no boundaries here", 8, 1, 0, "tiny-shakespeare-bert", api_name="/nsp_pairs")
    assert "at least 4 sentences" in summary and not table["data"]  # said in the page, the old pairs cleared
