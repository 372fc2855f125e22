"""The Fill Mask and Next Sentence tabs in headless Chromium: fill, score, simulate BERT's masking, judge pairs."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import torch
from transformers import BertConfig, BertForPreTraining

from playground import registry

from ..hub_cache import put_in_hub_cache
from .browser import choose, open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
HUB_BERT = "test-org/tiny-bert-browser"


@pytest.fixture(scope="module")
def page(page):
    open_tab(page, "Fill Mask")
    # the page's own first prediction (on the default model) has landed: a choice made before it could be undone
    expect(page.locator("#fm-note")).to_contain_text("Model:", timeout=120_000)
    return page


def test_fill_mask_and_score_candidates(page):
    choose(page, "#fm-model", "tiny-shakespeare-bert")  # what these expectations are about
    page.locator("#fm-text textarea").fill("Good morrow, my [MASK] lord.")
    page.locator("#fm-go").click()
    expect(page.locator("#fm-filled")).to_contain_text("Filled in: good morrow, my")
    page.locator("#fm-chart .js-plotly-plot").wait_for()
    expect(page.locator("#fm-note")).to_contain_text("tiny-shakespeare-bert")
    expect(page.locator("#fm-csv")).to_be_enabled()  # the table was written as CSV
    page.locator("#fm-words textarea").fill("good, noble, unquestionably")
    page.locator("#fm-score").click()
    expect(page.locator("#fm-score-table")).to_contain_text("noble")
    expect(page.locator("#fm-score-note")).to_contain_text("unquestionably is")  # several tokens: says so
    page.locator("#fm-score-chart .js-plotly-plot").wait_for()
    shot(page, "fill-mask-scores")


def test_a_sentence_without_mask_is_explained_and_the_tab_still_works(page):
    page.locator("#fm-text textarea").fill("no blank here")
    page.locator("#fm-go").click()
    expect(page.get_by_text("Put [MASK] where a word is missing").first).to_be_visible()
    page.locator(".toast-close").first.click()
    page.locator("#fm-text textarea").fill("The king is [MASK]; long live the king.")
    page.locator("#fm-go").click()
    expect(page.locator("#fm-filled")).to_contain_text("the king is")


def test_masking_simulator_rerolls_and_converges(page):
    page.get_by_role("tab", name="Masking simulator").click()
    page.locator("#fm-sim-go").click()
    tokens = page.locator("#fm-sim-tokens")
    expect(tokens).to_contain_text("[MASK]")  # the legend
    expect(page.locator("#fm-sim-summary")).to_contain_text("Seed 0: picked")
    expect(page.locator("#fm-sim-table")).to_contain_text("-100")
    first = tokens.inner_html()
    seed = page.locator("#fm-sim-seed input")
    for n in range(1, 4):  # a re-roll can repeat the same fates by chance; three in a row practically never
        page.locator("#fm-sim-reroll").click()
        expect(seed).to_have_value(str(n))
        expect(page.locator("#fm-sim-summary")).to_contain_text(f"Seed {n}: picked")
        if tokens.inner_html() != first:
            break
    assert tokens.inner_html() != first, "re-rolling never changed the colours"
    page.locator("#fm-rates-go").click()
    page.locator("#fm-rates-hist .js-plotly-plot").wait_for()
    page.locator("#fm-rates-conv .js-plotly-plot").wait_for()
    expect(page.locator("#fm-rates-table")).to_contain_text("[MASK] (of picked)")
    shot(page, "fill-mask-simulator")


def test_switching_the_model(page):
    tok = registry.reference_tokenizer("bert-base-uncased")
    torch.manual_seed(0)
    put_in_hub_cache(
        HUB_BERT,
        tok,
        BertForPreTraining(
            BertConfig(
                vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
            )
        ),
    )
    page.get_by_role("tab", name="Fill the blanks").click()
    choose(page, "#fm-model", HUB_BERT)
    page.locator("#fm-go").click()
    expect(page.locator("#fm-note")).to_contain_text(HUB_BERT)
    expect(page.locator("#fm-table")).to_contain_text("1")
    # not cached, no Hub: falls back to the best offline BERT, and the picker and the note say so
    choose(page, "#fm-model", "bert-base-uncased", shows=registry.offline_default("masked"))
    page.locator("#fm-go").click()
    expect(page.locator("#fm-note")).to_contain_text("cannot be reached")
    expect(page.locator("#fm-note")).to_contain_text(registry.offline_default("masked"))  # the best offline BERT
    page.locator(".toast-close").first.click()


def test_next_sentence_and_the_pair_builder(page):
    open_tab(page, "Next Sentence")
    page.locator("#ns-a textarea").fill("The man went to the store.")
    page.locator("#ns-b textarea").fill("He bought a gallon of milk.")
    page.locator("#ns-go").click()
    expect(page.locator("#ns-label")).to_contain_text("IsNext")
    expect(page.locator("#ns-table")).to_contain_text("[CLS]")
    expect(page.locator("#ns-segments")).to_contain_text("[SEP]")
    shot(page, "next-sentence")
    page.get_by_role("tab", name="Pair builder").click()
    page.locator("#ns-pairs-go").click()
    summary = page.locator("#ns-pairs-summary")
    expect(summary).to_contain_text("Seed 0: 16 pairs from held-out Shakespeare")
    expect(summary).to_contain_text("The model is right on")
    expect(page.locator("#ns-pairs-table")).to_contain_text("NotNext")
    page.locator("#ns-pairs-reroll").click()
    expect(summary).to_contain_text("Seed 1: 16 pairs")
    shot(page, "next-sentence-pairs")
    page.locator("#ns-passage textarea").fill("one long line without any sentence boundary")
    page.locator("#ns-pairs-go").click()
    expect(page.locator("#ns-pairs-summary")).to_contain_text("at least 4 sentences")


def test_a_link_with_the_sentences_opens_them_filled_in(page, app_url):
    a, b = "The man went to the store.", "Penguins are flightless birds."
    page.goto(
        f"{app_url}?fm_text={quote('O Romeo, Romeo! wherefore art [MASK] Romeo?')}&ns_a={quote(a)}&ns_b={quote(b)}"
    )
    open_tab(page, "Fill Mask")
    expect(page.locator("#fm-text textarea")).to_have_value("O Romeo, Romeo! wherefore art [MASK] Romeo?")
    expect(page.locator("#fm-filled")).to_contain_text("Filled in: o romeo, romeo! wherefore art")
    open_tab(page, "Next Sentence")
    expect(page.locator("#ns-b textarea")).to_have_value(b)
    expect(page.locator("#ns-table")).to_contain_text("flight")


def test_the_deep_link_button_restores_the_inputs(page, app_url):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_tab(page, "Fill Mask")
    page.locator("#fm-text textarea").fill("Now is the [MASK] of our discontent.")
    page.locator("#fm-go").click()
    expect(page.locator("#fm-filled")).to_contain_text("now is the")
    page.get_by_role("button", name="Copy a link to the whole page").locator("visible=true").click()
    page.wait_for_function("navigator.clipboard.readText().then(t => t.includes('deep_link='))")
    link = page.evaluate("navigator.clipboard.readText()")
    page.goto(link)
    open_tab(page, "Fill Mask")
    expect(page.locator("#fm-text textarea")).to_have_value("Now is the [MASK] of our discontent.")
