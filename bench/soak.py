"""A soak test: sessions training, downloading, uploading and fine-tuning against one app, bounded in count and
time, stopping by itself (issue #25).

    .venv/bin/python bench/soak.py [--sessions 4] [--runs 4] [--minutes 10] [--layers 8] [--width 512]

It starts `python app.py` (a subprocess, loopback only) with disk budgets small enough to bite during the soak
(PLAYGROUND_SESSION_BYTES 0.8 GB, PLAYGROUND_TOTAL_BYTES 2 GB, unless set), and a second app process beside it,
on the same temp dir, holding one live session. Each session (a gradio_client Client, as a page) trains `--runs`
runs of the given shape (10 steps, batch 1: mostly the cost of writing), downloads each zip, keeps its first
model, uploads one zip back and fine-tunes once (every other session the real encoder, whose run leaves a
transformers export to download). Every 2 s a sampler records the app's workspaces' bytes on disk,
its RSS, open files and threads. Visitors go round that cycle until the round's time is up; beside them one page
floods the logit lens and another calls it every 4 s (the rate limit must refuse the first, never the second).
Half-way the app is killed with SIGKILL and started again: the dead process's
workspaces must be gone once it is up, the other process's live one untouched; then a second round of sessions.

Prints a table for bench/RESULTS.md and writes bench/soak.svg. Goals: disk under the total budget throughout;
no ENOSPC; RSS within 10% after warm-up (the first round); 0 unexpected errors (refusals, which say a sentence,
are counted apart); every kept model downloadable at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gradio_client import Client, handle_file  # noqa: E402
from serving import free_port  # noqa: E402 - bench/serving.py

from playground.budget import folder_bytes  # noqa: E402
from playground.registry import ENCODER  # noqa: E402
from playground.workspace import OWNER_FILE, PREFIX  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REFUSALS = ("server is full", "smaller model", "already", "kept models fill", "Too many requests", "at most")
TASK = "Who wrote it? (Shakespeare, Austen, Melville, State of the Union)"


@dataclass
class Tally:
    ok: int = 0
    refused: int = 0
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, fn, *args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - every failure is sorted: a refusal, or not
            with self.lock:
                if any(words in str(err) for words in REFUSALS):
                    self.refused += 1
                else:
                    self.unexpected.append(f"{type(err).__name__}: {str(err)[:200]}")
            return None
        with self.lock:
            self.ok += 1
        return result


# ---------------------------------------------------------------- the app processes


LOG = Path(tempfile.gettempdir()) / "soak-app.log"  # the apps' output: an unexpected error's id leads here


def start_app(port: int, env: dict) -> subprocess.Popen:
    with LOG.open("a") as log:
        app = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env={**os.environ, **env, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return app
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the app did not start")


def workspaces(pid: int) -> list[Path]:
    """The temp dir's workspaces (sessions, Gradio cache) whose owner file names `pid`."""
    found = []
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            if json.loads((folder / OWNER_FILE).read_text())["pid"] == pid:
                found.append(folder)
        except (OSError, ValueError, KeyError):
            pass
    return found


def _proc(pid: int) -> dict:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {
        "rss_mb": int(status["VmRSS"].split()[0]) / 1000,
        "threads": int(status["Threads"]),
        "files": len(os.listdir(f"/proc/{pid}/fd")),
    }


class Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.pid, self.rows, self.done = 0, [], threading.Event()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self.done.wait(2.0):
            try:
                row = {"t": time.perf_counter() - self.t0, "pid": self.pid, **_proc(self.pid)}
                row["disk_mb"] = sum(folder_bytes(f) for f in workspaces(self.pid)) / 1e6
                self.rows.append(row)
            except (OSError, KeyError):  # the app is between a kill and its restart
                pass


# ---------------------------------------------------------------- a visitor


def visitor(url: str, n: int, args, tally: Tally, deadline: float) -> None:
    client = tally.call(Client, url, verbose=False)
    if client is None:
        return
    form = [
        "GPT-style: next token (causal LM)", "tinyshakespeare (bundled)", "", 10, n, "characters (one token each)",
        None, None, args.layers, 8, args.width, 64, 1, 2e-3, 0.0, 1, 1000, "classic",
    ]  # fmt: skip
    kept: list[str] = []
    while time.perf_counter() < deadline:  # cycles until the round's time is up
        _cycle(client, form, n, args, tally, deadline, kept)
        time.sleep(1.0)  # a cycle of refusals alone is quick: not a tight loop
    _check_kept(client, tally, kept)


