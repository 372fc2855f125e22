"""Next Word: the one-pass request, sampling transforms, score my word, training pairs, KV-cache steps.

Real models only: the bundled tiny GPT, and a tiny random GPT2LMHeadModel with the real GPT-2 tokenizer
loaded through the registry exactly as a Hub id (tests/hub_cache.py).
"""

import math

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from playground import next_word as nw
from playground import registry
from playground.errors import UserError
from playground.protocols import context_limit
from playground.tiny.model import KVCache, TinyConfig, TinyTransformer

from .hub_cache import put_in_hub_cache

GPT2_ID = "test-org/next-word-gpt2"


@pytest.fixture(scope="module")
def tiny():
    return registry.load("tiny-shakespeare-gpt", "causal")


@pytest.fixture(scope="module")
def gpt2():
    torch.manual_seed(0)
    tokenizer = registry.reference_tokenizer("gpt2")
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=32, n_embd=32, n_layer=2, n_head=2)
    put_in_hub_cache(GPT2_ID, tokenizer, GPT2LMHeadModel(config))
    return registry.load(GPT2_ID, "causal")


@pytest.fixture(params=["tiny", "gpt2"])
def loaded(request):
    return request.getfixturevalue(request.param)


# ---------------------------------------------------------------- the one-pass request


def test_the_whole_distribution_sums_to_one(loaded):
    vocab = len(loaded.tokenizer)
    r = nw.next_token_distribution(loaded.model, loaded.tokenizer, "The cat sat on the", top_k=vocab)
    assert sum(t.prob for t in r.top) == pytest.approx(1.0, abs=1e-4)
    probs = [t.prob for t in r.top]
    assert probs == sorted(probs, reverse=True)
    assert all(math.isclose(math.log(t.prob), t.logprob, rel_tol=1e-4) for t in r.top[:50])
    r = nw.next_token_distribution(loaded.model, loaded.tokenizer, "The cat sat on the", 5, nw.Sampling(0.7, 50, 0.9))
    for stage in r.stages:
        assert float(stage.probs.sum()) == pytest.approx(1.0, abs=1e-5)
        assert int((stage.probs > 0).sum()) <= stage.support


def test_prompt_tokens_and_a_known_gpt2_id(gpt2):
    r = nw.next_token_distribution(gpt2.model, gpt2.tokenizer, "Hello world!", top_k=3)
    assert r.prompt_tokens == [("Hello", 15496), (" world", 995), ("!", 0)]


def test_next_word_on_the_bundled_model(tiny):
    r = nw.next_token_distribution(tiny.model, tiny.tokenizer, "ROMEO:", top_k=20)
    assert [tok for tok, _ in r.prompt_tokens] == ["ROMEO", ":"]
    assert r.top[0].token == "\n"  # a speaker's name is followed by their line
    assert r.truncated == 0


def test_a_long_prompt_keeps_its_end_and_says_how_much_was_cut(loaded):
    limit = context_limit(loaded.model, loaded.tokenizer)
    r = nw.next_token_distribution(loaded.model, loaded.tokenizer, "to be or not " * 200, top_k=3)
    assert len(r.prompt_tokens) == limit
    assert r.truncated == len(loaded.tokenizer("to be or not " * 200, add_special_tokens=False).input_ids) - limit


def test_context_limit_reads_the_models_position_table(gpt2, tiny):
    assert gpt2.tokenizer.model_max_length == 1024 and context_limit(gpt2.model, gpt2.tokenizer) == 32
    assert context_limit(tiny.model, tiny.tokenizer) == 128


@pytest.mark.parametrize("prompt", ["", "   \n"])
def test_an_empty_prompt_is_explained(tiny, prompt):
    with pytest.raises(UserError, match="Type a prompt"):
        nw.next_token_distribution(tiny.model, tiny.tokenizer, prompt)


