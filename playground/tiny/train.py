"""One training loop for the UI, the CLI and the benchmarks.

A `Trainer` holds everything a training run needs between steps (model, optimizer, batch sources,
step counter, loss history), so it can be advanced chunk by chunk: the UI pauses by not
advancing it, steps it by one logging interval, and on ZeroGPU trains it in GPU calls shorter
than a minute. `train(cfg, text)` is the plain generator of `Progress` events the CLI and the
benchmarks use, built on the same Trainer. The last event has `done=True` and carries the trained
model and its tokenizer.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import hashlib
import math
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import cast

import torch
from safetensors.torch import load_model
from torch.nn.parallel import DistributedDataParallel
from transformers import PreTrainedTokenizerFast

from ..devices import bf16_peak_flops, describe, pick_device
from ..errors import UserError
from ..model_cache import module_bytes, tensor_bytes
from . import data, distributed, recipes
from .checkpoint import load_training_state
from .config import TrainConfig
from .files import WEIGHTS_FILE
from .model import TinyConfig, TinyTransformer
from .timeline import Timeline
from .token_file import TokenCorpus


@dataclass
class Progress:
    step: int
    steps: int
    train_loss: float | None = None
    val_loss: float | None = None
    metrics: dict = field(default_factory=dict)  # e.g. masked-token accuracy, NSP accuracy
    tokens_per_s: float = 0.0
    elapsed: float = 0.0  # seconds of training so far (pauses not counted)
    lr: float = 0.0
    step_seconds: float = 0.0  # mean time of one training step since the previous event
    sample: str | None = None  # generated text (causal) or a fill-mask probe (masked)
    done: bool = False
    stopped: bool = False  # True when a stop was requested before the last step
    model: TinyTransformer | None = None  # set on the final event
    tokenizer: PreTrainedTokenizerFast | None = None  # set on the final event

    def eta(self) -> float:
        """Seconds of training left at the current pace (evaluations not counted)."""
        return (self.steps - self.step) * self.step_seconds

    def describe(self) -> list[str]:
        """The event as short phrases ("train loss 3.742", ...) for a log line or a status bar."""
        parts = [f"step {self.step}/{self.steps}"]
        if self.train_loss is not None:
            parts.append(f"train loss {self.train_loss:.3f}")
        if self.val_loss is not None:
            parts.append(f"validation loss {self.val_loss:.3f}")
        parts += [f"{k.replace('_', ' ')} {v:.1%}" for k, v in self.metrics.items()]
        parts.append(f"{self.tokens_per_s:,.0f} tokens/s · {self.elapsed:.1f} s")
        return parts

    def summary(self) -> dict:
        keep = ("step", "steps", "train_loss", "val_loss", "metrics", "tokens_per_s", "elapsed", "lr")
        return {k: v for k, v in asdict(self).items() if k in keep}


def uniform_loss(objective: str, vocab_size: int) -> float:
    """The loss of a blind guess, which an untrained model starts near: ln(vocab) for a token;
    masked LM + NSP adds ln 2 for the coin-flip "does B follow A?", as its loss is the sum of both."""
    return math.log(vocab_size) + (math.log(2) if objective == "mlm-nsp" else 0.0)


def build_tokenizer(cfg: TrainConfig, text: str) -> PreTrainedTokenizerFast:
    if cfg.tokenizer in data.TOKENIZER_KINDS:
        return data.train_tokenizer(text, cfg.tokenizer, cfg.vocab_size)
    path = Path(cfg.tokenizer)
    if path.suffix == ".json":
        return PreTrainedTokenizerFast(tokenizer_file=str(path), **data.BERT_SPECIALS)
    return PreTrainedTokenizerFast.from_pretrained(path)


def model_config(cfg: TrainConfig, vocab_size: int, pad_token_id: int | None = None) -> TinyConfig:
    masked = cfg.objective != "clm"
    return TinyConfig(
        vocab_size=vocab_size,
        context_length=cfg.context_length,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
        dropout=cfg.dropout,
        causal=not masked,
        positions=cfg.positions,
        heads=("mlm", "nsp") if cfg.objective == "mlm-nsp" else ("mlm",) if masked else ("lm",),
        type_vocab_size=2 if masked else 0,
        pad_token_id=pad_token_id,
        norm=cfg.norm,
        mlp=cfg.mlp,
        qk_norm=cfg.qk_norm,
        tied_head=cfg.tied_head or masked,  # the masked head scores against the embedding table
        logit_softcap=cfg.logit_softcap,
    )


class BatchSource:
    """Seeded batches of the chosen objective, for the train or the validation split."""

    def __init__(
        self,
        cfg: TrainConfig,
        tokenizer: PreTrainedTokenizerFast,
        text: str | data.Stream,
        seed: int,
        what: str = "the text",
    ):
        """`text` is raw text, or ids already tokenized (a memory-mapped token file's split)."""
        self.cfg = cfg
        self.gen = torch.Generator().manual_seed(seed)
        self.collator = data.masker(tokenizer, seed) if cfg.objective != "clm" else None
        if cfg.objective == "mlm-nsp":
            if not isinstance(text, str):
                raise UserError("Masked LM + NSP needs sentences: train it on text, not on a token file.")
            try:
                self.pairs = data.SentencePairs(text, tokenizer, cfg.nsp_single)
            except UserError as err:
                raise UserError(f"{what.capitalize()}: {err} (add text)") from err
        else:
            self.stream = data.encode_corpus(tokenizer, text) if isinstance(text, str) else text
            if len(self.stream) <= cfg.context_length + 1:
                raise UserError(
                    f"{what.capitalize()} is {len(self.stream)} tokens long; it needs more than the context of "
                    f"{cfg.context_length} tokens (add text or shorten the context)."
                )

    def next(self) -> data.Batch:
        c = self.cfg
        if c.objective == "clm":
            return data.causal_batch(self.stream, c.batch_size, c.context_length, self.gen)
        assert self.collator is not None  # built for both masked objectives
        if c.objective == "mlm":
            return data.mlm_batch(self.stream, c.batch_size, c.context_length, self.gen, self.collator)
        return data.nsp_batch(self.pairs, c.batch_size, c.context_length, self.gen, self.collator)


def _forward(model, batch: data.Batch):
    return model(
        batch.input_ids,
        attention_mask=batch.attention_mask,
        token_type_ids=batch.token_type_ids,
        targets=batch.targets,
        nsp_labels=batch.nsp_labels,
    )


def _autocast(device: torch.device, precision: str = "auto"):
    """bf16 matmuls where asked (auto: on GPU); the loss is computed in float32 either way."""
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


@torch.no_grad()
def evaluate(model, source: BatchSource, n_batches: int, device: torch.device) -> tuple[float, dict]:
    """Mean validation loss over a fixed set of batches, plus masked-token and NSP accuracy."""
    was_training = model.training
    model.eval()
    source.gen.manual_seed(source.cfg.seed + 1)  # the same validation batches at every evaluation
    if source.collator is not None and source.collator.generator is not None:
        source.collator.generator.manual_seed(source.cfg.seed + 1)
    losses: list[torch.Tensor] = []
    hits: torch.Tensor | int = 0  # tensors once counted: summed on the device, read once at the end
    counts: torch.Tensor | int = 0
    nsp_hits: torch.Tensor | int = 0
    nsp_counts = 0
    for _ in range(n_batches):
        batch = source.next().to(device)
        with _autocast(device, source.cfg.precision):
            out = _forward(model, batch)
        losses.append(out.loss.float())
        if source.cfg.objective != "clm":
            scored = batch.targets != -100
            hits += (out.picked_logits.argmax(-1) == batch.targets[scored]).sum()
            counts += scored.sum()
        if out.seq_relationship_logits is not None and batch.nsp_labels is not None:
            nsp_hits += (out.seq_relationship_logits.argmax(-1) == batch.nsp_labels).sum()
            nsp_counts += len(batch.nsp_labels)
    model.train(was_training)
    metrics = {}
    if counts:
        metrics["masked_accuracy"] = float(hits) / float(counts)
    if nsp_counts:
        metrics["nsp_accuracy"] = float(nsp_hits) / nsp_counts
    return float(torch.stack(losses).mean()), metrics


@torch.no_grad()
def sample_text(model, tokenizer, objective: str, prompt: str, device: torch.device, seed: int) -> str:
    """A short look at what the model has learnt: a continuation, or a fill-in of masked words."""
    was_training = model.training
    model.eval()
    try:
        if objective == "clm":
            ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids.to(device)
            gen = torch.Generator(device=device).manual_seed(seed)
            out = model.generate(
                ids[:, -model.config.context_length // 2 :], 48, temperature=0.8, top_k=40, generator=gen
            )
            return tokenizer.decode(out[0].tolist(), skip_special_tokens=True)  # early on it may pick [SEP] etc.
        enc = tokenizer(prompt, return_tensors="pt", truncation=True, max_length=model.config.context_length).to(device)
        logits = model(enc.input_ids, attention_mask=enc.attention_mask).logits
        ids = enc.input_ids[0].tolist()
        for pos in (enc.input_ids[0] == tokenizer.mask_token_id).nonzero().flatten().tolist():
            ids[pos] = int(logits[0, pos].argmax())
        return f"{prompt}\n→ {tokenizer.decode(ids, skip_special_tokens=True)}"
    finally:
        model.train(was_training)


def default_probe(objective: str, val_text: str) -> str:
    """The text to sample from: the start of a validation line, or one with a word masked."""
    lines = val_text.splitlines()[1:]  # the first line may start mid-word, where the split cut it
    line = next((text for text in lines if len(text.split()) >= 5), "the quick brown fox jumps over the lazy dog")
    words = line.split()
    if objective == "clm":
        return " ".join(words[:3])
    words[len(words) // 2] = "[MASK]"
    return " ".join(words)


STATE_FORMAT = 2  # of training_state.json: one entry per optimizer (AdamW, or Muon + AdamW)

# the settings a resumed run may change: how long it goes and how it reports, not what it learns
RESUME_SETTINGS = ("steps", "log_every", "eval_every", "eval_batches", "device", "precision", "compile")

# Seeding and building a model use torch's process-wide RNG: two runs starting at once take turns
_SEED_LOCK = threading.Lock()


def _texts(
    cfg: TrainConfig, text: str | TokenCorpus, tokenizer: PreTrainedTokenizerFast | None
) -> tuple[str | data.Stream, str | data.Stream, PreTrainedTokenizerFast]:
    """(training part, validation part: the last tenth, the tokenizer set to the run's context). Someone else's
    tokenizer (a session's, a bundled one) is copied, since its context length is set here."""
    train_text: str | data.Stream
    val_text: str | data.Stream
    if isinstance(text, TokenCorpus):
        if tokenizer is None:
            raise UserError("A token file is read with the tokenizer that wrote it: pass that tokenizer.")
        train_text, val_text = text.train, text.val
    else:
        train_text, val_text = data.split_train_val(text)
    if tokenizer is not None:
        tokenizer = copy.deepcopy(tokenizer)
    else:
        assert isinstance(train_text, str)
        tokenizer = build_tokenizer(cfg, train_text)
    data.check_tokenizer(tokenizer, cfg.objective)
    tokenizer.model_max_length = cfg.context_length
    return train_text, val_text, tokenizer


class Trainer:
    """One training run, advanced chunk by chunk; the state lives here between chunks."""

    timeline: Timeline | None = None  # the app's snapshots for the scrubber (tiny/timeline.py); the CLI keeps none

    def __init__(
        self,
        cfg: TrainConfig,
        text: str | TokenCorpus,
        tokenizer: PreTrainedTokenizerFast | None = None,
        model: torch.nn.Module | None = None,
    ):
        """`text`: the corpus in memory, or a TokenCorpus (memory-mapped ids; then `tokenizer` is the one that
        wrote it). Either way the last tenth is validation. `model`: a model to go on training (called as
        TinyTransformer is, e.g. encoder.PretrainingEncoder) instead of a fresh TinyTransformer from `cfg`."""
        self.cfg = cfg
        self._place()
        self.text_sha256 = corpus_id(text)  # a resumed run must see the same text
        train_text, val_text, self.tokenizer = _texts(cfg, text, tokenizer)
        self._sources(train_text, val_text)
        self._build(model)
        self.step = 0
        self.tokens = 0
        self.elapsed = 0.0  # seconds spent training (inside advance), pauses and consumers excluded
        self.eval_seconds = 0.0  # the part of elapsed spent evaluating and sampling
        self.history: list[Progress] = []  # every event so far: the loss curve
        self._lr = recipes.lr_at(0, cfg)
        self._loss_sum = torch.zeros((), device=self.device)  # summed on device; read back only at log points
        self._loss_n = 0
        self._window = [0, 0, 0.0]  # steps, tokens, seconds since the last event
        self._mark = time.perf_counter()

    def _place(self) -> None:
        """This process's share: one process, or this rank of a torchrun (one GPU each)."""
        self.world = distributed.current()
        if self.cfg.batch_size % self.world.size:
            raise UserError(
                f"Batch size {self.cfg.batch_size} does not split evenly over {self.world.size} processes: "
                f"use a multiple of {self.world.size}."
            )
        self.device = pick_device(self.cfg.device)
        if self.device.type == "cuda" and self.world.size > 1:
            self.device = torch.device("cuda", self.world.local_rank)

    def _sources(self, train_text: str | data.Stream, val_text: str | data.Stream) -> None:
        """The batches of both parts, the characters per token (bits per character) and the sample's probe."""
        cfg, tokenizer = self.cfg, self.tokenizer
        self.train_src = BatchSource(cfg, tokenizer, train_text, cfg.seed, "the training text")
        self.val_src = BatchSource(cfg, tokenizer, val_text, cfg.seed + 1, "the validation text (the last 10%)")
        # characters of validation text per token: loss per token / this = loss per character, for any tokenizer
        self.chars_per_token: float | None = None
        if isinstance(val_text, str) and cfg.objective != "mlm-nsp":
            self.chars_per_token = len(val_text) / len(self.val_src.stream)
        if isinstance(val_text, str):
            probe_text = val_text
        else:  # the probe is read from the start of the validation ids
            probe_text = str(tokenizer.decode(data.take(val_text, torch.arange(min(len(val_text), 2_000))).tolist()))
        self.probe = default_probe(cfg.objective, probe_text)

    def _build(self, model: torch.nn.Module | None) -> None:
        """The model (seeded), its optimizers and what a step calls (DDP over the ranks, compiled if asked)."""
        cfg, cuda = self.cfg, self.device.type == "cuda"
        with _SEED_LOCK:
            torch.manual_seed(cfg.seed)
            if model is None:
                model = TinyTransformer(model_config(cfg, len(self.tokenizer), self.tokenizer.pad_token_id))
            # typed as ours: a model passed in is called as a TinyTransformer is (forward's arguments and output,
            # num_parameters, config.context_length), which is all the loop, its samples and its saves use
            self.model = cast(TinyTransformer, model.to(self.device))
            self._rng = _rng_state(self.device)  # dropout's random stream, carried from chunk to chunk
        self.optimizers = recipes.optimizers(self.model, cfg, fused=cuda)  # [AdamW] or [Muon, AdamW]
        # what the training step calls: DDP averages the gradients over the ranks during backward
        self.ddp = DistributedDataParallel(self.model) if self.world.size > 1 else None
        wrapped = self.ddp if self.ddp is not None else self.model
        self.step_fn = torch.compile(wrapped) if cfg.compile else wrapped
        self.model.train()

    @property
    def done(self) -> bool:
        return self.step >= self.cfg.steps

    def steps_to_next_log(self) -> int:
        return min(self.cfg.log_every - self.step % self.cfg.log_every, self.cfg.steps - self.step)

    def advance(
        self, max_steps: int | None = None, seconds: float | None = None, pause: Callable[[], bool] = lambda: False
    ) -> Iterator[Progress]:
        """Train up to the last step, `max_steps` more steps, `seconds` of wall time, or until `pause()`.

        Yields an event at every log point (with validation loss and a sample at evaluation points).
        The loss window carries over a pause, so the curve does not depend on how the run is cut up.
        """
        c = self.cfg
        last = c.steps if max_steps is None else min(c.steps, self.step + max_steps)
        start = self._mark = time.perf_counter()
        while self.step < last and not pause():
            if seconds is not None and time.perf_counter() - start >= seconds:
                break
            self.train_step()
            if self.step % c.log_every == 0 or self.step % c.eval_every == 0 or self.step == c.steps:
                event = self._event()
                self.history.append(event)
                if self.timeline is not None:
                    self.timeline.note(self.step, self.model, event)
                yield event
                self._mark = time.perf_counter()  # the consumer's time is not training time
        self._account()

    def train_step(self) -> None:
        """One optimizer step over the global batch: grad_accum micro-batches, each split between the ranks.
        The seam a subclass trains something else through (finetune.run.FineTuneTrainer: two classifiers)."""
        c, world = self.cfg, self.world
        self._lr = recipes.lr_at(self.step, c)
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = self._lr
            optimizer.zero_grad(set_to_none=True)
        tokens = 0
        for micro in range(c.grad_accum):
            batch = self.train_src.next()  # the global micro-batch: every rank draws the same one
            tokens += batch.n_tokens()
            mine = batch.rows(world.rank, world.size).to(self.device)
            last = micro == c.grad_accum - 1
            # DDP averages gradients across ranks once, on the last micro-batch's backward
            sync = self.ddp.no_sync() if self.ddp is not None and not last else contextlib.nullcontext()
            with sync:
                with self._own_rng(), _autocast(self.device, c.precision):
                    out = _forward(self.step_fn, mine)
                (out.loss / c.grad_accum).backward()
            self._loss_sum += out.loss.detach().float() / c.grad_accum
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
        for optimizer in self.optimizers:
            optimizer.step()
        self._loss_n += 1
        self.step += 1
        self.tokens += tokens
        self._window[0] += 1
        self._window[1] += tokens

    @contextmanager
    def _own_rng(self):
        """Dropout draws from torch's global RNG: swap in this run's stream so pauses, samples and
        other work between chunks leave the curve unchanged (no-op without dropout)."""
        if not self.cfg.dropout:
            yield
            return
        _set_rng_state(self.device, self._rng)
        try:
            yield
        finally:
            self._rng = _rng_state(self.device)

    def _account(self, count_in_window: bool = True) -> None:
        now = time.perf_counter()
        self.elapsed += now - self._mark
        if count_in_window:
            self._window[2] += now - self._mark
        else:
            self.eval_seconds += now - self._mark
        self._mark = now

    def _event(self) -> Progress:
        c = self.cfg
        # the host sync (and, under torchrun, the mean over ranks): only here, at log points
        train_loss = float(distributed.mean(self._loss_sum, self.world)) / self._loss_n
        if not math.isfinite(train_loss):  # diverged: every weight is NaN now, nothing more to learn or sample
            raise UserError(
                f"Training diverged by step {self.step}: the loss became {train_loss} (learning rate {c.lr:g} is "
                "far too high for this model). Lower the learning rate (1e-3 is a safe start) and train again."
            )
        self._account()
        steps, tokens, seconds = self._window
        event = Progress(self.step, c.steps, train_loss, lr=self._lr, elapsed=self.elapsed)
        event.tokens_per_s = tokens / max(seconds, 1e-9)
        event.step_seconds = seconds / max(steps, 1)
        self._loss_sum.zero_()
        self._loss_n = 0
        self._window = [0, 0, 0.0]
        if (self.step % c.eval_every == 0 or self.step == c.steps) and self.world.main:
            event.val_loss, event.metrics = evaluate(self.model, self.val_src, c.eval_batches, self.device)
            event.sample = self.sample()
            self._account(count_in_window=False)  # evaluation time is not training throughput
            event.elapsed = self.elapsed
        return event

    def sample(self) -> str:
        return sample_text(self.model, self.tokenizer, self.cfg.objective, self.probe, self.device, self.cfg.seed)

    def finish(self) -> Progress:
        """The final event: evaluated (unless the last event just was), with a sample, the model and its tokenizer."""
        last = self.history[-1] if self.history else None
        train_loss: float | None
        if self._loss_n:  # stopped between log points
            train_loss = float(distributed.mean(self._loss_sum, self.world)) / self._loss_n
        else:
            train_loss = last.train_loss if last else None
        val_loss: float | None
        if last is not None and last.step == self.step and last.val_loss is not None:
            val_loss, metrics, sample = last.val_loss, last.metrics, last.sample
        elif not self.world.main:  # only rank 0 evaluates
            val_loss, metrics, sample = None, {}, None
        else:
            val_loss, metrics = evaluate(self.model, self.val_src, self.cfg.eval_batches, self.device)
            sample = self.sample()
        self.model.eval()
        return Progress(
            self.step,
            self.cfg.steps,
            train_loss=train_loss,
            val_loss=val_loss,
            metrics=metrics,
            tokens_per_s=self.tokens / max(self.elapsed, 1e-9),
            elapsed=self.elapsed,
            lr=self._lr,
            step_seconds=self.elapsed / max(self.step, 1),
            sample=sample,
            done=True,
            stopped=self.step < self.cfg.steps,
            model=self.model,
            tokenizer=self.tokenizer,
        )

    def to(self, device: str | torch.device) -> Trainer:
        """Move model and optimizer state (e.g. to the CPU when no GPU is granted)."""
        device = torch.device(device)
        self.model.to(device)
        for optimizer in self.optimizers:
            for state in optimizer.state.values():
                for key, value in state.items():
                    if torch.is_tensor(value) and key != "step":
                        state[key] = value.to(device)
            for group in optimizer.param_groups:
                if "fused" in group:  # AdamW's; Muon has none
                    group["fused"] = device.type == "cuda"
        self._loss_sum = self._loss_sum.to(device)
        self._rng = _rng_state(device) if device.type != self.device.type else self._rng
        self.device = device
        return self

    # ------------------------------------------------------------ memory between steps

    def held_bytes(self) -> int:
        """Bytes the run holds between steps: its model, gradients and the optimizers' state."""
        return module_bytes(self.model) + self._state_bytes()

    def _state_bytes(self) -> int:
        state = [t for opt in self.optimizers for moments in opt.state.values() for t in moments.values()]
        params = [p for opt in self.optimizers for group in opt.param_groups for p in group["params"]]
        grads = [p.grad for p in params if p.grad is not None]
        return tensor_bytes(t for t in [*state, *grads] if isinstance(t, torch.Tensor))

    def drop_gradients(self) -> None:
        """Let go of the last step's gradients (a paused run: the next step makes new ones; the curve is the
        same)."""
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)

    def let_go(self) -> None:
        """A run that will never step again (saved into a session): its gradients and the optimizers' state
        (Adam's two moments: twice the model) go, while an Outcome holding the run may stay a while."""
        self.drop_gradients()
        for optimizer in self.optimizers:
            optimizer.state.clear()

    def describe_device(self) -> str:
        return describe(self.device)

    # ------------------------------------------------------------ resuming

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Everything a resumed run needs besides the weights and the text: optimizer moments, every random
        stream (dropout, batch sampling, masking) and the counters and curve; (tensors, JSON-able dict)."""
        tensors = {
            f"optimizer{o}.{i}.{k}": v
            for o, optimizer in enumerate(self.optimizers)
            for i, moments in optimizer.state_dict()["state"].items()
            for k, v in moments.items()
        }
        streams = {"global": torch.get_rng_state(), "dropout": self._rng[0], "batches": self.train_src.gen.get_state()}
        if self._rng[1] is not None:
            streams["dropout_cuda"] = self._rng[1]
        if self.train_src.collator is not None and self.train_src.collator.generator is not None:
            streams["masks"] = self.train_src.collator.generator.get_state()
        tensors |= {f"rng.{k}": v for k, v in streams.items()}
        state = {
            "format": STATE_FORMAT,
            "config": asdict(self.cfg),
            "text_sha256": self.text_sha256,
            "step": self.step,
            "tokens": self.tokens,
            "elapsed": self.elapsed,
            "eval_seconds": self.eval_seconds,
            "loss_sum": float(self._loss_sum),
            "loss_n": self._loss_n,
            "param_groups": [optimizer.state_dict()["param_groups"] for optimizer in self.optimizers],
            "history": [{k: v for k, v in asdict(e).items() if k not in ("model", "tokenizer")} for e in self.history],
        }
        return tensors, state

    @classmethod
    def resume(
        cls, folder: str | Path, text: str | TokenCorpus, model: torch.nn.Module | None = None, **changes
    ) -> Trainer:
        """The run saved in `folder` (a checkpoint written with its state), ready to go on where it stopped.
        `changes` may only touch RESUME_SETTINGS (e.g. more steps, another device); the text must be the same.
        `model`: the run's model with the folder's weights already in it (else a TinyTransformer read from it)."""
        tensors, state = load_training_state(folder)
        if state.get("format") != STATE_FORMAT:
            raise UserError(f"{folder} was saved by another version of this app; it cannot be resumed here.")
        fixed = {k for k, v in changes.items() if k not in RESUME_SETTINGS and state["config"].get(k) != v}
        if fixed:
            raise UserError(
                f"A resumed run keeps its settings; only {', '.join(sorted(RESUME_SETTINGS))} may change "
                f"(not {', '.join(sorted(fixed))})."
            )
        if corpus_id(text) != state["text_sha256"]:
            raise UserError("This run was trained on another text: resume it with the same corpus.")
        cfg = TrainConfig(**(state["config"] | changes))
        run = cls(cfg, text, PreTrainedTokenizerFast.from_pretrained(folder), model)
        if model is None:
            load_model(run.model, str(Path(folder) / WEIGHTS_FILE), device=str(run.device))
        for o, (optimizer, groups) in enumerate(zip(run.optimizers, state["param_groups"], strict=True)):
            moments: dict[int, dict[str, torch.Tensor]] = {}
            for key, value in tensors.items():
                if key.startswith(f"optimizer{o}."):
                    _, index, name = key.split(".", 2)
                    moments.setdefault(int(index), {})[name] = value
            optimizer.load_state_dict({"state": moments, "param_groups": groups})
        run._restore_streams({k.removeprefix("rng."): v for k, v in tensors.items() if k.startswith("rng.")})
        run.step, run.tokens, run._loss_n = state["step"], state["tokens"], state["loss_n"]
        run.elapsed, run.eval_seconds = state["elapsed"], state["eval_seconds"]
        run._loss_sum = torch.tensor(state["loss_sum"], device=run.device)
        run.history = [Progress(**event) for event in state["history"]]
        run._lr = recipes.lr_at(run.step, cfg)
        return run

    def _restore_streams(self, streams: dict[str, torch.Tensor]) -> None:
        torch.set_rng_state(streams["global"])
        cuda = streams.get("dropout_cuda") if self.device.type == "cuda" else None
        self._rng = (streams["dropout"], cuda if cuda is not None else self._rng[1])
        self.train_src.gen.set_state(streams["batches"])
        if "masks" in streams and self.train_src.collator is not None and self.train_src.collator.generator:
            self.train_src.collator.generator.set_state(streams["masks"])


def corpus_id(text: str | TokenCorpus) -> str:
    """What a resumed run checks it is given the same corpus by: the text's hash, or the token file's name (the
    hash of its corpus and tokenizer)."""
    if isinstance(text, TokenCorpus):
        return text.path.stem
    return hashlib.sha256(text.encode()).hexdigest()


def _rng_state(device: torch.device) -> tuple:
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(device: torch.device, state: tuple) -> None:
    torch.set_rng_state(state[0])
    if device.type == "cuda":
        torch.cuda.set_rng_state(state[1], device)


def train(
    cfg: TrainConfig,
    text: str,
    should_stop: Callable[[], bool] = lambda: False,
    tokenizer: PreTrainedTokenizerFast | None = None,
) -> Iterator[Progress]:
    """Pretrain a fresh TinyTransformer on `text`; yields Progress events, the last with the model."""
    run = Trainer(cfg, text, tokenizer)
    yield from run.advance(pause=should_stop)
    yield run.finish()


# ---------------------------------------------------------------- size, cost and limits


def count_parameters(cfg: TrainConfig, vocab_size: int) -> int:
    """Parameters of the model these settings build (on the meta device: no memory, no time). The layers
    are alike, so one and two are built and the rest counted: 10⁹ typed layers cost no time either."""
    try:
        with torch.device("meta"):
            one, two = (
                TinyTransformer(model_config(replace(cfg, n_layer=n), vocab_size)).num_parameters() for n in (1, 2)
            )
    except RuntimeError as err:  # a weight past 2⁶³ elements (a width of 10⁹): far beyond any limit
        raise UserError(
            f"A width of {cfg.n_embd:,} makes a model far too large to build; use a smaller width."
        ) from err
    return one + (cfg.n_layer - 1) * (two - one)


def flops_per_token(cfg: TrainConfig, parameters: int) -> float:
    """nanoGPT's estimate for one training token (forward + backward): 6N + 12·L·H·Q·T, where N
    leaves out the position table and L, H, Q, T are layers, heads, head width and context."""
    if cfg.positions == "learned":
        parameters -= cfg.context_length * cfg.n_embd
    head_width = cfg.n_embd // cfg.n_head
    return 6 * parameters + 12 * cfg.n_layer * cfg.n_head * head_width * cfg.context_length


@dataclass
class Estimate:
    parameters: int
    flops_per_step: float
    seconds_per_step: float  # on this machine's device: a measured reference step, calibrated by the latest runs
    device: str
    # the range the latest runs' pace and the machine's load give (equal to seconds_per_step on a quiet machine)
    low: float = 0.0
    high: float = 0.0
    calibrated_on: int = 0  # how many finished or paused runs here the estimate is calibrated on

    @property
    def busy(self) -> bool:
        """Whether the range is too wide to give one number (a shared machine under load)."""
        return self.high > 1.25 * self.low


# how each of the latest runs' real pace (seconds per step, evaluations and samples included) compared with
# the uncalibrated estimate: the reference step is timed once, on what may then have been a quieter machine
_PACE: collections.deque[float] = collections.deque(maxlen=5)
MIN_PACE_STEPS = 20  # fewer steps than this say little about a run's pace


def observe_pace(cfg: TrainConfig, vocab_size: int, steps: int, seconds: float) -> None:
    """A run trained `steps` steps in `seconds`: the next estimates are calibrated on it."""
    if steps >= MIN_PACE_STEPS and seconds > 0:
        _PACE.append(seconds / steps / _uncalibrated(cfg, vocab_size))


# the shape timed once per process to calibrate the estimate: nanoGPT's CPU shape
REFERENCE = TrainConfig(
    n_layer=4, n_head=4, n_embd=128, context_length=64, batch_size=12, log_every=1, eval_every=10**6
)
ASSUMED_GPU_MFU = 0.35  # what a large enough model reaches with bf16 and fused kernels


def estimate(cfg: TrainConfig, vocab_size: int) -> Estimate:
    """Parameter count and an estimate of one training step's time on the device training would use: the
    reference step scaled by FLOPs, times the median of how the latest runs here compared with it; the range
    spans those runs and, on a CPU, the machine's load now (the load average over its cores)."""
    device = pick_device(cfg.device)
    parameters = count_parameters(cfg, vocab_size)
    flops = flops_per_token(cfg, parameters) * cfg.batch_size * cfg.grad_accum * cfg.context_length
    raw = _uncalibrated(cfg, vocab_size)
    factors = sorted(_PACE) or [1.0]
    load = _cpu_load() if device.type == "cpu" else 1.0
    low, high = raw * factors[0], raw * max(factors[-1], load)  # (a load of 2 per core: half the pace)
    seconds = min(max(raw * statistics.median(factors), low), high)
    return Estimate(parameters, flops, seconds, describe(device), low, high, len(_PACE))


def _uncalibrated(cfg: TrainConfig, vocab_size: int) -> float:
    """Seconds per step from the reference step alone."""
    device = pick_device(cfg.device)
    flops = (
        flops_per_token(cfg, count_parameters(cfg, vocab_size)) * cfg.batch_size * cfg.grad_accum * cfg.context_length
    )
    ref_seconds, ref_flops = _reference_step(str(device))
    if device.type == "cuda":  # small models are bound by kernel launches (per layer), big ones by FLOPs
        peak = bf16_peak_flops(describe(device)) or 100e12
        return max(ref_seconds * cfg.n_layer / REFERENCE.n_layer * cfg.grad_accum, flops / (peak * ASSUMED_GPU_MFU))
    return ref_seconds * flops / ref_flops


def _cpu_load() -> float:
    """How many runnable tasks share each core now (the 1-minute load average per core; 1.0 where unknown).
    Training takes every core, so a load of 2 per core halves its pace."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return 1.0


@functools.cache
def _reference_step(device: str) -> tuple[float, float]:
    """(seconds, FLOPs) of one training step of REFERENCE on `device`, measured once."""
    cfg = replace(REFERENCE, device=device)
    vocab = 70  # tinyshakespeare's characters and our specials
    with torch.random.fork_rng(devices=[]):
        model = TinyTransformer(model_config(cfg, vocab)).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.randint(vocab, (cfg.batch_size, cfg.context_length), device=device)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            loss = model(x, targets=x).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()  # wait for the step to finish
            times.append(time.perf_counter() - t0)
    flops = flops_per_token(cfg, model.num_parameters()) * cfg.batch_size * cfg.context_length
    return min(times[2:]), flops


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


@dataclass(frozen=True)
class Limits:
    """Hard caps for runs started from the app (environment variables; defaults in the README)."""

    steps: int = 5000  # PLAYGROUND_MAX_STEPS
    parameters: int = 30_000_000  # PLAYGROUND_MAX_PARAMS
    run_seconds: float = 1800.0  # PLAYGROUND_MAX_RUN_SECONDS: training time of one run
    upload_bytes: int = 5_000_000  # PLAYGROUND_MAX_UPLOAD_BYTES: an uploaded .txt corpus
    context: int = 1024
    batch: int = 512

    @classmethod
    def from_env(cls) -> Limits:
        d = cls()
        return cls(
            steps=int(_env_number("PLAYGROUND_MAX_STEPS", d.steps)),
            parameters=int(_env_number("PLAYGROUND_MAX_PARAMS", d.parameters)),
            run_seconds=_env_number("PLAYGROUND_MAX_RUN_SECONDS", d.run_seconds),
            upload_bytes=int(_env_number("PLAYGROUND_MAX_UPLOAD_BYTES", d.upload_bytes)),
        )

    @property
    def checkpoint_bytes(self) -> int:
        """Largest checkpoint (unpacked) we accept: float32 weights of the largest model, plus the tokenizer."""
        return 4 * self.parameters + 20_000_000

    def check(self, cfg: TrainConfig, parameters: int) -> None:
        if cfg.steps > self.steps:
            raise UserError(f"Steps: at most {self.steps:,} here, not {cfg.steps:,}.")
        if cfg.context_length > self.context:
            raise UserError(f"Context length: at most {self.context:,} tokens here, not {cfg.context_length:,}.")
        if cfg.batch_size > self.batch:
            raise UserError(f"Batch size: at most {self.batch:,} here, not {cfg.batch_size:,}.")
        if parameters > self.parameters:
            raise UserError(
                f"This model would have {parameters:,} parameters; the limit here is {self.parameters:,} "
                "(use fewer layers, a smaller width or a smaller vocabulary)."
            )
