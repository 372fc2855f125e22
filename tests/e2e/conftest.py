"""A headless Chromium page on the launched app, one per test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from .browser import ARGS, CHROMIUM

sync_api = pytest.importorskip("playwright.sync_api")
# expect() waits 5 s by default; on a 2-core CI machine a page load that runs a model can take longer
sync_api.expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def page(app_url):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(app_url)
        yield page
        browser.close()