def test_fast_encoding_matches_the_tokenizer(loaded):
    for text in ["The quick brown fox", "  spaced\nlines\t", "naïve café 🍕", "ROMEO: But, soft!"]:
        assert nw._encode(loaded.tokenizer, text) == loaded.tokenizer(text, add_special_tokens=False).input_ids


# ---------------------------------------------------------------- sampling transforms, by hand


def _logits(probs):
    return torch.tensor(probs).log()


def _support(logits):
    return set(torch.isfinite(logits).nonzero().flatten().tolist())


def test_top_k_keeps_exactly_k_even_with_ties():
    logits = torch.tensor([3.0, 1.0, 2.0, 2.0, 0.0])
    assert _support(nw.apply_top_k(logits, 3)) == {0, 2, 3}
    assert len(_support(nw.apply_top_k(torch.zeros(6), 2))) == 2  # all tied: still exactly two
    assert nw.apply_top_k(logits, 0) is logits and nw.apply_top_k(logits, 5) is logits  # off, or >= vocab
    kept = nw.apply_top_k(logits, 3)
    assert torch.equal(kept[[0, 2, 3]], logits[[0, 2, 3]])  # the kept scores are untouched


@pytest.mark.parametrize(
    "p, kept",
    [
        (1e-6, {0}),
        (0.0, {0}),
        (0.45, {0}),
        (0.75, {0, 1}),
        (0.85, {0, 1, 2}),
        (0.99, {0, 1, 2, 3}),
        (1.0, {0, 1, 2, 3}),
    ],
)
def test_top_p_keeps_the_fewest_tokens_that_reach_p(p, kept):
    # probabilities 0.5, 0.3, 0.15, 0.05 (in shuffled order, to show it ranks by probability)
    order = [2, 0, 3, 1]
    logits = _logits([0.15, 0.5, 0.05, 0.3])
    last = nw.sampling_stages(logits, nw.Sampling(top_p=p))[-1]  # top-p is the last transform
    assert {order[i] for i in (last.probs > 0).nonzero().flatten().tolist()} == kept


def test_temperature_sharpens_flattens_and_zero_is_greedy():
    logits = _logits([0.5, 0.3, 0.15, 0.05])
    raw = torch.softmax(logits, -1)
    cold, hot = torch.softmax(nw.apply_temperature(logits, 0.5), -1), torch.softmax(nw.apply_temperature(logits, 2), -1)
    assert cold[0] > raw[0] > hot[0] and cold[3] < raw[3] < hot[3]
    assert _support(nw.apply_temperature(logits, 0)) == {0}
    near_zero = torch.softmax(nw.apply_temperature(logits, 1e-3), -1)
    assert float(near_zero[0]) == pytest.approx(1.0)


def test_transforms_apply_in_order_temperature_then_top_k_then_top_p():
    logits = _logits([0.5, 0.3, 0.15, 0.05])
    # top-p 0.6 keeps two tokens of the raw distribution, but one after temperature 0.5 sharpened it (0.685)
    assert [s.support for s in nw.sampling_stages(logits, nw.Sampling(1.0, 0, 0.6))] == [4, 2]
    stages = nw.sampling_stages(logits, nw.Sampling(0.5, 3, 0.6))
    assert [(s.label, s.support) for s in stages] == [
        ("raw", 4),
        ("temperature 0.5", 4),
        ("top-k 3", 3),
        ("top-p 0.6", 1),
    ]
    assert len(nw.sampling_stages(logits, nw.Sampling())) == 1  # all neutral: only the raw distribution
    greedy = nw.sampling_stages(logits, nw.Sampling(0.0, 3, 0.9))
    assert [s.support for s in greedy] == [4, 1] and float(greedy[-1].probs[0]) == 1.0


