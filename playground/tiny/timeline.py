"""A run's timeline: light snapshots of the model taken while it trains, and what chosen probes predicted at each.

The scrubber of the Train tab reads it: for "Before we proceed any further, hear me" it shows how "speak" climbs
from a blind guess to the top. Snapshots are float16 copies of the weights on disk, in the session's workspace,
at planned steps: step 0, a geometric series (most is learnt early) and an even grid up to the last step, all on
logging points. Their number and bytes are capped (MAX_SNAPSHOTS, MAX_BYTES); a model too large for two snapshots
within the bytes gets none. A finished run's last step is the checkpoint itself (float32), so the scrubber at the
end shows exactly what the saved model predicts.

Probes are evaluated on the stored snapshots, not live, so one added after training reads the whole run. The
folder (index + snapshots + readings) travels inside the checkpoint as `timeline/` and in its zip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, load_model, save_file
from transformers import PreTrainedTokenizerFast

from ..errors import UserError
from .files import WEIGHTS_FILE, read_config
from .model import TinyConfig, TinyTransformer

FOLDER = "timeline"  # inside a checkpoint folder, and in its zip
INDEX = "timeline.json"
SNAPSHOT = re.compile(r"step-(\d{7})\.safetensors")  # the only other file a timeline holds
MAX_SNAPSHOTS = int(os.environ.get("PLAYGROUND_TIMELINE_SNAPSHOTS", 33))
MAX_BYTES = int(float(os.environ.get("PLAYGROUND_TIMELINE_BYTES", 100e6)))  # per run, on disk
MAX_PROBES = 8
TOP_K = 5
FORMAT = 2  # 2: a next-word probe's guesses are read where its rank is (1 read them before the word's space)
PROBE_KINDS = {"next": "next word", "mask": "fill the mask", "pair": "does B follow A?"}
FOX = "The quick brown fox jumps over the lazy"  # a line no bundled corpus holds: learnt only as English
# what a probe's rank and top guesses mean, beside its probability (the whole word's): said wherever they are shown
RANK_RULE = (
    "*Its rank* and *the top guesses* are for one token: the followed word's first (a word of several tokens is "
    'followed by its first). Where that is a bare space (a character model spells " speak" as " ", "s", "p"…), both '
    "are for the letter after the space."
)


@dataclass(frozen=True)
class Probe:
    """An input the scrubber follows through training."""

    kind: str  # "next" (causal models), "mask" (masked ones) or "pair" (NSP)
    text: str  # the prompt; for "mask" a sentence with [MASK]; for "pair" sentence A
    word: str = ""  # next / mask: the word whose probability and rank are followed
    text_b: str = ""  # pair: sentence B

    def __post_init__(self):
        if self.kind not in PROBE_KINDS:
            raise UserError(f"A probe is one of {', '.join(PROBE_KINDS)}, not {self.kind!r}.")
        if not self.text.strip():
            raise UserError("Type the probe's text first.")
        if self.kind == "mask" and "[MASK]" not in self.text:
            raise UserError("Put [MASK] where the model should fill in a word, e.g. 'hear me [MASK].'")
        if self.kind == "pair" and not self.text_b.strip():
            raise UserError("A pair probe needs sentence B: does it follow sentence A?")
        if self.kind != "pair" and not self.word.strip():
            raise UserError("Type the word to follow: its probability and rank are shown at every step.")

    @property
    def label(self) -> str:
        if self.kind == "pair":
            return f"{_short(self.text)} ⟶ {_short(self.text_b)}"
        return f"{_short(self.text, 40)} → {self.word}"


def _short(text: str, n: int = 24) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else "…" + text[-n:]


@dataclass
class Reading:
    """What one probe gave at one step."""

    step: int
    top: list[tuple[str, float]]  # the top guesses (token, probability); pair: IsNext / NotNext
    prob: float  # next / mask: the followed word's probability; pair: P(IsNext)
    rank: int | None = None  # the followed word's first letter's rank among the whole vocabulary (as `top`); 1 = top


# (model at a snapshot, its tokenizer, the probe, the step) -> what the probe reads there
Evaluate = Callable[[TinyTransformer, PreTrainedTokenizerFast, "Probe", int], "Reading"]


def planned_steps(steps: int, log_every: int, count: int) -> list[int]:
    """Up to `count` steps on logging points (or the last step) in [0, steps]: step 0, a geometric series and an
    even grid, so the fast early learning and the long tail both get frames."""
    if count < 2:
        return []
    logged = lambda s: min(steps, max(log_every, round(s / log_every) * log_every))  # noqa: E731
    grid = {logged(steps * i / (count // 2)) for i in range(1, count // 2 + 1)}
    ratio = steps ** (1 / max(1, count - 1 - len(grid)))
    geometric = {logged(ratio**i) for i in range(1, count)}
    chosen = {0, steps} | grid
    for s in sorted(geometric):
        if len(chosen) >= count:
            break
        chosen.add(s)
    return sorted(chosen)[:count]


def snapshot_bytes(model: TinyTransformer) -> int:
    return 2 * sum(t.numel() for t in model.state_dict().values())  # float16


class Timeline:
    """Snapshots, the curve and probe readings of one run, in one folder."""

    def __init__(self, folder: Path, config: TinyConfig, objective: str, plan: list[int] | None = None):
        self.folder = Path(folder)
        self.config = config
        self.objective = objective
        self.plan = plan or []  # the steps to snapshot while training
        self.steps: list[int] = []  # snapshots taken
        self.final: int | None = None  # the step whose weights are the checkpoint's own (a finished run)
        self.paused_at: int | None = None  # an off-plan snapshot taken at a pause (at most one kept)
        self.curve: list[dict] = []  # step, train_loss, val_loss, sample of every logging event
        self.probes: list[Probe] = []
        self.readings: dict[tuple[Probe, int], Reading] = {}  # bounded: MAX_PROBES x snapshots
        self._model: TinyTransformer | None = None  # one module the snapshots are loaded into in turn
        self._reading = threading.Lock()  # two requests of one session (a double click) share that module

    def __getstate__(self) -> dict:
        """On ZeroGPU a run (and its timeline) is handed to another process and back: no lock or module travels."""
        return self.__dict__ | {"_reading": None, "_model": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reading = threading.Lock()

    @classmethod
    def for_run(
        cls,
        folder: Path,
        model: TinyTransformer,
        objective: str,
        steps: int,
        log_every: int,
        max_snapshots: int = MAX_SNAPSHOTS,
        max_bytes: int = MAX_BYTES,
    ) -> Timeline:
        count = min(max_snapshots, max_bytes // max(1, snapshot_bytes(model)))
        timeline = cls(folder, model.config, objective, planned_steps(steps, log_every, count))
        timeline.folder.mkdir(parents=True, exist_ok=True)
        return timeline

    @property
    def enabled(self) -> bool:
        return bool(self.plan) or bool(self.steps)

    # ------------------------------------------------------------ while training

    def note(self, step: int, model: TinyTransformer, event=None) -> None:
        """A logging point of the run (step 0 before training): keep its curve point, and a snapshot if planned."""
        if event is not None:
            self.curve.append(_curve_point(event))
        if step in self.plan and step not in self.steps:
            self._snapshot(step, model)

    def pause(self, step: int, model: TinyTransformer) -> None:
        """A paused run gets a frame at the step it stopped at, so the scrubber reaches the live model."""
        if not self.enabled or step in self.steps:
            return
        if self.paused_at is not None:  # only the latest pause is kept: pausing often cannot fill the disk
            self._drop(self.paused_at)
        self._snapshot(step, model)
        self.paused_at = step

    def finish(self, checkpoint: Path, step: int, final_event=None) -> None:
        """The run was saved as `checkpoint`: the timeline moves inside it, and its last step is the checkpoint."""
        if final_event is not None:  # evaluated on stopping: it ends the curve
            self.curve = [p for p in self.curve if p["step"] != step] + [_curve_point(final_event)]
        if step in self.steps:
            self._drop(step)  # the checkpoint's float32 weights stand for it
        self.final, self.paused_at = step, None
        target = Path(checkpoint) / FOLDER
        shutil.move(str(self.folder), target)
        self.folder = target
        self.save()

    def _snapshot(self, step: int, model: TinyTransformer) -> None:
        weights = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()}
        save_file(weights, str(self.folder / _name(step)))
        self.steps = sorted({*self.steps, step})

    def _drop(self, step: int) -> None:
        (self.folder / _name(step)).unlink(missing_ok=True)
        self.steps.remove(step)
        self.readings = {k: v for k, v in self.readings.items() if k[1] != step}

    # ------------------------------------------------------------ reading

    @property
    def frames(self) -> list[int]:
        """Every step the scrubber can show."""
        return sorted({*self.steps, *([self.final] if self.final is not None else [])})

    def sample_at(self, step: int) -> tuple[int, str] | None:
        """The latest text sample at or before `step`, with its step."""
        samples = [(p["step"], p["sample"]) for p in self.curve if p.get("sample") and p["step"] <= step]
        return samples[-1] if samples else None

    def add_probe(self, probe: Probe) -> None:
        with self._reading:
            self._add(probe)

    def _add(self, probe: Probe) -> None:
        if probe in self.probes:
            return
        if self.objective == "clm" and probe.kind != "next":
            raise UserError("This model predicts the next word: its probes are 'next word' ones.")
        if self.objective != "clm" and probe.kind == "next":
            raise UserError("This model fills in masks: use a sentence with [MASK] (or a pair, if it learnt NSP).")
        if probe.kind == "pair" and self.objective != "mlm-nsp":
            raise UserError("This model never learnt next-sentence prediction; only a masked LM + NSP run has it.")
        if len(self.probes) >= MAX_PROBES:
            raise UserError(f"A run follows at most {MAX_PROBES} probes; remove one first.")
        self.probes.append(probe)

    def remove_probe(self, probe: Probe) -> None:
        with self._reading:
            self.probes = [p for p in self.probes if p != probe]
            self.readings = {k: v for k, v in self.readings.items() if k[0] != probe}

    def read(self, tokenizer: PreTrainedTokenizerFast, evaluate: Evaluate) -> dict[Probe, list[Reading]]:
        """Every probe at every frame (computed once per snapshot and probe, then kept). `evaluate` reads one
        probe off one snapshot: playground.probes.evaluate, the tabs' own code (which sits a layer above)."""
        with self._reading:
            return self._read(tokenizer, evaluate)

    def _read(self, tokenizer: PreTrainedTokenizerFast, evaluate: Evaluate) -> dict[Probe, list[Reading]]:
        for step in self.frames:
            todo = [p for p in self.probes if (p, step) not in self.readings]
            if not todo:
                continue
            model = self.model_at(step)
            for probe in todo:
                self.readings[probe, step] = evaluate(model, tokenizer, probe, step)
        return {p: [self.readings[p, s] for s in self.frames] for p in self.probes}

    def model_at(self, step: int) -> TinyTransformer:
        """The model as it was at `step` (one module, reloaded per call: do not keep it)."""
        if step not in self.frames:
            raise UserError(f"No snapshot at step {step}; the timeline has {', '.join(map(str, self.frames))}.")
        if self._model is None:
            self._model = TinyTransformer(self.config).eval()
        try:
            if step == self.final:  # the checkpoint's own float32 weights (its tied tensors stored once)
                load_model(self._model, str(self.folder.parent / WEIGHTS_FILE))
            else:
                weights = load_file(str(self.folder / _name(step)))
                self._model.load_state_dict({k: v.float() for k, v in weights.items()})
        except (OSError, RuntimeError, ValueError) as err:
            raise UserError(f"The snapshot of step {step} does not fit this model ({type(err).__name__}).") from err
        return self._model

    # ------------------------------------------------------------ on disk

    def save(self) -> None:
        index = {
            "format": FORMAT,
            "objective": self.objective,
            "steps": self.steps,
            "final": self.final,
            "curve": self.curve,
            "probes": [asdict(p) for p in self.probes],
            "readings": [
                {"probe": i, **asdict(r)} for (p, s), r in self.readings.items() for i in [self.probes.index(p)]
            ],
        }
        (self.folder / INDEX).write_text(json.dumps(index))

    @classmethod
    def load(cls, checkpoint: Path) -> Timeline | None:
        """The timeline inside a checkpoint folder, or None when it has none; UserError when it is damaged."""
        folder = Path(checkpoint) / FOLDER
        if not (folder / INDEX).is_file():
            return None
        config, _ = read_config(checkpoint)
        try:
            index = json.loads((folder / INDEX).read_text())
            if index.get("format") not in (1, FORMAT):
                raise ValueError("another version of this app wrote it")
            timeline = cls(folder, config, str(index["objective"]))
            timeline.steps = [int(s) for s in index["steps"]]
            timeline.final = None if index["final"] is None else int(index["final"])
            timeline.curve = [dict(p) for p in index["curve"]][:100_000]
            timeline.probes = [Probe(**p) for p in index["probes"]][:MAX_PROBES]
            for r in index["readings"] if index["format"] == FORMAT else []:  # format 1's are read again
                probe = timeline.probes[int(r.pop("probe"))]
                r["top"] = [(str(t), float(p)) for t, p in r["top"]]
                timeline.readings[probe, int(r["step"])] = Reading(**r)
        except (ValueError, KeyError, TypeError, IndexError) as err:
            raise UserError(f"The run's timeline/{INDEX} is damaged ({err}); the model itself is fine.") from err
        missing = [s for s in timeline.steps if not (folder / _name(s)).is_file()]
        if missing or len(timeline.steps) > MAX_SNAPSHOTS + 1:
            raise UserError(f"The run's timeline lacks snapshots ({missing[:3]}); the model itself is fine.")
        return timeline


