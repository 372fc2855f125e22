"""What the scrubber's snapshots cost a run: the Train tab's run with its timeline against the same run without.

    .venv/bin/python bench/timeline_cost.py [--preset small] [--steps 600] [--repeats 3]

The run is the tab's own config (`TrainForm.config()`, a loss point per step on CPU), trained by `Trainer.advance`
as the tab does; "with" attaches a Timeline exactly as `TrainingRun.start` does (step 0 and the planned steps,
float16, in a temp folder). The two are interleaved, `--repeats` times each, in one process: the machine is
shared, so only the ratio of their wall times counts; on a busy machine that ratio swings by more than the
cost, so the time spent inside the snapshot writes is timed too, as its share of the run. Goal: at most 5%.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.tiny import data  # noqa: E402
from playground.tiny.timeline import Timeline  # noqa: E402
from playground.tiny.train import Trainer  # noqa: E402
from playground.ui import train as tab  # noqa: E402

SPENT = [0.0]  # seconds inside Timeline._snapshot, the only work a timeline adds to a run


def _timed_snapshot(original):
    def snapshot(self, step, model):
        t0 = time.perf_counter()
        original(self, step, model)
        SPENT[0] += time.perf_counter() - t0

    return snapshot


Timeline._snapshot = _timed_snapshot(Timeline._snapshot)  # type: ignore[method-assign]


def timed(cfg, text: str, with_timeline: bool) -> tuple[float, int, float]:
    run = Trainer(cfg, text)
    snapshots = 0
    SPENT[0] = 0.0
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        if with_timeline:
            run.timeline = Timeline.for_run(Path(folder), run.model, cfg.objective, cfg.steps, cfg.log_every)
            run.timeline.note(0, run.model)
        for _event in run.advance():
            pass
        wall = time.perf_counter() - t0
        snapshots = len(run.timeline.steps) if run.timeline else 0
    return wall, snapshots, SPENT[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small", help="a Train tab preset (its first word)")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    name = next(p for p in tab.PRESETS if p.startswith(args.preset))
    form = replace(tab.PRESETS[name], steps=args.steps)  # the preset's shape, the form's other defaults
    cfg = form.config()
    text = data.load_corpus("tinyshakespeare")
    rows = []
    for _ in range(args.repeats):  # interleaved: each pair sees the same machine load
        bare, _n, _ = timed(cfg, text, False)
        kept, snapshots, spent = timed(cfg, text, True)
        rows.append((bare, kept, snapshots, spent))
    print(f"Timeline cost, preset {name!r}, {cfg.steps} steps, log every {cfg.log_every}:\n")
    print("| without (s) | with timeline (s) | ratio | snapshots | time in snapshots | its share of the run |")
    print("|---|---|---|---|---|---|")
    for bare, kept, n, spent in rows:
        print(f"| {bare:.2f} | {kept:.2f} | {kept / bare:.3f} | {n} | {spent * 1000:.0f} ms | {spent / kept:.2%} |")
    ratio = statistics.median(k / b for b, k, _, _ in rows)
    share = statistics.median(s / k for _, k, _, s in rows)
    print(f"\nmedian ratio {ratio:.3f}; median share of the run spent snapshotting {share:.2%} (goal <= 5%)")


if __name__ == "__main__":
    main()
