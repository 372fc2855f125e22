"""Tokenizers side by side, and BPE / WordPiece training with its merge-by-merge replay (offline, fast)."""

import random
from collections import Counter

import pytest
from transformers import PreTrainedTokenizerFast

from playground import registry
from playground import tokenization as tk
from playground import tokenizer_training as tt
from playground.errors import UserError
from playground.tiny import data

ODD = "The robot 🤖 said שלום, e\u0301, zero\u200bwidth, a\x00b\tc\nnaïve Café"


@pytest.fixture(scope="module")
def gpt2():
    return registry.reference_tokenizer("gpt2")


@pytest.fixture(scope="module")
def bert():
    return registry.reference_tokenizer("bert-base-uncased")


@pytest.fixture(scope="module")
def bpe(small_text):
    return tt.learn_tokenizer(small_text, "bpe", 500)


@pytest.fixture(scope="module")
def wordpiece(small_text):
    return tt.learn_tokenizer(small_text, "wordpiece", 500)


# ---------------------------------------------------------------- comparison


def test_real_gpt2_and_bert_tokenizers_give_known_ids(gpt2, bert):
    assert tk.tokenize(gpt2, "Hello world!").ids == [15496, 995, 0]
    assert tk.tokenize(bert, "hello").ids == [7592]
    assert tk.tokenize(bert, "hypatia").tokens == ["h", "##yp", "##ati", "##a"]


def test_split_bytes_are_shown_as_bytes_not_replacement_characters(gpt2):
    ids = tk.tokenize(gpt2, "🤖").ids
    labels = [tk.token_label(gpt2, i) for i in ids]
    assert len(ids) > 1 and "\ufffd" not in "".join(labels)
    assert all(label.startswith("<0x") for label in labels)
    assert "".join(tk.tokenize(gpt2, " 🤖").labels) == "Ġ<0xF0><0x9F><0xA4><0x96>"  # F0 9F A4 96 is 🤖


def test_labels_keep_markers_and_name_the_invisible(gpt2, bert):
    world = tk.tokenize(gpt2, "Hello world!").ids[1]
    assert tk.token_label(gpt2, world) == " world"  # the text, as the Next Word tab shows it
    assert tk.token_label(gpt2, world, markers=True) == "Ġworld"
    assert tk.tokenize(gpt2, "a\nb").labels == ["a", "Ċ", "b"]
    assert tk.tokenize(gpt2, "zero\u200bwidth a\x00b").labels == ["zero", "<U+200B>", "width", "Ġa", "<0x00>", "b"]
    assert tk.tokenize(bert, "hypatia").labels == ["h", "##yp", "##ati", "##a"]


def test_unknown_characters_are_counted(bert):
    t = tk.tokenize(bert, "hello 🤖 world")
    assert t.unk_count == 1 and t.n_words == 3 and t.tokens_per_word == pytest.approx(1.0)


def test_round_trip_shows_what_bert_changes_and_gpt2_keeps(gpt2, bert):
    text = "Hello Café 🤖"
    assert tk.round_trip(gpt2, text).exact
    rt = tk.round_trip(bert, text)
    assert rt.decoded == "hello cafe [UNK]" and not rt.exact
    assert rt.reasons == ["lower-cased", "accents stripped", "unknown characters became [UNK]"]
    assert rt.spans[0] == ("h", "changed") and ("[UNK]", "changed") in rt.spans
    assert "".join(s for s, cat in rt.spans if cat != "dropped") == rt.decoded


def test_round_trip_names_dropped_invisible_characters(bert):
    rt = tk.round_trip(bert, "zero\u200bwidth")
    assert ("<U+200B>", "dropped") in rt.spans
    assert rt.reasons == ["control or invisible characters dropped"]


def test_empty_and_whitespace_only_text(gpt2, bert):
    for tok in (gpt2, bert):
        t = tk.tokenize(tok, "")
        assert t.n_tokens == 0 and t.chars_per_token == 0 and t.tokens_per_word == 0
        assert tk.round_trip(tok, "").exact
    assert tk.tokenize(bert, "  \n ").n_tokens == 0  # BERT drops whitespace ...
    assert tk.round_trip(bert, "  \n ").reasons == ["spaces changed"]
    assert "".join(tk.tokenize(gpt2, "  \n ").labels).count("Ġ") == 3  # ... GPT-2 keeps every byte