def _cycle(client: Client, form: list, n: int, args, tally: Tally, deadline: float, kept: list[str]) -> None:
    """One visitor's cycle: `--runs` trainings (the first kept), a zip uploaded back, a fine-tuning (our tiny BERT,
    or for odd visitors the real encoder)."""
    zips: list[str] = []
    for run in range(args.runs):
        if time.perf_counter() > deadline:
            return
        out = tally.call(client.predict, *form, api_name="/train")
        if out is None:
            continue
        name = out[4]["value"] if isinstance(out[4], dict) else out[4]
        keep = run == 0 and not kept and name
        if keep and tally.call(client.predict, name, True, api_name="/keep_model") is not None:
            kept.append(name)
        if out[5]:
            zips.append(out[5])
    if zips and time.perf_counter() < deadline:
        tally.call(client.predict, handle_file(zips[-1]), api_name="/upload_checkpoint")
    if time.perf_counter() < deadline:  # odd visitors fine-tune the real encoder: a 91 MB transformers export
        tally.call(
            client.predict,
            ENCODER if n % 2 else "tiny-english-bert",
            TASK,
            32,
            4,
            "Fine-tune the whole model",
            1e-3,
            n,
            None,
            "",
            api_name="/finetune",
        )


def _check_kept(client: Client, tally: Tally, kept: list[str]) -> None:
    """Every model this visitor kept can still be downloaded (its zip exists)."""
    for name in kept:
        path = tally.call(client.predict, name, api_name="/download_checkpoint")
        if not path or not Path(path).exists():
            tally.unexpected.append(f"kept model {name} not downloadable")


# ---------------------------------------------------------------- the rate limit under a flood

LENS = ("The capital of France is", "", -1)  # the logit lens on the default causal model: a heavy endpoint
QUIET_EVERY = 4.0  # seconds between a fair visitor's calls: 15 a minute, inside the per-session limit


@dataclass
class Lens:
    """The flooder's outcomes, and a fair visitor's latencies (seconds) and refusals beside it."""

    flood_ok: int = 0
    flood_refused: int = 0
    quiet: list[float] = field(default_factory=list)
    quiet_refused: int = 0


def flooder(url: str, lens: Lens, deadline: float) -> None:
    """One page calling the logit lens back to back: past its burst, the limit must refuse it with a sentence."""
    client = Client(url, verbose=False)
    while time.perf_counter() < deadline:
        try:
            client.predict(*LENS, api_name="/logit_lens")
            lens.flood_ok += 1
        except Exception as err:  # noqa: BLE001 - a refusal says so; anything else is counted as not one
            if "Too many requests" not in str(err):
                raise
            lens.flood_refused += 1


def quiet(url: str, lens: Lens, deadline: float) -> None:
    """Another page at a fair pace: its calls must all work, in about the time they take alone."""
    client = Client(url, verbose=False)
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        try:
            client.predict(*LENS, api_name="/logit_lens")
            lens.quiet.append(time.perf_counter() - start)
        except Exception:  # noqa: BLE001 - any failure of the fair page is what the limit must prevent
            lens.quiet_refused += 1
        time.sleep(max(0.0, QUIET_EVERY - (time.perf_counter() - start)))


def soak_round(url: str, args, tally: Tally, minutes: float, lens: Lens) -> None:
    deadline = time.perf_counter() + minutes * 60
    threads = [
        threading.Thread(target=visitor, args=(url, n, args, tally, deadline), daemon=True)
        for n in range(args.sessions)
    ]
    threads += [
        threading.Thread(target=tally.call, args=(job, url, lens, deadline), daemon=True) for job in (flooder, quiet)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=minutes * 60 + 300)


# ---------------------------------------------------------------- report


def svg(rows: list[dict], path: Path, kill_at: float) -> None:
    """Disk (MB) and RSS (MB) against time, as two polylines (no plotting package needed)."""
    if not rows:
        return
    w, h, t_max = 640, 240, max(r["t"] for r in rows) or 1
    top = max(max(r["disk_mb"] for r in rows), max(r["rss_mb"] for r in rows)) * 1.1 or 1

    def line(key: str, color: str) -> str:
        pts = " ".join(f"{r['t'] / t_max * w:.1f},{h - r[key] / top * h:.1f}" for r in rows)
        return f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>'

    kill = kill_at / t_max * w
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 20}" font-size="11">'
        f'<rect width="{w}" height="{h}" fill="white" stroke="#ccc"/>{line("disk_mb", "#4f46e5")}'
        f'{line("rss_mb", "#f97316")}<line x1="{kill:.1f}" x2="{kill:.1f}" y1="0" y2="{h}" stroke="red" '
        f'stroke-dasharray="4"/><text x="4" y="{h + 14}">disk MB (blue), RSS MB (orange); SIGKILL and restart '
        f"(red); top {top:,.0f} MB, {t_max:,.0f} s</text></svg>"
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--width", type=int, default=512)
    return parser.parse_args()


