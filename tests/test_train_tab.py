"""The Train tab's handlers driven directly, as Gradio would: a session's state, its requests, its workspace."""

from __future__ import annotations

import math
import time
import types
import zipfile

import gradio as gr
import pytest
import torch
from transformers import PreTrainedTokenizerFast

from playground import registry, session
from playground.errors import UserError
from playground.next_word import next_token_distribution
from playground.tiny import checkpoint, data
from playground.tiny.model import TinyTransformer
from playground.ui import train as tab
from playground.ui.common import model_choices, resolve_model

from .narrow import of_type, present

GPT = "GPT-style: next token (causal LM)"
BERT = "BERT-style: masked LM + NSP"
SHAKESPEARE = "tinyshakespeare (bundled)"
CHARS = "characters (one token each)"
# tiny shapes: 1 layer × 2 heads × 32, context 32, batch 8; lr 1e-2 learns fast enough to see in 50 steps
SHAPE = dict(n_layer=1, n_head=2, n_embd=32, context=32, batch=8, lr=1e-2)
TEXT = data.load_corpus("tinyshakespeare")[:60_000]  # quicker to tokenize than the whole corpus


@pytest.fixture(autouse=True)
def every_event_shown(monkeypatch):
    monkeypatch.setattr(tab, "UI_INTERVAL", 0.0)  # no throttling: each event reaches the page


@pytest.fixture
def browser(request, sessions):
    """A fake browser session: (what the handlers read of gr.Request, its core Session's training run),
    closed afterwards."""
    sid = f"test-{request.node.name}"
    yield types.SimpleNamespace(session_hash=sid), sessions(sid).training


def train(req, steps=50, objective=GPT, corpus=tab.PASTED, pasted=TEXT, samples=5, **kw):
    settings = {**SHAPE, "tokenizer": CHARS, "samples": samples, **kw}
    return tab.run_training(objective, corpus, pasted, steps, 1, request=req, **settings)


def mine(req, task: str) -> list[str]:
    """The session's own models offered for a task."""
    return model_choices(task, req.session_hash)


def statuses(outputs) -> list[str]:
    return [o[1] for o in outputs]


def saved_name(status: str) -> str:
    return status.split("Saved as **")[1].split("**")[0]


@pytest.mark.slow
def test_loss_falls_and_the_model_joins_the_next_word_tab(browser):
    req, ts = browser
    outputs = list(train(req, steps=50, samples=5, corpus=SHAKESPEARE))
    losses = [float(s.split("train loss ")[1].split()[0]) for s in statuses(outputs) if "train loss" in s]
    assert losses[0] > 3.5 and losses[-1] < losses[0] - 0.8  # from ≈ ln(70) towards character statistics
    final = statuses(outputs)[-1]
    assert final.startswith("**Done**") and "step 50/50" in final
    assert outputs[-1][2]  # a sample of generated text
    name = saved_name(final)
    assert name.endswith(session.SUFFIX) and name in mine(req, "causal")
    assert name not in model_choices("causal", "someone-else")
    loaded = resolve_model(name, "causal", req.session_hash)
    result = next_token_distribution(loaded.model, loaded.tokenizer, "ROMEO:", 5)
    assert len(result.top) == 5 and 0 < sum(t.prob for t in result.top) <= 1
    assert ts.run is None and not ts.busy  # done: the session's model memory is freed


def losses_by_step(outputs) -> dict[int, str]:
    return {
        int(status.split("step ")[1].split("/")[0]): status.split("train loss ")[1].split()[0]
        for status in statuses(outputs)
        if status.startswith("**Training**")
    }


@pytest.mark.slow
def test_pause_keeps_the_run_and_resuming_gives_the_same_curve(browser, sessions):
    req, ts = browser
    other = types.SimpleNamespace(session_hash=sessions("test-pause-straight", create=False))
    straight = losses_by_step(train(other, steps=20, samples=1, dropout=0.1))

    first = []
    for out in train(req, steps=20, samples=1, dropout=0.1):
        first.append(out)
        if "step 7/" in out[1]:
            assert tab.request_pause(req) == "Pausing…"
    assert first[-1][1].startswith("**Paused**") and ts.run.step == 7 and not ts.busy
    assert tab.request_pause(req) == "Paused already."
    resumed = list(train(req, steps=20, samples=1, dropout=0.1))
    assert statuses(resumed)[-1].startswith("**Done**") and "step 20/20" in statuses(resumed)[-1]
    # same seed and settings, same curve, pause or not (dropout's random stream included)
    assert losses_by_step(first) | losses_by_step(resumed) == straight and len(straight) == 20