def test_sampling_is_reproducible_and_follows_the_distribution():
    probs = torch.tensor([0.5, 0.0, 0.3, 0.2])
    assert nw.draw(probs, 7) == nw.draw(probs, 7)
    counts = torch.bincount(torch.tensor([nw.draw(probs, seed) for seed in range(3000)]), minlength=4) / 3000
    assert counts[1] == 0  # a token of probability 0 is never drawn
    assert torch.allclose(counts, probs, atol=0.04)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(temperature=-1), "Temperature must be 0"),
        (dict(temperature=float("nan")), "Temperature must be 0"),
        (dict(top_k=-2), "top-k must be 0"),
        (dict(top_p=1.5), "top-p must be between 0 and 1"),
        (dict(top_p=float("nan")), "top-p must be between 0 and 1"),
        (dict(seed=-1), "seed must be a whole number"),
        (dict(seed=2**40), "seed must be a whole number"),
    ],
)
def test_bad_sampling_settings_are_explained(bad, message):
    with pytest.raises(UserError, match=message):
        nw.Sampling(**bad)


def test_the_request_draws_from_the_last_stage_with_its_seed(tiny):
    prompt, sampling = "The cat sat on the", nw.Sampling(0.8, 5, 0.9, seed=3)
    a = nw.next_token_distribution(tiny.model, tiny.tokenizer, prompt, 5, sampling)
    b = nw.next_token_distribution(tiny.model, tiny.tokenizer, prompt, 5, sampling)
    assert a.sample == b.sample
    assert a.sample.id in [t.id for t in a.top]  # top-k 5: the draw is one of the five likeliest
    greedy = nw.next_token_distribution(tiny.model, tiny.tokenizer, prompt, 5, nw.Sampling(temperature=0, seed=11))
    assert greedy.sample.id == greedy.top[0].id


# ---------------------------------------------------------------- score my word


def test_scoring_the_top_token_gives_its_probability(loaded):
    prompt = "The cat sat on the"
    r = nw.next_token_distribution(loaded.model, loaded.tokenizer, prompt, top_k=len(loaded.tokenizer))
    best = next(t for t in r.top if t.token[:1].isspace() and t.token.strip().isalpha())  # a " word" token
    s = nw.score_word(loaded.model, loaded.tokenizer, prompt, best.token.strip())
    assert s.spaced and s.text == best.token  # GPT-2 convention: the space goes with the next word
    assert [t.id for t in s.tokens] == [best.id]
    assert s.prob == pytest.approx(best.prob, rel=1e-4)
    assert s.ranks == [r.top.index(best) + 1]


def test_a_multi_token_word_multiplies_its_conditional_probabilities(tiny):
    prompt = "The quick brown"
    s = nw.score_word(tiny.model, tiny.tokenizer, prompt, "fox")
    assert s.text == " fox" and [t.token for t in s.tokens] == [" fo", "x"]
    ids = tiny.tokenizer(prompt).input_ids
    first = torch.softmax(nw.prompt_logits(tiny.model, ids)[-1], -1)[s.tokens[0].id]
    second = torch.softmax(nw.prompt_logits(tiny.model, ids + [s.tokens[0].id])[-1], -1)[s.tokens[1].id]
    assert s.tokens[1].prob == pytest.approx(float(second), rel=1e-4)
    assert s.prob == pytest.approx(float(first * second), rel=1e-4)
    # a word outside any top-k still gets a rank
    assert s.ranks[0] > 10


def test_scoring_keeps_a_space_the_user_typed_and_explains_bad_input(tiny):
    assert not nw.score_word(tiny.model, tiny.tokenizer, "The cat sat on the ", "mat").spaced
    assert nw.score_word(tiny.model, tiny.tokenizer, "Hello", ",").text == ","  # punctuation: no space
    with pytest.raises(UserError, match="Type a word"):
        nw.score_word(tiny.model, tiny.tokenizer, "Hello", "  ")


# ---------------------------------------------------------------- training pairs


