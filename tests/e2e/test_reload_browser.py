"""A reload keeps the learner's work: a tokenizer trained before it is still a choice after it, in that
browser only (issue #16, item 5)."""

from __future__ import annotations

import re

import pytest

from .browser import open_tab

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TRAINED = re.compile(r"bpe · \d+ tokens \(Tokenizer tab\)")


def offered_tokenizers(page):
    open_tab(page, "Train Tiny Model")
    page.locator("#tr-tokenizer input").click()
    expect(page.get_by_role("option", name="characters (one token each)")).to_have_count(1)  # the list is open
    return page.get_by_role("option", name=TRAINED)


def test_a_tokenizer_trained_before_a_reload_is_still_a_choice_after_it(page, app_url):
    open_tab(page, "Tokenizer")
    expect(page.locator("#tk-table-gpt2")).to_contain_text("Transform")  # the tab has loaded
    page.locator("#tk-source").get_by_label("paste text").check()
    page.locator("#tk-pasted textarea").fill("To be, or not to be, that is the question. " * 200)
    page.locator("#tk-train").click()
    expect(page.locator("#tk-train-status")).to_contain_text("Trained", timeout=60_000)
    expect(offered_tokenizers(page)).to_have_count(1)

    page.reload()
    expect(offered_tokenizers(page)).to_have_count(1)

    # another browser (a fresh context: its own storage and cookies) never gets this browser's work
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    other = context.new_page()
    other.goto(app_url)
    expect(offered_tokenizers(other)).to_have_count(0)
    context.close()