def test_stop_saves_what_was_trained_so_far(browser):
    req, ts = browser
    run = train(req, steps=500, samples=1)
    for out in run:
        if "step 5/" in out[1]:
            assert tab.request_stop(req)[1].startswith("Stopping")
    final = out[1]
    assert final.startswith("**Stopped**") and "step 5/500" in final
    assert saved_name(final) in mine(req, "causal")


def test_step_trains_one_step_then_stop_saves_the_paused_run(browser):
    req, ts = browser
    first = list(tab.step_training(GPT, SHAKESPEARE, "", 100, 1, request=req, **SHAPE))
    assert first[-1][1].startswith("**Paused**") and ts.run.step == 1
    list(tab.step_training(GPT, SHAKESPEARE, "", 100, 1, request=req, **SHAPE))
    assert ts.run.step == 2
    curve, status, *_ = tab.request_stop(req)
    assert status.startswith("**Stopped**") and "step 2/100" in status
    assert ts.run is None


def test_a_paused_run_set_aside_for_memory_is_shown_on_the_next_press_and_on_reload(sessions, monkeypatch):
    """Another session's pause past the paused runs' budget saves this session's paused run (tiny/paused.py): the
    next Train press shows it, with why, and starts nothing; a reload shows the same."""
    from playground.tiny import paused

    monkeypatch.setattr(paused, "PAUSED", paused.PausedRuns(1))  # one paused run at most
    mine_, other = (types.SimpleNamespace(session_hash=f"aside-{n}", query_params={}) for n in ("mine", "other"))
    own = sessions("aside-mine").training
    sessions("aside-other")
    list(tab.step_training(GPT, SHAKESPEARE, "", 100, 1, request=mine_, **SHAPE))
    list(tab.step_training(GPT, SHAKESPEARE, "", 100, 1, request=other, **SHAPE))
    deadline = time.monotonic() + 60
    while own.ended is None and time.monotonic() < deadline:
        time.sleep(0.01)
    ((_curve, status, *_),) = list(train(mine_))  # one view: what was saved, and why; no new run
    assert status.startswith("**Stopped**") and "Saved as **my-gpt-1" in status
    assert "stopped at step 1 to free the server's memory" in status and own.run is None
    assert "to free the server's memory" in tab.restore(mine_)[1]  # (the form kept: no values needed)


def test_reset_discards_the_run(browser):
    req, ts = browser
    run = train(req, steps=500, samples=1)
    for out in run:
        if "step 3/" in out[1]:
            tab.request_reset(req)
    assert out[1].startswith("Reset") and ts.run is None
    assert mine(req, "causal") == registry.choices("causal")  # nothing saved


def test_one_run_per_session(browser):
    req, ts = browser
    with ts.hold():  # as while another Train event of this session is running
        with pytest.raises(Exception, match="already training"):
            list(train(req, steps=10))


def test_masked_lm_with_nsp_reports_both_accuracies_and_serves_two_tabs(browser):
    req, ts = browser
    outputs = list(
        train(
            req,
            steps=10,
            objective=BERT,
            samples=2,
            tokenizer="WordPiece, trained on the corpus",
            vocab=500,
            context=64,
            lr=1e-3,
        )
    )
    final_status, sample, stats = outputs[-1][1], outputs[-1][2], outputs[-1][3]
    assert "masked accuracy" in stats and "NSP accuracy" in stats
    assert "[MASK]" in sample and "→" in sample  # the fill-mask probe
    name = saved_name(final_status)
    assert name in mine(req, "masked") and name in mine(req, "nsp")
    assert "Fill Mask and Next Sentence tabs" in final_status


@pytest.mark.slow
def test_a_tokenizer_from_the_tokenizer_tab_is_a_choice_and_is_used(browser):
    req, ts = browser
    tok = of_type(registry.reference_tokenizer("bert-base-uncased"), PreTrainedTokenizerFast)
    session.get(req.session_hash).tokenizers["my-wordpiece"] = tok
    choice = "my-wordpiece" + tab.FROM_TOKENIZER_TAB
    assert choice in tab.tokenizer_choices(req.session_hash)
    assert choice not in tab.tokenizer_choices("someone-else")
    list(train(req, steps=3, tokenizer=choice, samples=1))
    name = next(n for n in mine(req, "causal") if n.endswith(session.SUFFIX))
    loaded = resolve_model(name, "causal", req.session_hash)
    assert of_type(loaded.model, TinyTransformer).config.vocab_size == len(tok) == 30522
    assert loaded.tokenizer("hello")["input_ids"][1] == 7592  # the real BERT vocabulary
    assert tok.model_max_length != 32  # the session's own tokenizer was not changed


