"""Every gr.Number read through one parser (ui/common.number): a cleared box sends None, which reads as the box's
default where it has one (a seed: 0) and is a sentence for the page where it has none, never a traceback."""

from __future__ import annotations

import math
from types import SimpleNamespace

import gradio as gr
import pytest

from playground.errors import UserError
from playground.ui import common, fill_mask, inside, next_sentence, next_word, positional


@pytest.mark.parametrize("cleared", [None, "", "   "])
def test_a_cleared_box_reads_as_its_default_or_asks_for_a_number(cleared):
    assert common.number(cleared, "The seed", default=0) == 0
    assert common.whole_number(cleared, "The token position", default=-1) == -1
    with pytest.raises(UserError, match=r"^The mask number is empty: type a number\.$"):
        common.whole_number(cleared, "The mask number")


@pytest.mark.parametrize(
    "typed, message",
    [
        ("abc", r"^The seed must be a number, not 'abc'\.$"),
        (math.inf, r"^The seed must be a finite number\.$"),
        ("nan", r"^The seed must be a finite number\.$"),
        (-1, r"^The seed must be 0 or more\.$"),
    ],
)
def test_what_is_no_number_or_below_the_minimum_is_a_sentence(typed, message):
    with pytest.raises(UserError, match=message):
        common.whole_number(typed, "The seed", default=0, minimum=0)


def test_numbers_as_gradio_sends_them_are_read_as_they_are():
    assert common.whole_number(3.0, "The seed") == 3
    assert common.whole_number("7", "The seed") == 7
    assert common.number(2.5, "Temperature") == 2.5


REQUEST = SimpleNamespace(session_hash="numbers-test", query_params={})


def _said(err: pytest.ExceptionInfo) -> str:
    return str(err.value.message if hasattr(err.value, "message") else err.value)


def test_a_cleared_mask_number_asks_for_a_number_not_something_went_wrong():
    text = "The cat sat on the [MASK]."
    with pytest.raises(gr.Error) as err:
        fill_mask.score(text, "mat", None, "tiny-english-bert", REQUEST)
    assert _said(err) == "The mask number is empty: type a number."


def test_a_cleared_seed_is_seed_0_in_every_tab():
    text = "To be, or not to be, that is the question."
    cleared = fill_mask.mask_sentence(text, 15, 80, 10, False, None, "tiny-english-bert", REQUEST)
    zero = fill_mask.mask_sentence(text, 15, 80, 10, False, 0, "tiny-english-bert", REQUEST)
    assert cleared[1] == zero[1] and cleared[1].startswith("Seed 0:")
    assert fill_mask.reroll(None) == next_sentence.reroll(None) == 1
    assert next_word._sampling(1.0, 0, 1.0, None).seed == 0
    circle, heat, note, _ = positional.rope_views(64, 0, 10000, 48, None)
    assert (circle, heat) == positional.rope_views(64, 0, 10000, 48, 0)[:2]
    cleared_lens = inside.logit_lens("To be or not", "tiny-shakespeare-gpt", None, REQUEST)[0]
    assert cleared_lens == inside.logit_lens("To be or not", "tiny-shakespeare-gpt", -1, REQUEST)[0]  # the last token


def test_a_negative_rope_seed_keeps_its_sentence():
    with pytest.raises(gr.Error) as err:
        positional.rope_views(64, 0, 10000, 48, -3)
    assert _said(err) == "The seed must be 0 or more."


def test_the_masking_simulators_sliders_are_fitted_with_a_sentence_not_gradios_range_error():
    """Its events skip Gradio's range check (sliders.RAW): a cleared slider box is the slider's default, a number
    past it is moved into it, and the note says so; [MASK] and random still share at most all of the picked."""
    text = "To be, or not to be, that is the question."
    tokens, summary, _table, note = fill_mask.mask_sentence(text, None, 150, 10, False, 0, "tiny-english-bert", REQUEST)
    assert "each token is picked with probability 15%" in summary.lower()  # the cleared p: its default
    assert "become [MASK], 0% a random token" in summary  # [MASK] at 100 leaves no room for random
    assert "Pick rate p was empty, so 15 is used." in note and "so 150 became 100." in note
    assert fill_mask.mask_moved(120, 10) == (
        100,
        0,
        fill_mask.unchanged_share(100, 0) + "  \n" + ("[MASK] (% of picked) goes from 0 to 100, so 120 became 100."),
    )
    mask, random, _ = fill_mask.random_moved(80, None)  # the random box cleared: its default, the [MASK] gives way
    assert (mask, random) == (80, 10)
    *_, note = fill_mask.mask_rates(text, 15, 80, 10, False, 0, 5, "tiny-english-bert", REQUEST)
    assert "Rolls goes from 10 to" in note and "so 5 became 10." in note
