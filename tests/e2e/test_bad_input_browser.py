"""Bad input typed by a person in Chromium: each gets a sentence in the page, and the tab goes on working."""

from __future__ import annotations

import pytest

from .browser import open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def dismiss(page) -> None:
    page.locator(".toast-close").first.click()


def test_a_typed_path_is_not_a_model_id_and_the_tokenizer_tab_goes_on(page):
    open_tab(page, "Tokenizer")
    expect(page.locator("#tk-table-gpt2")).to_contain_text("Transform")  # the example, on load
    page.locator("#tk-hub-id textarea").fill("../../etc/passwd")
    page.locator("#tk-hub-add").click()
    expect(page.get_by_text("is not a Hugging Face model id")).to_be_visible()
    dismiss(page)
    page.locator("#tk-text textarea").fill("naïve café 👩‍👩‍👧 \u200b مرحبا")  # odd unicode is just text
    expect(page.locator("#tk-stats-gpt2")).to_contain_text("tokens")
    shot(page, "bad-input-tokenizer")


def test_nonsense_dimensions_and_an_empty_sentence_are_explained(page):
    open_tab(page, "Positional Encoding")
    page.locator("#pe-go").click()
    expect(page.locator("#pe-heatmap")).to_contain_text("64 positions")
    page.locator("#pe-dims textarea").fill("nine hundred")
    page.locator("#pe-dims textarea").press("Enter")
    expect(page.get_by_text("List the dimensions to plot as numbers")).to_be_visible()
    dismiss(page)
    page.locator("#pe-dims textarea").fill("500")
    page.locator("#pe-dims textarea").press("Enter")
    expect(page.get_by_text("dimension 500 does not exist")).to_be_visible()
    dismiss(page)
    page.locator("#pe-dims textarea").fill("0, 3")
    page.locator("#pe-dims textarea").press("Enter")
    expect(page.locator("#pe-waves")).to_contain_text("dim 3")  # still drawing
    page.get_by_role("tab", name="Why order matters").click()
    page.locator("#pe-order-a textarea").fill("   ")
    page.locator("#pe-order-go").click()
    expect(page.get_by_text("Write two sentences")).to_be_visible()
    dismiss(page)
    page.locator("#pe-order-a textarea").fill("The cat sat on the mat")
    page.locator("#pe-order-go").click()
    expect(page.locator("#pe-order-note")).to_contain_text("the same tokens in another order")
