"""The race in headless Chromium: two recipes on a tiny run, two curves on the chart."""

from __future__ import annotations

import pytest

from .browser import open_tab, set_slider, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_race_view_renders_two_curves(page):
    open_tab(page, "Train Tiny Model")
    set_slider(page, "tr-steps", 60)
    page.locator("#race-section").get_by_text("Race two recipes").click()
    page.locator("#race-go").click()
    expect(page.locator("#race-readout")).to_contain_text("Done", timeout=180_000)
    chart = page.locator("#race-chart .js-plotly-plot")
    chart.wait_for()
    expect(chart).to_contain_text("A (classic): validation")
    expect(chart).to_contain_text("B (modern): validation")
    traces = page.evaluate("() => document.querySelector('#race-chart .js-plotly-plot').data.length")
    assert traces == 8  # two sides × (train, validation) × (against steps, against seconds)
    expect(page.locator("#race-readout")).to_contain_text("Both reached validation loss")
    shot(page, "race")