@dataclass
class Soak:
    """What the two rounds around the SIGKILL left: the samples, the calls' outcomes, the crash's leftovers."""

    rows: list[dict]
    tally: Tally
    lens: Lens
    kill_at: float
    left: list[Path]  # the killed process's workspaces
    orphans: list[Path]  # those still there after the restart
    untouched: bool  # the other live process's workspaces all still there


def soak(args: argparse.Namespace, env: dict[str, str]) -> Soak:
    port, other_port = free_port(), free_port()
    other = start_app(other_port, env)  # the second process on the same temp dir, with one live session
    Client(f"http://127.0.0.1:{other_port}/", verbose=False).predict(api_name="/pause_training")
    others = workspaces(other.pid)
    app = start_app(port, env)
    sampler = Sampler()
    sampler.pid = app.pid
    sampler.start()
    tally, url, lens = Tally(), f"http://127.0.0.1:{port}/", Lens()
    soak_round(url, args, tally, args.minutes / 2, lens)
    kill_at, dead = sampler.rows[-1]["t"] if sampler.rows else 0.0, app.pid
    left = workspaces(dead)
    os.kill(dead, signal.SIGKILL)
    app.wait()
    app = start_app(port, env)
    sampler.pid = app.pid
    orphans = [f for f in left if f.exists()]
    untouched = all(f.exists() for f in others)
    soak_round(url, args, tally, args.minutes / 2, lens)
    sampler.done.set()
    sampler.join()
    for process in (app, other):
        process.terminate()
        process.wait(timeout=60)
    return Soak(sampler.rows, tally, lens, kill_at, left, orphans, untouched)


def report(args: argparse.Namespace, run: Soak, total_budget: float) -> None:
    rows, tally = run.rows, run.tally
    first = [r["rss_mb"] for r in rows if r["t"] <= run.kill_at]
    warm = first[len(first) // 4 :] or [0]  # the first round after its first quarter (the models loaded)
    late = [r["rss_mb"] for r in rows if r["t"] > run.kill_at] or [0]
    seconds = rows[-1]["t"] if rows else 0
    disk = max((r["disk_mb"] for r in rows), default=0)
    files, threads = max((r["files"] for r in rows), default=0), max((r["threads"] for r in rows), default=0)
    print(
        f"{args.sessions} sessions x {args.runs} runs of {args.layers} layers x {args.width}, two rounds around "
        f"a SIGKILL, {seconds:,.0f} s"
    )
    print("| measure | value | goal |")
    print("|---|---|---|")
    print(f"| disk of the app's workspaces, max | {disk:,.0f} MB | under the total budget, {total_budget:,.0f} MB |")
    print(f"| RSS after warm-up, first round (min-max) | {min(warm):,.0f}-{max(warm):,.0f} MB | within 10% |")
    print(f"| RSS, second round (min-max) | {min(late):,.0f}-{max(late):,.0f} MB | |")
    print(f"| open files / threads, max | {files} / {threads} | flat |")
    print(f"| calls that worked / refused with a sentence | {tally.ok} / {tally.refused} | |")
    print(f"| unexpected errors | {len(tally.unexpected)} | 0 |")
    print(f"| dead process's workspaces left after restart | {len(run.orphans)} of {len(run.left)} | 0 |")
    print(f"| the other live process's workspaces untouched | {'yes' if run.untouched else 'NO'} | yes |")
    lens, quiet_s = run.lens, sorted(run.lens.quiet) or [0.0]
    print(f"| logit-lens flood from one page: worked / refused | {lens.flood_ok} / {lens.flood_refused} | refused |")
    print(
        f"| a fair page meanwhile (every {QUIET_EVERY:.0f} s): calls, median / max s, refused | {len(lens.quiet)}, "
        f"{quiet_s[len(quiet_s) // 2]:.2f} / {quiet_s[-1]:.2f}, {lens.quiet_refused} | none refused |"
    )
    print(
        "RSS (MB) at each tenth of the soak:",
        ", ".join(f"{r['t']:.0f} s {r['rss_mb']:,.0f}" for r in rows[:: max(1, len(rows) // 10)]),
    )
    for line in tally.unexpected[:10]:
        print("  unexpected:", line)
    if tally.unexpected:
        print(f"  (the apps' log, with each error id's traceback: {LOG})")


def main() -> None:
    args = arguments()
    env = {
        "PLAYGROUND_SESSION_BYTES": os.environ.get("PLAYGROUND_SESSION_BYTES", "8e8"),
        "PLAYGROUND_TOTAL_BYTES": os.environ.get("PLAYGROUND_TOTAL_BYTES", "2e9"),
    }
    LOG.unlink(missing_ok=True)
    run = soak(args, env)
    report(args, run, float(env["PLAYGROUND_TOTAL_BYTES"]) / 1e6)
    svg(run.rows, ROOT / "bench" / "soak.svg", run.kill_at)


if __name__ == "__main__":
    main()
