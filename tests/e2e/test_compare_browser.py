"""Compare models in headless Chromium: Next Word's and Fill Mask's compare views show one result column per
chosen model, and the page's deep link brings the chosen models back.

One model of each pair is a tiny random GPT-2 / BERT with the real tokenizer files, loaded as a Hub id from a
Hub cache of our own making (tests/hub_cache.py stands in for the Hub)."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel

from playground import registry

from ..hub_cache import put_in_hub_cache
from .browser import open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
HUB_GPT2, HUB_BERT = "test-org/compare-browser-gpt2", "test-org/compare-browser-bert"
ACCORDION = "Compare models: the same input through two or three models"


@pytest.fixture(scope="module", autouse=True)
def hub_models():
    torch.manual_seed(0)
    gpt2_tok, bert_tok = registry.reference_tokenizer("gpt2"), registry.reference_tokenizer("bert-base-uncased")
    put_in_hub_cache(
        HUB_GPT2,
        gpt2_tok,
        GPT2LMHeadModel(GPT2Config(vocab_size=len(gpt2_tok), n_positions=64, n_embd=16, n_layer=1, n_head=2)),
    )
    put_in_hub_cache(
        HUB_BERT,
        bert_tok,
        BertForMaskedLM(
            BertConfig(
                vocab_size=len(bert_tok),
                hidden_size=16,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=32,
                max_position_embeddings=64,
            )
        ),
    )


def _open_compare(page, prefix: str) -> None:
    page.locator(f"#{prefix}-cmp").get_by_text(ACCORDION).click()
    expect(page.locator(f"#{prefix}-cmp-go")).to_be_visible()  # the accordion's content mounts on opening


def _choose(page, prefix: str, names: list[str]) -> None:
    """Replace the multiselect's models with `names` (a Hub id is typed in, as a user would)."""
    box = page.locator(f"#{prefix}-cmp-models")
    box.locator(".remove-all").click()
    expect(box.locator(".token")).to_have_count(0)
    for name in names:
        box.locator("input").fill(name)
        box.locator("input").press("Enter")
    expect(box.locator(".token")).to_have_text(names)


def _two_result_columns(page, prefix: str, names: list[str]) -> None:
    for i, name in enumerate(names):
        column = page.locator(f"#{prefix}-cmp-col-{i}")
        expect(column).to_be_visible()
        expect(column.locator(f"#{prefix}-cmp-head-{i}")).to_contain_text(name)
        expect(column.locator(f"#{prefix}-cmp-head-{i}")).to_contain_text("tokens in its vocabulary")  # it ran
        column.locator(".js-plotly-plot").wait_for()
    expect(page.locator(f"#{prefix}-cmp-col-2")).to_be_hidden()  # no third model, no third column
    expect(page.locator(f"#{prefix}-cmp-summary")).to_contain_text(names[-1])


def test_fill_mask_compares_two_models_side_by_side(page):
    names = ["tiny-shakespeare-bert", HUB_BERT]
    open_tab(page, "Fill Mask")
    page.locator("#fm-text textarea").fill("Good morrow, my [MASK] lord.")  # the tab's own sentence box
    _open_compare(page, "fm")
    page.locator("#fm-cmp-word textarea").fill("good")
    _choose(page, "fm", names)
    page.locator("#fm-cmp-go").click()
    _two_result_columns(page, "fm", names)
    expect(page.locator("#fm-cmp-note")).to_contain_text("pseudo-log-likelihood")
    expect(page.locator("#fm-cmp-summary")).to_contain_text("good → 'good' at mask 1")
    shot(page, "compare-fill-mask")


def test_next_word_compares_two_models_side_by_side_and_the_deep_link_keeps_them(page, app_url):
    names = ["tiny-shakespeare-gpt", HUB_GPT2]
    open_tab(page, "Next Word")
    _open_compare(page, "nw")
    _choose(page, "nw", names)
    page.locator("#nw-cmp-go").click()
    _two_result_columns(page, "nw", names)
    expect(page.locator("#nw-cmp-note")).to_contain_text("Bits per character")
    shot(page, "compare-next-word")

    open_tab(page, "Fill Mask")  # opening a tab refreshes every model picker's choices: the selection stays
    open_tab(page, "Next Word")
    expect(page.locator("#nw-cmp-models .token")).to_have_text(names)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy a link to the whole page").locator("visible=true").click()
    page.wait_for_function("navigator.clipboard.readText().then(t => t.includes('deep_link='))")
    page.goto(page.evaluate("navigator.clipboard.readText()"))
    open_tab(page, "Next Word")
    _open_compare(page, "nw")
    expect(page.locator("#nw-cmp-models .token")).to_have_text(names)  # the selection survived the round trip
    expect(page.locator("#nw-cmp-head-1")).to_contain_text(HUB_GPT2)  # and so did the results
    page.locator("#nw-cmp-go").click()  # the restored selection runs again
    _two_result_columns(page, "nw", names)
