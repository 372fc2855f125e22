"""A newcomer's walk through the Positional Encoding, Tokenizer and Train tabs (issue #16), in Chromium:
every control answers, every chart is drawn without pressing a button, and a shared link opens cleanly."""

from __future__ import annotations

import math
import re

import pytest

from .browser import open_tab, shot

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def set_number(page, elem_id: str, value) -> None:
    """Type into a slider's or a number field's box and press Enter, as a person does."""
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def plot(page, elem_id: str, expression: str):
    """Evaluate `expression` on the plotly element `gd` inside #elem_id (its data and laid-out axes)."""
    page.locator(f"#{elem_id} .js-plotly-plot").wait_for()
    return page.evaluate(
        f"() => {{ const gd = document.querySelector('#{elem_id} .js-plotly-plot'); return {expression}; }}"
    )


def no_error_toast(page) -> None:
    expect(page.locator(".toast-body.error")).to_have_count(0)


# ---------------------------------------------------------------- Positional Encoding


@pytest.fixture(scope="module")
def positional(page):
    open_tab(page, "Positional Encoding")
    expect(page.locator("#pe-heatmap")).to_contain_text("64 positions")  # the on-load drawing
    return page


def test_a_narrow_width_leaves_out_the_waves_beyond_it(positional):
    page = positional
    set_number(page, "pe-dim", 64)  # the default waves list 0, 1, 10, 40, 100
    expect(page.locator("#pe-heatmap")).to_contain_text("64 dimensions")  # the heatmap follows the width
    expect(page.locator("#pe-note")).to_contain_text("dimension 100")
    expect(page.locator("#pe-waves")).to_contain_text("dim 40")
    no_error_toast(page)
    set_number(page, "pe-dim", 128)
    expect(page.locator("#pe-heatmap")).to_contain_text("128 dimensions")


def test_every_view_is_drawn_when_its_tab_opens(positional):
    page = positional
    page.get_by_role("tab", name="Rotary (RoPE)").click()
    expect(page.locator("#pe-rope-note")).to_contain_text("the same offset gives the same score")
    page.get_by_role("tab", name="Learned tables").click()
    expect(page.locator("#pe-learned-heatmap")).to_contain_text("learned position embeddings")
    page.get_by_role("tab", name="Similarity").click()
    expect(page.locator("#pe-sim-curve")).to_contain_text("Similarity by distance")
    page.get_by_role("tab", name="Why order matters").click()
    expect(page.locator("#pe-order-table")).to_contain_text("positions on")


def test_rope_pair_slider_follows_the_head_dimension(positional):
    page = positional
    page.get_by_role("tab", name="Rotary (RoPE)").click()
    set_number(page, "pe-rope-dim", 64)
    expect(page.locator("#pe-rope-pair input[type=number]")).to_have_attribute("max", "31")
    set_number(page, "pe-rope-pair", 31)
    expect(page.locator("#pe-rope-circle")).to_contain_text("Pair 31")
    set_number(page, "pe-rope-dim", 16)  # pair 31 no longer exists: it becomes the last pair, 7
    expect(page.locator("#pe-rope-pair input[type=number]")).to_have_attribute("max", "7")
    expect(page.locator("#pe-rope-circle")).to_contain_text("Pair 7")
    no_error_toast(page)


