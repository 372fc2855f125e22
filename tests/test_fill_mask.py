"""Fill Mask: predictions, candidate scores and BERT's masking recipe, on the bundled tiny BERT and a tiny
random RoBERTa (real GPT-2 byte-level vocabulary plus RoBERTa's special tokens) loaded as a Hub id."""

import json
import shutil

import pytest
import torch
import torch.nn.functional as F
from tokenizers import AddedToken, Tokenizer
from tokenizers.models import WordLevel
from transformers import AutoTokenizer, PreTrainedTokenizerFast, RobertaConfig, RobertaForMaskedLM

from playground import registry
from playground.errors import UserError
from playground.fill_mask import MAX_MASKS, fill_mask, score_candidates, to_model_mask
from playground.masking import FATES, Recipe, prepare, rates, roll, simulate

from .hub_cache import put_in_hub_cache

SENTENCE = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings and arrows."


@pytest.fixture(scope="module")
def bert():
    return registry.load("tiny-shakespeare-bert", "masked")


@pytest.fixture(scope="module")
def roberta(tmp_path_factory):
    """RoBERTa's layout: <s> ... </s>, and a <mask> that takes in the space before it."""
    folder = tmp_path_factory.mktemp("roberta-tok")
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(registry.TOKENIZER_DIR / "gpt2" / name, folder / name)
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "RobertaTokenizer", "model_max_length": 512})
    )
    tok = AutoTokenizer.from_pretrained(folder)
    tok.add_special_tokens({"mask_token": AddedToken("<mask>", lstrip=True, special=True)})
    torch.manual_seed(0)
    # RoBERTa numbers positions from pad_token_id + 1; our <pad> comes after GPT-2's 50,257 tokens, so the
    # position table must reach past it (the real roberta-base has <pad> = 1 and 514 positions)
    config = RobertaConfig(
        vocab_size=len(tok),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        pad_token_id=tok.pad_token_id,
        max_position_embeddings=tok.pad_token_id + 2 + tok.model_max_length,
    )
    put_in_hub_cache("test-org/tiny-roberta", tok, RobertaForMaskedLM(config))
    return registry.load("test-org/tiny-roberta", "masked")


# ---------------------------------------------------------------- fill mask


def test_fill_mask_predicts_every_mask(bert):
    r = fill_mask(bert.model, bert.tokenizer, "[MASK] lord, to be or not to [mask].", top_k=4)
    assert len(r.masks) == 2 and all(len(m.candidates) == 4 for m in r.masks)
    for m in r.masks:
        assert r.tokens[m.position] == "[MASK]"
        probs = [c.prob for c in m.candidates]
        assert probs == sorted(probs, reverse=True)
    assert "[MASK]" not in r.filled and r.truncated == 0


def test_the_filled_sentence_keeps_unk_where_the_vocabulary_cannot_spell_a_character():
    """The encoder's WordPiece has no 🍕: the sentence shows [UNK] there, as the Tokenizer tab does, and drops only
    the frame ([CLS], [SEP])."""
    encoder = registry.load(registry.ENCODER, "masked")
    r = fill_mask(encoder.model, encoder.tokenizer, "I love 🍕 and [MASK].")
    assert "[UNK]" in r.tokens and r.filled.startswith("i love [UNK] and ")
    assert "[CLS]" not in r.filled and "[SEP]" not in r.filled and "[MASK]" not in r.filled


def test_probabilities_sum_to_one_for_every_mask(bert):
    r = fill_mask(bert.model, bert.tokenizer, "[MASK] lord, I [MASK] you.", top_k=len(bert.tokenizer))
    for m in r.masks:
        assert sum(c.prob for c in m.candidates) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(
    "text, message",
    [
        ("no blank here", r"Put \[MASK\]"),
        ("", "Write a sentence"),
        ("   ", "Write a sentence"),
        ("a [MASK] " * (MAX_MASKS + 1), f"at most {MAX_MASKS}"),
    ],
)
def test_bad_sentences_are_explained(bert, text, message):
    with pytest.raises(UserError, match=message):
        fill_mask(bert.model, bert.tokenizer, text)


def test_a_long_sentence_is_cut_with_a_count(bert):
    r = fill_mask(bert.model, bert.tokenizer, "To be or not to [MASK]. " + "and so on " * 100)
    assert len(r.tokens) == bert.tokenizer.model_max_length and r.truncated > 0
    with pytest.raises(UserError, match="was cut off"):
        fill_mask(bert.model, bert.tokenizer, "and so on " * 100 + "To be or not to [MASK].")


def test_mask_spelling_is_translated_to_the_models_own():
    roberta_like = PreTrainedTokenizerFast(  # a real tokenizer whose mask token is spelt as RoBERTa's
        tokenizer_object=Tokenizer(WordLevel({"<unk>": 0}, unk_token="<unk>")), mask_token="<mask>"
    )
    assert to_model_mask("a [MASK] b [mask]", roberta_like) == "a <mask> b <mask>"


