"""Shared by the benchmarks that drive the app as a page does: a free loopback port, and the app served in this
process as `app.py` serves it."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_in_process():
    """The app's Blocks, launched on a free loopback port without blocking; (demo, its URL)."""
    from playground.ui import build_demo

    port = free_port()
    demo = build_demo()
    demo.queue(default_concurrency_limit=4).launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True
    )
    return demo, f"http://127.0.0.1:{port}/"
