"""Across tabs in headless Chromium: a tokenizer trained in the Tokenizer tab trains a model in the Train tab."""

from __future__ import annotations

import pytest

from .browser import open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_tokenizer_trained_here_trains_a_model_there(page):
    open_tab(page, "Tokenizer")
    expect(page.locator("#tk-table-gpt2")).to_contain_text("Transform")  # the tab has loaded
    page.locator("#tk-source").get_by_label("paste text").check()
    page.locator("#tk-pasted textarea").fill("To be, or not to be, that is the question. " * 200)
    page.locator("#tk-kind").get_by_label("WordPiece", exact=False).check()
    page.locator("#tk-train").click()
    expect(page.locator("#tk-train-status")).to_contain_text("Trained", timeout=60_000)

    open_tab(page, "Train Tiny Model")
    page.locator("#tr-tokenizer input").click()
    choice = page.get_by_role("option", name="wordpiece · 51 tokens (Tokenizer tab)", exact=True)
    expect(choice).to_have_count(1)  # offered after opening the tab
    choice.click()
    expect(page.locator("#tr-tokenizer input")).to_have_value("wordpiece · 51 tokens (Tokenizer tab)")
    expect(page.locator("#tr-estimate")).to_contain_text("M parameters", timeout=60_000)
    steps = page.locator("#tr-steps input[type=number]")
    steps.fill("20")
    steps.press("Enter")
    page.locator("#tr-go").click()
    expect(page.locator("#tr-status")).to_contain_text("Saved as", timeout=120_000)
    shot(page, "train-with-own-tokenizer")
