"""Faults injected on purpose: a Hub that refuses connections or never answers, and a checkpoint
save that dies half-way. The app must answer with a notice, fall back, and lose nothing."""

import socket
import threading
import types

import gradio as gr
import pytest
import torch
from huggingface_hub import constants
from transformers import PreTrainedTokenizerFast

from playground import hub, registry
from playground.errors import UserError
from playground.tiny import checkpoint
from playground.tiny.model import TinyTransformer

from .narrow import of_type, present
from .test_registry import load_or_fallback


class SilentServer:
    """Accepts TCP connections and never answers: the worst kind of network failure."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)  # held open, never read, never answered

    def close(self):
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def refused_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there, so connecting is refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def online(monkeypatch):
    """Pretend to be online (tests run with HF_HUB_OFFLINE=1) with a fresh memory of Hub failures."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "_hub_down_until", 0.0)

    def endpoint(url):
        monkeypatch.setattr(constants, "ENDPOINT", url)

    return endpoint


def test_a_refusing_hub_falls_back_to_the_bundled_model_with_a_notice(online):
    online(f"http://127.0.0.1:{refused_port()}")
    loaded = load_or_fallback("someone/a-model", "causal")
    assert loaded.name == registry.offline_default("causal")  # the best offline model of the same kind
    assert "cannot be reached" in loaded.notice and f"Showing {loaded.name} instead" in loaded.notice
    assert hub.hub_offline()  # remembered: the next request does not wait again


@pytest.mark.slow
def test_a_hub_that_never_answers_costs_one_bounded_wait_then_is_remembered(online):
    server = SilentServer()
    try:
        online(f"http://127.0.0.1:{server.port}")
        loaded = load_or_fallback("someone/a-model", "masked")  # returns after HUB_TIMEOUT_S, not never
        assert loaded.name == registry.offline_default("masked") and "cannot be reached" in loaded.notice
        asked = len(server.accepted)
        assert asked >= 1
        again = load_or_fallback("someone/another-model", "masked")
        assert "cannot be reached" in again.notice
        assert len(server.accepted) == asked  # the second request never touched the network
    finally:
        server.close()


def test_a_save_killed_half_way_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    loaded = registry.load("tiny-shakespeare-gpt", "causal")
    gpt, tokenizer = of_type(loaded.model, TinyTransformer), of_type(loaded.tokenizer, PreTrainedTokenizerFast)
    folder = checkpoint.save_checkpoint(tmp_path / "run", gpt, tokenizer, {"step": 1})

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_model", disk_full)  # dies while writing the weights
    with pytest.raises(OSError, match="No space"):
        checkpoint.save_checkpoint(folder, gpt, tokenizer, {"step": 2})
    model, _, meta = checkpoint.load_checkpoint(folder)
    assert meta == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no half-written sibling left behind
    assert all((a == b).all() for a, b in zip(model.state_dict().values(), loaded.model.state_dict().values()))


@pytest.mark.slow
def test_a_training_run_that_runs_out_of_memory_ends_with_a_message_and_others_go_on(monkeypatch, sessions):

    from gradio import Error

    from playground.tiny.train import Trainer
    from playground.ui import train as tab
    from playground.ui.common import model_choices

    from .test_train_tab import saved_name, statuses, train

    mine, other = types.SimpleNamespace(session_hash="oom-mine"), types.SimpleNamespace(session_hash="oom-other")
    my_state = sessions("oom-mine").training
    sessions("oom-other", create=False)
    monkeypatch.setattr(tab, "UI_INTERVAL", 0.0)
    earlier = saved_name(statuses(list(train(mine, steps=10)))[-1])  # a model saved before the fault

    real_step, calls = Trainer.train_step, {"n": 0}

    def fails_at_step_5(self):
        calls["n"] += 1
        if calls["n"] == 5:  # what CUDA raises when a batch does not fit
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        real_step(self)

    monkeypatch.setattr(Trainer, "train_step", fails_at_step_5)
    with pytest.raises(Error) as err:
        list(train(mine, steps=20))
    assert "did not fit in memory" in str(err.value) and "smaller model, batch or context" in str(err.value)
    assert not my_state.busy  # the session can train again
    assert earlier in model_choices("causal", "oom-mine")  # and keeps what it had

    done = statuses(list(train(other, steps=10)))[-1]  # another session is unaffected
    assert done.startswith("**Done**")
    done_again = statuses(list(train(mine, steps=10)))[-1]
    assert done_again.startswith("**Done**")


class FakeInfo:
    """What HfApi.model_info returns, reduced to the weight files' names and sizes."""

    def __init__(self, **sizes):
        self.siblings = [type("File", (), {"rfilename": name, "size": size}) for name, size in sizes.items()]


@pytest.mark.parametrize(
    "answer, message",
    [
        (FakeInfo(**{"model.safetensors": 3_000_000_000}), "is 3.0 GB; this app loads models up to 1.5 GB"),
        ("missing", "not a public model on the Hugging Face Hub"),
        ("gated", "not a public model on the Hugging Face Hub"),
    ],
)
def test_a_model_too_large_missing_or_gated_is_refused_and_the_previous_one_stays(online, monkeypatch, answer, message):
    import httpx2  # huggingface_hub's HTTP client
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    before = registry.load("tiny-shakespeare-gpt", "causal")

    def model_info(self, model_id, **kwargs):
        # the errors huggingface_hub raises for a 404 and a 401 on /api/models/<id>
        url = f"https://huggingface.co/api/models/{model_id}"
        if answer == "missing":
            raise RepositoryNotFoundError(
                "not found", response=httpx2.Response(404, request=httpx2.Request("GET", url))
            )
        if answer == "gated":
            raise GatedRepoError("gated", response=httpx2.Response(401, request=httpx2.Request("GET", url)))
        return answer

    monkeypatch.setattr(HfApi, "model_info", model_info)
    with pytest.raises(UserError, match=message):
        load_or_fallback("someone/some-model", "causal")  # refused outright: no silent fallback
    assert not hub.hub_offline()  # a refusal is not an outage
    assert registry.load("tiny-shakespeare-gpt", "causal") is before  # the model in use is untouched


def test_an_unreachable_hub_model_gives_way_to_the_best_offline_one_the_picker_shows_it_and_warns_once(monkeypatch):
    # the Hub is offline in the tests (conftest): bert-base-uncased cannot load, and is not in our Hub cache
    from playground.ui import common

    warned: list[str] = []
    monkeypatch.setattr(common.gr, "Warning", warned.append)
    request = gr.Request(session_hash="fallback-once")
    first = common.load_model("bert-base-uncased", "masked", request)
    second = common.load_model("bert-base-uncased", "masked", request)
    assert first.name == second.name == registry.offline_default("masked")  # the best English BERT here
    assert first.name != "tiny-shakespeare-bert" and f"Showing {first.name} instead" in first.notice
    assert len(warned) == 1  # one toast, however many handlers load it
    # the note the picker's change shows names the model used instead, and why
    from playground.ui import build_demo

    switch = present(next(f.fn for f in build_demo().fns.values() if f.api_name == "fm_model_switch"))
    *_, (note, _, picker) = list(switch("bert-base-uncased", request))
    assert first.name in note and "cannot be reached" in note
    assert picker["value"] == first.name  # the picker moves to the model shown
    *_, (note, _, picker) = list(switch(first.name, request))  # the change that move fires
    assert "cannot be reached" in note  # still says why
    assert len(warned) == 1
