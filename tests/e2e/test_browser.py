"""A person in headless Chromium: open the page, visit each tab, click its button, see the result."""

from __future__ import annotations

import pytest

from playground import registry

from .browser import open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_next_word_tab(page):
    open_tab(page, "Next Word")
    page.locator("#nw-go").click()
    page.locator("#nw-chart .js-plotly-plot").wait_for(timeout=240_000)  # the default may convert once (SmolLM2)
    sync_api.expect(page.locator("#nw-note")).to_contain_text(registry.default_model("causal"))
    shot(page, "next-word")


def test_fill_mask_tab(page):
    open_tab(page, "Fill Mask")
    page.locator("#fm-go").click()
    sync_api.expect(page.locator("#fm-filled")).to_contain_text("Filled in")
    page.locator("#fm-chart .js-plotly-plot").wait_for()
    shot(page, "fill-mask")


def test_next_sentence_tab(page):
    open_tab(page, "Next Sentence")
    page.locator("#ns-go").click()
    sync_api.expect(page.locator("#ns-label")).to_contain_text("IsNext")
    shot(page, "next-sentence")


def test_tokenizer_tab_updates_as_you_type(page):
    open_tab(page, "Tokenizer")
    sync_api.expect(page.locator("#tk-table-gpt2")).to_contain_text("Transform")  # the example, on load
    page.locator("#tk-text textarea").fill("Hello world!")
    sync_api.expect(page.locator("#tk-stats-gpt2")).to_contain_text("3 tokens")
    sync_api.expect(page.locator("#tk-table-gpt2")).to_contain_text("15496")
    shot(page, "tokenizer")


def test_positional_tab_redraws_when_a_slider_moves(page):
    open_tab(page, "Positional Encoding")
    page.locator("#pe-go").click()
    heat = page.locator("#pe-heatmap")
    sync_api.expect(heat).to_contain_text("64 positions")
    page.locator("#pe-len input[type=range]").fill("32")
    sync_api.expect(heat).to_contain_text("32 positions")
    page.get_by_role("tab", name="Rotary (RoPE)").click()
    page.locator("#pe-rope-go").click()
    sync_api.expect(page.locator("#pe-rope-note")).to_contain_text("the same offset gives the same score")
    page.get_by_role("tab", name="Why order matters").click()
    page.locator("#pe-order-go").click()
    sync_api.expect(page.locator("#pe-order-note")).to_contain_text("the same tokens in another order")
    shot(page, "positional")


def test_train_tab_runs_and_draws_a_loss_curve(page):
    open_tab(page, "Train Tiny Model")
    steps = page.locator("#tr-steps input[type=number]")
    steps.fill("20")
    steps.press("Enter")
    page.locator("#tr-go").click()
    sync_api.expect(page.locator("#tr-status")).to_contain_text("Done", timeout=120_000)
    page.locator("#tr-curve .js-plotly-plot").wait_for()
    shot(page, "train")
