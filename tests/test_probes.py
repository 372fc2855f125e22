"""The everyday probe sets of bench/probe_bert.py: their shape, and the bundled BERTs' scores on them."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

PROBES = Path(__file__).parents[1] / "bench" / "probes"


def _probe_bert():
    path = Path(__file__).parents[1] / "bench" / "probe_bert.py"
    spec = importlib.util.spec_from_file_location("probe_bert", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.setdefault("probe_bert", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


def test_masked_probes_have_one_mask_and_single_lower_case_fills():
    items = json.loads((PROBES / "masked.json").read_text())["items"]
    assert len(items) >= 50
    assert len({i["text"] for i in items}) == len(items)
    for item in items:
        assert item["text"].count("[MASK]") == 1, item
        assert item["fills"] and all(re.fullmatch(r"[a-z]+", w) for w in item["fills"]), item


def test_nsp_probes_are_half_true_half_unrelated():
    items = json.loads((PROBES / "nsp.json").read_text())["items"]
    assert len(items) >= 50
    assert sum(i["is_next"] for i in items) * 2 == len(items)
    assert all(i["a"].strip() and i["b"].strip() and isinstance(i["is_next"], bool) for i in items)
    assert len({(i["a"], i["b"]) for i in items}) == len(items)


def test_whole_word_skips_continuation_pieces():
    from playground import registry

    tok = registry.load("tiny-shakespeare-bert", "masked").tokenizer
    probe = _probe_bert()
    piece = next(t for t in tok.get_vocab() if t.startswith("##"))
    assert probe.whole_word(tok, tok.convert_tokens_to_ids(piece)) is None
    assert probe.whole_word(tok, tok.convert_tokens_to_ids("king")) == "king"


@pytest.mark.slow
def test_english_bert_beats_shakespeare_bert_on_everyday_probes():
    probe = _probe_bert()
    old, new = probe.score("tiny-shakespeare-bert"), probe.score("tiny-english-bert")
    assert new.nsp > old.nsp
    assert new.top5 >= old.top5  # a tie at 1,200 CPU steps (bench/RESULTS.md): more training is what it needs
    # the figures measured when the checkpoint was made (17.7%, 66.7%), rounded down: fails if it regresses
    assert new.top5 >= 0.17 and new.nsp >= 0.66