def test_the_estimate_counts_parameters_before_starting():
    text = tab.estimate_view(GPT, 200, 6, 6, 384, 256, 64, 1e-3, 0.2, 5, CHARS, 1000)
    assert "10.7" in text and "M parameters" in text and "ms per step" in text  # nanoGPT's baby GPT: 10.7 M
    assert tab.estimate_view(GPT, 200, 2, 3, 128, 64, 16, 1e-3, 0, 5, CHARS, 1000).startswith("⚠️ The width (128)")


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(corpus=tab.PASTED, pasted="   "), "Paste some text"),
        (
            dict(corpus=tab.PASTED, pasted="To be, or not to be: that is the question. " * 2, context=64),
            "needs more than the context",
        ),
        (dict(n_layer=0), "Layers must be a whole number of at least 1"),
        (dict(n_head=3), "must be divisible by the number of heads"),
        (dict(lr=0), "learning rate must be a positive number"),
        (dict(lr=-1e-3), "learning rate must be a positive number"),
        (dict(steps=10**6), "Steps: at most"),
        (dict(n_layer=100, n_embd=1024, n_head=8), "parameters; the limit here is"),
        (dict(corpus=tab.UPLOADED), "Upload a .txt file"),
        (dict(corpus=tab.HUB_DATASET, dataset="roneneldan/TinyStories"), "Hub cannot be reached"),
        (dict(corpus=tab.HUB_DATASET, dataset="../../etc/passwd"), "not a Hugging Face dataset id"),
        (dict(objective=BERT, tokenizer="tiny-shakespeare-gpt's BPE (bundled)"), None),  # has BERT's specials: fine
    ],
)
def test_bad_input_is_a_clear_message_and_earlier_models_stay(browser, change, message):
    req, ts = browser
    list(train(req, steps=2, samples=1))
    kept = mine(req, "causal")
    settings = dict(steps=2, samples=1) | change
    if message is None:
        list(train(req, **settings))
        return
    with pytest.raises(Exception, match=message):
        list(train(req, **settings))
    assert mine(req, "causal") == kept and not ts.busy and ts.run is None


def test_uploaded_text_is_checked(browser, tmp_path, monkeypatch):
    req, ts = browser
    binary = tmp_path / "model.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(Exception, match="not a plain-text file"):  # the Tokenizer tab's reader
        list(train(req, steps=2, corpus=tab.UPLOADED, upload=str(binary)))
    monkeypatch.setattr(tab, "LIMITS", tab.Limits(upload_bytes=1000))
    big = tmp_path / "big.txt"
    big.write_text("a" * 2000)
    with pytest.raises(Exception, match="limited to 0.001 MB"):
        list(train(req, steps=2, corpus=tab.UPLOADED, upload=str(big)))
    good = tmp_path / "sonnets.txt"
    good.write_text("Shall I compare thee to a summer's day?\n" * 20)
    out = list(train(req, steps=2, samples=1, corpus=tab.UPLOADED, upload=str(good), context=16))
    assert out[-1][1].startswith("**Done**")


@pytest.mark.slow
def test_download_then_upload_gives_identical_logits(browser):
    req, ts = browser
    outputs = list(train(req, steps=5, samples=1))
    name = saved_name(outputs[-1][1])
    zip_path = tab.download_checkpoint(name, req)
    with zipfile.ZipFile(zip_path) as zf:
        assert set(zf.namelist()) >= {"model.safetensors", "config.json", "tokenizer.json"}
        assert not any(n.endswith((".bin", ".pt", ".pkl")) for n in zf.namelist())

    other = types.SimpleNamespace(session_hash="test-zip-receiver")
    try:
        picker, download, note = tab.upload_checkpoint(zip_path, other)
        uploaded = picker["value"]
        assert uploaded.startswith("my-gpt-") and "Next Word" in note
        a = resolve_model(name, "causal", req.session_hash)
        b = resolve_model(uploaded, "causal", other.session_hash)
        ids = a.tokenizer("ROMEO: But soft", return_tensors="pt").input_ids
        with torch.no_grad():
            assert torch.equal(a.model(ids).logits, b.model(ids).logits)
        # the receiving session has its own copy, in its own folder
        theirs = present(session.peek(other.session_hash))
        assert theirs.checkpoints[uploaded].is_relative_to(theirs.folder)
    finally:
        session.release(other.session_hash)


