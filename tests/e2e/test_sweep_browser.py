"""The page's half of the sweep (tests/test_sweep.py calls the API): in every tab (and sub-tab), drag each slider
to its minimum and its maximum as a person would; an error the page then shows must carry a sentence, never a
bare "Error" (issue #16). Dragging fires what the API cannot: the page's own dependent updates."""

from __future__ import annotations

import pytest

from ..test_sweep import problem
from .browser import open_tab

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TABS = ["Next Word", "Fill Mask", "Next Sentence", "Tokenizer", "Positional Encoding", "Train Tiny Model"]
# the error toasts on the page now: (title, text)
TOASTS = """() => [...document.querySelectorAll('.toast-body')].map(t => [
  t.className, (t.querySelector('.toast-title') || {}).textContent || '',
  [...t.querySelectorAll('.toast-text, .toast-message-text')].map(e => e.textContent).join(' ')])"""


def drag_to(page, slider, end: str) -> None:
    """Press at the far end of the track (fires input, change and release), then Home/End to land exactly."""
    box = slider.bounding_box()
    x = 1 if end == "min" else box["width"] - 1
    slider.click(position={"x": x, "y": box["height"] / 2})
    slider.press("Home" if end == "min" else "End")
    slider.dispatch_event("pointerup")


def bare_errors(page) -> list[str]:
    found = []
    for cls, title, text in page.evaluate(TOASTS):
        if "error" in cls.lower() or title.strip() == "Error":
            if why := problem(text.strip()):
                found.append(f"{why} (toast: {title!r})")
    for close in page.locator(".toast-close").all():
        close.click()
    return found


def sweep_visible_sliders(page, where: str, swept: list[str]) -> list[str]:
    failures = []
    sliders = page.locator("input[type=range]:visible:enabled")  # a disabled one waits for an earlier step
    for i in range(sliders.count()):
        slider = sliders.nth(i)
        label = slider.get_attribute("aria-label") or slider.evaluate("e => e.closest('.block')?.id || ''")
        swept.append(f"{where} · {label}")
        for end in ("min", "max"):
            drag_to(page, slider, end)
            page.wait_for_timeout(1500)  # the event runs
            failures += [f"{where} · {label or i} at {end}: {why}" for why in bare_errors(page)]
    return failures


def test_every_slider_in_every_tab_at_its_ends_gives_no_bare_error(page):
    failures: list[str] = []
    swept: list[str] = []
    for name in TABS:
        open_tab(page, name)
        page.wait_for_timeout(1000)
        inner = page.locator(".tabitem:visible [role=tab]:visible")
        names = [inner.nth(i).inner_text() for i in range(inner.count())] or [None]
        for sub in names:
            if sub:
                page.locator(".tabitem:visible").get_by_role("tab", name=sub, exact=True).click()
            failures += sweep_visible_sliders(page, f"{name} › {sub}" if sub else name, swept)
    assert len(swept) >= 20, swept  # the walk reached the sliders of every tab
    assert not failures, "\n".join(failures)
