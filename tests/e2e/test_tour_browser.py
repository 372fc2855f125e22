"""The guided tour in headless Chromium: follow its first three steps and land on each tab with its input
filled; reveal an answer; the maths panel renders KaTeX; Next Word's fingerprint is unchanged by generating."""

from __future__ import annotations

import pytest

from .browser import open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_follow_the_first_three_steps(page):
    page.locator("#tour").get_by_text("Start here").click()
    expect(page.locator("#tour-text")).to_contain_text("Text becomes tokens")

    page.locator("#tour-try").click()  # step 1: the Tokenizer tab, its text filled in
    expect(page.get_by_role("tab", name="Tokenizer")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tk-text textarea")).to_have_value("Tokenization is unbelievably simple.")

    page.locator("#tour-reveal").click()
    expect(page.locator("#tour-answer")).to_contain_text("un ##bel ##ie ##va ##bly")
    page.locator("#tour-next").click()  # step 2: Positional Encoding, 64 dimensions; the answer hidden again
    expect(page.locator("#tour-text")).to_contain_text("Where each token stands")
    expect(page.locator("#tour-answer")).to_be_hidden()
    page.locator("#tour-try").click()
    expect(page.get_by_role("tab", name="Positional Encoding")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#pe-dim input[type=number]")).to_have_value("64")

    page.locator("#tour-next").click()  # step 3: Next Word with its prompt
    expect(page.locator("#tour-try")).to_have_text("Try it: open Next Word")
    page.locator("#tour-try").click()
    expect(page.get_by_role("tab", name="Next Word")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#nw-prompt textarea")).to_have_value("The capital of France is")
    shot(page, "tour-step-3")


def test_maths_on_demand_and_generating_leaves_the_weights_alone(page):
    open_tab(page, "Next Word")
    page.locator("#maths-next_word").get_by_text("The maths").click()
    expect(page.locator("#maths-next_word .katex").first).to_be_visible(timeout=30_000)  # rendered, not raw LaTeX

    page.get_by_text("Step by step: generate one token at a time").click()
    page.locator("#nw-step").click()
    expect(page.locator("#nw-gen-note")).to_contain_text("1 token generated", timeout=120_000)
    page.locator("#nw-check").click()
    expect(page.locator("#nw-checked")).to_contain_text("unchanged", timeout=120_000)
    shot(page, "next-word-fingerprint")