def _zip(path, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return path


@pytest.mark.parametrize(
    "files, message",
    [
        ({"../evil.txt": b"x", "config.json": b"{}"}, "unsafe path"),
        ({"/etc/cron.d/x": b"x"}, "unsafe path"),
        ({"pytorch_model.bin": b"x", "config.json": b"{}"}, "only as model.safetensors"),
        ({"config.json": b"{}"}, "model.safetensors, tokenizer.json is missing"),
        (
            {
                "model.safetensors": b"junk",
                "config.json": b'{"model_type": "tiny-transformer"}',
                "tokenizer.json": b"{}",
            },
            "does not hold a loadable checkpoint",
        ),
    ],
)
def test_bad_checkpoint_zips_are_refused(browser, tmp_path, files, message):
    req, _ = browser
    with pytest.raises(Exception, match=message):
        tab.upload_checkpoint(str(_zip(tmp_path / "bad.zip", files)), req)
    assert tab._mine_choices(req.session_hash) == []
    assert not list(session.get(req.session_hash).folder.glob("upload-*/model"))  # nothing left unpacked


def test_zip_bombs_and_non_zips_are_refused(browser, tmp_path):
    req, _ = browser
    text = tmp_path / "notes.zip"
    text.write_text("not a zip")
    with pytest.raises(Exception, match="is not a zip file"):
        tab.upload_checkpoint(str(text), req)
    bomb = _zip(
        tmp_path / "bomb.zip", {"model.safetensors": b"\0" * 3_000_000, "config.json": b"{}", "tokenizer.json": b"{}"}
    )
    with pytest.raises(UserError, match="unpacks to more than"):
        checkpoint.import_zip(bomb, tmp_path / "out", max_bytes=1_000_000)
    assert not (tmp_path / "out").exists()
    many = _zip(tmp_path / "many.zip", {f"CARD{i}.md": b"" for i in range(40)})
    with pytest.raises(UserError, match="holds 40 files"):
        checkpoint.import_zip(many, tmp_path / "out", max_bytes=1_000_000)


def test_presets_fill_the_hyper_parameters():
    layers, heads, width, context, batch, lr, dropout, steps = tab.apply_preset("baby GPT (nanoGPT, for a GPU)")
    assert (layers, heads, width, context, batch, dropout) == (6, 6, 384, 256, 64, 0.2)
    assert math.isclose(lr, 1e-3)


def _wait_for(predicate, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.slow
def test_sessions_train_at_once_isolated_and_the_global_limit_holds(app_url):
    from gradio_client import Client
    from gradio_client.utils import Status

    clients = [Client(app_url, verbose=False) for _ in range(tab.MAX_RUNS + 1)]
    form = dict(tokenizer=CHARS, samples=1, **SHAPE)
    # as many long runs as the limit allows, each in its own session, with its own seed
    running = [c.submit(GPT, tab.PASTED, TEXT, 2000, i, api_name="/train", **form) for i, c in enumerate(clients[:-1])]
    for job in running:
        _wait_for(lambda job=job: any(o[1].startswith("**Training**") for o in job.outputs()), what="the runs to start")
    waiting = clients[-1].submit(GPT, tab.PASTED, TEXT, 20, 99, api_name="/train", **form)
    time.sleep(2.0)
    status = waiting.status()
    assert status.code == Status.IN_QUEUE and status.rank is not None  # its place in the queue is shown
    assert waiting.outputs() == []

    clients[0].predict(api_name="/stop_training")  # frees a place
    first = running[0].result()[1]
    assert first.startswith("**Stopped**") and "my-gpt-1 · this session" in first
    done = waiting.result()[1]
    assert done.startswith("**Done**") and "step 20/20" in done
    for client in clients[1:-1]:
        client.predict(api_name="/stop_training")
    finals = [first] + [job.result()[1] for job in running[1:]] + [done]

    # each session numbered its own model 1 and holds only its own, in its own folder
    assert all("my-gpt-1 · this session" in s for s in finals)
    folders = []
    for client in clients:
        ws = present(session.peek(client.session_hash))
        assert list(ws.checkpoints) == ["my-gpt-1 · this session"]
        folders.append(ws.checkpoints["my-gpt-1 · this session"])
        assert folders[-1].is_relative_to(ws.folder)
    assert len(set(folders)) == len(clients)


@pytest.mark.slow
def test_download_and_upload_through_the_api(app_url):
    from gradio_client import Client, handle_file

    trainer, receiver = Client(app_url, verbose=False), Client(app_url, verbose=False)
    status = trainer.predict(GPT, tab.PASTED, TEXT, 10, 1, api_name="/train", tokenizer=CHARS, samples=1, **SHAPE)[1]
    name = saved_name(status)
    zip_path = trainer.predict(name, api_name="/download_checkpoint")
    assert zipfile.is_zipfile(zip_path)
    with pytest.raises(Exception, match="not a model of this session|not in the list of choices"):
        receiver.predict(name, api_name="/download_checkpoint")  # one session cannot fetch another's
    mine, download, note = receiver.predict(handle_file(zip_path), api_name="/upload_checkpoint")
    assert note.startswith("Uploaded as **my-gpt-") and "Next Word" in note


def test_a_masked_objective_switches_to_subwords_a_gentler_rate_and_a_fill_in_label():
    tokenizer, lr, sample = tab.objective_defaults("BERT-style: masked LM", CHARS, 2e-3)
    assert tokenizer["value"] == "WordPiece, trained on the corpus" and "[MASK]" in tokenizer["info"]
    assert lr == 1e-3 and "[MASK]" in sample["label"]
    bpe = "byte-level BPE, trained on the corpus"
    tokenizer, lr, _ = tab.objective_defaults(BERT, bpe, 5e-4)
    assert tokenizer["value"] == bpe and lr == 5e-4  # a deliberate subword choice and a gentle rate are kept
    _, lr, sample = tab.objective_defaults(GPT, CHARS, 2e-3)
    assert "masked" not in sample["label"].lower() and "writes" in sample["label"]
    assert tab.apply_preset("tiny", BERT)[5] == 1e-3 and tab.apply_preset("tiny", GPT)[5] == 2e-3


@pytest.mark.slow
def test_mlm_nsp_is_drawn_against_the_guess_for_both_losses(browser):
    req, ts = browser
    list(
        tab.step_training(
            BERT,
            SHAKESPEARE,
            "",
            100,
            1,
            request=req,
            **SHAPE,
            tokenizer="tiny-shakespeare-bert's WordPiece (bundled)",
        )
    )
    fig = tab._curve(ts.run)
    line = fig.layout.shapes[0]
    assert line.y0 == pytest.approx(math.log(4096) + math.log(2))
    assert "ln 2" in fig.layout.annotations[0].text
    tab.request_reset(req)


@pytest.mark.slow
def test_the_evaluation_on_stopping_ends_the_validation_line(browser):
    req, ts = browser
    list(tab.step_training(GPT, SHAKESPEARE, "", 100, 1, request=req, **SHAPE))
    curve, status, *_ = tab.request_stop(req)
    val = next(trace for trace in curve.data if trace.name == "validation")
    assert val.x[-1] == 1 and f"validation loss {val.y[-1]:.3f}" in status


def test_the_recipe_choice_sets_the_ingredients_and_its_learning_rate():
    form = tab.TrainForm(GPT, SHAKESPEARE, "", 100, 1, recipe="modern", lr=6e-3)
    cfg = form.config()
    assert (cfg.optimizer, cfg.norm, cfg.mlp, cfg.positions, cfg.schedule) == (
        "muon", "rmsnorm", "relu2", "rotary", "trapezoid"
    ) and cfg.lr == 6e-3 and cfg.qk_norm and not cfg.tied_head  # fmt: skip
    assert tab.TrainForm(GPT, SHAKESPEARE, "", 100, 1).config().optimizer == "adamw"  # classic by default
    with pytest.raises(UserError, match="recipe"):
        tab.TrainForm(GPT, SHAKESPEARE, "", 100, 1, recipe="fancy").config()
    assert tab.recipe_lr("modern", GPT, "tiny") == 6e-3 and tab.recipe_lr("classic", GPT, "tiny") == 2e-3
    assert tab.recipe_lr("modern", BERT, "tiny") <= 3e-3  # masked LM stays gentler


def test_the_handlers_take_the_forms_fields_and_gradio_hands_them_the_request():
    """The Train, Step and Race handlers' parameters are TrainForm's fields (Gradio names the API's after them),
    and Gradio finds their request parameter (without it every browser would share one session)."""
    from dataclasses import fields

    from gradio.helpers import special_args
    from gradio.utils import get_function_params

    from playground.ui import race

    names = [f.name for f in fields(tab.TrainForm)]
    for handler, extra in ((tab.run_training, []), (tab.step_training, []), (race.run_race, ["a", "b"])):
        assert [p[0] for p in get_function_params(handler)] == [*names, *extra]
        the_request = gr.Request(session_hash="the request")
        inputs = special_args(handler, [None] * (len(names) + len(extra)), request=the_request)[0]
        assert inputs[-1] is the_request
    assert [p[0] for p in get_function_params(tab.estimate_view)] == list(tab.SIZING)
    assert tab.PRESETS["tiny"] == tab.TrainForm()  # a preset is a form; the tiny one is the page's defaults
