"""Load benchmark: many gradio_client users at once against the real app on loopback.

    python bench/load.py                  # 20 clients for 60 s (the issue's figure)
    python bench/load.py --clients 4 --seconds 5    # a smoke run

Starts `python app.py` in a subprocess (offline, bundled models) and reports:
  - cold start: process start to the first HTTP 200, and the import time of `app` on its own;
  - one client alone (the reference): p50 latency per request;
  - N clients for T seconds: requests, errors, p50 / p95 latency, p95 as a multiple of the
    single-client p50 (goal ≤ 5×);
  - the server's resident memory after the first 100 requests and after 2,000 (goal: within 10%).
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (api name, arguments): the four model-free-of-training endpoints a classroom hammers
CALLS = [
    ("/next_word", ("To be, or not to", 10)),
    ("/fill_mask", ("To be, or not to [MASK].", 5)),
    ("/next_sentence", ("The man went to the store.", "He bought a gallon of milk.")),
    ("/tokenize", ("Tokenizers split text into pieces: Hello world!",)),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int) -> tuple[subprocess.Popen, float]:
    """The app in its own process; seconds from start to the first successful HTTP response."""
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - start < 120:
        if proc.poll() is not None:
            assert proc.stderr is not None  # stderr=PIPE
            raise SystemExit(f"the app exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return proc, time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the app did not answer within 120 s")


def import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import app; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Recorder:
    def __init__(self, pid: int | None):  # the server's pid, to read its memory; None: latencies only
        self.pid, self.lock = pid, threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.rss_at: dict[int, float] = {}

    def add(self, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if error:
                self.errors.append(error)
            n = len(self.latencies)
            if self.pid and (n == 100 or n % 500 == 0):
                self.rss_at[n] = rss_mb(self.pid)


def client_loop(url: str, deadline: float, rec: Recorder, offset: int, max_requests: int | None = None) -> None:
    from gradio_client import Client

    # plain HTTP on loopback, so no TLS: ssl_verify=False only stops gradio_client from building a
    # certificate store for every request (43 ms of CPU each, measured), which starved the server
    client = Client(url, verbose=False, ssl_verify=False)
    calls = itertools.islice(itertools.cycle(CALLS), offset, None)
    done = 0
    for api, args in calls:
        if time.perf_counter() > deadline or (max_requests and done >= max_requests):
            return
        t = time.perf_counter()
        try:
            client.predict(*args, api_name=api)
            rec.add(time.perf_counter() - t)
        except Exception as err:  # noqa: BLE001 - every failure is counted, none stops the run
            rec.add(time.perf_counter() - t, f"{api}: {type(err).__name__}: {err}"[:200])
        done += 1


def run_clients(url: str, n: int, seconds: float, rec: Recorder) -> float:
    deadline = time.perf_counter() + seconds
    threads = [threading.Thread(target=client_loop, args=(url, deadline, rec, i)) for i in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--single-requests", type=int, default=40, help="requests of the one-client reference")
    args = ap.parse_args()

    imported = import_seconds()
    port = free_port()
    proc, cold = start_app(port)
    url = f"http://127.0.0.1:{port}/"
    try:
        warm = Recorder(proc.pid)  # first calls load each model once; keep them out of the reference
        client_loop(url, time.perf_counter() + 120, warm, 0, max_requests=len(CALLS))
        single = Recorder(proc.pid)
        client_loop(url, time.perf_counter() + 120, single, 0, max_requests=args.single_requests)
        rec = Recorder(proc.pid)
        wall = run_clients(url, args.clients, args.seconds, rec)
        concurrent = list(rec.latencies)  # the top-up below is for the memory check only
        if len(rec.latencies) < 2000:  # the leak check needs 2,000 requests: top up with one client
            client_loop(url, time.perf_counter() + 600, rec, 0, max_requests=2000 - len(rec.latencies))
        rss_end = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)

    p50_single = statistics.median(single.latencies)
    p50, p95 = statistics.median(concurrent), pct(concurrent, 95)
    rss100, rss2000 = rec.rss_at.get(100, float("nan")), rec.rss_at.get(2000, rss_end)
    print("| measure | value | goal |\n|---|---|---|")
    print(f"| cold start: `python app.py` → first HTTP 200 | {cold:.1f} s | ≤ 10 s |")
    print(f"| of which `import app` (gradio, torch, the demo built) | {imported:.1f} s | |")
    print(f"| one client alone: p50 per request | {p50_single * 1000:.0f} ms | reference |")
    print(
        f"| {args.clients} clients × {args.seconds:.0f} s: requests (errors) | {len(concurrent)} ({len(rec.errors)}) | 0 errors |"
    )
    print(f"| {args.clients} clients: p50 / p95 | {p50 * 1000:.0f} / {p95 * 1000:.0f} ms | |")
    print(f"| p95 ÷ single-client p50 | {p95 / p50_single:.1f}× | ≤ 5× |")
    print(f"| throughput | {len(concurrent) / wall:.1f} req/s | |")
    print(
        f"| server RSS after 100 / 2,000 requests | {rss100:.0f} / {rss2000:.0f} MB ({(rss2000 / rss100 - 1):+.1%}) | within 10% |"
    )
    print("RSS (MB) by requests served:", ", ".join(f"{n}: {mb:.0f}" for n, mb in sorted(rec.rss_at.items())))
    for err in rec.errors[:5]:
        print("error:", err)


if __name__ == "__main__":
    main()
