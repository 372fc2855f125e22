"""Fine-tuning in the Train tab, in headless Chromium: start side by side, see two curves, stop, try a sentence;
download the fine-tuned encoder as a transformers classifier."""

from __future__ import annotations

import json
import zipfile

import pytest

from playground.registry import ENCODER

from .browser import choose, open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_side_by_side_fine_tune_stop_and_try(page):
    open_tab(page, "Train Tiny Model")
    expect(page.locator("#ft-estimate")).to_contain_text("sweep", timeout=120_000)  # a time before starting
    choose(page, "#ft-model", "tiny-english-bert")  # one of ours: its fine-tuned copy joins the session
    steps = page.locator("#ft-steps input")
    steps.fill("400")  # longer than the test waits: it is stopped by hand
    steps.press("Enter")
    page.locator("#ft-go").click()

    expect(page.locator("#ft-status")).to_contain_text("Training", timeout=120_000)
    plot = page.locator("#ft-curve .js-plotly-plot")
    expect(plot).to_contain_text("pretrained: train loss", timeout=60_000)
    expect(plot).to_contain_text("scratch: train loss")
    shot(page, "finetune-running")

    page.locator("#ft-stop").click()
    expect(page.locator("#ft-status")).to_contain_text("joined this session", timeout=120_000)
    expect(plot).to_contain_text("pretrained: validation accuracy")  # evaluated on stopping: both models
    expect(plot).to_contain_text("scratch: validation accuracy")
    expect(page.locator("#ft-download")).to_be_enabled()

    page.locator("#ft-try-a textarea").fill("The concert was awful, not superb.")  # the default task: verdict
    page.locator("#ft-try").click()
    probs = page.locator("#ft-probs")
    expect(probs).to_contain_text("negative", timeout=60_000)
    expect(probs).to_contain_text("scratch")
    expect(page.locator("#ft-seen")).to_contain_text("[CLS]")
    shot(page, "finetune-try-it")


def test_the_fine_tuned_encoder_downloads_as_a_transformers_classifier(page):
    """The default body (the packaged encoder) on the default task, a few steps: the page offers the fine-tuned
    model as transformers' BertForSequenceClassification, and the zip holds that folder with its card."""
    open_tab(page, "Train Tiny Model")
    expect(page.locator("#ft-estimate")).to_contain_text("sweep", timeout=120_000)
    choose(page, "#ft-model", ENCODER)  # the default, chosen again: the page restores the session's last form
    for field, value in (("#ft-labels input", "16"), ("#ft-steps input", "3")):  # labels first: they set the steps
        page.locator(field).fill(value)
        page.locator(field).press("Enter")
    expect(page.locator("#ft-steps input")).to_have_value("3")
    page.locator("#ft-go").click()
    expect(page.locator("#ft-status")).to_contain_text("BertForSequenceClassification", timeout=180_000)
    with page.expect_download() as download:
        page.locator("#ft-download").click()
    assert download.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.value.path()) as zf:
        names = zf.namelist()
        config = json.loads(zf.read(next(n for n in names if n.endswith("/config.json"))))
    assert {n.split("/", 1)[1] for n in names} >= {"config.json", "model.safetensors", "tokenizer.json", "README.md"}
    assert config["architectures"] == ["BertForSequenceClassification"]
    assert set(config["id2label"].values()) == {"positive", "negative"}
