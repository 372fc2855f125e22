"""Issue #24, "Small but visible" (items 8-11), checked in the core and through the API: Compare's tracked word
comes from the first model, Fill Mask's own words fit the sentence and small probabilities stay readable,
space and newline tokens are never blank, and a number typed past a slider's range is fitted with a sentence.
Item 11's Enter and item 12 (phone width) show only on a page: tests/e2e/test_small_visible_browser.py."""

import pytest
import torch
from gradio_client import Client
from transformers import GPT2Config, GPT2LMHeadModel

from playground import attention as at
from playground import charts, examples, registry
from playground import compare as cmp
from playground.ui import compare as compare_tab
from playground.ui import fill_mask as fill_tab
from playground.ui import inside as inside_tab
from playground.ui import positional as positional_tab
from playground.ui import sliders

from .hub_cache import put_in_hub_cache

TINY_GPT, TINY_BERT, ENGLISH_BERT = "tiny-shakespeare-gpt", "tiny-shakespeare-bert", "tiny-english-bert"
HUB_GPT2 = "test-org/small-visible-gpt2"  # a second causal model: a tiny random GPT-2 with the real tokenizer


@pytest.fixture(scope="module", autouse=True)
def hub_gpt2():
    torch.manual_seed(0)
    tokenizer = registry.reference_tokenizer("gpt2")
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=16, n_layer=1, n_head=2)
    put_in_hub_cache(HUB_GPT2, tokenizer, GPT2LMHeadModel(config))


# ---------------------------------------------------------------- 8. Compare's tracked word


def test_with_no_word_typed_every_model_tracks_the_first_models_top_guess():
    assert compare_tab.DEFAULT_WORD == ""  # not "be", whatever the prompt
    first, second = cmp.compare("causal", "The capital of France is", [TINY_GPT, HUB_GPT2])
    guess = first.top[0].token.strip()
    assert [w.word for w in first.words] == [guess] and first.words[0].rank == 1  # its own top guess ranks 1
    assert [w.word for w in second.words] == [guess]


def test_with_no_words_typed_each_mask_tracks_the_first_models_guess_and_the_sentence_gets_its_loss():
    text = "The capital of France is [MASK]."
    first, second = cmp.compare("masked", text, [ENGLISH_BERT, TINY_BERT])
    guess = first.top[0].token.strip()
    for result in (first, second):
        assert [(w.word, w.mask) for w in result.words] == [(guess, 1)]
        assert result.loss is not None and result.loss.text == text.replace("[MASK]", guess)
    assert first.words[0].rank == 1


def test_a_typed_word_is_tracked_as_typed():
    for result in cmp.compare("causal", "To be, or not to", [TINY_GPT, HUB_GPT2], word="be"):
        assert [w.word for w in result.words] == ["be"]


def test_the_note_names_the_guessed_word_and_its_model():
    first, second = cmp.compare("masked", "The capital of France is [MASK].", [ENGLISH_BERT, TINY_BERT])
    note = compare_tab._view("masked", [first.name, second.name], [first, second], guessed=True)[0]
    assert f"every model tracks {ENGLISH_BERT}'s top guess: **{first.words[0].word}**" in note


# ---------------------------------------------------------------- 9. Fill Mask's own words


@pytest.mark.parametrize("model", [ENGLISH_BERT, TINY_BERT, registry.offline_default("masked")])
def test_with_no_words_typed_the_model_scores_its_own_words_for_its_default_sentence(model):
    sentence = examples.examples(model, "masked")[0][0]  # what the tab shows first for this model
    note, fig, table, _ = fill_tab.score(sentence, "", 1, model)
    probs = list(fig.data[0].x)
    assert len(table) == 4 and max(probs) > 0.001  # "be, see, go, die" scored ~0 after "The capital of France is"
    assert [row[4] for row in table] == sorted(row[4] for row in table)  # ranks 1, 2, 5, 20 among whole words
    assert "the model's own" in note


def test_small_probabilities_read_as_in_next_word_not_as_zero():
    note, fig, table, _ = fill_tab.score("The capital of France is [MASK].", "paris, zebra", 1, ENGLISH_BERT)
    zebra = table[1]
    assert zebra[0] == "zebra" and zebra[3] != "0.0%" and zebra[3] == charts.readable_prob(fig.data[0].x[0])
    assert "0.0%" not in fig.data[0].text  # the bar of an unlikely word reads e.g. 3.1e-07
    assert charts.readable_prob(3.1e-7) == "3.1e-07" and charts.readable_prob(0.25) == "25.00%"


# ---------------------------------------------------------------- 10. space and newline tokens