def test_words_cut_into_many_pieces_are_found(tiny, gpt2):
    assert nw.split_words(tiny.tokenizer, "I love to eat pizza with") == [("pizza", 4)]  # 'p' 'iz' 'z' 'a'
    assert nw.split_words(gpt2.tokenizer, "I love to eat pizza with") == []  # ' pizza' is one GPT-2 token
    assert nw.split_words(tiny.tokenizer, "pizza, pizza!") == [("pizza", 4)]  # each word once


def test_training_pairs_average_to_the_tiny_models_own_loss(tiny):
    text = "ROMEO: But, soft! what light through yonder window breaks?"
    view = nw.training_pairs(tiny.model, tiny.tokenizer, text)
    ids = torch.tensor([tiny.tokenizer(text).input_ids])
    with torch.no_grad():
        loss = tiny.model(ids[:, :-1], targets=ids[:, 1:]).token_loss
    assert len(view.pairs) == ids.size(1) - 1
    assert view.mean_loss == pytest.approx(float(loss), rel=1e-5)
    assert view.perplexity == pytest.approx(math.exp(float(loss)), rel=1e-5)
    assert all(p.loss == pytest.approx(-math.log(p.prob), rel=1e-5) for p in view.pairs)


def test_training_pairs_of_the_seed_example_with_hf_labels(gpt2):
    view = nw.training_pairs(gpt2.model, gpt2.tokenizer, "The quick brown fox")
    assert [(p.context, p.target) for p in view.pairs] == [
        ("The", " quick"),
        ("The quick", " brown"),
        ("The quick brown", " fox"),
    ]
    ids = torch.tensor([gpt2.tokenizer("The quick brown fox").input_ids])
    with torch.no_grad():
        loss = gpt2.model(input_ids=ids, labels=ids).loss  # HF shifts the labels itself
    assert view.mean_loss == pytest.approx(float(loss), rel=1e-5)


def test_one_token_holds_no_training_pair(tiny):
    view = nw.training_pairs(tiny.model, tiny.tokenizer, "ROMEO")
    assert view.pairs == [] and view.mean_loss is None


# ---------------------------------------------------------------- the KV cache and step-by-step generation


@pytest.mark.parametrize("positions", ["learned", "sinusoidal", "rotary", "none"])
def test_tiny_cached_logits_equal_the_full_forward(positions):
    torch.manual_seed(0)
    config = TinyConfig(vocab_size=99, context_length=16, n_layer=2, n_head=4, n_embd=32, positions=positions)
    model = TinyTransformer(config).eval()
    ids = torch.randint(99, (2, 12))
    with torch.no_grad():
        full = model(ids).logits
        cache = KVCache(config.n_layer)
        pieces = [model(ids[:, a:b], past_key_values=cache).logits for a, b in ((0, 5), (5, 6), (6, 9), (9, 12))]
        out = model(ids[:, :3], use_cache=True)
    torch.testing.assert_close(torch.cat(pieces, 1), full, rtol=1e-5, atol=1e-5)
    assert cache.get_seq_length() == 12 and out.past_key_values.get_seq_length() == 3
    with pytest.raises(ValueError, match="longer than the context"):
        model(ids[:, :5], past_key_values=cache)


def _greedy_without_cache(model, ids: list[int], n: int, limit: int) -> list[int]:
    ids = list(ids)
    for _ in range(n):
        ids.append(int(nw.prompt_logits(model, ids[-limit:])[-1].argmax()))
    return ids


