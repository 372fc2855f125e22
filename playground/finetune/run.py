"""The side-by-side fine-tuning run: a pre-trained body and the same architecture from random weights.

Both classifiers get the same head (one seed), the same labelled examples and, step by step, the very same
batch, learning rate and number of steps; only the body's starting weights differ. So whatever gap opens
between the two curves is what pre-training bought.

`FineTuneTrainer` is a `tiny.train.Trainer`: it reuses its chunked `advance` (pause, step, time-boxed chunks, the
loss window), and `FineTuning` is the session's `TrainingRun` state machine for it (Train / Pause / Step /
Stop), so the tab's buttons and limits work as they do for pre-training.
"""

from __future__ import annotations

import copy
import math
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from ..devices import pick_device
from ..errors import UserError
from ..model_cache import ModelCache, module_bytes, tensor_bytes
from ..tiny.checkpoint import load_checkpoint, save_checkpoint
from ..tiny.files import CLASSIFIER_FILE
from ..tiny.model import TinyTransformer
from ..tiny.recipes import lr_at
from ..tiny.run import Outcome, TrainingRun
from ..tiny.train import Limits, Progress, Trainer
from . import export
from .config import FineTuneConfig, FineTuneProgress, steps_for
from .heads import Classifier, Encoded, Seen, scratch_copy
from .tasks import Example, Task

STARTS = ("pretrained", "scratch")
LABEL_COUNTS = (16, 64, 256, 1024)  # the sweep's default
WHY_DEFAULTS = (
    "Fine-tuning starts from weights that already work, so it takes small steps (a learning rate of 2e-4, 5× "
    "below what our tiny models were pre-trained with) for a few passes over the examples: large steps would "
    "overwrite what pre-training learnt."
)


