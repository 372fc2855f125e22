"""Fine-tuning in the Train tab, in headless Chromium: start side by side, see two curves, stop, try a sentence."""

from __future__ import annotations

import pytest

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
