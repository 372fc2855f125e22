"""The guided tour, the maths panels and the weights fingerprint: each step opens a real tab with inputs it
accepts, each answer's checkable fact holds, each formula is well formed and shown, generating changes no weight."""

from __future__ import annotations

import re
import types

import gradio as gr
import pytest
import torch
from transformers import AutoTokenizer

from playground import maths, registry, tour
from playground import next_word as nw
from playground.corpora import ASSETS
from playground.fingerprint import weights_fingerprint
from playground.ui import TABS, build_demo
from playground.ui import next_word as nw_tab
from playground.ui import tour as tour_tab

from .narrow import present


@pytest.fixture(scope="module")
def demo():
    return build_demo()


def _by_id(demo) -> dict:
    return {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}


def test_every_step_opens_a_real_tab_with_inputs_it_accepts(demo):
    titles = {title for title, _ in TABS}
    blocks = _by_id(demo)
    for s in tour.STEPS:
        assert s.tab in titles, s.title
        assert s.text and s.try_it and s.question and s.answer
        for key, value in s.inputs.items():
            component = blocks[key]
            if isinstance(component, gr.Slider):
                assert isinstance(value, int | float), (s.title, key)
                assert component.minimum <= value <= component.maximum, (s.title, key)
            else:
                assert isinstance(component, gr.Textbox) and isinstance(value, str)
        assert all(isinstance(blocks[key], gr.Button) for key in s.run), s.title  # what Try it presses
        assert all(isinstance(blocks[key], gr.Accordion) for key in s.opens), s.title  # and opens first
    assert [s.tab for s in tour.STEPS[:6]] == [
        "Tokenizer",
        "Positional Encoding",
        "Next Word",
        "Fill Mask",
        "Next Sentence",
        "Train Tiny Model",
    ]  # fmt: skip  (the textbook's order)


def test_trying_a_step_selects_its_tab_and_sets_only_its_inputs(demo):
    keys = tour.targets()
    fn = next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "open_step")
    tabs, *values = fn(tour.STEPS[2].title)
    assert tabs.selected == "Next Word"
    assert values[keys.index("nw-prompt")] == "The capital of France is"
    assert values[keys.index("tk-text")] == gr.update()  # another step's input is left as it is
    inside = tour.STEPS[-1]  # its button sits in a closed accordion: opened, so the press finds it
    assert inside.opens == ("nw-inside",) and inside.run == ("nw-go", "nw-inside-go")
    _tabs, *values = fn(inside.title)
    assert values[len(keys)].open is True


def test_the_steps_follow_one_another_and_answers_wait_until_asked():
    assert tour.next_title(tour.STEPS[0].title) == tour.STEPS[1].title
    assert tour.next_title(tour.STEPS[-1].title) == tour.STEPS[-1].title
    text, button, answer = tour_tab.show(tour.STEPS[1].title)
    assert "Positional Encoding" in button["value"] and answer["visible"] is False
    assert tour.STEPS[1].answer[:40] not in text
    assert tour.STEPS[1].answer in tour_tab.reveal(tour.STEPS[1].title)["value"]


def test_the_tokenizer_steps_answer_is_what_the_tokenizers_do():
    bert = AutoTokenizer.from_pretrained(ASSETS / "tokenizers" / "bert-base-uncased")
    gpt2 = AutoTokenizer.from_pretrained(ASSETS / "tokenizers" / "gpt2")
    text = tour.STEPS[0].inputs["tk-text"]
    assert isinstance(text, str) and "unbelievably" in text
    assert bert.tokenize(" unbelievably") == ["un", "##bel", "##ie", "##va", "##bly"]
    assert gpt2.tokenize(" unbelievably") == ["Ġunbelievably"]

    def no_model(task: str) -> registry.LoadedModel:
        raise AssertionError(f"the tokenizer step loads no model (asked for a {task} one)")

    seen = present(tour.STEPS[0].observe)(tour.STEPS[0], no_model)  # the tokenizers' facts, read from them
    assert "`un ##bel ##ie ##va ##bly`" in seen.text and seen.holds


@pytest.mark.parametrize("tab", sorted(maths.FORMULAS))
def test_each_formula_is_well_formed_latex_and_in_its_tab(demo, tab):
    text = maths.FORMULAS[tab]
    assert text.count("$$") % 2 == 0 and text.replace("$$", "").count("$") % 2 == 0
    for formula in re.findall(r"\$\$(.+?)\$\$", text, re.S):
        assert formula.count("{") == formula.count("}"), formula
        assert formula.count(r"\left") == formula.count(r"\right"), formula
        assert formula.count(r"\begin") == formula.count(r"\end"), formula
    panel = _by_id(demo)[f"maths-{tab}"]
    assert isinstance(panel, gr.Accordion) and panel.open is False  # on demand


def test_generating_changes_no_weight_and_a_changed_weight_changes_the_fingerprint():
    loaded = registry.load("tiny-shakespeare-gpt", "causal")
    before = weights_fingerprint(loaded.model)
    gen = nw.start_generation(loaded.model, loaded.tokenizer, "ROMEO:")
    for _ in nw.generate(loaded.model, loaded.tokenizer, gen, 12, nw.Sampling(temperature=1.0, seed=3), False):
        pass
    assert len(gen.steps) == 12 and weights_fingerprint(loaded.model) == before
    copy = type(loaded.model)(loaded.model.config)  # a copy to change: the cached model stays intact
    copy.load_state_dict(loaded.model.state_dict())
    assert weights_fingerprint(copy) == before
    with torch.no_grad():
        next(copy.parameters()).view(-1)[7] += 1e-6
    assert weights_fingerprint(copy) != before


def test_the_next_word_tab_shows_the_fingerprint_unchanged_after_a_generation(sessions):
    req = types.SimpleNamespace(session_hash="tour-fingerprint")
    sessions("tour-fingerprint")
    with pytest.raises(gr.Error, match="Generate a few tokens first"):
        nw_tab.check_weights("tiny-shakespeare-gpt", req)
    for _ in nw_tab.generate("ROMEO:", "tiny-shakespeare-gpt", nw_tab.GREEDY, 5, 1.0, 0, 1.0, 0, req):
        pass
    note = nw_tab.check_weights("tiny-shakespeare-gpt", req)
    assert (
        "**unchanged**" in note
        and note.count(weights_fingerprint(registry.load("tiny-shakespeare-gpt", "causal").model)) == 2
    )