class FineTuneTrainer(Trainer):
    """Two classifiers trained in lockstep on one task; advanced chunk by chunk like a pre-training Trainer."""

    cfg: FineTuneConfig

    def __init__(self, cfg: FineTuneConfig, body: Any, tokenizer: Any, task: Task, name: str = "pretrained"):
        # Trainer.__init__ is not called (it builds a model and data to pre-train): the fields that Trainer.advance and
        # TrainingRun read are set here instead
        self.cfg = cfg
        self.fcfg = cfg
        self.device = pick_device(cfg.device)
        self.task, self.name = task, name
        self.notice = ""  # a sentence for the page (e.g. the Hub was out of reach: a bundled model instead)
        self.examples = task.sample(cfg.labels, cfg.seed)
        pretrained = copy.deepcopy(body).float()  # the cached model is shared: never train it in place
        self.models = {
            "pretrained": Classifier(pretrained, tokenizer, task.labels, cfg.seed),
            "scratch": Classifier(scratch_copy(pretrained, cfg.seed).float(), tokenizer, task.labels, cfg.seed),
        }
        self.side_optimizers: dict[str, torch.optim.Optimizer] = {}
        for side, model in self.models.items():
            if cfg.freeze:
                model.freeze_body()
            model.to(self.device).train()
            params = [p for p in model.parameters() if p.requires_grad]
            self.side_optimizers[side] = torch.optim.AdamW(
                params, lr=cfg.probe_lr if cfg.freeze else cfg.lr, betas=(0.9, cfg.beta2), weight_decay=cfg.weight_decay
            )
        self.optimizers = list(self.side_optimizers.values())  # what Trainer's held_bytes and let_go read
        self.model = self.models["pretrained"]  # type: ignore[assignment]  # Trainer's name for "the" model
        self.tokenizer = tokenizer
        self.gen = torch.Generator().manual_seed(cfg.seed)  # the batch order, one for both models
        self._order: list[int] = []
        self._features: dict[str, dict[Example, torch.Tensor]] = {}  # side -> a frozen body's (C,) features
        self.step = 0
        self.tokens = 0
        self.elapsed = 0.0
        self.eval_seconds = 0.0
        self.history: list[Progress] = []
        self._lr = 0.0
        self._losses = {side: 0.0 for side in STARTS}  # summed since the last event
        self._loss_n = 0
        self._window = [0, 0, 0.0]
        self._mark = time.perf_counter()

    # ------------------------------------------------------------ batches

    def next_examples(self) -> list[Example]:
        """The next batch: shuffled passes over the examples (a new seeded order each pass)."""
        out: list[Example] = []
        while len(out) < min(self.cfg.batch_size, len(self.examples)):
            if not self._order:
                self._order = torch.randperm(len(self.examples), generator=self.gen).tolist()
            out.append(self.examples[self._order.pop()])
        return out

    def encode(self, examples: list[Example]) -> tuple[Encoded, torch.Tensor]:
        pair = self.task.pair
        enc = self.models["pretrained"].encode(
            [e.text for e in examples], [e.text_b or "" for e in examples] if pair else None
        )
        return enc.to(self.device), torch.tensor([e.label for e in examples], device=self.device)

    def logits(self, side: str, examples: list[Example], enc: Encoded | None = None) -> torch.Tensor:
        """(B, L) one model's label scores. A frozen body's features are computed once per example and kept
        (`_features`): a linear probe then costs one forward pass per example, not one per step and evaluation,
        which is what lets a 135 M-parameter body be probed in about a minute on two cores."""
        model = self.models[side]
        if not model.frozen:
            return model(enc if enc is not None else self.encode(examples)[0])
        kept = self._features.setdefault(side, {})
        missing = list(dict.fromkeys(e for e in examples if e not in kept))
        if missing:
            with torch.no_grad():
                feats = model.features(self.encode(missing)[0]).float()  # (M, C)
            kept.update(zip(missing, feats))
        return model.head(torch.stack([kept[e] for e in examples]))

    # ------------------------------------------------------------ Trainer's hooks

    def _lr_now(self) -> float:
        base = self.fcfg.probe_lr if self.fcfg.freeze else self.fcfg.lr
        return lr_at(self.step, self.cfg) * base / self.cfg.lr

    def train_step(self) -> None:
        self._lr = self._lr_now()
        batch = self.next_examples()
        enc, labels = self.encode(batch)  # one batch, fed to both models
        for side, model in self.models.items():
            opt = self.side_optimizers[side]
            for group in opt.param_groups:
                group["lr"] = self._lr
            loss = F.cross_entropy(self.logits(side, batch, enc), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], self.cfg.grad_clip)
            opt.step()
            self._losses[side] += float(loss.detach())
        self._loss_n += 1
        self.step += 1
        n_tokens = int(enc.attention_mask.sum())
        self.tokens += n_tokens
        self._window[0] += 1
        self._window[1] += n_tokens

    def _event(self) -> FineTuneProgress:
        c = self.cfg
        self._account()
        steps, tokens, seconds = self._window
        n = max(self._loss_n, 1)
        event = FineTuneProgress(
            self.step,
            c.steps,
            self._losses["pretrained"] / n,
            lr=self._lr,
            elapsed=self.elapsed,
            scratch_train_loss=self._losses["scratch"] / n,
        )
        if not all(math.isfinite(v) for v in self._losses.values()):
            raise UserError(f"Fine-tuning diverged by step {self.step}: lower the learning rate and train again.")
        event.tokens_per_s = tokens / max(seconds, 1e-9)
        event.step_seconds = seconds / max(steps, 1)
        self._losses = {side: 0.0 for side in STARTS}
        self._loss_n = 0
        self._window = [0, 0, 0.0]
        if self.step % c.eval_every == 0 or self.step == c.steps:
            # the last evaluation reads the whole validation set, those before it a fixed subset (eval_examples)
            last = self.step == c.steps
            self._evaluate_into(event, self.task.val if last else self.task.val_subset(c.eval_examples))
            self._account(count_in_window=False)
            event.elapsed = self.elapsed
        return event

    def _evaluate_into(self, event: FineTuneProgress, examples: list[Example]) -> None:
        scores = self.evaluate(examples)
        event.evaluated = len(examples)
        event.val_loss, pre_acc = scores["pretrained"]
        event.scratch_val_loss, scratch_acc = scores["scratch"]
        event.metrics = {"accuracy": pre_acc, "scratch_accuracy": scratch_acc}

    @torch.no_grad()
    def evaluate(self, val: list[Example] | None = None, batch: int = 64) -> dict[str, tuple[float, float]]:
        """side -> (validation loss, accuracy) over `val` (default: the task's whole validation set)."""
        val = self.task.val if val is None else val
        sums = {side: [0.0, 0] for side in STARTS}
        for model in self.models.values():
            model.eval()
        for i in range(0, len(val), batch):
            examples = val[i : i + batch]
            enc, labels = self.encode(examples)
            for side in self.models:
                logits = self.logits(side, examples, enc)
                sums[side][0] += float(F.cross_entropy(logits, labels, reduction="sum"))
                sums[side][1] += int((logits.argmax(-1) == labels).sum())
        for model in self.models.values():
            model.train()
        return {side: (loss / len(val), hits / len(val)) for side, (loss, hits) in sums.items()}

    def sample(self) -> str:
        return ""

    def finish(self) -> FineTuneProgress:
        last = self.history[-1] if self.history else None
        if isinstance(last, FineTuneProgress) and last.step == self.step and last.evaluated == len(self.task.val):
            event = copy.copy(last)
        else:
            n = max(self._loss_n, 1)
            event = FineTuneProgress(
                self.step,
                self.cfg.steps,
                self._losses["pretrained"] / n if self._loss_n else (last.train_loss if last else None),
                scratch_train_loss=self._losses["scratch"] / n if self._loss_n else None,
                lr=self._lr,
            )
            self._evaluate_into(event, self.task.val)
        for model in self.models.values():
            model.eval()
        self.let_go()  # a finished fine-tuning never steps again (an Outcome holding it may stay a while)
        event.elapsed = self.elapsed
        event.done = True
        event.stopped = self.step < self.cfg.steps
        event.classifiers = self.models
        return event

    def held_bytes(self) -> int:
        """Both models, their gradients and the optimizers' state, and a frozen body's kept features."""
        features = [f for kept in self._features.values() for f in kept.values()]
        return sum(map(module_bytes, self.models.values())) + self._state_bytes() + tensor_bytes(features)

    def let_go(self) -> None:
        super().let_go()
        self._features = {}

    def to(self, device: str | torch.device) -> FineTuneTrainer:
        device = torch.device(device)
        for side, model in self.models.items():
            model.to(device)
            for state in self.side_optimizers[side].state.values():
                for key, value in state.items():
                    if torch.is_tensor(value) and key != "step":
                        state[key] = value.to(device)
        self.device = device
        self._features = {}  # computed again where the models now are
        return self


