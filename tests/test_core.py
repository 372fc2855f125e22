"""The core functions behind the tabs, on the bundled checkpoints and the vendored real tokenizers."""

import pytest

from playground import registry
from playground.fill_mask import fill_mask, to_model_mask
from playground.next_sentence import next_sentence


@pytest.fixture(scope="module")
def gpt():
    return registry.load("tiny-shakespeare-gpt", "causal")


@pytest.fixture(scope="module")
def bert():
    return registry.load("tiny-shakespeare-bert", "masked")


def test_registry_loads_once_and_checks_the_task(gpt):
    assert registry.load("tiny-shakespeare-gpt", "causal") is gpt
    assert registry.choices("causal")[0] == "tiny-shakespeare-gpt"
    with pytest.raises(ValueError, match="cannot do next sentence prediction"):
        registry.load("tiny-shakespeare-gpt", "nsp")


def test_fill_mask_predicts_every_mask(bert):
    r = fill_mask(bert.model, bert.tokenizer, "[MASK] lord, to be or not to [mask].", top_k=4)
    assert len(r.masks) == 2 and all(len(m.candidates) == 4 for m in r.masks)
    for m in r.masks:
        assert r.tokens[m.position] == "[MASK]"
        assert 0 < sum(c.prob for c in m.candidates) <= 1 + 1e-6
    assert "[MASK]" not in r.filled


def test_fill_mask_explains_a_missing_mask(bert):
    with pytest.raises(ValueError, match=r"Put \[MASK\]"):
        fill_mask(bert.model, bert.tokenizer, "no blank here")


def test_mask_spelling_is_translated_to_the_models_own():
    class RobertaLike:
        mask_token = "<mask>"

    assert to_model_mask("a [MASK] b [mask]", RobertaLike()) == "a <mask> b <mask>"


def test_next_sentence_probabilities_and_segments():
    nsp = registry.load("tiny-shakespeare-bert", "nsp")
    r = next_sentence(nsp.model, nsp.tokenizer, "The man went to the store.", "He bought a gallon of milk.")
    assert r.is_next + r.not_next == pytest.approx(1.0)
    assert r.tokens[0] == "[CLS]" and r.tokens[-1] == "[SEP]" and r.tokens.count("[SEP]") == 2
    first_sep = r.tokens.index("[SEP]")
    assert set(r.token_type_ids[: first_sep + 1]) == {0} and set(r.token_type_ids[first_sep + 1 :]) == {1}
    with pytest.raises(ValueError, match="both sentences"):
        next_sentence(nsp.model, nsp.tokenizer, "Only A.", " ")