def test_cached_steps_are_the_tokens_greedy_generate_picks(loaded):
    gen = nw.start_generation(loaded.model, loaded.tokenizer, "The cat sat on the")
    steps = list(nw.generate(loaded.model, loaded.tokenizer, gen, 12))
    ids = loaded.tokenizer("The cat sat on the", return_tensors="pt").input_ids
    with torch.no_grad():
        if isinstance(loaded.model, TinyTransformer):
            expected = loaded.model.generate(ids, 12, top_k=1)[0].tolist()  # top-1 sampling is greedy
        else:
            expected = loaded.model.generate(
                ids, max_new_tokens=12, min_new_tokens=12, do_sample=False, pad_token_id=loaded.tokenizer.eos_token_id
            )[0].tolist()
    assert gen.ids == expected
    assert gen.ids == _greedy_without_cache(loaded.model, ids[0].tolist(), 12, 10_000)
    assert [s.rank for s in steps] == [1] * 12 and all(s.mode == "greedy" for s in steps)
    assert gen.cached == len(gen.ids) - 1  # the last token is fed on the next step


def test_past_the_context_each_step_rereads_the_last_window(gpt2):
    prompt = " ".join(["word"] * 28)  # 28 tokens of a 32-token context
    gen = nw.start_generation(gpt2.model, gpt2.tokenizer, prompt)
    list(nw.generate(gpt2.model, gpt2.tokenizer, gen, 8))
    assert gen.windowed and len(gen.ids) == 36
    assert gen.ids == _greedy_without_cache(gpt2.model, gen.ids[:28], 8, 32)


def test_sampled_steps_are_reproducible_one_at_a_time_or_n_at_once(tiny):
    sampling = nw.Sampling(1.2, 0, 0.95, seed=5)
    one = nw.start_generation(tiny.model, tiny.tokenizer, "ROMEO:")
    for _ in range(6):
        nw.next_step(tiny.model, tiny.tokenizer, one, sampling, greedy=False)
    batch = nw.start_generation(tiny.model, tiny.tokenizer, "ROMEO:")
    steps = list(nw.generate(tiny.model, tiny.tokenizer, batch, 6, sampling, greedy=False))
    assert one.ids == batch.ids
    assert all(s.mode == "sampled" and 0 < s.drawn_prob <= 1 and s.rank >= 1 for s in steps)
    assert any(s.rank > 1 for s in steps)  # temperature 1.2 does not always pick the top token
    other = nw.start_generation(tiny.model, tiny.tokenizer, "ROMEO:")
    list(nw.generate(tiny.model, tiny.tokenizer, other, 6, nw.Sampling(1.2, 0, 0.95, seed=6), greedy=False))
    assert other.ids != one.ids


# ---------------------------------------------------------------- through the app's API


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_next_word_endpoint_gives_every_view(client):
    out = client.predict("The quick brown fox", 5, "tiny-shakespeare-gpt", 0.7, 5, 0.9, 3, api_name="/next_word")
    chart, table, tokens, note, stages, stages_note, pairs_note, pairs, link = out  # CSVs: browser only
    assert [row[0] for row in table["data"]] == [1, 2, 3, 4, 5]
    assert "temperature 0.7" in stages_note and "top-k 5: **5** tokens possible" in stages_note
    assert len(pairs["data"]) == len(tokens) - 1 and pairs["data"][-1][2] == "x"  # " fo" -> "x"
    assert "perplexity" in pairs_note
    assert "prompt=The+quick+brown+fox" in link and "temperature=0.7" in link


def test_score_word_endpoint(client):
    verdict, table = client.predict("The quick brown", "fox", "tiny-shakespeare-gpt", api_name="/score_word")
    assert "' fox'" in verdict and "product" in verdict
    assert [row[0] for row in table["data"]] == ["' fo'", "'x'"]