def _name(step: int) -> str:
    return f"step-{step:07d}.safetensors"


def _curve_point(event) -> dict:
    return {"step": event.step, "train_loss": event.train_loss, "val_loss": event.val_loss, "sample": event.sample}


# ---------------------------------------------------------------- probes


def default_probes(objective: str, train_text: str) -> list[Probe]:
    """A line the corpus makes predictable (an early line of the training text, its last word followed) and one
    it does not (a sentence from outside it); NSP adds a true continuation and a pair that is not one."""
    lines = [ln.strip() for ln in train_text.splitlines()[1:400]]
    usable = [i for i, ln in enumerate(lines) if 6 <= len(ln.split()) <= 30 and re.search(r"\w+\W*$", ln)]
    i = usable[0] if usable else None
    seen, word = (" ".join(lines[i].split()[:-1]), _bare(lines[i].split()[-1])) if i is not None else (FOX, "dog")
    if not word:
        seen, word = FOX, "dog"
    if objective == "clm":
        return [Probe("next", seen, word), Probe("next", FOX, "dog")]
    probes = [Probe("mask", f"{seen} [MASK].", word), Probe("mask", f"{FOX} [MASK].", "dog")]
    if objective == "mlm-nsp":
        after = next((ln for ln in lines[(i or 0) + 1 :] if len(ln.split()) >= 3), "")
        if i is not None and after:
            probes.append(Probe("pair", lines[i], text_b=after))
        probes.append(Probe("pair", lines[i] if i is not None else FOX, text_b="The committee will vote on Tuesday."))
    return probes


def _bare(word: str) -> str:
    return re.sub(r"^\W+|\W+$", "", word)


@dataclass
class Chart:
    """A probe's course for the chart: probability (log scale) and rank at each frame."""

    label: str
    steps: list[int] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    ranks: list[int | None] = field(default_factory=list)


def rank_ticks(ranks: list[int | None]) -> list[int]:
    """1, 2, 5, 10, 20, 50, … up to the first at or above the largest rank: a log axis labels its minor ticks
    with their first digit alone ("2, 5, 10, 2, 5")."""
    top = max((r for r in ranks if r), default=1)
    ticks = [m * 10**e for e in range(len(str(top)) + 1) for m in (1, 2, 5)]
    return ticks[: next(i for i, t in enumerate(ticks) if t >= top) + 1]


def courses(readings: dict[Probe, list[Reading]]) -> list[Chart]:
    return [
        Chart(
            p.label if p.kind != "pair" else f"P(IsNext): {p.label}",
            [r.step for r in rs],
            [max(r.prob, 1e-12) for r in rs],
            [r.rank for r in rs],
        )
        for p, rs in readings.items()
    ]
