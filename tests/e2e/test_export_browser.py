"""Export and publish in headless Chromium: train a few steps, open "Export and publish", read the plan, export,
download the zip, read the card (its loading code and loss curve); Publish without a login says what it needs."""

from __future__ import annotations

import re
import zipfile

import pytest

from .browser import open_tab, set_slider, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_train_export_download_and_read_the_card(page):
    open_tab(page, "Train Tiny Model")
    expect(page.locator("#tr-estimate")).to_contain_text("M parameters", timeout=60_000)
    set_slider(page, "tr-steps", 30)  # a few steps, evaluated along the way: the card has a curve
    page.locator("#tr-go").click()
    status = page.locator("#tr-status")
    expect(status).to_contain_text("Saved as", timeout=180_000)
    saved = re.search(r"Saved as (.+?): choose", status.inner_text())
    assert saved is not None
    name = saved.group(1)

    page.locator("#ex-accordion").get_by_text("Export and publish").first.click()
    expect(page.locator("#ex-go")).to_be_visible()  # the accordion's content mounts on opening
    expect(page.locator("#ex-model input")).to_have_value(name)  # the model just saved is the one offered
    expect(page.locator("#ex-plan")).to_contain_text("Exports as GPT-2")  # before any button is pressed
    page.locator("#ex-go").click()
    expect(page.locator("#ex-status")).to_contain_text(re.compile(r"match ours (exactly|within \d)"), timeout=120_000)
    expect(page.locator("#ex-card")).to_contain_text("from transformers import pipeline")
    expect(page.locator("#ex-card")).to_contain_text("Hyper-parameters")
    expect(page.locator("#ex-curve svg polyline")).to_be_attached()
    shot(page, "export-card")

    with page.expect_download() as download:
        page.locator("#ex-download").click()
    assert download.value.suggested_filename.endswith(".zip")
    files = zipfile.ZipFile(download.value.path()).namelist()
    assert any(f.endswith("/config.json") for f in files) and any(f.endswith("/README.md") for f in files)

    page.locator("#ex-repo textarea, #ex-repo input").first.fill("my tiny gpt")
    expect(page.locator("#ex-published")).to_contain_text("a Hub repo name uses only")  # checked as typed
    page.locator("#ex-repo textarea, #ex-repo input").first.fill("my-tiny-gpt")
    expect(page.locator("#ex-published")).to_contain_text("your-name/my-tiny-gpt")
    page.locator("#ex-publish").click()
    expect(page.locator(".toast-body").first).to_contain_text("Publishing needs a Hugging Face login")
    page.locator(".toast-close").first.click()
