"""Every core function against hostile input: the named catalogue (tests/fuzz_catalogue.py) and
hypothesis-generated text and numbers. The contract: a sensible result, or a UserError, the type whose
sentence the page shows. Any other exception (a plain ValueError included) is a bug: the page would show
only a generic sentence with an error id."""

import math
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import fill_mask, hub, masking, next_sentence, positional, registry
from playground import tokenization as tk
from playground import tokenizer_training as tt
from playground.errors import UserError
from playground.tiny.data import split_sentences

from .fuzz_catalogue import NUMBERS, TEXTS

# every catalogue entry, the megabyte marked slow (make test-fast skips it; make test runs it)
CATALOGUE = [pytest.param(name, marks=pytest.mark.slow) if name == "1 MB" else name for name in TEXTS]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# text as people and scripts send it: any code point but surrogates (which UTF-8 cannot carry)
SURROGATES: tuple[Literal["Cs"]] = ("Cs",)  # (typed: the category is a Literal, which a bare tuple does not infer)
ANY_TEXT = st.text(st.characters(blacklist_categories=SURROGATES), max_size=300)


def ok_or_explained(fn, *args):
    """fn's result, or None when it raised a UserError (the type says the message is meant for the page)."""
    try:
        return fn(*args)
    except UserError as err:
        assert str(err).strip(), "a UserError must carry its sentence"
        return None


# ---------------------------------------------------------------- tokenizers


@pytest.fixture(scope="module", params=["gpt2", "bert-base-uncased"])
def reference(request):
    return registry.reference_tokenizer(request.param)


@pytest.mark.parametrize("name", CATALOGUE)
def test_tokenize_and_round_trip_take_anything_in_the_catalogue(reference, name):
    text = TEXTS[name]
    tokens = tk.tokenize(reference, text)
    assert len(tokens.ids) == len(tokens.tokens)
    trip = tk.round_trip(reference, text, tokens.ids)
    if tk.is_byte_level(reference):  # byte-level BPE loses nothing, whatever the script
        assert trip.exact, name


@FUZZ
@given(text=ANY_TEXT)
def test_byte_level_bpe_round_trips_any_text(text):
    gpt2 = registry.reference_tokenizer("gpt2")
    assert tk.round_trip(gpt2, text).decoded == text


@FUZZ
@given(text=ANY_TEXT)
def test_wordpiece_never_fails_and_labels_every_token(text):
    bert = registry.reference_tokenizer("bert-base-uncased")
    tokens = tk.tokenize(bert, text)
    assert len(tokens.labels) == min(len(tokens.ids), tk.MAX_SHOWN)


def test_text_over_the_limit_is_refused_with_the_limit_named(reference):
    with pytest.raises(UserError, match="Paste a shorter excerpt"):
        tk.tokenize(reference, "a" * (tk.MAX_TEXT_CHARS + 1))


@pytest.mark.parametrize("name", ["empty", "whitespace only"])
def test_training_a_tokenizer_on_nothing_is_explained(name):
    with pytest.raises(UserError, match="no text to train on"):
        tt.learn_tokenizer(TEXTS[name], "bpe", 500)


@pytest.mark.parametrize(
    "name", ["emoji", "right-to-left", "combining marks", "zero-width", "control characters", "NUL"]
)
@pytest.mark.parametrize("kind", ["bpe", "wordpiece"])
def test_tokenizers_train_on_odd_unicode(name, kind):
    trained = tt.learn_tokenizer(TEXTS[name] * 20, kind, 300)
    assert trained.tokenizer(TEXTS[name]).input_ids


@pytest.mark.parametrize("value", NUMBERS.values(), ids=NUMBERS.keys())
def test_odd_vocabulary_sizes_get_a_sentence(value):
    if value == 0.5 or value <= 0 or not math.isfinite(value) or value > 16_000:
        with pytest.raises(UserError, match="Vocabulary size must be between"):
            tt.check_vocab_size(value)


# ---------------------------------------------------------------- positional encodings


@pytest.mark.parametrize("value", NUMBERS.values(), ids=NUMBERS.keys())
def test_positional_views_explain_odd_numbers(value):
    for fn, args in [
        (positional.sinusoidal, (value, 16)),
        (positional.sinusoidal, (16, value)),
        (positional.sinusoidal, (16, 16, value)),
        (positional.rope_similarity, (value, 16)),
        (positional.rope_trajectory, (16, 16, value)),
    ]:
        result = ok_or_explained(fn, *args)
        if result is not None:
            assert math.isfinite(float(result.sum())), (fn.__name__, args)


