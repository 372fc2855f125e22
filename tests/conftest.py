"""Shared fixtures. Everything here works offline: bundled files, tiny configs, a local app."""

from __future__ import annotations

import os
import socket
import tempfile

# Hermetic: no test may reach the Hub, and Hub-path tests read a cache of our own making.
# (huggingface_hub reads these when it is first imported, so they are set before any import.)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="playground-hf-")

import pytest
import torch

from playground.tiny import data
from playground.tiny.model import TinyConfig

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def shakespeare() -> str:
    return data.load_corpus("tinyshakespeare")


@pytest.fixture(scope="session")
def small_text(shakespeare) -> str:
    return shakespeare[:60_000]


@pytest.fixture
def gpt_config() -> TinyConfig:
    # transformers' ModelTester style: vocab 99, width 32, 2 layers
    return TinyConfig(vocab_size=99, context_length=16, n_layer=2, n_head=4, n_embd=32, causal=True, heads=("lm",))


@pytest.fixture
def bert_config() -> TinyConfig:
    return TinyConfig(
        vocab_size=99,
        context_length=16,
        n_layer=2,
        n_head=4,
        n_embd=32,
        causal=False,
        heads=("mlm", "nsp"),
        type_vocab_size=2,
        pad_token_id=0,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    """The real app, launched once for the whole test run on a free loopback port."""
    from app import LAUNCH, demo

    port = free_port()
    demo.queue(default_concurrency_limit=4).launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **LAUNCH
    )
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def sessions():
    """Open sessions by id (`sessions("name")` -> its core Session; `create=False` only marks the id); each is
    closed after the test, even one that fails, so no session's state leaks into the next test."""
    from playground import session

    opened: list[str] = []

    def open_(sid: str, create: bool = True):
        opened.append(sid)
        return session.get(sid) if create else sid

    yield open_
    for sid in opened:
        session.release(sid)
