"""The fine-tuning tab's run with its evaluations on a subset, against every evaluation on the whole validation set.

    .venv/bin/python bench/finetune_pace.py [--task who-wrote-it] [--labels 256] [--repeats 2] [--threads 2]

Both sides call the tab's own handler (`ui/finetune.run_finetune`, the default body and form: 5 evaluations) with
the same model, task, labels, steps and seed, timed from call to its last view. "subset": as shipped, the 4
evaluations before the last read a fixed, label-balanced 100 of the 400 validation examples and the last reads all
400. "whole": `Task.val_subset` made to return the whole set (the code before the subset). They alternate,
`--repeats` times each, in one process: the machine is shared and noisy, so only the ratio of their medians counts.
Both must end at the same final accuracy: the last evaluation reads the whole set either way.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground import session  # noqa: E402
from playground.finetune import models, tasks  # noqa: E402
from playground.finetune.config import steps_for  # noqa: E402
from playground.ui import finetune as ui  # noqa: E402


def run_once(task_label: str, labels: int, whole: bool) -> tuple[float, str]:
    """Seconds of one run through the tab's handler, and its last status line."""
    original = tasks.Task.val_subset
    if whole:
        tasks.Task.val_subset = lambda self, n: self.val  # type: ignore[method-assign]  # the code before the subset
    try:
        t0 = time.perf_counter()
        steps = steps_for(labels)  # as the form sets it: 3 epochs, at least 40 steps
        views = list(ui.run_finetune(models.default_body(), task_label, labels, steps, list(ui.MODES)[0], 2e-4, 0))
        seconds = time.perf_counter() - t0
    finally:
        tasks.Task.val_subset = original  # type: ignore[method-assign]
        session.release(None)
    return seconds, views[-1][1].splitlines()[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="who-wrote-it", choices=list(ui.TASK_CHOICES.values()))
    p.add_argument("--labels", type=int, default=256)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    label = next(k for k, v in ui.TASK_CHOICES.items() if v == args.task)
    run_once(label, 16, whole=False)  # warm: the model, the task and the estimate's measurement load once
    times: dict[str, list[float]] = {"subset": [], "whole": []}
    for _ in range(args.repeats):
        for side in times:
            seconds, status = run_once(label, args.labels, whole=side == "whole")
            times[side].append(seconds)
            print(f"{side:>6}: {seconds:6.1f} s  {status}", flush=True)
    sub, whole = (statistics.median(times[s]) for s in ("subset", "whole"))
    print(f"\nmedian: subset {sub:.1f} s, whole {whole:.1f} s; subset / whole = {sub / whole:.2f}")


if __name__ == "__main__":
    main()