def test_space_and_newline_tokens_read_as_symbols_in_every_chart_label():
    fig = charts.probability_bars([" the", "\n", " ", ""], [0.5, 0.3, 0.1, 0.0], [262, 198, 6, 7], "Next token")
    assert list(fig.data[0].y) == ["∅  (id 7)", "␣  (id 6)", "⏎  (id 198)", " the  (id 262)"]
    lens = charts.lens_heatmap([0, 1], [[(" ", 0.5), ("\n", 0.2)], [("a\nb", 0.4), (" x", 0.3)]], "lens")
    assert [list(row) for row in lens.data[0].text] == [["␣", "⏎"], ["a⏎b", " x"]]
    grid = charts.attention_map(at.np.eye(3), ["a", " ", "\n\n"], "map")
    assert list(grid.layout.xaxis.ticktext) == ["a", "␣", "⏎⏎"]


def test_the_logit_lens_table_and_note_show_a_newline_token():
    note, fig, rows = inside_tab.logit_lens("ROMEO:", TINY_GPT)  # the tiny GPT's next token here is "\n"
    assert rows[-1][1] == "⏎" and "**'⏎'**" in note
    assert "⏎" in [t for row in fig.data[0].text for t in row]


def test_the_logit_lens_writes_small_probabilities_readably_not_as_0():
    """A probability that rounds to 0.0000 read as "impossible" beside a rank of 31,517: below 0.1% it is written
    in scientific notation (charts.readable_prob), as the timeline does."""
    _note, _fig, rows = inside_tab.logit_lens("ROMEO:", TINY_GPT)
    finals = [row[4] for row in rows]
    assert all(isinstance(p, str) and p not in ("0", "0.00%") for p in finals)
    assert all(p.endswith("%") or "e-" in p for p in finals)


def test_an_export_matching_exactly_says_so():
    from playground import export

    assert export.matching(0.0) == "exactly" and export.matching(3.2e-6) == "within 3.2e-06"


def test_attention_views_label_a_space_token():
    loaded = registry.load(TINY_GPT, "causal")
    att = at.extract(loaded.model, loaded.tokenizer, "ROMEO:\nWhat")
    assert "⏎" in att.tokens and all(t.strip() for t in att.tokens)


# ---------------------------------------------------------------- 11. numbers typed past a slider's range


def test_fit_moves_a_typed_number_into_the_range_and_says_so():
    assert sliders.fit(999, 0, 31, "Pair i") == (31, "Pair i goes from 0 to 31, so 999 became 31.")
    assert sliders.fit(-4, 0, 31, "Layer") == (0, "Layer goes from 0 to 31, so -4 became 0.")
    assert sliders.fit(7, 0, 31, "Layer") == (7, "")
    assert sliders.fit(65, 4, 256, "Head dimension", step=2) == (64, "")  # between steps: the nearest, quietly
    assert sliders.fit(None, 0, 31, "Layer")[0] == 0 and sliders.fit("x", 0, 3, "Layer")[0] == 0


def test_a_rope_pair_past_the_head_is_fitted_with_a_note():
    circle, _, note, pair = positional_tab.rope_views(64, 999, 10000, 48, 0)
    assert pair.value == 31 and "Pair 31" in circle.layout.title.text
    assert note.startswith("Pair i goes from 0 to 31, so 999 became 31.")
    _, _, note, _ = positional_tab.rope_views(999, 0, 10000, 48, None)  # an emptied seed box counts as 0
    assert "Head dimension goes from 4 to 256, so 999 became 256." in note


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_the_api_fits_a_typed_number_instead_of_gradios_range_error(client):
    # before: "Value 999 is greater than maximum value 31." from Gradio's own check, and a traceback in the log
    circle, scores, note, pair = client.predict(64, 999, 10000, 48, 0, api_name="/rotary")
    assert pair["value"] == 31 and "999 became 31" in note
    out = client.predict(
        "ROMEO: But soft", TINY_GPT, 999, 0, False, 0, "previous token", 0, api_name="/inside_next_word"
    )
    note, layer = out[0], out[8]
    assert "Layer goes from 0 to 3, so 999 became 3." in note and "Shown large: layer 3, head 0" in note
    assert layer["value"] == 3


def test_the_top_k_sliders_fit_a_typed_number_too(client):
    filled, chart, table, note = client.predict(
        "The capital of France is [MASK].", 999, ENGLISH_BERT, api_name="/fill_mask"
    )
    assert len(table["data"]) == 30 and "Candidates per mask goes from 1 to 30, so 999 became 30." in note
    out = client.predict("To be, or not to", [TINY_GPT, HUB_GPT2], 999, "be", api_name="/compare_next_word")
    assert "Candidates per model goes from 1 to 30, so 999 became 30." in out[0]


def test_log_axes_write_powers_of_ten_not_si_prefixes():
    """Plotly's default labels a probability axis 1µ, 10n, and FLOPs 100T then 10^15: one format each."""
    fig = charts.probe_timeline([("speak", [0, 10], [1e-7, 0.2], [300, 1])], 10)
    assert fig.layout.yaxis.exponentformat == "e"
    fig = charts.loss_vs_compute({}, {}, "loss")
    assert fig.layout.xaxis.exponentformat == "power"
