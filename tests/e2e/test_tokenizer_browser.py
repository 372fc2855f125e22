"""The Tokenizer tab in headless Chromium: compare as you type, train a tokenizer, replay its merges."""

from __future__ import annotations

import pytest
from transformers import GPT2Config

from playground import registry

from ..hub_cache import put_in_hub_cache
from .browser import shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def page(page):
    page.get_by_role("tab", name="Tokenizer").click()
    # the on-load comparison must land before we type, or it could overwrite what we typed
    expect(page.locator("#tk-table-gpt2")).to_contain_text("Transform")
    return page


def test_typing_updates_both_tokenizers(page):
    expect(page.locator("#tk-bert-base-uncased")).to_contain_text("relationships")
    page.locator("#tk-text textarea").fill("Hello world! naïve")
    expect(page.locator("#tk-stats-gpt2")).to_contain_text("4 tokens")
    expect(page.locator("#tk-table-gpt2")).to_contain_text("15496")
    expect(page.locator("#tk-stats-bert-base-uncased")).to_contain_text("4 tokens")
    expect(page.locator("#tk-table-bert-base-uncased")).to_contain_text("7592")
    # BERT lower-cases and strips the accent; the round trip says so
    expect(page.locator("#tk-stats-bert-base-uncased")).to_contain_text("lower-cased, accents stripped")
    expect(page.locator("#tk-stats-gpt2")).to_contain_text("round trip: exact")
    shot(page, "tokenizer")


def test_a_bundled_tokenizer_can_join_the_comparison(page):
    panel = page.locator("#tk-panel-tiny-shakespeare-gpt")
    expect(panel).to_be_hidden()
    page.locator("#tk-shown").get_by_label("tiny-shakespeare-gpt", exact=False).check()
    expect(panel).to_be_visible()
    expect(page.locator("#tk-stats-tiny-shakespeare-gpt")).to_contain_text("tokens")


def test_training_without_text_is_explained(page):
    page.locator("#tk-source").get_by_label("paste text").check()
    page.locator("#tk-train").click()
    expect(page.get_by_text("There is no text to train on")).to_be_visible()
    page.locator(".toast-close").first.click()  # keep the later screenshot clear
    page.locator("#tk-source").get_by_label("tinyshakespeare", exact=False).check()


def test_train_a_tokenizer_and_replay_its_merges(page):
    page.locator("#tk-train").click()
    expect(page.locator("#tk-train-status")).to_contain_text("Trained", timeout=120_000)
    page.locator("#tk-growth .js-plotly-plot").wait_for()
    expect(page.locator("#tk-merge")).to_contain_text("Merge 1,739 of 1,739")  # 2000 - 261 bytes and specials
    expect(page.locator("#tk-stats-yours-bpe")).to_contain_text("tokens")  # joined the comparison
    step = page.locator("#tk-step input[type=number]")
    step.fill("1")
    step.press("Enter")
    expect(page.locator("#tk-merge")).to_contain_text("Merge 1 of 1,739")
    expect(page.locator("#tk-merge")).to_contain_text("Ġ + t → Ġt")
    step.fill("0")
    step.press("Enter")
    expect(page.locator("#tk-merge")).to_contain_text("Step 0 of 1,739")
    step.fill("300")
    step.press("Enter")
    expect(page.locator("#tk-merge")).to_contain_text("Merge 300 of 1,739")
    expect(page.locator("#tk-download")).to_be_enabled()
    shot(page, "tokenizer-train")


def test_a_hub_tokenizer_is_added_by_id(page):
    # the Hub is unreachable here: the tokenizer comes from a Hub-layout cache, as after a download
    put_in_hub_cache("test-org/gpt2-tokenizer", registry.reference_tokenizer("gpt2"), GPT2Config())
    page.locator("#tk-text textarea").fill("Hello world!")
    page.locator("#tk-hub-id textarea").fill("test-org/gpt2-tokenizer")
    page.locator("#tk-hub-add").click()
    expect(page.locator("#tk-stats-hub")).to_contain_text("3 tokens")
    expect(page.locator("#tk-table-hub")).to_contain_text("15496")
