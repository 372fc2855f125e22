"""The Train tab's own /train against the CLI with the same settings, side by side (issue #24, item 4).

    .venv/bin/python bench/train_tab_pace.py [--steps 200] [--repeats 3]

"tab": the app served in this process as `app.py` serves it, its /train endpoint called through gradio_client
as the page calls it (the tab's default form, `--steps` steps), timed from submit to the final update: the
queue, the timeline's snapshots, the samples, the charts and their trip to the client all count.
"cli": `python -m playground train`'s own code (`main([...])`, in this process so start-up does not count) with
the flags the tab's form gives (`TrainForm.config()`), timed from call to return; it saves its checkpoint too.

The two are interleaved, `--repeats` times each, in one process: the machine is shared and noisy, so only the
ratio of their medians counts. Goal: tab at most 1.10 x CLI for a 200-step run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")  # as app.py

from gradio_client import Client  # noqa: E402
from serving import serve_in_process  # noqa: E402 - bench/serving.py

from playground.__main__ import main as cli_main  # noqa: E402
from playground.tiny.config import TrainConfig  # noqa: E402
from playground.ui import train as tab  # noqa: E402


def _form(steps: int) -> tab.TrainForm:
    return tab.TrainForm(list(tab.OBJECTIVES)[0], list(tab.CORPORA)[0], "", steps, 1337)


def _cli_args(form: tab.TrainForm, out: Path) -> list[str]:
    """The CLI flags that give the run the tab's form gives (every TrainConfig field but the defaults)."""
    cfg, defaults = form.config(), TrainConfig()
    args = ["train", "--corpus", tab.CORPORA[form.corpus], "--out", str(out), "--name", "bench"]
    for f in fields(TrainConfig):
        value = getattr(cfg, f.name)
        if value != getattr(defaults, f.name):
            args += ["--" + f.name.replace("_", "-"), str(value)]
    return args


def time_cli(form: tab.TrainForm) -> float:
    with tempfile.TemporaryDirectory() as out:
        devnull = open(os.devnull, "w")  # noqa: SIM115 - the CLI prints every step
        stdout, sys.stdout = sys.stdout, devnull
        try:
            t0 = time.perf_counter()
            cli_main(_cli_args(form, Path(out)))
            return time.perf_counter() - t0
        finally:
            sys.stdout = stdout
            devnull.close()


def time_tab(client: Client, form: tab.TrainForm) -> float:
    values = asdict(form)
    t0 = time.perf_counter()
    job = client.submit(*values.values(), api_name="/train")
    outputs = job.result(timeout=3600)
    seconds = time.perf_counter() - t0
    status = outputs[1] if isinstance(outputs, (list, tuple)) else str(outputs)
    if "Done" not in str(status):
        raise SystemExit(f"the tab's run did not finish: {status}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    form = _form(args.steps)
    demo, url = serve_in_process()
    # as a page: a browser fetches the zip only when Download is pressed, so the client does not fetch files
    client = Client(url, verbose=False, download_files=False)
    time_cli(_form(20)), time_tab(client, _form(20))  # warm both paths (imports, the reference step)
    cli, page = [], []
    for _ in range(args.repeats):
        cli.append(time_cli(form))
        page.append(time_tab(client, form))
    c, p = statistics.median(cli), statistics.median(page)
    print(
        f"{args.steps} steps of the tab's default form ({form.config().n_layer} layers, width {form.config().n_embd})"
    )
    print(f"cli: {c:6.2f} s  ({c / args.steps * 1000:5.1f} ms/step)   runs {[round(x, 2) for x in cli]}")
    print(f"tab: {p:6.2f} s  ({p / args.steps * 1000:5.1f} ms/step)   runs {[round(x, 2) for x in page]}")
    print(f"tab / cli = {p / c:.2f}  (goal: at most 1.10)")
    demo.close()


if __name__ == "__main__":
    main()
