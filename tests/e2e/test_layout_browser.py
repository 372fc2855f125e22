"""The layout at phone width (390×844) and on a desktop (1400×1000): every tab one tap away, the Train button
on the first screen, a full-width tokenizer text box, and no chart or chart title past its edge (issue #16)."""

from __future__ import annotations

import pytest

from .browser import shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TABS = ["Next Word", "Fill Mask", "Next Sentence", "Tokenizer", "Positional Encoding", "Train Tiny Model"]
PHONE = {"width": 390, "height": 844}

# each shown chart: its title's right edge and its own, and the page's width
CHARTS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .map(chart => [chart.getBoundingClientRect(), chart.querySelector('.gtitle')])
  .filter(([box]) => box.width > 0)
  .map(([box, title]) => ({title: title ? title.textContent : '', chart_right: box.right,
                           title_right: title ? title.getBoundingClientRect().right : 0}))"""


@pytest.fixture(scope="module")
def phone(page, app_url):
    context = page.context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(60_000)
    phone.goto(app_url)
    yield phone
    context.close()


def charts_fit(page, width: int) -> None:
    for chart in page.evaluate(CHARTS):
        assert chart["chart_right"] <= width + 1, f"chart {chart['title']!r} is wider than the screen"
        assert chart["title_right"] <= chart["chart_right"], f"title {chart['title']!r} is cut at the right"


def test_on_a_phone_every_tab_is_one_tap_away_and_nothing_is_wider_than_the_screen(phone):
    for name in TABS:
        tab = phone.get_by_role("tab", name=name, exact=True)
        expect(tab).to_be_visible()  # in the tab bar itself, not behind "⋯"
        tab.tap()
        expect(tab).to_have_attribute("aria-selected", "true")
        if name in ("Next Word", "Positional Encoding"):  # their charts are drawn when the page loads
            expect(phone.locator(".js-plotly-plot .gtitle").locator("visible=true").first).to_be_visible()
        phone.wait_for_timeout(500)  # the title fitting runs on the next animation frame
        charts_fit(phone, PHONE["width"])
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(phone, f"phone-{name.replace(' ', '-').lower()}")


def test_on_a_phone_the_train_button_is_on_the_first_screen_of_its_tab(phone):
    phone.get_by_role("tab", name="Train Tiny Model", exact=True).tap()
    tabs_bottom = phone.locator("[role=tablist]").first.bounding_box()
    button = phone.locator("#tr-go").bounding_box()
    assert button["y"] + button["height"] - (tabs_bottom["y"] + tabs_bottom["height"]) < PHONE["height"]


def test_on_a_phone_the_tokenizer_text_box_takes_the_width(phone):
    phone.get_by_role("tab", name="Tokenizer", exact=True).tap()
    assert phone.locator("#tk-text").bounding_box()["width"] >= 300


def test_on_a_desktop_no_chart_title_is_cut(page):
    page.set_viewport_size({"width": 1400, "height": 1000})
    for name in ("Next Word", "Positional Encoding"):
        page.get_by_role("tab", name=name, exact=True).click()
        expect(page.locator(".js-plotly-plot .gtitle").locator("visible=true").first).to_be_visible()
        page.wait_for_timeout(500)
        charts_fit(page, 1400)