# ---------------------------------------------------------------- the plain loop, estimates, the sweep


def finetune(
    cfg: FineTuneConfig, body: Any, tokenizer: Any, task: Task, should_stop: Callable[[], bool] = lambda: False
) -> Iterator[FineTuneProgress]:
    """Fine-tune side by side; yields events, the last (done) with both classifiers."""
    run = FineTuneTrainer(cfg, body, tokenizer, task)
    for event in run.advance(pause=should_stop):
        assert isinstance(event, FineTuneProgress)
        yield event
    yield run.finish()


def estimate_seconds(cfg: FineTuneConfig, body: Any, tokenizer: Any, task: Task, labels: int | None = None) -> float:
    """About how long a side-by-side run takes here: a few real steps and one validation batch of both models,
    timed once per model, task and mode, times the steps and evaluations of this run."""
    step_s, eval_s = _measure(body, tokenizer, task, cfg.freeze, cfg.batch_size)
    if cfg.freeze:  # one forward pass per example, kept (FineTuneTrainer.logits): the head's steps cost ~nothing
        return eval_s * math.ceil(((labels or cfg.labels) + len(task.val)) / 64)
    steps = cfg.steps if labels is None else steps_for(labels, cfg.batch_size, cfg.epochs, cfg.min_steps)
    # the last evaluation reads the whole validation set, those before it the subset (FineTuneTrainer._event)
    batches = math.ceil(len(task.val) / 64)
    if labels is None:
        batches += (math.ceil(steps / cfg.eval_every) - 1) * math.ceil(len(task.val_subset(cfg.eval_examples)) / 64)
    return steps * step_s + batches * eval_s


_measured: dict[tuple, tuple[float, float]] = {}


def _measure(body: Any, tokenizer: Any, task: Task, freeze: bool, batch_size: int) -> tuple[float, float]:
    """(seconds of one step of both models, seconds of one validation batch of 64), measured on a throwaway run."""
    key = (id(body), task.name, freeze, batch_size)
    if key not in _measured:
        cfg = FineTuneConfig(labels=min(len(task.train), 2 * batch_size), batch_size=batch_size, freeze=freeze)
        run = FineTuneTrainer(cfg, body, tokenizer, task)
        run.train_step()  # the first step pays for allocations
        t0 = time.perf_counter()
        for _ in range(2):
            run.train_step()
        step_s = (time.perf_counter() - t0) / 2
        t0 = time.perf_counter()
        with torch.no_grad():
            enc, _ = run.encode(task.val[:64])
            for model in run.models.values():
                model.eval().features(enc)
        _measured[key] = (step_s, time.perf_counter() - t0)
    return _measured[key]


