"""The guided tour in headless Chromium: follow its first three steps and land on each tab with its input
filled; reveal an answer; the maths panel renders KaTeX; Next Word's fingerprint is unchanged by generating."""

from __future__ import annotations

import re

import pytest

from .browser import open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_follow_the_first_three_steps_each_try_runs_its_tab(page):
    page.locator("#tour").get_by_text("Start here").click()
    expect(page.locator("#tour-text")).to_contain_text("Text becomes tokens")

    page.locator("#tour-try").click()  # step 1: the Tokenizer tab, its text filled in
    expect(page.get_by_role("tab", name="Tokenizer")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tk-text textarea")).to_have_value("Tokenization is unbelievably simple.")

    page.locator("#tour-reveal").click()  # the answer is read from the tokenizers
    expect(page.locator("#tour-answer")).to_contain_text("un ##bel ##ie ##va ##bly", timeout=60_000)
    page.locator("#tour-next").click()  # step 2: Positional Encoding, 64 dimensions; the answer hidden again
    expect(page.locator("#tour-text")).to_contain_text("Where each token stands")
    expect(page.locator("#tour-answer")).to_be_hidden()
    page.locator("#tour-try").click()
    expect(page.get_by_role("tab", name="Positional Encoding")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#pe-dim input[type=number]")).to_have_value("64")
    # Try it pressed Draw: the heatmap the step talks about is drawn for 64 dimensions (it opened on 128)
    expect(page.locator("#pe-heatmap")).to_contain_text("× 64 dimensions", timeout=60_000)
    expect(page.locator("#pe-note")).to_contain_text("The 32 sin/cos pairs")
    expect(page.locator("#pe-note")).not_to_contain_text("Not drawn")  # its waves fit the width it set

    page.locator("#tour-next").click()  # step 3: Next Word with its prompt, predicted
    expect(page.locator("#tour-try")).to_have_text("Try it: open Next Word")
    page.locator("#tour-try").click()
    expect(page.get_by_role("tab", name="Next Word")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#nw-prompt textarea")).to_have_value("The capital of France is")
    expect(page.locator("#nw-tokens")).to_contain_text("France", timeout=120_000)  # the tab ran on the new prompt
    page.locator("#tour-reveal").click()
    expect(page.locator("#tour-answer")).to_contain_text("On screen:", timeout=120_000)
    named = re.search(r"puts (.+?) first", page.locator("#tour-answer").inner_text())
    assert named, "the answer names the model's top token"
    expect(page.locator("#nw-table")).to_contain_text(named[1])  # the token named is in the table drawn
    shot(page, "tour-step-3")


def test_a_tour_link_opens_its_step_tried(page, app_url):
    page.goto(f"{app_url}?tour=5")
    expect(page.get_by_role("tab", name="Next Sentence")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#ns-a textarea")).to_have_value("I went to the store to buy some milk.")
    expect(page.locator("#tour-text")).to_contain_text("Does B follow A?")
    expect(page.locator("#ns-segments")).to_contain_text("instead", timeout=120_000)  # judged: the pair as tokens
    page.goto(app_url)


def test_the_inside_step_predicts_and_looks_inside_its_own_prompt(page, app_url):
    """Step 8's button sits in a closed accordion: Try it opens it, predicts the new prompt and presses Look
    inside, so the heads table the answer talks about is drawn for the prompt on screen."""
    page.goto(f"{app_url}?tour=8")
    expect(page.locator("#nw-prompt textarea")).to_have_value("Bob gave Alice the book because he loves")
    expect(page.locator("#nw-tokens")).to_contain_text("Alice", timeout=120_000)  # predicted on the new prompt
    expect(page.locator("#nw-inside-note")).to_contain_text("layers ×", timeout=120_000)  # Look inside ran
    page.locator("#nw-inside-grid .js-plotly-plot").wait_for()
    expect(page.locator("#nw-inside-patterns")).to_contain_text("score")
    page.locator("#tour-reveal").click()
    expect(page.locator("#tour-answer")).to_contain_text("On screen:", timeout=120_000)
    head = re.search(r"head (\d+)\.(\d+) puts (\d+)%", page.locator("#tour-answer").inner_text())
    assert head, "the answer names the model's best previous-token head"
    expect(page.locator("#nw-inside-patterns")).to_contain_text(f"0.{int(head[3]):02d}")  # ranked in the table
    shot(page, "tour-step-8")
    page.goto(app_url)


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