def test_the_rotation_is_drawn_on_a_round_circle_in_order(positional):
    page = positional
    page.get_by_role("tab", name="Rotary (RoPE)").click()
    set_number(page, "pe-rope-dim", 64)
    # the pair slider's range follows the head (the test before left it at 16, pairs 0-7): wait for it
    expect(page.locator("#pe-rope-pair input[type=number]")).to_have_attribute("max", "31")
    set_number(page, "pe-rope-pair", 20)  # a slow pair: a short arc, which must not fill the chart like a line
    expect(page.locator("#pe-rope-circle")).to_contain_text("Pair 20")
    x0, x1, y0, y1, width, height = plot(
        page,
        "pe-rope-circle",
        "[...gd._fullLayout.xaxis.range, ...gd._fullLayout.yaxis.range, gd._fullLayout.xaxis._length, gd._fullLayout.yaxis._length]",
    )
    assert x0 <= -1 and x1 >= 1 and y0 <= -1 and y1 >= 1  # the whole unit circle is in view
    assert (x1 - x0) / width == pytest.approx((y1 - y0) / height, rel=0.02)  # one unit as long on both axes
    set_number(page, "pe-rope-pair", 0)
    expect(page.locator("#pe-rope-circle")).to_contain_text("Pair 0")
    labels = plot(page, "pe-rope-circle", "gd.data.flatMap(t => t.text || [])")
    assert {"0", "1", "2"} <= set(labels)  # the first positions are numbered, so the order shows
    shot(page, "walk-rope")


def test_the_3d_pca_fits_its_chart(positional):
    page = positional
    page.get_by_role("tab", name="Learned tables").click()
    # the view drawn on opening the tab first: a slow one could otherwise land after the 3-D one
    expect(page.locator("#pe-learned-pca")).to_contain_text("principal directions")
    page.get_by_label("3-D").check()
    expect(page.locator("#pe-learned-pca")).to_contain_text("top 3 principal directions")
    height, eye = plot(page, "pe-learned-pca", "[gd._fullLayout.height, gd._fullLayout.scene.camera.eye]")
    assert height >= 480  # room for a cube seen from the side
    assert math.dist((0, 0, 0), (eye["x"], eye["y"], eye["z"])) >= 2.0  # far enough back to see all of it
    shot(page, "walk-pca-3d")


def test_enter_and_changes_update_the_views(positional):
    page = positional
    page.get_by_role("tab", name="Rotary (RoPE)").click()
    note = page.locator("#pe-rope-note")
    expect(note).to_contain_text("score(m=10")
    before = note.inner_text()
    set_number(page, "pe-rope-seed", 5)
    expect(note).not_to_have_text(before)
    page.get_by_role("tab", name="Similarity").click()
    set_number(page, "pe-sim-len", 32)
    page.wait_for_function("() => document.querySelector('#pe-sim-curve .js-plotly-plot')?.data?.[0]?.x?.length === 32")
    page.get_by_role("tab", name="Why order matters").click()
    expect(page.locator("#pe-order-note")).to_contain_text("same tokens")  # drawn on opening, before we type
    page.locator("#pe-order-b textarea").fill("The mat sat on the cat")
    page.locator("#pe-order-b textarea").press("Enter")
    expect(page.locator("#pe-order-note")).to_contain_text("sat on the cat")  # B's tokens: the ma ##t sat on the cat


def test_the_word_order_table_writes_its_numbers_alike(positional):
    page = positional
    page.get_by_role("tab", name="Why order matters").click()
    page.locator("#pe-order-a textarea").fill("The cat sat on the mat")
    page.locator("#pe-order-b textarea").fill("On the mat sat the cat")
    page.locator("#pe-order-go").click()
    table = page.locator("#pe-order-table")
    expect(table).to_contain_text("positions on")
    expect(page.locator("#pe-order-note")).to_contain_text("sat the cat")  # the answer to this click
    assert not re.search(r"\de[-+]\d", table.inner_text())  # no 1.2e-07 next to 0.1234


# ---------------------------------------------------------------- Train Tiny Model


@pytest.fixture
def train_tab(page):
    open_tab(page, "Train Tiny Model")
    expect(page.locator("#tr-estimate")).to_contain_text("M parameters")
    return page


def choose_objective(page, label: str) -> None:
    page.locator("#tr-objective").get_by_label(label, exact=True).check()


def test_a_masked_objective_brings_its_own_defaults(train_tab):
    page = train_tab
    choose_objective(page, "BERT-style: masked LM")
    expect(page.locator("#tr-tokenizer input")).to_have_value(re.compile("WordPiece"))
    expect(page.locator("#tr-lr input")).to_have_value("0.001")
    expect(page.locator("#tr-sample")).to_contain_text("[MASK]")
    choose_objective(page, "GPT-style: next token (causal LM)")
    expect(page.locator("#tr-sample")).not_to_contain_text("masked")
    expect(page.locator("#tr-sample")).to_contain_text("writes")