def test_odd_unicode_never_shows_a_replacement_character(gpt2, bert):
    for tok in (
        gpt2,
        bert,
        registry.load("tiny-shakespeare-gpt", "causal").tokenizer,
        registry.load("tiny-shakespeare-bert", "masked").tokenizer,
    ):
        t = tk.tokenize(tok, ODD)
        assert t.n_tokens and "\ufffd" not in "".join(t.labels)
        rt = tk.round_trip(tok, ODD, t.ids)
        assert rt.exact or rt.reasons


def rebuilt(a: str, b: str, ops) -> str:
    """b from the opcodes, after checking they walk both texts end to end and 'equal' means equal."""
    i = j = 0
    out = []
    for op, i1, i2, j1, j2 in ops:
        assert (i1, j1) == (i, j) and (op != "equal" or a[i1:i2] == b[j1:j2])
        out.append(b[j1:j2])
        i, j = i2, j2
    assert (i, j) == (len(a), len(b))
    return "".join(out)


def test_the_bounded_diff_is_an_edit_script_for_any_edit():
    rng = random.Random(0)
    alphabet = "ab cA\u200b\n"
    for _ in range(500):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        b = list(a)
        for _ in range(rng.randint(0, 6)):  # lower-case, drop or insert a character anywhere
            k = rng.randint(0, len(b))
            if k < len(b) and rng.random() < 0.5:
                b[k : k + 1] = [] if rng.random() < 0.5 else [b[k].lower()]
            else:
                b.insert(k, rng.choice(alphabet))
        edited = "".join(b)
        assert rebuilt(a, edited, tk.bounded_opcodes(a, edited)) == edited


