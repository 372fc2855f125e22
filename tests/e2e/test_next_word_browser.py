"""The Next Word tab in headless Chromium: predict, sample, step by step, switch models, bad input, links."""

from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from playground import registry

from ..hub_cache import put_in_hub_cache
from .browser import open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HUB_GPT2 = "test-org/next-word-browser-gpt2"


@pytest.fixture(scope="module")
def page(page):
    open_tab(page, "Next Word")
    # the prediction made on page load, by the default model (SmolLM2 in CI: the first load converts it once)
    page.locator("#nw-chart .js-plotly-plot").wait_for(timeout=240_000)
    return page


def _predict(page, prompt: str) -> None:
    page.locator("#nw-prompt textarea").fill(prompt)
    page.locator("#nw-go").click()


def test_a_prompt_gives_the_chart_the_sampling_view_and_the_training_pairs(page):
    _predict(page, "The quick brown fox")
    expect(page.locator("#nw-tokens")).to_contain_text("rown")
    page.locator("#nw-chart .js-plotly-plot").wait_for()
    expect(page.locator("#nw-note")).to_contain_text(registry.default_model("causal"))
    temperature = page.locator("#nw-temperature input[type=number]")
    temperature.fill("0.5")
    temperature.press("Enter")
    page.locator("#nw-go").click()
    expect(page.locator("#nw-sampling-note")).to_contain_text("temperature 0.5")
    page.locator("#nw-sampling-chart .js-plotly-plot").wait_for()
    page.get_by_text("How it is trained").click()
    expect(page.locator("#nw-pairs-note")).to_contain_text("perplexity")
    expect(page.locator("#nw-pairs")).to_contain_text("The quick b")
    expect(page.locator("#nw-table-csv")).to_be_enabled()  # the tables were written as CSV
    expect(page.locator("#nw-pairs-csv")).to_be_enabled()
    shot(page, "next-word")


def test_next_token_twice_grows_the_log(page):
    _predict(page, "ROMEO:")
    page.get_by_text("Step by step").click()
    page.locator("#nw-step").click()
    expect(page.locator("#nw-gen-note")).to_contain_text("1 token generated")
    page.locator("#nw-step").click()
    expect(page.locator("#nw-gen-note")).to_contain_text("2 tokens generated")
    expect(page.locator("#nw-log")).to_contain_text("greedy")
    expect(page.locator("#nw-log-csv")).to_be_enabled()
    page.locator("#nw-generate").click()
    expect(page.locator("#nw-gen-note")).to_contain_text("22 tokens generated")
    shot(page, "next-word-steps")


def test_switching_the_model_dropdown(page):
    tokenizer = registry.reference_tokenizer("gpt2")
    torch.manual_seed(0)
    put_in_hub_cache(HUB_GPT2, tokenizer, GPT2LMHeadModel(GPT2Config(n_positions=64, n_embd=16, n_layer=1, n_head=2)))
    _choose_model(page, HUB_GPT2)
    # choosing a model runs it on the prompt there: let that finish, or it may land after the prediction below
    expect(page.locator("#nw-note")).to_contain_text(HUB_GPT2)
    _predict(page, "Hello world!")
    expect(page.locator("#nw-note")).to_contain_text(HUB_GPT2)
    expect(page.locator("#nw-tokens")).to_contain_text("world")
    _choose_model(page, "distilgpt2")  # in the list, not cached and no Hub: falls back and says so
    page.locator("#nw-go").click()
    expect(page.locator("#nw-note")).to_contain_text("cannot be reached")
    page.locator(".toast-close").first.click()
    _choose_model(page, "tiny-shakespeare-gpt")


def test_an_empty_prompt_is_explained_and_the_tab_goes_on(page):
    _predict(page, "   ")
    expect(page.get_by_text("Type a prompt first").first).to_be_visible()
    page.locator(".toast-close").first.click()
    _predict(page, "The cat sat on the")
    expect(page.locator("#nw-tokens")).to_contain_text("sat")
    page.get_by_text("Score my word").click()
    word = page.locator("#nw-word textarea")
    expect(word).to_be_visible()  # the accordion's content mounts on opening: type only once it is there
    page.wait_for_timeout(300)  # (on a loaded CI machine a value typed at mount was reset to the default)
    word.fill("mat")
    expect(word).to_have_value("mat")
    word.press("Enter")  # submit sends what the box holds now
    expect(page.locator("#nw-score-note")).to_contain_text("' mat'")


def test_a_link_with_query_parameters_fills_the_tab(page, app_url):
    page.goto(app_url + "?prompt=I+love+to+eat+pizza+with&temperature=0.5&top_k=7")
    expect(page.locator("#nw-prompt textarea")).to_have_value("I love to eat pizza with")
    expect(page.locator("#nw-sampling-note")).to_contain_text("top-k 7")
    expect(page.locator("#nw-link")).to_contain_text("Link to this prompt")


def _choose_model(page, name: str) -> None:
    box = page.locator("#nw-model input")
    box.click()
    box.fill(name)
    box.press("Enter")
    expect(box).to_have_value(name)
