"""Links that name what only the sender's browser has (issue #24, item 2): a model trained there, a tokenizer
trained in its Tokenizer tab. The recipient's page opens with the default in its place, every other value as
the link set it, and one sentence saying which was swapped and why; never Error badges, never a lost prompt."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from playground import registry

from .browser import copy_page_link, open_tab, set_slider

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SENDERS = "my-gpt-1 · this session"
SWAPPED = "made in the sender's browser"


def _recipient(page):
    """A second browser (its own storage and cookies): the one a link is sent to."""
    return page.context.browser.new_context(viewport={"width": 1280, "height": 900}).new_page()


def _no_error_badges(page) -> None:
    for elem in ("#nw-prompt", "#nw-model", "#nw-chart"):
        expect(page.locator(elem)).not_to_contain_text("Error")


def test_a_next_word_link_to_the_senders_model_opens_on_the_default_and_keeps_the_prompt(page, app_url):
    other = _recipient(page)
    query = {"prompt": "ROMEO: the", "model": SENDERS, "temperature": "0.7"}
    other.goto(app_url + "?" + urlencode(query))
    toast = other.locator(".toast-body").first  # (first: a toast closes itself after a few seconds)
    expect(toast).to_contain_text(SWAPPED, timeout=60_000)
    expect(toast).to_contain_text(SENDERS)
    expect(other.locator("#nw-chart .js-plotly-plot")).to_be_visible()
    expect(other.locator("#nw-prompt textarea")).to_have_value("ROMEO: the")
    expect(other.locator("#nw-model input")).to_have_value(registry.default_model("causal"))
    expect(other.locator("#nw-temperature input[type=number]")).to_have_value("0.7")
    _no_error_badges(other)
    other.context.close()


def test_a_next_sentence_link_to_the_senders_model_opens_on_the_default(page, app_url):
    other = _recipient(page)
    query = {"ns_a": "The sun rose.", "ns_b": "The birds sang.", "ns_model": "my-bert-1 · this session"}
    other.goto(app_url + "?" + urlencode(query))
    expect(other.locator(".toast-body").first).to_contain_text(SWAPPED, timeout=60_000)
    open_tab(other, "Next Sentence")
    expect(other.locator("#ns-model input")).to_have_value(registry.default_model("nsp"))
    expect(other.locator("#ns-a textarea")).to_have_value("The sun rose.")
    other.context.close()


def test_a_fill_mask_link_to_the_senders_model_opens_on_the_default_and_keeps_the_sentence(page, app_url):
    other = _recipient(page)
    query = {"fm_text": "The cat sat on the [MASK].", "fm_model": "my-bert-mlm-1 · this session"}
    other.goto(app_url + "?" + urlencode(query))
    expect(other.locator(".toast-body").first).to_contain_text(SWAPPED, timeout=60_000)
    open_tab(other, "Fill Mask")
    expect(other.locator("#fm-model input")).to_have_value(registry.default_model("masked"))
    expect(other.locator("#fm-note")).to_contain_text(registry.default_model("masked"))
    other.context.close()


def test_a_whole_page_link_with_the_senders_model_and_tokenizer_opens_with_defaults(page, app_url):
    page.goto(app_url)
    open_tab(page, "Tokenizer")  # the sender trains a tokenizer, and a model ...
    expect(page.locator("#tk-table-gpt2")).to_contain_text("Transform")
    page.locator("#tk-source").get_by_label("paste text").check()
    page.locator("#tk-pasted textarea").fill("To be, or not to be, that is the question. " * 200)
    page.locator("#tk-train").click()
    expect(page.locator("#tk-train-status")).to_contain_text("Trained", timeout=60_000)
    open_tab(page, "Train Tiny Model")
    set_slider(page, "tr-steps", 20)
    page.locator("#tr-go").click()
    status = page.locator("#tr-status")
    expect(status).to_contain_text("Saved as", timeout=120_000)
    saved = re.search(r"Saved as (.+?): choose", status.inner_text())
    assert saved is not None
    model = saved.group(1)
    tokenizer = page.locator("#tr-tokenizer input")  # ... then chooses them both
    tokenizer.click()
    page.get_by_role("option", name=re.compile(r"\(Tokenizer tab\)")).click()
    expect(tokenizer).to_have_value(re.compile(r"\(Tokenizer tab\)"))
    open_tab(page, "Next Word")
    box = page.locator("#nw-model input")
    box.click()
    page.get_by_role("option", name=model).click()
    page.locator("#nw-prompt textarea").fill("To be, or")
    page.locator("#nw-go").click()
    expect(page.locator("#nw-note")).to_contain_text(model)
    link = copy_page_link(page)

    other = _recipient(page)
    other.goto(link)
    expect(other.locator(".toast-body").first).to_contain_text(SWAPPED, timeout=60_000)
    expect(other.locator("#nw-model input")).to_have_value(registry.default_model("causal"))
    expect(other.locator("#nw-prompt textarea")).to_have_value("To be, or")
    # its own prediction, not the sender's
    expect(other.locator("#nw-note")).to_contain_text(registry.default_model("causal"))
    _no_error_badges(other)
    open_tab(other, "Train Tiny Model")
    expect(other.locator("#tr-tokenizer input")).to_have_value("characters (one token each)")
    expect(other.locator("#tr-estimate")).to_contain_text("M parameters")  # not a warning about the tokenizer
    other.context.close()
