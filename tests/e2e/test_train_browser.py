"""The Train tab in headless Chromium: train, watch, stop, then use the new model in Next Word."""

from __future__ import annotations

import re

import pytest

from .browser import open_tab, set_slider, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_train_watch_stop_and_predict_with_the_new_model(page):
    open_tab(page, "Train Tiny Model")
    expect(page.locator("#tr-estimate")).to_contain_text("M parameters", timeout=60_000)  # before starting
    set_slider(page, "tr-steps", 2000)  # longer than the test waits: it is stopped by hand
    set_slider(page, "tr-samples", 50)  # a sample every 40 steps
    page.locator("#tr-go").click()

    expect(page.locator("#tr-status")).to_contain_text("Training", timeout=60_000)
    page.locator("#tr-curve .js-plotly-plot").wait_for()
    expect(page.locator("#tr-sample textarea")).not_to_have_value("", timeout=120_000)
    expect(page.locator("#tr-stats")).to_contain_text("tokens/s")
    expect(page.locator("#tr-stats")).to_contain_text("ETA")
    shot(page, "train-running")

    page.locator("#tr-stop").click()
    status = page.locator("#tr-status")
    expect(status).to_contain_text("Saved as", timeout=60_000)
    expect(status).to_contain_text("Stopped")
    expect(page.locator("#tr-download")).to_be_enabled()
    saved = re.search(r"Saved as (.+?): choose", status.inner_text())
    assert saved is not None
    name = saved.group(1)
    shot(page, "train-stopped")

    open_tab(page, "Next Word")
    page.locator("#nw-model input").click()
    page.get_by_role("option", name=name).click()
    page.locator("#nw-go").click()
    expect(page.locator("#nw-note")).to_contain_text(name)
    page.locator("#nw-chart .js-plotly-plot").wait_for()
    shot(page, "next-word-own-model")
