"""Issue #24, "Small but visible", where only a page shows it: Enter in a slider's number box applies it and a
number past its range is fitted with a sentence, not an error toast (item 11); and at phone width the
"Top candidates" table shows every column, no chart's toolbar covers its label, and the model's name stops
short of the dropdown's arrow (item 12). Items 8-10 are checked in tests/test_small_visible.py."""

from __future__ import annotations

import pytest

from .browser import open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PHONE = {"width": 390, "height": 844}


def _type(page, elem_id: str, value: int) -> None:
    """Type into a slider's number box and press Enter, the box keeping the focus (nothing else is clicked)."""
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


# ---------------------------------------------------------------- 11. number boxes of sliders


def test_enter_in_a_layer_box_looks_inside_at_once(page):
    open_tab(page, "Next Word")
    page.locator("#nw-chart .js-plotly-plot").wait_for(timeout=240_000)  # the page load's own prediction first
    page.locator("#nw-inside").get_by_text("Inside the model: attention, layer by layer").click()
    page.locator("#nw-inside").get_by_role("button", name="Shakespeare, tiny model").click()  # 4 layers x 4 heads
    page.locator("#nw-inside-go").click()
    expect(page.locator("#nw-inside-note")).to_contain_text("4 layers × 4 heads", timeout=60_000)
    _type(page, "nw-inside-layer", 2)  # no click on "Look inside", no click elsewhere: Enter alone
    expect(page.locator("#nw-inside-big .gtitle")).to_contain_text("Layer 2, head 0")
    _type(page, "nw-inside-head", 3)
    expect(page.locator("#nw-inside-big .gtitle")).to_contain_text("Layer 2, head 3")
    _type(page, "nw-inside-layer", 999)
    expect(page.locator("#nw-inside-note")).to_contain_text("Layer goes from 0 to 3, so 999 became 3.")
    expect(page.locator("#nw-inside-big .gtitle")).to_contain_text("Layer 3, head 3")
    expect(page.locator("#nw-inside-layer input[type=number]")).to_have_value("3")
    expect(page.locator(".toast-body")).to_have_count(0)


def test_a_rope_pair_past_the_head_is_fitted_with_a_note_not_an_error(page):
    open_tab(page, "Positional Encoding")
    page.get_by_role("tab", name="Rotary (RoPE)").click()
    expect(page.locator("#pe-rope-note")).to_contain_text("score(m=")
    _type(page, "pe-rope-pair", 999)
    expect(page.locator("#pe-rope-note")).to_contain_text("Pair i goes from 0 to 31, so 999 became 31.")
    expect(page.locator("#pe-rope-pair input[type=number]")).to_have_value("31")
    expect(page.locator("#pe-rope-circle .gtitle")).to_contain_text("Pair 31")
    expect(page.locator(".toast-body")).to_have_count(
        0
    )  # before: "Error — Value 999 is greater than maximum value 31."


# ---------------------------------------------------------------- 12. phone width

# each shown chart's label and plotly toolbar, as boxes
LABELS_AND_TOOLBARS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .filter(plot => plot.getBoundingClientRect().width > 0)
  .map(plot => [plot.closest('.block'), plot.querySelector('.modebar')])
  .map(([block, bar]) => [block.id, block.querySelector(':scope > label'), bar])
  .filter(([, label, bar]) => label && bar)
  .map(([id, label, bar]) => ({id, label: label.getBoundingClientRect().toJSON(), bar: bar.getBoundingClientRect().toJSON()}))"""


@pytest.fixture(scope="module")
def phone(page, app_url):
    context = page.context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(60_000)
    phone.goto(app_url)
    phone.locator("#nw-chart .js-plotly-plot").wait_for(timeout=240_000)
    phone.locator("#nw-table .virtual-row").first.wait_for()
    yield phone
    context.close()


def test_on_a_phone_the_top_candidates_table_shows_every_column(phone):
    headers = phone.locator("#nw-table thead th")
    expect(headers).to_have_text(["rank", "token", "id", "probability", "log-probability"], use_inner_text=True)
    right = phone.locator("#nw-table").bounding_box()
    for i in range(headers.count()):  # each column inside the table's box, on the screen: none to scroll to
        box = headers.nth(i).bounding_box()
        assert box["x"] + box["width"] <= right["x"] + right["width"] + 1 <= PHONE["width"], headers.nth(i).inner_text()
    shot(phone, "phone-top-candidates")


def test_on_a_phone_no_chart_toolbar_covers_the_charts_label(phone):
    for tab in ("Next Word", "Fill Mask"):
        phone.get_by_role("tab", name=tab, exact=True).tap()
        phone.locator(".js-plotly-plot .modebar").locator("visible=true").first.wait_for(timeout=240_000)
        found = phone.evaluate(LABELS_AND_TOOLBARS)
        assert found, f"no labelled chart on {tab}"
        for chart in found:
            label, bar = chart["label"], chart["bar"]
            apart = label["bottom"] <= bar["top"] or bar["right"] <= label["left"] or label["right"] <= bar["left"]
            assert apart, f"the toolbar of {chart['id']} covers its label"


def test_on_a_phone_the_model_name_stops_short_of_the_dropdown_arrow(phone):
    phone.get_by_role("tab", name="Next Word", exact=True).tap()
    box = phone.locator("#nw-model input")
    expect(box).not_to_have_value("")
    fits = box.evaluate(
        """input => {
          const arrow = input.parentElement.querySelector('.icon-wrap').getBoundingClientRect();
          const text_right = input.getBoundingClientRect().right - parseFloat(getComputedStyle(input).paddingRight);
          return {text_right, arrow_left: arrow.left, overflow: input.scrollWidth - input.clientWidth};
        }"""
    )
    assert fits["text_right"] <= fits["arrow_left"] + 0.5, fits  # the text never runs under the arrow
    assert fits["overflow"] <= 0, fits  # and this host's default model's name fits whole