@pytest.mark.parametrize("name", CATALOGUE)
def test_word_order_demo_takes_anything_in_the_catalogue(name):
    loaded = registry.load("tiny-shakespeare-bert", "masked")
    result = ok_or_explained(positional.order_demo, loaded.model, loaded.tokenizer, TEXTS[name], "the cat sat")
    if result is None:
        assert not TEXTS[name].strip()
    else:
        assert math.isfinite(result.distance_with_positions)


# ---------------------------------------------------------------- model ids


@FUZZ
@given(model_id=ANY_TEXT)
def test_any_typed_model_id_is_either_a_hub_id_or_refused_with_a_sentence(model_id):
    checked = ok_or_explained(hub.validate_hub_id, model_id)
    if checked is not None:
        assert "/" not in checked.strip("/").replace("/", "", 1)  # at most owner/name
        assert not any(bad in checked for bad in ("..", "://", "\\", "~", " "))


# ---------------------------------------------------------------- fill mask, masking, next sentence


@pytest.fixture(scope="module")
def bert():
    return registry.load("tiny-shakespeare-bert", "nsp")


@pytest.mark.parametrize("name", CATALOGUE)
def test_fill_mask_takes_anything_in_the_catalogue(bert, name):
    text = TEXTS[name]
    result = ok_or_explained(fill_mask.fill_mask, bert.model, bert.tokenizer, text, 5)
    if result is None:  # explained: nothing to fill (no mask, empty) or too many masks
        assert "[MASK]" not in text or text.count("[MASK]") > 20 or name == "1 MB"
    else:
        for mask in result.masks:
            assert sum(c.prob for c in mask.candidates) <= 1 + 1e-5


@pytest.mark.parametrize("name", CATALOGUE)
def test_fill_mask_with_the_mask_appended_always_answers(bert, name):
    text = TEXTS[name][:300] + " [MASK]"  # within the context (a mask cut off by it is explained instead)
    if text.count("[MASK]") <= 20:
        result = fill_mask.fill_mask(bert.model, bert.tokenizer, text, 3)
        assert result.masks


@pytest.mark.parametrize("name", CATALOGUE)
def test_masking_simulator_takes_anything_in_the_catalogue(bert, name):
    text = TEXTS[name]
    ids = bert.tokenizer(text, add_special_tokens=False)["input_ids"]
    ordinary = [i for i in ids if i not in bert.tokenizer.all_special_ids]  # [UNK] and [MASK] are special
    sim = ok_or_explained(masking.simulate, bert.model, bert.tokenizer, text, masking.Recipe(), 0)
    # explained exactly when there is nothing to pick: empty text, or only [UNK]/[MASK] (e.g. Arabic for this vocab)
    assert (sim is None) == (not ordinary), (name, sim)
    if sim is not None:
        assert len(sim.tokens) >= 1


@pytest.mark.parametrize("value", NUMBERS.values(), ids=NUMBERS.keys())
def test_masking_rates_outside_0_to_100_percent_are_explained(value):
    for field in ("p", "mask", "random"):
        recipe = ok_or_explained(lambda field=field: masking.Recipe(**{field: value}))
        if recipe is not None:
            assert 0 <= value <= 1


@pytest.mark.parametrize("name", CATALOGUE)
def test_next_sentence_takes_anything_in_the_catalogue(bert, name):
    result = ok_or_explained(
        next_sentence.next_sentence, bert.model, bert.tokenizer, TEXTS[name], "And then it rained."
    )
    if result is None:
        assert not TEXTS[name].strip()
    else:
        assert result.is_next + result.not_next == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("name", ["no sentence boundary", "one character", "emoji", "50 masks"])
def test_the_pair_builder_explains_text_without_enough_sentences(bert, name):
    with pytest.raises(UserError, match=r"Found [0-3] sentences?: paste a passage of at least 4 sentences"):
        next_sentence.nsp_pairs(bert.model, bert.tokenizer, TEXTS[name], 8, 0)


@pytest.mark.parametrize("name", ["empty", "whitespace only"])
def test_the_pair_builder_uses_held_out_shakespeare_for_an_empty_box(bert, name):
    # documented: an empty box means "use Shakespeare", not an error
    result = next_sentence.nsp_pairs(bert.model, bert.tokenizer, TEXTS[name], 8, 0)
    sentences = split_sentences(next_sentence.held_out_shakespeare())
    assert result.n_sentences == len(sentences) and len(result.pairs) == 8
    for pair in result.pairs:
        assert pair.a == " ".join(sentences[slice(*pair.a_span)])


@FUZZ
@given(text=ANY_TEXT)
def test_fill_mask_and_nsp_never_fail_on_generated_text(text):
    loaded = registry.load("tiny-shakespeare-bert", "nsp")
    ok_or_explained(fill_mask.fill_mask, loaded.model, loaded.tokenizer, text + " [MASK]", 3)
    ok_or_explained(next_sentence.next_sentence, loaded.model, loaded.tokenizer, text, text)
