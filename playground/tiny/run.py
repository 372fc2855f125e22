"""A session's training run as a state machine: start, train in time-boxed chunks, pause, step, stop (save), reset.

Buttons never wait for the loop: pause, stop and reset only raise a flag that the loop reads between steps;
one lock lets a session train one run at a time. Each chunk lasts at most CHUNK_SECONDS (one ZeroGPU call),
and the run's state (weights, optimizer, data position, loss window, dropout's random stream) carries over,
so the curve is the same whatever the chunking and however often it is paused.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerFast

from .. import devices
from ..errors import UserError
from ..limits import JobLock
from . import checkpoint, paused
from .config import TrainConfig
from .timeline import Probe, Timeline, default_probes
from .train import Limits, Progress, Trainer, observe_pace

log = logging.getLogger("playground")

CHUNK_SECONDS = 40.0  # one ZeroGPU call, under its 60 s default
LABELS = {"clm": "my-gpt", "mlm": "my-bert-mlm", "mlm-nsp": "my-bert"}  # checkpoint names by objective


@dataclass
class Outcome:
    """How a call on the run ended."""

    # "paused" | "saved" | "reset" | "empty" (stopped before a step) | "stopping" | "resetting" | "idle"
    state: str
    run: Trainer | None = None
    final: Progress | None = None  # the evaluated last event of a saved run
    name: str = ""  # the saved checkpoint's name in the session
    folder: Path | None = None
    notice: str = ""


def _advance(run: Trainer, seconds: float, halt: Callable[[], bool]):
    yield from run.advance(seconds=seconds, pause=halt)
    yield run  # on ZeroGPU this ran in another process: hand the advanced run back


_advance_on_gpu = devices.gpu(duration=int(CHUNK_SECONDS) + 20)(_advance)
_finish_on_gpu = devices.gpu(duration=60)(Trainer.finish)


def _set_aside_notice(run: Trainer) -> str:
    return (
        f"While paused, this run was stopped at step {run.step} to free the server's memory for other visitors "
        f"(all paused runs share {paused.PAUSED.budget / 1e9:g} GB here): what it learned is saved."
    )


class TrainingRun:
    """The run one session trains or has paused, and what its buttons asked for."""

    DOING = "training a model"  # what a second job of the session is told this one is doing

    def __init__(
        self,
        new_folder: Callable[[str], Path],
        add_checkpoint: Callable[[Path, str], str],
        job: JobLock | None = None,
    ):
        self._new_folder, self._add_checkpoint = new_folder, add_checkpoint  # the session's workspace
        self.run: Trainer | None = None
        self.corpus = ""  # what the run trains on, for the checkpoint's card
        self.limits = Limits()
        # the session's one training-like job (shared with its race and fine-tuning, so one session never takes
        # two of the global MAX_RUNS places); `_busy`, this run's own, is also held while Stop saves a paused run
        self._job = job or JobLock()
        self._busy = threading.Lock()  # held while a Train or Step call works on the run, or Stop saves it
        # what the page last showed of this part and the form it was sent (the UI's own objects, a few KB), so a
        # reloaded page shows them again
        self.shown: tuple | None = None
        self.form: Any = None
        self.pause_requested = self.stop_requested = self.reset_requested = False
        self.ended: Outcome | None = None  # a paused run the server stopped (set_aside): its page shows it next

    @property
    def busy(self) -> bool:
        return self._busy.locked()

    def halted(self) -> bool:
        return self.pause_requested or self.stop_requested or self.reset_requested

    def _clear(self) -> None:
        self.pause_requested = self.stop_requested = self.reset_requested = False

    @contextmanager
    def hold(self, doing: str = "", free: str = "pause or stop") -> Iterator[None]:
        """The one Train or Step call of this session (or another job on this run: `doing` names it); a second
        training-like job of the session at the same time is refused."""
        with self._job.hold(doing or self.DOING, free):
            if not self._busy.acquire(blocking=False):
                raise UserError("This session is saving its run; try again in a moment.")
            try:
                self._clear()
                yield
            finally:
                self._busy.release()

    def start(
        self,
        cfg: TrainConfig,
        text: str,
        tokenizer: PreTrainedTokenizerFast | None,
        corpus: str,
        limits: Limits,
        probes: Sequence[Probe] = (),
    ) -> Trainer:
        """(holding) A new run, checked against the limits with its real vocabulary; its timeline follows the
        default probes and the learner's `probes` that fit its objective."""
        run = Trainer(cfg, text, tokenizer)
        limits.check(cfg, run.model.num_parameters())  # the real vocabulary may be larger than guessed
        self._drop_timeline()  # a run replaced unsaved takes its snapshots with it
        timeline = Timeline.for_run(self._new_folder("timeline"), run.model, cfg.objective, cfg.steps, cfg.log_every)
        timeline.probes = default_probes(cfg.objective, text)
        for probe in probes:
            with contextlib.suppress(UserError):  # one for another objective (a next-word probe for a BERT run)
                timeline.add_probe(probe)
        timeline.note(0, run.model)  # the untrained model: where every probe starts
        run.timeline = timeline
        self.run, self.corpus, self.limits = run, corpus, limits
        return run

    def _drop_timeline(self) -> None:
        if self.run is not None and self.run.timeline is not None:
            shutil.rmtree(self.run.timeline.folder, ignore_errors=True)

    def train(self, max_steps: int | None = None) -> Generator[Progress, None, Outcome]:
        """(holding) Advance the run until it is done, paused, stopped, reset or `max_steps` steps further; yields
        its events, then returns how it ended (a finished or stopped run is saved into the session)."""
        try:
            return (yield from self._train(max_steps))
        except Exception:
            self.run = None  # a run that failed mid-step is not resumable
            raise

    def _train(self, max_steps: int | None) -> Generator[Progress, None, Outcome]:
        run = self.run
        if run is None:
            raise ValueError("start a run before training it")
        notice = ""
        while not run.done and not self.halted():
            seconds = min(CHUNK_SECONDS, self.limits.run_seconds - run.elapsed)
            if seconds <= 0:
                notice = f"Stopped at the time limit of {self.limits.run_seconds / 60:g} minutes per run."
                self.stop_requested = True
                break
            if max_steps is not None:  # Step: a plain call, a few steps at most
                yield from run.advance(max_steps=max_steps, pause=self.halted)
                break
            yield from self._chunk(seconds)
            run = self.run or run  # on ZeroGPU the chunk handed back the advanced run
        if type(run.cfg) is TrainConfig:  # (not a fine-tuning run: that has its own estimate)
            observe_pace(run.cfg, len(run.tokenizer), run.step, run.elapsed)  # the next estimate learns from it
        if self.reset_requested:
            return self.reset()
        if run.done or self.stop_requested:
            return self.save(notice)
        self._clear()  # paused, or one Step done
        if run.timeline is not None:
            run.timeline.pause(run.step, run.model)
        run.drop_gradients()
        paused.PAUSED.paused(self, _set_aside_notice)  # which may set aside other sessions' longest paused
        return Outcome("paused", run)

    def _chunk(self, seconds: float) -> Iterator[Progress]:
        """Events of one chunk of training; on ZeroGPU inside one GPU call (which hands the run back)."""
        assert self.run is not None
        on_zero_gpu = devices.ZERO_GPU and self.run.device.type == "cuda"
        for item in (_advance_on_gpu if on_zero_gpu else _advance)(self.run, seconds, self.halted):
            if isinstance(item, Trainer):
                self.run = item
            else:
                yield item

    def pause(self) -> str:
        """Ask a running loop to pause: "pausing", or "paused" / "idle" when nothing is training."""
        if not self.busy:
            return "idle" if self.run is None else "paused"
        self.pause_requested = True
        return "pausing"

    def stop(self) -> Outcome:
        """Running: ask the loop to stop (it saves). Paused: save now."""
        if self.busy:
            self.stop_requested = True
            return Outcome("stopping")
        if self.run is None:
            return self.take_ended() or Outcome("idle")
        if not self._busy.acquire(blocking=False):
            return Outcome("stopping")
        try:
            return self.save()
        finally:
            self._busy.release()

    def set_aside(self, notice: str) -> bool:
        """Stop this paused run from another session's request, to free memory: saved in the background as Stop
        saves it, the outcome (with `notice`) waits in `ended` for its page. False when it is no longer paused
        (resumed, or being saved)."""
        if self.run is None or not self._busy.acquire(blocking=False):
            return False
        threading.Thread(target=self._save_aside, args=(notice,), name="set-aside", daemon=True).start()
        return True

    def _save_aside(self, notice: str) -> None:
        try:
            self.ended = self.save(notice)
        except Exception:  # (its session may have closed meanwhile) the run is dropped either way
            log.exception("saving a run set aside failed")
            self.run = None
        finally:
            self._busy.release()

    def take_ended(self) -> Outcome | None:
        """The outcome of a run the server stopped, once: for the page that shows it."""
        ended, self.ended = self.ended, None
        return ended

    def reset(self) -> Outcome:
        """Drop the run (a running loop drops it between steps)."""
        if self.busy and not self.reset_requested:
            self.reset_requested = True
            return Outcome("resetting")
        self._drop_timeline()
        self.run = None
        self._clear()
        return Outcome("reset")

    def save(self, notice: str = "") -> Outcome:
        """Finish the run and save it into the session as a checkpoint folder."""
        run, self.run = self.run, None
        self._clear()
        if run is None or run.step == 0:
            if run is not None and run.timeline is not None:
                shutil.rmtree(run.timeline.folder, ignore_errors=True)
            return Outcome("empty", run)
        final = _finish_on_gpu(run) if devices.ZERO_GPU and run.device.type == "cuda" else run.finish()
        assert final.model is not None and final.tokenizer is not None  # finish() always hands them over
        model = final.model.cpu()
        folder = self._new_folder("train") / "model"
        meta = {
            "corpus": self.corpus,
            "train_config": asdict(run.cfg),
            "final_val_loss": final.val_loss,
            "parameters": model.num_parameters(),
            "device": run.describe_device(),
            # for the loss-against-compute chart (tiny/compute.py): the corpus, what was read, the curve
            "text_sha256": run.text_sha256,
            "tokens": run.tokens,
            "chars_per_token": run.chars_per_token,
            "val_curve": [
                {"step": s, "val_loss": v}
                for s, v in {e.step: e.val_loss for e in [*run.history, final] if e.val_loss is not None}.items()
            ],
            **final.summary(),
        }
        run.let_go()  # never resumed: an Outcome holding it (a run set aside, waiting for its page) stays light
        checkpoint.save_checkpoint(folder, model, final.tokenizer, meta)
        if run.timeline is not None:
            run.timeline.finish(folder, run.step, final)
        name = self._add_checkpoint(folder, LABELS[run.cfg.objective])
        return Outcome("saved", run, final, name, folder, notice)

    def close(self) -> None:
        """The session ended: a running loop stops without saving, and the model is freed."""
        self.stop_requested = self.reset_requested = True
        self.run = None  # its timeline goes with the session's folder
