"""Shared by the browser tests: Debian's Chromium, its flags, and screenshots."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# the background-networking flags keep Chromium from calling out of this closed network at start-up
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(os.environ.get("PLAYGROUND_SCREENSHOTS", "/tmp/playground-screens"))


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def set_slider(page, elem_id: str, value: int) -> None:
    """Type a slider's value into its number box; Enter sends it as the user's input."""
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def choose(page, elem: str, name: str, shows: str | None = None) -> None:
    """Type a choice into a dropdown (#elem) and press Enter, as a person does; wait until it shows `shows`
    (a Hub model out of reach moves the picker to its stand-in), by default the choice itself."""
    from playwright.sync_api import expect

    box = page.locator(f"{elem} input")
    box.click()
    box.fill(name)
    box.press("Enter")
    expect(box).to_have_value(shows or name)


def copy_page_link(page) -> str:
    """Press "Copy a link to the whole page" and read the link back from the clipboard."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("navigator.clipboard.writeText('')")
    page.get_by_role("button", name="Copy a link to the whole page").locator("visible=true").first.click()
    for _ in range(60):  # the button fetches the link from the server, then writes it to the clipboard
        link = page.evaluate("navigator.clipboard.readText()")
        if "deep_link=" in link:
            return link
        page.wait_for_timeout(500)
    raise AssertionError(f"no page link was copied (the clipboard holds {link!r})")
