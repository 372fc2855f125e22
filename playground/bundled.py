"""The two checkpoints we ship, how they were trained, and where they live.

`python -m playground pretrain-bundled` re-creates them with our own trainer; each folder gets a
CARD.md saying data, steps, losses, time and hardware.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, replace
from pathlib import Path

import torch

from .tiny import data
from .tiny.checkpoint import save_checkpoint
from .tiny.train import TrainConfig, train

BUNDLED_DIR = data.ASSETS / "checkpoints"

RECIPES: dict[str, TrainConfig] = {
    # GPT-style: byte-level BPE so the Next Word tab shows words, not characters.
    "tiny-shakespeare-gpt": TrainConfig(
        objective="clm", tokenizer="bpe", vocab_size=4096, n_layer=4, n_head=4, n_embd=192,
        context_length=128, dropout=0.1, batch_size=32, steps=1200, lr=2e-3, warmup_steps=100,
        eval_every=250, log_every=50, seed=1337,
    ),
    # BERT-style: lower-cased WordPiece, masked LM + next sentence prediction.
    # Rotary positions: with a learned table masked LM sits near its unigram plateau for
    # thousands of steps (masked accuracy 11% at step 300, 14% at 1,500), because it must learn to
    # look at its neighbours from absolute positions; RoPE gives relative offsets directly
    # (21% at step 300). lr 1e-3: at 2e-3 it stayed on the plateau.
    "tiny-shakespeare-bert": TrainConfig(
        objective="mlm-nsp", tokenizer="wordpiece", vocab_size=4096, n_layer=4, n_head=4, n_embd=192,
        context_length=128, dropout=0.0, positions="rotary", batch_size=32, steps=2000, lr=1e-3, warmup_steps=100,
        eval_every=250, log_every=50, seed=1337,
    ),
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
    text = data.load_corpus("tinyshakespeare")
    final = None
    for event in train(cfg, text):
        if event.done:
            final = event
        else:
            log(format_event(name, event))
    meta = {
        "name": name,
        "corpus": "tinyshakespeare (1,115,394 characters; last 10% held out for validation)",
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
    }
    folder = save_checkpoint(out_dir / name, final.model, final.tokenizer, meta)
    (folder / "CARD.md").write_text(card(meta))
    log(f"{name}: wrote {folder} (val loss {final.val_loss:.3f}, {final.elapsed:.0f} s)")
    return folder


def format_event(name: str, e) -> str:
    return f"{name}  " + "  ".join(e.describe())


def card(meta: dict) -> str:
    cfg = meta["train_config"]
    metrics = "".join(f"- {k.replace('_', ' ')}: {v:.3f}\n" for k, v in meta["metrics"].items())
    return f"""# {meta['name']}

Pretrained by Pretraining Playground's own trainer (`python -m playground pretrain-bundled`).

- Objective: {cfg['objective']}; tokenizer: {cfg['tokenizer']} ({cfg['vocab_size']} tokens) trained on the training split
- Model: {cfg['n_layer']} layers x {cfg['n_head']} heads x {cfg['n_embd']} wide, context {cfg['context_length']}, {cfg['positions']} positions, dropout {cfg['dropout']}, {meta['parameters']:,} parameters
- Data: {meta['corpus']}
- Training: {meta['steps']} steps of batch {cfg['batch_size']}, AdamW lr {cfg['lr']} (warm-up {cfg['warmup_steps']}, cosine), seed {cfg['seed']}
- Final train loss: {meta['final_train_loss']:.3f}; final validation loss: {meta['final_val_loss']:.3f}
{metrics}- Time: {meta['train_seconds']} s on {meta['hardware']} (torch {meta['torch']})

Sample at the end of training:

```
{meta['sample']}
```

Licence: the weights are ours (same licence as the code); the training text, tinyshakespeare, is public domain.
"""