def test_enter_in_a_number_box_updates_the_estimate(train_tab):
    page = train_tab
    estimate = page.locator("#tr-estimate")
    before = estimate.inner_text()
    set_number(page, "tr-layers", 3)
    expect(estimate).not_to_have_text(before)
    set_number(page, "tr-layers", 2)


def test_mlm_nsp_is_measured_against_the_guess_for_both_losses(train_tab):
    page = train_tab
    choose_objective(page, "BERT-style: masked LM + NSP")
    page.locator("#tr-tokenizer input").click()
    page.get_by_role("option", name="tiny-shakespeare-bert's WordPiece (bundled)").click()  # no training wait
    page.locator("#tr-step").click()
    expect(page.locator("#tr-status")).to_contain_text("Paused", timeout=120_000)
    y, text = plot(page, "tr-curve", "[gd.layout.shapes[0].y0, gd.layout.annotations[0].text]")
    assert "ln 2" in text
    assert y == pytest.approx(math.log(4096) + math.log(2), rel=1e-3)  # the bundled WordPiece has 4,096 entries
    page.locator("#tr-reset").click()
    expect(page.locator("#tr-status")).to_contain_text("Reset")


def test_the_last_validation_point_is_on_the_curve(train_tab):
    page = train_tab
    choose_objective(page, "GPT-style: next token (causal LM)")
    page.locator("#tr-tokenizer input").click()
    page.get_by_role("option", name="characters (one token each)").click()
    page.locator("#tr-step").click()
    expect(page.locator("#tr-status")).to_contain_text("Paused", timeout=120_000)
    page.locator("#tr-stop").click()  # paused: saved at once, after a final evaluation
    status = page.locator("#tr-status")
    expect(status).to_contain_text("Saved as", timeout=60_000)
    found = re.search(r"validation loss ([\d.]+)", status.inner_text())
    assert found is not None
    val = float(found.group(1))
    xs, ys = plot(page, "tr-curve", "(t => [t.x, t.y])(gd.data.find(t => t.name === 'validation'))")
    assert xs[-1] == 1 and ys[-1] == pytest.approx(val, abs=1e-3)


# ---------------------------------------------------------------- a link to the page


def test_a_link_copied_after_training_a_tokenizer_opens_cleanly(page, app_url):
    open_tab(page, "Tokenizer")
    page.locator("#tk-source").get_by_label("paste text").check()
    page.locator("#tk-pasted textarea").fill("the cat sat on the mat and the dog sat on the log " * 40)
    page.locator("#tk-vocab input[type=number]").fill("300")
    page.locator("#tk-vocab input[type=number]").press("Enter")
    page.locator("#tk-train").click()
    expect(page.locator("#tk-train-status")).to_contain_text("Trained", timeout=120_000)
    expect(page.locator("#tk-stats-yours-bpe")).to_contain_text("tokens")
    # what "Copy a link to the whole page" puts on the clipboard
    link = page.evaluate(
        "() => fetch(`gradio_api/deep_link?session_hash=${window.__gradio_session_hash__}`).then(r => r.text())"
    ).strip('"')
    assert link
    other = page.context.browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        other.goto(f"{app_url}?deep_link={link}")
        open_tab(other, "Tokenizer")
        expect(other.locator("#tk-stats-gpt2")).to_contain_text("tokens")
        expect(other.locator("#tk-stats-yours-bpe")).to_contain_text("link")  # one sentence, not "Error"
        expect(other.locator("#tk-train-status")).to_contain_text("link")
        expect(other.locator("#tk-download")).to_be_disabled()
        expect(other.get_by_text("not in the list of choices")).to_have_count(0)
        no_error_toast(other)
        shot(other, "walk-linked-tokenizer")
    finally:
        other.close()