def test_a_100_kb_repetitive_round_trip_is_diffed_exactly_and_locally(bert):
    # repetitive text is what made difflib (autojunk off) take ~21 s on 5,000 characters
    text = ("To be, or not to be, that is the question. Whether 'tis nobler in the mind to suffer\n" * 1200)[:100_000]
    decoded = bert.decode(tk.encode(bert, text))
    ops = tk.bounded_opcodes(text, decoded)
    assert rebuilt(text, decoded, ops) == decoded
    # every change is local (a capital lower-cased, a newline become a space, a space dropped), none coarse
    changes = [(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in ops if op != "equal"]
    assert len(changes) > 2_000 and max(max(c) for c in changes) <= 2
    spans, reasons = tk._char_diff(text, decoded, bert.unk_token)
    assert reasons == ["lower-cased", "spaces changed"]
    assert "".join(span for span, kind in spans if kind is None) == "".join(
        decoded[j1:j2] for op, _, _, j1, j2 in ops if op == "equal"
    )


@pytest.mark.slow
def test_a_megabyte_is_counted_whole_and_rendered_capped(gpt2, shakespeare):
    t = tk.tokenize(gpt2, shakespeare)
    assert t.n_tokens > 250_000 and len(t.labels) == tk.MAX_SHOWN and t.truncated
    rt = tk.round_trip(gpt2, shakespeare, t.ids)
    assert rt.exact and rt.compared_chars <= tk.DIFF_CHARS
    with pytest.raises(UserError, match=r"characters; the comparison takes up to .*\."):
        tk.tokenize(gpt2, "a" * (tk.MAX_TEXT_CHARS + 1))


# ---------------------------------------------------------------- BPE


def test_bpe_training_is_deterministic(small_text, bpe):
    again = tt.learn_tokenizer(small_text, "bpe", 500)
    assert [(m.left, m.right, m.count) for m in again.merges] == [(m.left, m.right, m.count) for m in bpe.merges]
    assert len(bpe.merges) == 500 - len(bpe.base_vocab) and bpe.merges[-1].vocab_size == 500


def test_bpe_merge_counts_are_the_pair_counts(small_text, bpe):
    pre = bpe.tokenizer.backend_tokenizer.pre_tokenizer
    chunks = [small_text[i : i + data.CHUNK] for i in range(0, len(small_text), data.CHUNK)]  # as the trainer saw it
    words = Counter(w for chunk in chunks for w, _ in pre.pre_tokenize_str(chunk))
    first = bpe.merges[0]
    by_hand = sum(f * sum(1 for p in zip(w, w[1:]) if p == (first.left, first.right)) for w, f in words.items())
    assert first.count == by_hand and first.count >= bpe.merges[1].count  # BPE takes the most frequent pair


@pytest.mark.parametrize("sample", ["Wherefore art thou Romeo? Transformers learn relationships.", ODD, ""])
def test_bpe_replay_ends_where_the_trained_tokenizer_is(bpe, sample):
    final = tt.replay(bpe, sample, len(bpe.merges))
    assert final.tokens == bpe.tokenizer.convert_ids_to_tokens(tk.encode(bpe.tokenizer, sample))
    start = tt.replay(bpe, sample, 0)
    assert len(start.tokens) == len(sample.encode("utf-8")) and start.merge is None  # one token per byte
    middle = tt.replay(bpe, sample, 50)
    assert middle.merge == bpe.merges[49] and len(final.tokens) <= len(middle.tokens) <= len(start.tokens)


def test_bpe_curves_fall_as_merges_accumulate(bpe):
    steps, vocab, per_word = bpe.curves()
    assert steps[-1] == len(bpe.merges) and vocab[0] == len(bpe.base_vocab) == 261 and vocab[-1] == 500
    assert per_word == sorted(per_word, reverse=True) and per_word[-1] < per_word[0] / 2
    xs, ys = tt.sample_curve(bpe, "To be, or not to be", points=20)
    assert len(xs) == 20 and xs[-1] == len(bpe.merges) and ys[-1] < ys[0]


# ---------------------------------------------------------------- WordPiece


def test_wordpiece_score_on_a_hand_made_corpus():
    # the Hugging Face course's example: hug x10, pug x5, pun x12, bun x4, hugs x5
    text = "hug " * 10 + "pug " * 5 + "pun " * 12 + "bun " * 4 + "hugs " * 5
    trained = tt.learn_tokenizer(text, "wordpiece", 300)
    first, second = trained.merges[:2]
    # ##g occurs 20 times, ##s 5 times, always together: 5 / (20 * 5) beats every pair with the common ##u
    assert (first.left, first.right, first.token) == ("##g", "##s", "##gs")
    assert (first.count, first.left_count, first.right_count, first.score) == (5, 20, 5, pytest.approx(1 / 20))
    # then h ##u and p ##u tie at 1/36 (15 / (15 * 36), 17 / (17 * 36)); the pair seen first wins
    assert (second.left, second.right, second.score) == ("h", "##u", pytest.approx(1 / 36))
    assert trained.merges[-1].vocab_size < 300  # ran out of pairs: every word is one token
    assert tt.replay(trained, "hugs bun", len(trained.merges)).tokens == ["hugs", "bun"]


def test_wordpiece_picks_the_best_score_at_every_step(small_text):
    """Our incremental counts against a from-scratch recount after each merge."""
    text = small_text[:4000]
    trained = tt.learn_tokenizer(text, "wordpiece", 400)
    backend = trained.tokenizer.backend_tokenizer
    words = Counter(w for w, _ in backend.pre_tokenizer.pre_tokenize_str(backend.normalizer.normalize_str(text)))
    split = {w: [w[0]] + ["##" + c for c in w[1:]] for w in words}
    for m in trained.merges[:60]:
        pairs: Counter[tuple[str, str]] = Counter()
        symbols: Counter[str] = Counter()
        for w, f in words.items():
            for s in split[w]:
                symbols[s] += f
            for p in zip(split[w], split[w][1:]):
                pairs[p] += f
        best = max(c / (symbols[a] * symbols[b]) for (a, b), c in pairs.items())
        assert m.score == pytest.approx(best, rel=1e-12)
        assert (m.count, m.left_count, m.right_count) == (pairs[m.left, m.right], symbols[m.left], symbols[m.right])
        for w, parts in split.items():
            split[w] = _merge(parts, m.left, m.right, m.token)


def _merge(parts, a, b, token):
    out, i = [], 0
    while i < len(parts):
        if parts[i : i + 2] == [a, b]:
            out.append(token)
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out


def test_wordpiece_training_is_deterministic(small_text, wordpiece):
    again = tt.learn_tokenizer(small_text, "wordpiece", 500)
    assert [(m.left, m.right, m.score) for m in again.merges] == [(m.left, m.right, m.score) for m in wordpiece.merges]


@pytest.mark.parametrize(
    ("sample", "unknown"), [("Wherefore art thou Romeo? Transformers learn relationships.", False), (ODD, True)]
)
def test_wordpiece_replay_ends_where_the_trained_tokenizer_is(wordpiece, sample, unknown):
    """Our final vocabulary in HF's WordPiece model (greedy longest match) gives our replay's last step."""
    final = tt.replay(wordpiece, sample, len(wordpiece.merges))
    assert final.tokens == wordpiece.tokenizer.convert_ids_to_tokens(tk.encode(wordpiece.tokenizer, sample))
    assert ("[UNK]" in final.tokens) == unknown  # the emoji and the Hebrew are not in Shakespeare
    start = tt.replay(wordpiece, sample, 0)
    assert all(len(t.removeprefix("##")) == 1 for t in start.tokens if t != "[UNK]")  # single characters


# ---------------------------------------------------------------- files and bad input


def test_saved_tokenizer_json_loads_for_the_tiny_models(bpe, tmp_path):
    path = tt.save_tokenizer_json(bpe, tmp_path)
    # as the trainer reuses a tokenizer.json (tiny/train.py)
    loaded = PreTrainedTokenizerFast(tokenizer_file=str(path), **data.BERT_SPECIALS)
    sample = "To be, or not to be"
    assert tk.encode(loaded, sample) == tk.encode(bpe.tokenizer, sample)
    assert loaded.mask_token == "[MASK]" and loaded.pad_token_id == 0


@pytest.mark.parametrize(
    ("text", "kind", "vocab", "message"),
    [
        ("", "bpe", 1000, "no text to train on"),
        (" \n\t ", "wordpiece", 1000, "no text to train on"),
        ("some text", "bpe", 10, "between 300 and 16,000"),
        ("x" * (tt.MAX_TRAIN_BYTES + 1), "bpe", 1000, "limit is 5 MB"),
    ],
)
def test_bad_training_input_is_explained(text, kind, vocab, message):
    with pytest.raises(UserError, match=message) as err:
        tt.learn_tokenizer(text, kind, vocab)
    assert str(err.value).endswith(".")  # a sentence, not a code


def test_an_unknown_kind_is_a_developers_mistake_not_a_users():
    # the tab offers only ALGORITHMS: another value comes from code, so it is no sentence for the page
    with pytest.raises(ValueError, match="kind must be one of bpe, wordpiece") as err:
        tt.learn_tokenizer("some text", "unigram", 1000)
    assert not isinstance(err.value, UserError)


def test_uploads_must_be_small_utf8_text(tmp_path):
    good = tmp_path / "good.txt"
    good.write_bytes("\ufeffnaïve text".encode("utf-8"))
    assert tk.read_text_file(good) == "naïve text"
    cases = {
        "binary.txt": (b"PK\x03\x04\x00\x00", "NUL bytes"),
        "latin1.txt": ("café".encode("latin-1"), "not UTF-8"),
        "big.txt": (b"a" * (tk.MAX_UPLOAD_BYTES + 1), "limited to 5 MB"),
        "empty.txt": (b"\xef\xbb\xbf \n", "is empty"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(UserError, match=message):
            tk.read_text_file(tmp_path / name)


def test_replay_clamps_the_step_and_refuses_a_huge_sample(bpe):
    assert tt.replay(bpe, "to be", 10**9).step == len(bpe.merges)
    assert tt.replay(bpe, "to be", -5).step == 0
    with pytest.raises(UserError, match="under 2,000 characters"):
        tt.replay(bpe, "a" * 3000, 5)
