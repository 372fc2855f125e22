"""Issue #27, item 5: a model one learner pushed works in another learner's tabs by its Hub id.

Offline, the push and the download are stood in for by the Hugging Face cache: the exported folder's files are put
where a download of `learner/<name>` would leave them (tests/hub_cache.py's layout), and the registry loads the id
through its one Hub path (`registry.load` -> `_load_hub`: the id checked, AutoConfig / AutoTokenizer / the Auto
model class from_pretrained, the task checked), as for gpt2 or bert-base-uncased. Then Next Word, Fill Mask, Next
Sentence, the attention view and the logit lens read it, and agree with our own checkpoint."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import constants

from playground import attention, export, registry
from playground.fill_mask import fill_mask
from playground.next_sentence import next_sentence
from playground.next_word import next_token_distribution
from playground.tiny import data
from playground.tiny.checkpoint import load_checkpoint

from .hub_cache import REVISION
from .test_export import train_run

PROMPT = "ROMEO:\nWhat light through yonder window"
MASKED = "To be, or not to [MASK]: that is the question."


def as_downloaded(model_id: str, folder: Path) -> None:
    """The exported folder's files in the Hub cache, as `from_pretrained(model_id)` would have downloaded them."""
    repo = Path(constants.HF_HUB_CACHE) / ("models--" + model_id.replace("/", "--"))
    shutil.copytree(folder, repo / "snapshots" / REVISION, dirs_exist_ok=True)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(REVISION)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory) -> dict[str, Path]:
    """Two runs a learner can make in the Train tab, exported and 'pushed' as learner/tiny-gpt and learner/tiny-bert;
    their checkpoint folders by id."""
    root = tmp_path_factory.mktemp("round-trip")
    runs = {
        "learner/tiny-gpt": train_run(root / "gpt", "classic", objective="clm", tokenizer="bpe", vocab_size=300),
        "learner/tiny-bert": train_run(
            root / "bert", "classic", objective="mlm-nsp", tokenizer="wordpiece", vocab_size=300
        ),
    }
    for model_id, checkpoint in runs.items():
        as_downloaded(model_id, export.export(checkpoint, root / model_id.split("/")[1]).folder)
    return runs


def attention_gap(ours, theirs, tokenizer_ours, tokenizer_theirs, text: str, text_b: str | None = None) -> float:
    a = attention.extract(ours, tokenizer_ours, text, text_b)
    b = attention.extract(theirs, tokenizer_theirs, text, text_b)
    assert a.ids == b.ids and a.tokens == b.tokens and a.segments == b.segments and a.causal == b.causal
    return float(np.abs(a.weights - b.weights).max())


@pytest.mark.slow
def test_a_pushed_gpt_works_in_next_word_attention_and_the_logit_lens(pushed):
    hub = registry.load("learner/tiny-gpt", "causal")  # the Hub path: an id, not a folder of ours
    assert type(hub.model).__name__ == "GPT2LMHeadModel" and hub.meta["source"] == "Hugging Face Hub"
    ours, tokenizer, _ = load_checkpoint(pushed["learner/tiny-gpt"])
    a = next_token_distribution(ours, tokenizer, PROMPT, 5)
    b = next_token_distribution(hub.model, hub.tokenizer, PROMPT, 5)
    assert b.prompt_tokens == a.prompt_tokens
    assert [t.id for t in b.top] == [t.id for t in a.top]  # the top token (and the next four) are ours
    assert b.top[0].prob == pytest.approx(a.top[0].prob, abs=1e-4)
    assert attention_gap(ours, hub.model, tokenizer, hub.tokenizer, PROMPT) < 1e-4
    lens_ours = attention.logit_lens(ours, tokenizer, PROMPT)
    lens_hub = attention.logit_lens(hub.model, hub.tokenizer, PROMPT)
    assert lens_hub.final_token == lens_ours.final_token == b.top[0].token
    assert [layer.top[0][0] for layer in lens_hub.layers] == [layer.top[0][0] for layer in lens_ours.layers]


@pytest.mark.slow
def test_a_pushed_bert_works_in_fill_mask_next_sentence_and_attention(pushed):
    hub = registry.load("learner/tiny-bert", "masked")
    assert type(hub.model).__name__ == "MegatronBertForPreTraining"  # both heads: one copy serves both tabs
    assert registry.load("learner/tiny-bert", "nsp").model is hub.model
    ours, tokenizer, _ = load_checkpoint(pushed["learner/tiny-bert"])
    a, b = fill_mask(ours, tokenizer, MASKED, 5), fill_mask(hub.model, hub.tokenizer, MASKED, 5)
    assert b.tokens == a.tokens
    assert [c.id for c in b.masks[0].candidates] == [c.id for c in a.masks[0].candidates]
    assert b.masks[0].candidates[0].prob == pytest.approx(a.masks[0].candidates[0].prob, abs=1e-4)
    first, second = "The king is dead.", "Long live the king."
    assert next_sentence(hub.model, hub.tokenizer, first, second).is_next == pytest.approx(
        next_sentence(ours, tokenizer, first, second).is_next, abs=1e-4
    )
    assert attention_gap(ours, hub.model, tokenizer, hub.tokenizer, first, second) < 1e-4


def test_our_wordpiece_tokenizer_segments_a_pair_and_keeps_doing_so_once_saved(tmp_path):
    tokenizer = data.train_tokenizer(data.load_corpus("tinyshakespeare")[:20_000], "wordpiece", 300)
    enc = tokenizer("the king is dead", "long live the king")  # no return_token_type_ids asked for
    assert list(enc) == ["input_ids", "token_type_ids", "attention_mask"]
    sep = enc["input_ids"].index(tokenizer.sep_token_id)
    assert set(enc["token_type_ids"][: sep + 1]) == {0} and set(enc["token_type_ids"][sep + 1 :]) == {1}
    tokenizer.save_pretrained(tmp_path)
    from transformers import AutoTokenizer

    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again("the king is dead", "long live the king")["token_type_ids"] == enc["token_type_ids"]
