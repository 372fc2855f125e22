"""Links that name what only the sender's browser made (issue #24, item 2), in the core of the page-load
refresh: each such choice gives way to its picker's default, with one sentence; everything else is kept."""

from __future__ import annotations

import gradio as gr
import pytest

from playground import registry
from playground.ui import build_demo, common


@pytest.fixture(scope="module")
def page():
    return common.page_of(build_demo())


@pytest.fixture(scope="module")
def pickers(page):
    return {dropdown.elem_id: dropdown for dropdown, _ in page.pickers}


def _refresh(page, pickers, **values):
    request = gr.Request(session_hash="links-test", query_params={})
    chosen = [values.get(elem.replace("-", "_"), d.value) for elem, d in pickers.items()]
    with pytest.warns(UserWarning) as said:
        updates = common.refresh_pickers(page.pickers, request, *chosen)
    return {elem: u.get("value") for elem, u in zip(pickers, updates)}, [str(w.message) for w in said]


def test_the_senders_model_tokenizer_and_run_give_way_to_the_defaults_in_one_sentence(page, pickers):
    values, said = _refresh(
        page,
        pickers,
        nw_model="my-gpt-3 · this session",
        tr_tokenizer="bpe · 286 tokens (Tokenizer tab)",
        ft_model="ft-who-wrote-it-1 · this session",
        tl_run="my-gpt-3 · this session",
        nw_cmp_models=["tiny-shakespeare-gpt", "my-gpt-3 · this session"],
    )
    assert values["nw-model"] == registry.default_model("causal")
    assert values["tr-tokenizer"] == "characters (one token each)"
    assert values["ft-model"] == pickers["ft-model"].value
    assert values["tl-run"] is None  # no default run: left out of the update, so the page shows none
    assert values["nw-cmp-models"] == ["tiny-shakespeare-gpt"]  # Compare keeps the others
    assert len(said) == 1
    assert "bpe · 286 tokens (Tokenizer tab)" in said[0] and "ft-who-wrote-it-1 · this session" in said[0]
    assert "made in the sender's browser" in said[0]


def test_a_typed_hub_id_and_the_pages_own_choices_are_kept(page, pickers):
    request = gr.Request(session_hash="links-test", query_params={})
    chosen = [d.value for d in pickers.values()]
    chosen[list(pickers).index("nw-model")] = "someone/a-model-on-the-hub"  # typed: the Hub decides, not the link
    updates = common.refresh_pickers(page.pickers, request, *chosen)
    assert updates[list(pickers).index("nw-model")]["value"] == "someone/a-model-on-the-hub"


def test_a_per_tab_link_to_the_senders_model_gives_the_default():
    request = gr.Request(session_hash="links-test", query_params={})
    with pytest.warns(UserWarning, match="sender's browser"):
        assert common.link_model("my-bert-2 · this session", "nsp", request) == registry.default_model("nsp")
    assert common.link_model("tiny-english-bert", "nsp", request) == "tiny-english-bert"