@pytest.mark.slow
def test_a_roberta_style_model_gets_its_own_mask(roberta):
    tok = roberta.tokenizer
    assert tok("Hello world!", add_special_tokens=False)["input_ids"] == [15496, 995, 0]  # the real GPT-2 vocabulary
    r = fill_mask(roberta.model, tok, "Hello [MASK] world!", top_k=len(tok))
    assert r.tokens[0] == "<s>" and r.tokens[-1] == "</s>" and r.tokens[r.masks[0].position] == "<mask>"
    assert sum(c.prob for c in r.masks[0].candidates) == pytest.approx(1.0, abs=1e-4)
    # the mask takes in the space before it, so " there" (Ġthere, one token) is the word to score there
    s = score_candidates(roberta.model, tok, "Hello [MASK] world!", "there").scores[0]
    assert (s.token, s.id, s.n_tokens) == (" there", tok.convert_tokens_to_ids("Ġthere"), 1)
    assert s.prob == pytest.approx(next(c.prob for c in r.masks[0].candidates if c.id == s.id), rel=1e-5)


# ---------------------------------------------------------------- candidate scores


def test_candidate_scores_equal_the_top_k_probabilities(bert):
    text = "Good morrow, my [MASK] lord."
    top = fill_mask(bert.model, bert.tokenizer, text, top_k=15).masks[0].candidates
    words = [c for c in top if c.token.isalpha() and not c.token.startswith("##")][:5]
    assert len(words) >= 3
    scores = score_candidates(bert.model, bert.tokenizer, text, ", ".join(c.token for c in words)).scores
    for c, s in zip(words, scores):
        assert (s.id, s.n_tokens) == (c.id, 1)
        assert s.prob == pytest.approx(c.prob, rel=1e-5)
        assert s.rank == top.index(c) + 1


def test_a_word_of_several_tokens_is_scored_by_its_first(bert):
    tok = bert.tokenizer
    pieces = tok("unquestionably", add_special_tokens=False)["input_ids"]
    assert len(pieces) > 1
    s = score_candidates(bert.model, tok, "It is [MASK] so.", ["unquestionably"]).scores[0]
    assert s.n_tokens == len(pieces) and s.id == pieces[0] and 1 <= s.rank <= len(tok)


def test_candidates_pick_their_mask_and_explain_bad_input(bert):
    r = score_candidates(bert.model, bert.tokenizer, "[MASK] lord, I [MASK] you.", "good, love", mask_number=2)
    assert r.mask_number == 2 and r.n_masks == 2 and [s.word for s in r.scores] == ["good", "love"]
    with pytest.raises(UserError, match="from 1 to 2"):
        score_candidates(bert.model, bert.tokenizer, "[MASK] lord, I [MASK] you.", "good", mask_number=3)
    with pytest.raises(UserError, match="List the words"):
        score_candidates(bert.model, bert.tokenizer, "[MASK] lord", " , ")


# ---------------------------------------------------------------- the masking recipe