@dataclass
class SweepPoint:
    labels: int
    accuracy: dict[str, float]  # side -> validation accuracy
    steps: int
    seconds: float


def sweep(
    cfg: FineTuneConfig,
    body: Any,
    tokenizer: Any,
    task: Task,
    counts: tuple[int, ...] = LABEL_COUNTS,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[SweepPoint]:
    """For each number of labels, a side-by-side run of steps_for(labels) steps; yields its final accuracies."""
    for n in counts:
        if should_stop():
            return
        run_cfg = replace(
            cfg, labels=n, steps=steps_for(n, cfg.batch_size, cfg.epochs, cfg.min_steps), eval_every=10**6
        )
        t0 = time.perf_counter()
        final = None
        for event in finetune(run_cfg, body, tokenizer, task, should_stop):
            final = event
        if final is None or final.stopped:  # stopped part way: not a point of the sweep
            return
        yield SweepPoint(
            n,
            {side: final.accuracy(side) or 0.0 for side in STARTS},
            final.step,
            time.perf_counter() - t0,
        )


# ---------------------------------------------------------------- trying, saving


def predict(classifiers: dict[str, Classifier], text: str, text_b: str | None = None) -> dict[str, dict[str, float]]:
    """side -> label -> probability, for one input."""
    if not (text or "").strip():
        raise UserError("Write a sentence to classify.")
    second = text_b if text_b and text_b.strip() else None
    return {side: c.predict(text, second) for side, c in classifiers.items()}


def seen(classifier: Classifier, text: str, text_b: str | None = None) -> Seen:
    return classifier.seen(text, text_b or None)


def save_classifier(folder: str | Path, classifier: Classifier, meta: dict) -> Path:
    """A fine-tuned model of ours as a checkpoint folder: the body as any tiny checkpoint (so the other tabs can
    open it too), and the head and added tokens in classifier.safetensors; the labels in the meta."""
    if not isinstance(classifier.body, TinyTransformer):
        raise UserError("Only the app's own tiny models can be saved after fine-tuning; a Hub model's stays here.")
    folder = save_checkpoint(
        folder,
        classifier.body,
        classifier.tokenizer,  # type: ignore[arg-type]
        {**meta, "finetune": {"labels": list(classifier.labels), "kind": classifier.kind}},
    )
    tensors = {f"head.{k}": v.detach().cpu().contiguous() for k, v in classifier.head.state_dict().items()}
    if classifier.added is not None:
        tensors["added"] = classifier.added.detach().cpu().contiguous()
    save_file(tensors, str(folder / CLASSIFIER_FILE))
    (folder / CLASSIFIER_FILE).chmod(0o644)
    return folder


def load_classifier(folder: str | Path) -> Classifier:
    model, tokenizer, meta = load_checkpoint(folder)
    labels = tuple(meta["finetune"]["labels"])
    classifier = Classifier(model, tokenizer, labels)
    tensors = load_file(str(Path(folder) / CLASSIFIER_FILE))
    classifier.head.load_state_dict({k.removeprefix("head."): v for k, v in tensors.items() if k.startswith("head.")})
    if classifier.added is not None:
        classifier.added.data.copy_(tensors["added"])
    return classifier.eval()


def _pair_bytes(classifiers: dict[str, Classifier]) -> int:
    return sum(module_bytes(c) for c in classifiers.values())


# Each session's last finished fine-tuning stays in memory for Try it while its page lives (hours). A real body's
# pair is 2 x 91 MB (the encoder) to 2 x 540 MB (SmolLM2's probe), so all sessions' pairs together are bounded: past
# KEPT_BYTES the least recently tried pair is set aside (its Try it says so; a real BERT's download still holds it)
KEPT_BYTES = int(float(os.environ.get("PLAYGROUND_FINETUNED_BYTES", 1.5e9)))
_kept: ModelCache[dict[str, Classifier]] = ModelCache(KEPT_BYTES, _pair_bytes)


class FineTuning(TrainingRun):
    """A session's fine-tuning run: TrainingRun's Train / Pause / Step / Stop, saving the fine-tuned model."""

    DOING = "fine-tuning"
    kept_key: str | None = None  # the key of the last finished run's two classifiers among all sessions' (_kept)
    exported: Path | None = None  # the last real model's transformers export (a zip): a session keeps one

    def classifiers(self) -> dict[str, Classifier]:
        """The models to try: the paused run's, else the last finished one's."""
        if self.busy and self.run is None:  # Stop, or the server setting the paused run aside, is saving it
            raise UserError("This session is saving its fine-tuned model; try again in a moment.")
        if self.busy:
            raise UserError("Fine-tuning is running: pause or stop it, then try a sentence.")
        if isinstance(self.run, FineTuneTrainer):
            return self.run.models
        if self.kept_key is None:
            raise UserError("Fine-tune first (press Train), then try a sentence.")
        return _kept.get(self.kept_key, self._set_aside)

    def _set_aside(self) -> NoReturn:
        download = " (the download above still holds it)" if self.exported is not None else ""
        raise UserError(
            f"Your fine-tuned model was set aside to free the server's memory for other visitors{download}: "
            "fine-tune again to try it here."
        )

    def _keep(self, classifiers: dict[str, Classifier]) -> None:
        """The finished run's pair, for Try it, in place of this session's last one."""
        if self.kept_key is not None:
            _kept.drop(self.kept_key)
        self.kept_key = uuid.uuid4().hex
        _kept.get(self.kept_key, lambda: classifiers)  # (get with a loader that hands the pair over: a put)

    def close(self) -> None:
        super().close()
        if self.kept_key is not None:
            _kept.drop(self.kept_key)

    def begin(self, run: FineTuneTrainer, corpus: str, limits: Limits) -> FineTuneTrainer:
        """(holding) Take a new run, checked against the step and batch limits."""
        if run.cfg.steps > limits.steps:
            raise UserError(f"Steps: at most {limits.steps:,} here, not {run.cfg.steps:,}.")
        if run.cfg.batch_size > limits.batch:
            raise UserError(f"Batch size: at most {limits.batch:,} here, not {run.cfg.batch_size:,}.")
        self.run, self.corpus, self.limits = run, corpus, limits
        return run

    def save(self, notice: str = "") -> Outcome:
        """Finish the run; the fine-tuned pre-trained model joins the session (when it is one of ours)."""
        run, self.run = self.run, None
        self._clear()
        if run is None or run.step == 0:
            return Outcome("empty", run)
        assert isinstance(run, FineTuneTrainer)
        final = run.finish()
        self._keep(final.classifiers)
        classifier = final.classifiers["pretrained"]
        if not isinstance(classifier.body, TinyTransformer):
            return self._export(run, final, notice)
        meta = {"corpus": self.corpus, "task": run.task.name, "pretrained": run.name, **final.summary()}
        folder = save_classifier(self._new_folder("finetune") / "model", classifier, meta)
        name = self._add_checkpoint(folder, f"ft-{run.task.name}")
        return Outcome("saved", run, final, name, folder, notice)

    def _export(self, run: FineTuneTrainer, final: FineTuneProgress, notice: str) -> Outcome:
        """A real model's fine-tuned copy stays on the page for Try it; a BERT with its pooler is also written as
        transformers' BertForSequenceClassification, a zip that replaces the session's last one."""
        classifier = final.classifiers["pretrained"]
        why = export.refusal(classifier)
        if why:
            return Outcome("done", run, final, notice=f"{notice} {why}".strip())
        if self.exported is not None:
            shutil.rmtree(self.exported.parent, ignore_errors=True)
            self.exported = None
        stem = re.sub(r"[^\w.-]+", "-", f"{run.name.split(' (')[0]}-{run.task.name}").strip("-.")
        done = export.export(classifier, run.name, run.task, run.cfg, final, self._new_folder("finetune") / stem)
        self.exported = done.path
        said = (
            f"The fine-tuned {run.name} stays on this page for **Try it**, and is a transformers "
            f"`BertForSequenceClassification` to download below ({done.megabytes:.0f} MB; its logits match ours "
            f'{export.matching(done.max_diff)}; `pipeline("text-classification", model=folder)` reads it).'
        )
        return Outcome("done", run, final, folder=done.path, notice=f"{notice} {said}".strip())
