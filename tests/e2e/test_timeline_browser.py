"""The Train tab's timeline in headless Chromium: train a short run, scrub it, and see the probe chart move;
then the loss-against-compute chart with the references."""

from __future__ import annotations

import pytest

from .browser import open_tab, set_slider, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def marker_x(page) -> float:
    """Where the probe chart's step marker (its vertical line) sits."""
    return page.evaluate("() => document.querySelector('#tl-probes .js-plotly-plot').layout.shapes[0].x0")


def test_scrub_a_finished_run_and_see_the_probe_chart_move(page):
    open_tab(page, "Train Tiny Model")
    set_slider(page, "tr-steps", 60)
    page.locator("#tr-go").click()
    expect(page.locator("#tr-status")).to_contain_text("Saved as", timeout=120_000)

    page.locator("#tl-section").get_by_text("Watch it learn").click()
    run = page.locator("#tl-run input")
    expect(run).not_to_have_value("", timeout=30_000)  # the saved run was offered and chosen
    expect(page.locator("#tl-status")).to_contain_text("Step 60 of 60", timeout=60_000)
    page.locator("#tl-probes .js-plotly-plot").wait_for()
    assert marker_x(page) == 60
    guesses_at_end = page.locator("#tl-guesses").inner_text()
    assert "speak" in guesses_at_end  # the default probe: "Before we proceed any further, hear me" → speak

    set_slider(page, "tl-step", 0)
    expect(page.locator("#tl-status")).to_contain_text("Step 0 of 60", timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('#tl-probes .js-plotly-plot').layout.shapes[0].x0 === 0", timeout=30_000
    )
    assert page.locator("#tl-guesses").inner_text() != guesses_at_end  # the untrained model guessed otherwise
    shot(page, "timeline-scrubbed")

    set_slider(page, "tl-step", 39)  # no snapshot at 39 (60 steps: ..., 38, 41, ...): the one before it is shown
    expect(page.locator("#tl-status")).to_contain_text("Step 38 (step 39 has no snapshot", timeout=60_000)
    page.locator("#tl-step input[type=number]").blur()  # let go: the slider moves to the step shown
    expect(page.locator("#tl-step input[type=number]")).to_have_value("38", timeout=30_000)
    expect(page.locator("#tl-status")).to_contain_text("Step 38 of 60")

    page.locator("#tr-go").click()  # a second run: once saved, the list chooses it
    expect(page.locator("#tr-status")).to_contain_text("Saved as my-gpt-2", timeout=120_000)
    expect(run).to_have_value("my-gpt-2 · this session", timeout=30_000)
    expect(page.locator("#tl-status")).to_contain_text("Step 60 of 60", timeout=60_000)

    page.locator("#lc-section").get_by_text("Loss against compute").click()
    plot = page.locator("#lc-plot .js-plotly-plot")
    plot.wait_for(timeout=60_000)
    expect(plot).to_contain_text("nanoGPT baby GPT")
    expect(page.locator("#lc-notes")).to_contain_text("scaling law")
    shot(page, "loss-vs-compute")
