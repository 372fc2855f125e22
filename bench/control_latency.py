"""How soon the Train tab's Pause and Stop act while it trains, on a quiet machine and under load (issue #24, item 5).

    .venv/bin/python bench/control_latency.py [--repeats 3] [--burners 2]

The app is served in this process as `app.py` serves it; a client (gradio_client, as the page) starts a long
/train, waits until it streams, then presses Pause (and, after going on, Stop) and times:
- the reply: from the click to the button's own answer ("Pausing…");
- settled: from the click to the run's last update (Paused, or Saved after Stop);
- steps after: how many steps the loop took after the click (goal: at most one logging interval, one step here).
The reference, timed the same way in the same conditions, is the same Pause on an idle session: what any
control costs the server then. Under load, `--burners` other processes each keep one core busy with matrix
products (as other visitors' training would). Goal: the reply within 2 x the reference and settled within
0.5 s of training after the click, whatever the load.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")  # as app.py

from gradio_client import Client  # noqa: E402
from serving import serve_in_process  # noqa: E402 - bench/serving.py

from playground.ui import train as tab  # noqa: E402

STEP = re.compile(r"step (\d+)/")


def _burn(stop) -> None:
    import torch

    torch.set_num_threads(1)
    a = torch.randn(256, 256)
    while not stop.is_set():
        a = (a @ a).tanh()


def _form() -> list:
    form = tab.TrainForm(list(tab.OBJECTIVES)[0], list(tab.CORPORA)[0], "", 2000, 1337)
    return list(vars(form).values())


def _step(outputs) -> int:
    found = STEP.search(str(outputs[1]))
    return int(found.group(1)) if found else -1


def _streaming(job, timeout: float = 120.0) -> int:
    """Wait until the run has streamed a few updates; the step it had reached."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        outputs = job.outputs()
        if len(outputs) >= 3 and "Training" in str(outputs[-1][1]):
            return _step(outputs[-1])
        time.sleep(0.05)
    raise SystemExit("the run never streamed")


def press(client: Client, api: str, form: list) -> dict:
    """Start (or go on with) a run, press `api` once it streams; the timings."""
    job = client.submit(*form, api_name="/train")
    _streaming(job)
    before = _step(job.outputs()[-1])
    t0 = time.perf_counter()
    client.predict(api_name=api)
    reply = time.perf_counter() - t0
    final = job.result(timeout=600)
    settled = time.perf_counter() - t0
    return {"reply": reply, "settled": settled, "steps_after": _step(final) - before, "status": str(final[1])[:40]}


def reference(client: Client) -> float:
    client.predict(api_name="/pause_training")  # (the first call also opens the session)
    t0 = time.perf_counter()
    client.predict(api_name="/pause_training")  # nothing trains in this client's session: the plain round trip
    return time.perf_counter() - t0


def measure(url: str, repeats: int) -> dict:
    rows: dict[str, list] = {"reference": [], "pause": [], "stop": []}
    for _ in range(repeats):
        client = Client(url, verbose=False)  # a session of its own
        rows["reference"].append(reference(client))
        rows["pause"].append(press(client, "/pause_training", _form()))
        rows["stop"].append(press(client, "/stop_training", _form()))
    return rows


def report(label: str, rows: dict) -> None:
    ref = statistics.median(rows["reference"])
    print(f"{label}: reference round trip {ref * 1000:.0f} ms")
    for what in ("pause", "stop"):
        reply = statistics.median(r["reply"] for r in rows[what])
        settled = statistics.median(r["settled"] for r in rows[what])
        after = max(r["steps_after"] for r in rows[what])
        print(
            f"  {what}: reply {reply * 1000:.0f} ms ({reply / ref:.1f} x reference), settled {settled:.2f} s, "
            f"at most {after} steps after the click; {rows[what][-1]['status']!r}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    demo, url = serve_in_process()
    report("quiet", measure(url, args.repeats))
    stop = multiprocessing.Event()
    burners = [multiprocessing.Process(target=_burn, args=(stop,), daemon=True) for _ in range(args.burners)]
    for b in burners:
        b.start()
    try:
        report(f"under load ({args.burners} busy processes)", measure(url, args.repeats))
    finally:
        stop.set()
        for b in burners:
            b.join(timeout=10)
    demo.close()


if __name__ == "__main__":
    main()