def _rolls_for(tokenizer, n_tokens: int) -> tuple[int, int]:
    pickable = int((~prepare(tokenizer, SENTENCE).special).sum())
    return -(-n_tokens // pickable), pickable


@pytest.mark.parametrize("recipe", [Recipe(), Recipe(0.3, 0.5, 0.3)], ids=["bert", "other rates"])
def test_realised_rates_over_10000_tokens_are_within_1_5_points(bert, recipe):
    n_rolls, _ = _rolls_for(bert.tokenizer, 10_000)
    r = rates(bert.tokenizer, SENTENCE, recipe, seed=1, rolls=n_rolls)
    assert r.n_tokens >= 10_000
    for fate, share in r.realised().items():  # as shares of all tokens: 85 / 12 / 1.5 / 1.5 for BERT
        assert share == pytest.approx(recipe.chosen()[fate], abs=0.015), fate


def test_the_split_among_picked_tokens_settles_on_the_chosen_one(bert):
    # among the ~15% picked the split needs more tokens: 100,000 gives a standard error of ~0.3 points
    n_rolls, _ = _rolls_for(bert.tokenizer, 100_000)
    r = rates(bert.tokenizer, SENTENCE, Recipe(), seed=2, rolls=min(n_rolls, 5000))
    among = r.among_picked()
    assert among["[MASK]"] == pytest.approx(0.8, abs=0.015)
    assert among["random"] == pytest.approx(0.1, abs=0.015) and among["unchanged"] == pytest.approx(0.1, abs=0.015)
    running = r.running()["picked (of all tokens)"]
    assert abs(running[-1] - 0.15) < abs(running[:10] - 0.15).max()  # settles as rolls add up


def test_labels_are_minus_100_exactly_where_not_picked(bert):
    sim = simulate(bert.model, bert.tokenizer, SENTENCE, Recipe(p=0.5), seed=3)
    assert 0 < sim.n_picked < sim.n_pickable
    for t in sim.tokens:
        picked = t.fate in FATES[1:]
        assert (t.label != -100) == picked
        if picked:
            assert t.label == t.id and t.loss is not None
        if t.fate == "[MASK]":
            assert t.input_id == bert.tokenizer.mask_token_id
        if t.fate in ("not picked", "special", "unchanged"):
            assert t.input_id == t.id
        if t.fate == "random":
            assert t.input_id not in (t.id, bert.tokenizer.mask_token_id)


def test_special_tokens_are_never_picked(bert):
    sentence = prepare(bert.tokenizer, SENTENCE)
    inputs, labels = roll(bert.tokenizer, sentence, Recipe(p=1.0), seed=4, rolls=200)
    special = sentence.special.expand_as(labels)
    assert special[:, 0].all() and special[:, -1].all()  # [CLS] ... [SEP]
    assert (labels[special] == -100).all() and (inputs[special] == sentence.ids.expand_as(inputs)[special]).all()
    assert (labels[~special] != -100).all()  # p = 1 picks every other token


def test_whole_word_masking_picks_all_pieces_of_a_word_together(bert):
    text = "Unquestionably the nobler tyranny, unhappily."  # words of several WordPiece tokens
    sentence = prepare(bert.tokenizer, text)
    words = sentence.word_ids
    assert any((words == w).sum() > 1 for w in words.unique() if w >= 0)
    _, labels = roll(bert.tokenizer, sentence, Recipe(p=0.3, whole_word=True), seed=5, rolls=300)
    picked = labels != -100
    for w in words.unique().tolist():
        if w >= 0:
            cols = picked[:, words == w]
            assert (cols == cols[:, :1]).all(), f"word {w} split"
    assert picked.any(dim=0)[words >= 0].all()  # and every word gets picked sometimes
    # pieces of one word still meet their own 80/10/10 fate
    big = rates(bert.tokenizer, text, Recipe(whole_word=True), seed=6, rolls=5000)
    assert big.among_picked()["[MASK]"] == pytest.approx(0.8, abs=0.03)


def test_mlm_loss_is_cross_entropy_over_the_picked_positions(bert):
    sim = simulate(bert.model, bert.tokenizer, SENTENCE, Recipe(p=0.4), seed=7)
    inputs = torch.tensor([[t.input_id for t in sim.tokens]])
    labels = torch.tensor([[t.label for t in sim.tokens]])
    with torch.no_grad():
        logits = bert.model(input_ids=inputs).logits[0]
        trained = bert.model(input_ids=inputs, targets=labels).token_loss  # the trainer's own loss
    picked = labels[0] != -100
    assert sim.loss == pytest.approx(float(F.cross_entropy(logits[picked], labels[0][picked])), rel=1e-5)
    assert sim.loss == pytest.approx(float(trained), rel=1e-4)
    assert sim.loss == pytest.approx(sum(t.loss for t in sim.tokens if t.loss is not None) / sim.n_picked, rel=1e-5)


def test_the_seed_decides_the_roll(bert):
    fates = lambda seed: [t.fate for t in simulate(bert.model, bert.tokenizer, SENTENCE, seed=seed).tokens]  # noqa: E731
    assert fates(11) == fates(11)
    assert len({tuple(fates(s)) for s in range(12, 17)}) > 1


def test_impossible_rates_are_explained():
    with pytest.raises(UserError, match="more than 100%"):
        Recipe(0.15, 0.8, 0.3)
    with pytest.raises(UserError, match="between 0% and 100%"):
        Recipe(1.5)


def test_a_sentence_of_nothing_is_explained(bert):
    with pytest.raises(UserError, match="Write a sentence"):
        simulate(bert.model, bert.tokenizer, "  ")


# ---------------------------------------------------------------- the tab's endpoints


@pytest.mark.slow
def test_the_endpoints_through_gradio_client(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    summary, chart, table, note = client.predict(
        "Good morrow, my [MASK] lord.", "good, noble", 1, "tiny-shakespeare-bert", api_name="/score_candidates"
    )
    assert [row[0] for row in table["data"]] == ["good", "noble"] and "rank 1" in summary
    tokens, summary, table, note = client.predict(
        SENTENCE, 15, 80, 10, False, 0, "tiny-shakespeare-bert", api_name="/mask_simulator"
    )
    assert summary.startswith("Seed 0: picked") and table["data"][0][1] == "[CLS]"
    assert {row[6] for row in table["data"]} <= {"special", *FATES}
    hist, conv, table, note = client.predict(
        SENTENCE, 15, 80, 10, True, 0, 500, "tiny-shakespeare-bert", api_name="/mask_rates"
    )
    assert table["data"][0][0] == "picked (of all tokens)"
    # [MASK] + random past 100%: the random share gives way, as the page's sliders do (not an error)
    _, summary, _, _ = client.predict(
        SENTENCE, 15, 80, 30, False, 0, "tiny-shakespeare-bert", api_name="/mask_simulator"
    )
    assert "80% become [MASK], 20% a random token, 0% stay" in summary
