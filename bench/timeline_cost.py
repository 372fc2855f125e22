"""What the scrubber's snapshots cost a run: the Train tab's run with its timeline against the same run without.

    .venv/bin/python bench/timeline_cost.py [--preset small] [--steps 600] [--repeats 3]

The run is the tab's own config (`TrainForm.config()`, a loss point per step on CPU), trained by `Run.advance`
as the tab does; "with" attaches a Timeline exactly as `TrainingRun.start` does (step 0 and the planned steps,
float16, in a temp folder). The two are interleaved, `--repeats` times each, in one process: the machine is
shared, so only the ratio of their wall times counts. Goal: at most 5% slower.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.tiny import data  # noqa: E402
from playground.tiny.timeline import Timeline  # noqa: E402
from playground.tiny.train import Run  # noqa: E402
from playground.ui import train as tab  # noqa: E402


def timed(cfg, text: str, with_timeline: bool) -> tuple[float, int]:
    run = Run(cfg, text)
    snapshots = 0
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        if with_timeline:
            run.timeline = Timeline.for_run(Path(folder), run.model, cfg.objective, cfg.steps, cfg.log_every)
            run.timeline.note(0, run.model)
        for _event in run.advance():
            pass
        wall = time.perf_counter() - t0
        snapshots = len(run.timeline.steps) if run.timeline else 0
    return wall, snapshots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small", help="a Train tab preset (its first word)")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    name = next(p for p in tab.PRESETS if p.startswith(args.preset))
    layers, heads, width, context, batch, lr, dropout, _ = tab.PRESETS[name]
    form = tab.TrainForm(list(tab.OBJECTIVES)[0], "", "", args.steps, 1337, list(tab.TOKENIZERS)[0], None, None)
    form.n_layer, form.n_head, form.n_embd, form.context, form.batch = layers, heads, width, context, batch
    form.lr, form.dropout = lr, dropout
    cfg = form.config()
    text = data.load_corpus("tinyshakespeare")
    rows = []
    for _ in range(args.repeats):  # interleaved: each pair sees the same machine load
        bare, _n = timed(cfg, text, False)
        kept, snapshots = timed(cfg, text, True)
        rows.append((bare, kept, snapshots))
    print(f"Timeline cost, preset {name!r}, {cfg.steps} steps, log every {cfg.log_every}:\n")
    print("| without (s) | with timeline (s) | ratio | snapshots |\n|---|---|---|---|")
    for bare, kept, n in rows:
        print(f"| {bare:.2f} | {kept:.2f} | {kept / bare:.3f} | {n} |")
    ratio = statistics.median(k / b for b, k, _ in rows)
    print(f"\nmedian ratio {ratio:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
