"""GGUF export (playground/gguf_export.py): a tiny real GPT-2-shaped run written as .gguf in each type, read back
through transformers' GGUF loader, its logits compared with ours on a real tinyshakespeare passage."""

from __future__ import annotations

import math
import re

import gguf
import pytest

from playground import export, gguf_export
from playground.errors import UserError
from playground.tiny.checkpoint import load_checkpoint
from tests.test_export import train_run

# max |logit difference| allowed per type. float32 is exact. float16 and Q8_0 measured on this test's run (20 steps,
# 2 x 32 wide, character tokenizer, logits up to about 0.6): f16 1.1e-4, Q8_0 2.3e-3; on the bundled
# tiny-shakespeare-gpt (4 x 192, BPE, logits up to about 21): f16 5.0e-3, Q8_0 0.11 (its top-1 next token the same at
# every position of the passage). The bounds leave about 9x room over this run's numbers.
TOLERANCE = {"f32": export.MAX_DIFF, "f16": 1e-3, "q8_0": 2e-2}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gguf")
    return train_run(root / "run", "classic", objective="clm", tokenizer="char")


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(TOLERANCE))
def test_the_gguf_reads_back_through_transformers_with_our_logits(run, tmp_path, kind):
    done = export.export(run, tmp_path / "out", gguf=kind)
    assert done.gguf_file == tmp_path / "out" / gguf_export.file_name(kind)
    ours, tokenizer, _ = load_checkpoint(run)
    theirs = gguf_export.load_gguf(done.folder, kind)
    ids = export.real_batch(tokenizer, ours.config.context_length)
    diff = export.max_logit_difference(ours, theirs, ids)
    assert diff < TOLERANCE[kind]
    if kind != "f32":  # the weights really are stored in the smaller type
        assert diff > 0
    # the card quotes the difference measured at export (this run's context is under 64: the same batch), to 2 digits
    card = (done.folder / "README.md").read_text()
    said = re.search(r"at most ([0-9.e+-]+) on the batch", card)
    assert said is not None
    quoted = float(said.group(1))
    assert "## GGUF" in card and gguf_export.file_name(kind) in card
    assert math.isclose(quoted, diff, rel_tol=0.05, abs_tol=1e-12)


@pytest.mark.slow
def test_the_gguf_holds_what_llama_cpp_reads(run, tmp_path):
    done = export.export(run, tmp_path / "out", gguf="q8_0")
    assert done.gguf_file is not None
    reader = gguf.GGUFReader(done.gguf_file)
    fields = reader.fields
    assert bytes(fields["general.architecture"].parts[-1]).decode() == "gpt2"
    assert int(fields["gpt2.context_length"].parts[-1][0]) == 32
    assert bytes(fields["tokenizer.ggml.model"].parts[-1]).decode() == "gpt2"
    _, tokenizer, _ = load_checkpoint(run)
    assert len(fields["tokenizer.ggml.tokens"].data) == len(tokenizer)
    types = {t.name: t.tensor_type for t in reader.tensors}
    assert types["blk.0.attn_qkv.weight"] == gguf.GGMLQuantizationType.Q8_0
    assert types["blk.0.attn_norm.weight"] == gguf.GGMLQuantizationType.F32  # vectors stay float32
    assert "output.weight" not in types  # tied: token_embd serves as the output layer


def test_only_a_tied_gpt2_goes_to_gguf(tmp_path):
    from playground.tiny.model import TinyConfig, TinyTransformer

    untied = export.to_transformers(TinyTransformer(TinyConfig(vocab_size=9, n_embd=16, n_head=2, tied_head=False)))
    with pytest.raises(UserError, match="tied"):
        gguf_export.write_gguf(untied, None, tmp_path, "f32")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="one of"):
        gguf_export.write_gguf(untied, None, tmp_path, "q4_k")  # type: ignore[arg-type]
    arcee = export.to_transformers(
        TinyTransformer(TinyConfig(vocab_size=9, n_embd=16, n_head=2, positions="rotary", norm="rmsnorm"))
    )
    with pytest.raises(UserError, match="GPT-2"):
        gguf_export.write_gguf(arcee, None, tmp_path, "f32")  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())
