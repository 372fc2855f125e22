"""Inside the model in headless Chromium: the attention view renders in Next Word, Fill Mask and Next Sentence,
choosing a head changes the large view, and Next Word's logit lens reads every layer."""

from __future__ import annotations

import pytest

from .browser import open_tab, set_slider, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ACCORDION = "Inside the model: attention, layer by layer"


# what each tab shows once its page-load prediction is done (the first load of the default model can be slow)
LOADED = {"nw": "#nw-chart .js-plotly-plot", "fm": "#fm-chart .js-plotly-plot", "ns": "#ns-segments .textfield"}


def _open(page, tab: str, prefix: str) -> None:
    open_tab(page, tab)
    page.locator(LOADED[prefix]).wait_for(timeout=240_000)  # so the page load's own outputs come first
    page.locator(f"#{prefix}-inside").get_by_text(ACCORDION).click()
    expect(page.locator(f"#{prefix}-inside-go")).to_be_visible()  # the accordion's content mounts on opening


def test_next_word_shows_every_head_and_a_chosen_head_large(page):
    _open(page, "Next Word", "nw")
    page.locator("#nw-inside").get_by_role("button", name="Shakespeare, tiny model").click()
    expect(page.locator("#nw-prompt textarea")).to_have_value(
        "ROMEO: But soft, what light through yonder window breaks?"
    )
    page.locator("#nw-inside-go").click()
    expect(page.locator("#nw-inside-note")).to_contain_text("4 layers × 4 heads", timeout=60_000)
    page.locator("#nw-inside-grid .js-plotly-plot").wait_for()
    expect(page.locator("#nw-inside-big .gtitle")).to_contain_text("Layer 0, head 0")
    set_slider(page, "nw-inside-head", 2)
    set_slider(page, "nw-inside-layer", 3)
    page.locator("#nw-inside-go").click()
    expect(page.locator("#nw-inside-big .gtitle")).to_contain_text("Layer 3, head 2")
    page.locator("#nw-inside-mean input").check()
    expect(page.locator("#nw-inside-big .gtitle")).to_contain_text("Layer 3, mean over heads")
    expect(page.locator("#nw-inside-long")).to_contain_text("weight")
    shot(page, "inside-next-word")

    page.locator("#nw-lens").get_by_text("Logit lens: the next word, layer by layer").click()
    page.locator("#nw-lens-go").click()
    expect(page.locator("#nw-lens-note")).to_contain_text("final choice", timeout=60_000)
    page.locator("#nw-lens-chart .js-plotly-plot").wait_for()
    expect(page.locator("#nw-lens-table")).to_contain_text("embeddings")


def test_fill_mask_follows_the_mask_token(page):
    _open(page, "Fill Mask", "fm")
    page.locator("#fm-inside").get_by_role("button", name="Shakespeare, tiny model").click()
    page.locator("#fm-inside-go").click()
    expect(page.locator("#fm-inside-note")).to_contain_text("layers ×", timeout=60_000)
    page.locator("#fm-inside-big .js-plotly-plot").wait_for()
    page.locator("#fm-inside").get_by_text("Encoder vs decoder: the two masks on this input").click()
    page.locator("#fm-inside-masks .js-plotly-plot").wait_for()
    expect(page.locator("#fm-inside-masks")).to_contain_text("encoder (BERT): sees both sides")


def test_next_sentence_shows_attention_across_the_sep(page):
    _open(page, "Next Sentence", "ns")
    page.locator("#ns-inside").get_by_role("button", name="A pair across the [SEP]").click()
    expect(page.locator("#ns-a textarea")).to_have_value("Bob moved to New York last spring.")
    page.locator("#ns-inside-go").click()
    expect(page.locator("#ns-inside-note")).to_contain_text("Across the [SEP]", timeout=120_000)
    page.locator("#ns-inside-grid .js-plotly-plot").wait_for()
    shot(page, "inside-next-sentence")
