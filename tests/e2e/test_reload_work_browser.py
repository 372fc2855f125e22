"""A reload shows the Train tab's work as it was (issue #24, item 1): the last run's curve, status, sample and
settings, the model chosen for download, and the fine-tuning chart and status; a run whose page went away
mid-run shows as paused and goes on."""

from __future__ import annotations

import re

import pytest

from .browser import choose, open_tab, set_slider

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_finished_run_and_its_settings_are_on_the_page_after_a_reload(page):
    open_tab(page, "Train Tiny Model")
    expect(page.locator("#tr-estimate")).to_contain_text("M parameters", timeout=60_000)
    set_slider(page, "tr-steps", 40)
    set_slider(page, "tr-samples", 2)
    seed = page.locator("#tr-seed input")
    seed.fill("7")
    seed.press("Enter")
    page.locator("#tr-go").click()
    status = page.locator("#tr-status")
    expect(status).to_contain_text("Saved as", timeout=120_000)
    before = status.inner_text()
    sample = page.locator("#tr-sample textarea").input_value()
    assert sample
    saved = re.search(r"Saved as (.+?): choose", before)
    assert saved is not None
    name = saved.group(1)
    expect(page.locator("#tr-mine input")).to_have_value(name)

    page.reload()
    open_tab(page, "Train Tiny Model")
    expect(status).to_contain_text(before.split("\n")[0].strip(), timeout=60_000)  # "Done · step 40/40 · ..."
    expect(status).to_contain_text(f"Saved as {name}")
    expect(page.locator("#tr-sample textarea")).to_have_value(sample)
    expect(page.locator("#tr-steps input[type=number]")).to_have_value("40")
    expect(page.locator("#tr-seed input")).to_have_value("7")
    expect(page.locator("#tr-mine input")).to_have_value(name)
    expect(page.locator("#tr-curve .js-plotly-plot")).to_contain_text("validation")
    expect(page.locator("#tr-estimate")).to_contain_text("40 steps")  # the estimate is for the restored form
    page.locator("#tl-section").get_by_text("Watch it learn").click()
    expect(page.locator("#tl-run input")).to_have_value(name)  # "Watch it learn" shows that run again


def test_a_run_whose_page_reloads_mid_run_shows_paused_and_goes_on(page):
    open_tab(page, "Train Tiny Model")
    expect(page.locator("#tr-estimate")).to_contain_text("M parameters", timeout=60_000)
    set_slider(page, "tr-steps", 2000)
    page.locator("#tr-go").click()
    expect(page.locator("#tr-status")).to_contain_text("step 2", timeout=120_000)

    page.reload()
    open_tab(page, "Train Tiny Model")
    status = page.locator("#tr-status")
    expect(status).to_contain_text("Paused", timeout=60_000)
    expect(page.locator("#tr-curve .js-plotly-plot")).to_be_visible()
    page.locator("#tr-go").click()
    expect(status).to_contain_text("Training", timeout=60_000)
    page.locator("#tr-stop").click()
    expect(status).to_contain_text("Saved as", timeout=60_000)


def test_the_fine_tuning_chart_and_status_are_on_the_page_after_a_reload(page):
    open_tab(page, "Train Tiny Model")
    expect(page.locator("#ft-estimate")).to_contain_text("sweep", timeout=120_000)
    choose(page, "#ft-model", "tiny-english-bert")  # one of ours: its fine-tuned copy joins the session
    steps = page.locator("#ft-steps input")
    steps.fill("6")  # not what the label count gives (restored as typed, not recomputed)
    steps.press("Enter")
    page.locator("#ft-go").click()
    status = page.locator("#ft-status")
    expect(status).to_contain_text("joined this session", timeout=180_000)
    before = status.inner_text()

    page.reload()
    open_tab(page, "Train Tiny Model")
    expect(status).to_contain_text(before.split("\n")[0].strip(), timeout=60_000)
    expect(status).to_contain_text("joined this session")
    expect(page.locator("#ft-curve .js-plotly-plot")).to_contain_text("pretrained: validation accuracy")
    expect(page.locator("#ft-steps input")).to_have_value("6")
    expect(page.locator("#ft-download")).to_be_enabled()
