"""A short version of bench/load.py: several gradio_client users at once, zero errors allowed."""

import importlib.util
import time
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("bench_load", Path(__file__).parents[1] / "bench" / "load.py")
assert spec is not None and spec.loader is not None
load = importlib.util.module_from_spec(spec)
spec.loader.exec_module(load)


@pytest.mark.slow
def test_concurrent_clients_on_all_four_model_endpoints_see_no_errors(app_url):
    rec = load.Recorder(pid=None)
    threads = [
        load.threading.Thread(target=load.client_loop, args=(app_url, time.perf_counter() + 120, rec, i, 8))
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rec.errors == [] and len(rec.latencies) == 32