def test_next_step_keeps_the_sessions_cache_and_generate_streams(client):
    args = ("ROMEO:", "tiny-shakespeare-gpt", "greedy (always the top token)", 1.0, 0, 1.0, 0)
    client.predict(*args, api_name="/next_step")
    text, log, note = client.predict(*args, api_name="/next_step")
    assert [row[0] for row in log["data"]] == [1, 2]  # the second step continued the first
    assert "KV cache" in note
    other = type(client)(client.src, verbose=False)  # another visitor: its own Session, its own generation
    _, theirs, _ = other.predict(*args, api_name="/next_step")
    assert [row[0] for row in theirs["data"]] == [1]
    _, log, _ = client.predict(*args, api_name="/next_step")
    assert [row[0] for row in log["data"]] == [1, 2, 3]  # the first visitor's run went on untouched
    job = client.submit(
        "The cat sat on the",
        "tiny-shakespeare-gpt",
        "sample (temperature, top-k, top-p, seed)",
        5,
        0.8,
        40,
        0.95,
        1,
        api_name="/generate",
    )
    outputs = list(job)
    assert len(outputs) >= 5  # one update per token
    assert [row[0] for row in outputs[-1][1]["data"]] == [1, 2, 3, 4, 5]
    assert {row[6] for row in outputs[-1][1]["data"]} == {"sampled"}


def test_training_pairs_endpoint(client):
    result = client.predict("The quick brown", "tiny-shakespeare-gpt", api_name="/training_pairs")
    assert [p["target"] for p in result["pairs"]] == [" quick", " b", "rown"]
    assert result["perplexity"] == pytest.approx(math.exp(result["mean_loss"]))


def test_an_empty_prompt_is_a_message_and_the_tab_still_works(client):
    with pytest.raises(Exception, match="Type a prompt"):
        client.predict("  ", 5, "tiny-shakespeare-gpt", api_name="/next_word")
    assert len(client.predict("ROMEO:", 3, "tiny-shakespeare-gpt", api_name="/next_word")[1]["data"]) == 3


def test_a_cleared_or_out_of_range_slider_box_is_fitted_with_a_sentence(client):
    """The predict events skip Gradio's range check (which logged a traceback on a cleared box and silently
    showed one candidate): an empty box is the slider's default, a number past it is moved into it, and the note
    says so."""
    _chart, table, _tokens, note, *_ = client.predict(
        "The cat sat on the", None, "tiny-shakespeare-gpt", None, 0, 1.0, 0, api_name="/next_word"
    )
    assert len(table["data"]) == 10  # the slider's default
    assert "How many candidates to show was empty, so 10 is used." in note
    assert "Temperature was empty, so 1 is used." in note
    _chart, table, _tokens, note, *_ = client.predict(
        "The cat sat on the", 500, "tiny-shakespeare-gpt", 1.0, 0, 1.0, 0, api_name="/next_word"
    )
    assert len(table["data"]) == 50 and "goes from 1 to 50, so 500 became 50." in note


def test_a_link_without_a_value_keeps_the_one_the_page_holds():
    from playground.ui import next_word as ui

    assert ui._parse(None, ui.TEMPERATURE_RANGE, 0.5) == 0.5  # a whole-page link restored 0.5: keep it
    assert ui._parse("0.7", ui.TEMPERATURE_RANGE, 0.5) == 0.7 and ui._parse("x", ui.TOP_K_RANGE, 3) == 3
    assert ui._parse(None, ui.URL_PARAMS["prompt"], "The cat") == "The cat"


def test_probabilities_too_small_for_a_percentage_are_in_scientific_notation():
    from playground.charts import readable_prob

    assert readable_prob(0.1234) == "12.34%" and readable_prob(3.14e-7) == "3.1e-07"


def test_link_values_are_clamped_and_unreadable_ones_ignored():
    from playground.ui import next_word as ui

    assert ui._parse("7", ui.TOP_K_RANGE) == 7 and ui._parse("500", ui.SHOWN_RANGE) == 50
    assert ui._parse("-3", ui.TEMPERATURE_RANGE) == 0.0 and ui._parse("0.25", ui.TOP_P_RANGE) == 0.25
    for junk in ("abc", "nan", "inf", "", None):
        assert ui._parse(junk, ui.TEMPERATURE_RANGE) == 1.0 and ui._parse(junk, ui.SHOWN_RANGE) == 10
    assert ui._parse("The cat", "To be, or not to") == "The cat" and ui._parse(None, "x") == "x"
