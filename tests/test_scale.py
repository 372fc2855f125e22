"""Beyond one process: gradient accumulation, resuming a run exactly, and torchrun's data parallelism (gloo on
CPU) giving the curve one process gives."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from playground.errors import UserError
from playground.tiny import data
from playground.tiny.checkpoint import save_checkpoint
from playground.tiny.config import TrainConfig
from playground.tiny.train import Trainer

from .narrow import present

ROOT = Path(__file__).resolve().parent.parent
SMALL: dict[str, Any] = dict(
    n_layer=1, n_head=2, n_embd=32, context_length=32, steps=20, log_every=2, eval_every=10, eval_batches=2
)


@pytest.fixture(scope="module")
def text():
    return data.load_corpus("tinyshakespeare")[:200_000]


def curve(run: Trainer) -> list[tuple[int, float, float | None]]:
    return [(e.step, present(e.train_loss), e.val_loss) for e in run.history]  # each step logged has its loss


def test_a_batchs_rows_split_evenly_between_ranks():
    batch = data.Batch(torch.arange(16).view(8, 2), torch.arange(16).view(8, 2) + 1, nsp_labels=torch.arange(8))
    parts = [batch.rows(rank, 4) for rank in range(4)]
    assert [p.input_ids.shape for p in parts] == [(2, 2)] * 4
    assert torch.equal(torch.cat([p.input_ids for p in parts]), batch.input_ids)
    assert torch.equal(present(parts[3].nsp_labels), torch.tensor([6, 7])) and parts[0].attention_mask is None


@pytest.mark.parametrize("objective", ["clm", "mlm"])
def test_a_resumed_run_continues_the_uninterrupted_curve_exactly(text, tmp_path, objective):
    cfg = TrainConfig(objective=objective, batch_size=8, dropout=0.1, warmup_steps=3, **SMALL)
    straight = Trainer(cfg, text)
    list(straight.advance())
    straight.finish()

    first = Trainer(cfg, text)
    list(first.advance(max_steps=10))  # stop at step k = 10 of 2k = 20
    save_checkpoint(tmp_path / "run", first.model, first.tokenizer, {}, training=first.state())
    resumed = Trainer.resume(tmp_path / "run", text)
    assert resumed.step == 10 and curve(resumed) == curve(first)
    list(resumed.advance())
    resumed.finish()
    # the same losses at every step (dropout's, batches' and masks' random streams carried over) ...
    assert curve(resumed) == curve(straight)
    # ... and bit-identical weights at step 2k
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)


def test_resuming_keeps_the_runs_settings_and_text(text, tmp_path):
    cfg = TrainConfig(batch_size=8, **SMALL)
    run = Trainer(cfg, text)
    list(run.advance(max_steps=2))
    save_checkpoint(tmp_path / "run", run.model, run.tokenizer, {}, training=run.state())
    with pytest.raises(UserError, match="keeps its settings.*not n_embd"):
        Trainer.resume(tmp_path / "run", text, n_embd=64)
    with pytest.raises(UserError, match="another text"):
        Trainer.resume(tmp_path / "run", text[:-1000])
    longer = Trainer.resume(tmp_path / "run", text, steps=30)  # more steps may be asked for
    assert longer.cfg.steps == 30 and longer.step == 2
    with pytest.raises(UserError, match="no training state"):
        Trainer.resume(tmp_path, text)


def test_gradient_accumulation_keeps_the_global_batch(text):
    """8 rows in one micro-batch, or 4 + 4 in two: the seeded generator draws the same 8 window starts either
    way, so the mean gradient and the curve are the same (up to float summation order)."""
    one = Trainer(TrainConfig(batch_size=8, **SMALL | {"steps": 10}), text)
    two = Trainer(TrainConfig(batch_size=4, grad_accum=2, **SMALL | {"steps": 10}), text)
    list(one.advance())
    list(two.advance())
    assert one.tokens == two.tokens == 10 * 8 * 32
    for (s1, l1, _), (s2, l2, _) in zip(curve(one), curve(two), strict=True):
        assert s1 == s2 and l1 == pytest.approx(l2, abs=1e-5)


def _cli(args: list[str], launcher: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [*launcher, "-m", "playground", "train", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _history(folder: Path) -> list[tuple[int, float, float | None]]:
    state = json.loads((folder / "training_state.json").read_text())
    return [(e["step"], e["train_loss"], e["val_loss"]) for e in state["history"]]


CLI_SHAPE = [
    "--corpus", str(ROOT / "playground/assets/tinyshakespeare.txt"), "--n-layer", "1", "--n-head", "2",
    "--n-embd", "32", "--context-length", "32", "--batch-size", "8", "--log-every", "5", "--eval-every", "10",
    "--eval-batches", "2",
]  # fmt: skip


@pytest.mark.slow
def test_torchrun_with_two_gloo_processes_gives_the_one_process_curve(tmp_path):
    """Each rank trains on its half of the same global batch; DDP averages the gradients. Tolerance: 1e-4 on
    every logged loss (only float summation order differs)."""
    torchrun = [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc_per_node", "2"]
    two = _cli([*CLI_SHAPE, "--steps", "20", "--out", str(tmp_path), "--name", "two"], torchrun, tmp_path)
    assert two.returncode == 0, two.stderr[-2000:]
    assert two.stdout.count("step 20/20") == 1  # only rank 0 reports
    one = _cli([*CLI_SHAPE, "--steps", "20", "--out", str(tmp_path), "--name", "one"], [sys.executable], tmp_path)
    assert one.returncode == 0, one.stderr[-2000:]
    for (s2, t2, v2), (s1, t1, v1) in zip(_history(tmp_path / "two"), _history(tmp_path / "one"), strict=True):
        assert s2 == s1 and t2 == pytest.approx(t1, abs=1e-4)
        assert (v2 is None) == (v1 is None) and (v1 is None or v2 == pytest.approx(v1, abs=1e-4))


@pytest.mark.slow
def test_the_cli_resumes_a_saved_run_for_more_steps(tmp_path):
    first = _cli([*CLI_SHAPE, "--steps", "10", "--out", str(tmp_path), "--name", "run"], [sys.executable], tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    more = _cli([*CLI_SHAPE, "--resume", str(tmp_path / "run"), "--steps", "20"], [sys.executable], tmp_path)
    assert more.returncode == 0, more.stderr[-2000:]
    assert "resumed at step 10/20" in more.stdout
    steps = [s for s, _, _ in _history(tmp_path / "run")]
    assert steps == [5, 10, 15, 20]  # the first run's curve, then the resumed steps
    bad = _cli(["--resume", str(tmp_path / "run"), "--n-embd", "64"], [sys.executable], tmp_path)
    assert bad.returncode == 2 and "keeps its settings" in bad.stderr


# ---------------------------------------------------------------- corpora larger than memory


def test_a_token_file_holds_the_ids_of_the_whole_text_and_is_made_once(tmp_path):
    from playground.tiny import token_file

    source = ROOT / "playground/assets/tinyshakespeare.txt"  # 1.1 M characters: two pieces of PIECE_CHARS
    text = data.load_corpus(str(source))
    tokenizer = data.train_tokenizer(text, "char")
    corpus = token_file.token_corpus(source, tokenizer, cache=tmp_path)
    assert corpus.tokens.dtype == "uint16" and len(text) > token_file.PIECE_CHARS
    assert torch.equal(torch.from_numpy(corpus.tokens.astype("int64")), data.encode_corpus(tokenizer, text))
    made = corpus.path.stat().st_mtime_ns
    again = token_file.token_corpus(source, tokenizer, cache=tmp_path)  # cached: mapped, not written again
    assert again.path == corpus.path and again.path.stat().st_mtime_ns == made
    other = token_file.token_corpus(source, data.train_tokenizer(text[:5000], "char"), cache=tmp_path)
    assert other.path != corpus.path  # another tokenizer, another file
    assert (
        len(corpus.train) + len(corpus.val) == len(corpus.tokens)
        and abs(len(corpus.val) - len(corpus.tokens) / 10) <= 1
    )


@pytest.mark.parametrize("objective", ["clm", "mlm"])
def test_the_memory_mapped_corpus_gives_the_same_batches_as_the_in_memory_one(tmp_path, objective):
    from playground.tiny import token_file

    text = data.load_corpus("tinyshakespeare")[:50_000]
    (tmp_path / "a.txt").write_text(text)
    tokenizer = data.train_tokenizer(text, "wordpiece", 500)
    mapped = token_file.token_corpus(tmp_path / "a.txt", tokenizer, cache=tmp_path / "cache").tokens
    stream = data.encode_corpus(tokenizer, text)
    for seed in range(3):
        if objective == "clm":
            a = data.causal_batch(stream, 4, 32, torch.Generator().manual_seed(seed))
            b = data.causal_batch(mapped, 4, 32, torch.Generator().manual_seed(seed))
        else:
            a = data.mlm_batch(stream, 4, 32, torch.Generator().manual_seed(seed), data.masker(tokenizer, seed))
            b = data.mlm_batch(mapped, 4, 32, torch.Generator().manual_seed(seed), data.masker(tokenizer, seed))
        assert torch.equal(a.input_ids, b.input_ids) and torch.equal(a.targets, b.targets)
        assert b.input_ids.dtype == torch.long


def test_a_folder_of_text_files_trains_from_its_token_file(tmp_path):
    from playground.tiny import token_file

    text = data.load_corpus("tinyshakespeare")[:120_000]
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "1.txt").write_text(text[:60_000])
    (folder / "2.txt").write_text(text[60_000:])
    assert "".join(token_file.texts(folder)) == text[:60_000] + "\n" + text[60_000:]  # files join as paragraphs
    tokenizer = data.train_tokenizer(token_file.sample(folder), "char")
    corpus = token_file.token_corpus(folder, tokenizer, cache=tmp_path / "cache")
    run = Trainer(TrainConfig(batch_size=8, **SMALL | {"steps": 30, "log_every": 5, "lr": 3e-3}), corpus, tokenizer)
    list(run.advance())
    assert curve(run)[-1][1] < curve(run)[0][1] - 0.3
    with pytest.raises(UserError, match="tokenizer that wrote it"):
        Trainer(TrainConfig(**SMALL), corpus)
    with pytest.raises(UserError, match="neither a .txt file nor a folder"):
        list(token_file.texts(tmp_path / "missing"))
