"""The page starts on the best model this host has, says what it was trained on, and each model brings its own
examples: switching the model switches them (issue #10). Headless Chromium on the launched app."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM

from playground import examples, registry

from ..hub_cache import put_in_hub_cache
from .browser import choose, open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HUB_BERT = "test-org/defaults-browser-bert"  # a Hub id the catalogue does not know


def test_next_word_starts_on_the_default_with_its_examples_and_switches_them(page):
    default = registry.default_model("causal")
    open_tab(page, "Next Word")
    page.locator("#nw-chart .js-plotly-plot").wait_for(timeout=240_000)  # SmolLM2 in CI: converted once
    expect(page.locator("#nw-model input")).to_have_value(default)
    first = examples.examples(default, "causal")[0][0]
    expect(page.locator("#nw-prompt textarea")).to_have_value(first)  # the page load used the model's example
    expect(page.locator("#nw-examples")).to_contain_text(first)
    expect(page.locator("#nw-note")).to_contain_text("Trained on")
    expect(page.locator("#nw-note")).to_contain_text("parameters")

    choose(page, "#nw-model", "tiny-shakespeare-gpt")
    expect(page.locator("#nw-examples")).to_contain_text("To be, or not to")
    expect(page.locator("#nw-examples")).not_to_contain_text("pizza")
    expect(page.locator("#nw-note")).to_contain_text("Trained on tinyshakespeare")
    expect(page.locator("#nw-note")).to_contain_text("2.59 million parameters")
    page.locator("#nw-examples").get_by_text("Now is the winter of our").click()  # a switched example still fills in
    expect(page.locator("#nw-prompt textarea")).to_have_value("Now is the winter of our")
    shot(page, "next-word-examples-switched")


def test_fill_mask_examples_follow_the_model(page):
    tok = registry.reference_tokenizer("bert-base-uncased")
    torch.manual_seed(0)
    put_in_hub_cache(
        HUB_BERT,
        tok,
        BertForMaskedLM(
            BertConfig(
                vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
            )
        ),
    )
    open_tab(page, "Fill Mask")
    choose(page, "#fm-model", HUB_BERT)
    expect(page.locator("#fm-examples")).to_contain_text("She wrote a [MASK] to her mother.")
    expect(page.locator("#fm-note")).to_contain_text("A Hugging Face Hub model with")
    choose(page, "#fm-model", "tiny-shakespeare-bert")
    expect(page.locator("#fm-examples")).to_contain_text("Good morrow, my [MASK] lord.")
    expect(page.locator("#fm-note")).to_contain_text("Trained on tinyshakespeare")


def test_next_sentence_examples_follow_the_model(page):
    open_tab(page, "Next Sentence")
    # not cached and no Hub: the picker moves to the stand-in, with its examples, and the note says why
    choose(page, "#ns-model", "bert-base-uncased", shows=registry.offline_default("nsp"))
    expect(page.locator("#ns-note")).to_contain_text("cannot be reached")
    expect(page.locator("#ns-examples")).to_contain_text("The man went to the store.")  # the English BERT's
    page.locator(".toast-close").first.click()
