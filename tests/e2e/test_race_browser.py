"""The race in headless Chromium: two recipes on a tiny run, two curves on the chart; Stop leaves the stopped race."""

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


def test_stop_leaves_the_stopped_race_on_the_page(page):
    """Stop's reply and the race's last update reach the readout by two routes; whichever lands last, the page keeps
    the stopped race's table (a "Stopping…" that landed last stayed there for good)."""
    readout = page.locator("#race-readout")
    page.locator("#race-stop").click()  # after the race above ended: its table stays
    expect(readout).to_contain_text("Done")
    set_slider(page, "tr-steps", 2000)
    page.locator("#race-go").click()
    expect(readout).to_contain_text("Racing", timeout=120_000)
    page.locator("#race-stop").click()
    expect(readout).to_contain_text("Stopped", timeout=30_000)
    page.wait_for_timeout(3_000)  # long enough for a late reply to land
    expect(readout).to_contain_text("Stopped")
    expect(readout).to_contain_text("validation loss")
    assert "Stopping" not in readout.inner_text()
