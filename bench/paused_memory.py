"""Memory held by many visitors' paused fine-tunings of the encoder, with the paused runs' budget and without.

    .venv/bin/python bench/paused_memory.py [--visitors 6] [--budget 2e9]

Each side runs in a fresh process: `--visitors` sessions each fine-tune the default body (the packaged encoder,
the whole model learning) through the tab's Step handler, which pauses after one logging interval, and leave the
page. "bounded" keeps the shipped budget (PLAYGROUND_PAUSED_BYTES); "unbounded" sets it past any run. Reported:
the process's resident memory after each pause (RSS, from /proc) and the paused runs' bytes as counted. Both
processes start alike, so the difference of their RSS is what the budget saves.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def child(visitors: int) -> None:
    """One side: the visitors pause one after another; a JSON line per pause."""
    sys.path.insert(0, str(ROOT))
    import gradio as gr

    from playground import session
    from playground.finetune import models
    from playground.tiny import paused
    from playground.ui import finetune as ui

    task = next(label for label, name in ui.TASK_CHOICES.items() if name == "verdict")
    form = (models.default_body(), task, 64, 24, list(ui.MODES)[0], 2e-4, 0)
    for n in range(visitors):
        sid = f"paused-{n}"
        list(ui.step_finetune(*form, request=gr.Request(session_hash=sid, query_params={})))
        aside = 0
        for other in range(n):  # a set-aside run saves in the background: wait for it, so RSS shows it gone
            ft = session.get(f"paused-{other}").finetuning
            while ft.busy:
                time.sleep(0.05)
            aside += ft.run is None
        print(json.dumps({"visitors": n + 1, "rss": rss_bytes(), "paused": paused.PAUSED.size, "aside": aside}))
        sys.stdout.flush()


def side(visitors: int, budget: float) -> list[dict]:
    env = {**os.environ, "PLAYGROUND_PAUSED_BYTES": str(budget)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(visitors)], env=env, capture_output=True, text=True, check=True
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=6)
    parser.add_argument("--budget", type=float, default=2e9)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    bounded, unbounded = side(args.visitors, args.budget), side(args.visitors, 1e15)
    print(
        f"| visitors paused | RSS bounded ({args.budget / 1e9:g} GB) | set aside | RSS unbounded | paused (unbounded) |"
    )
    print("|---|---|---|---|---|")
    for b, u in zip(bounded, unbounded):
        print(
            f"| {b['visitors']} | {b['rss'] / 1e9:.2f} GB (paused {b['paused'] / 1e9:.2f}) | {b['aside']} | "
            f"{u['rss'] / 1e9:.2f} GB | {u['paused'] / 1e9:.2f} GB |"
        )


if __name__ == "__main__":
    main()
