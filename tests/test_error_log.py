"""The server log keeps tracebacks for real errors only: a user's bad input (a UserError) is answered with its
sentence and leaves no traceback in the log; anything else is logged with its traceback (once) under an error
id, and the page shows one generic sentence with that id."""

import logging
import re

import gradio as gr
import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground.errors import UserError
from playground.ui.common import friendly

from .narrow import present

GENERIC = r"Something went wrong on our side \(error id ([0-9a-f]{8})\)"


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def logged_tracebacks(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info]


def test_a_users_mistake_leaves_no_traceback_in_the_log(client, capfd, caplog):
    capfd.readouterr()  # drop what came before
    with pytest.raises(AppError, match=r"Put \[MASK\]"):
        client.predict("no blank here", 5, api_name="/fill_mask")
    assert "Traceback" not in capfd.readouterr().err
    assert not logged_tracebacks(caplog)


def test_an_unexpected_error_is_logged_with_its_traceback_once(client, capfd, caplog, monkeypatch):
    from playground.ui import fill_mask as fill_mask_tab

    def broken(*args, **kwargs):
        raise RuntimeError("an injected bug")

    monkeypatch.setattr(fill_mask_tab, "fill_mask", broken)
    capfd.readouterr()
    with pytest.raises(AppError, match=GENERIC) as shown:
        client.predict("To be, or not to [MASK]", 5, api_name="/fill_mask")
    (record,) = logged_tracebacks(caplog)
    assert record.name == "playground" and "an injected bug" in str(present(record.exc_info)[1])
    assert present(re.search(GENERIC, str(shown.value))).group(1) in record.getMessage()
    # Gradio does not print it a second time
    assert capfd.readouterr().err.count("Traceback") == 0


# ---------------------------------------------------------------- friendly, without a server


def raising(err: Exception):
    @friendly
    def handler():
        raise err

    return handler


def test_a_user_error_is_shown_word_for_word_without_a_traceback(caplog):
    with pytest.raises(gr.Error) as shown:
        raising(UserError("Put [MASK] where a word is missing."))()
    assert shown.value.message == "Put [MASK] where a word is missing."
    assert not logged_tracebacks(caplog)


def test_a_gradio_error_passes_through():
    with pytest.raises(gr.Error) as shown:
        raising(gr.Error("Already a page message."))()
    assert shown.value.message == "Already a page message."


def test_out_of_memory_keeps_its_sentence(caplog):
    with pytest.raises(gr.Error, match="did not fit in memory"):
        raising(torch.OutOfMemoryError("CUDA out of memory"))()
    assert not logged_tracebacks(caplog)


@pytest.mark.parametrize("err", [ValueError("positions must be one of ('learned', 'rotary')"), KeyError("vocab")])
def test_a_non_user_error_gets_the_generic_sentence_and_its_traceback_is_logged_under_the_same_id(err, caplog):
    with pytest.raises(gr.Error) as shown:
        raising(err)()
    message = shown.value.message
    error_id = present(re.match(GENERIC, message)).group(1)
    assert "positions must be" not in message and "vocab" not in message  # the developer's text stays in the log
    (record,) = logged_tracebacks(caplog)
    assert error_id in record.getMessage() and present(record.exc_info)[1] is err


def test_each_error_gets_its_own_id():
    ids = set()
    for _ in range(5):
        with pytest.raises(gr.Error) as shown:
            raising(RuntimeError("bug"))()
        ids.add(present(re.match(GENERIC, shown.value.message)).group(1))
    assert len(ids) == 5


def test_a_generator_handler_is_wrapped_too():
    @friendly
    def streaming():
        yield 1
        raise UserError("Stopped: the text ran out.")

    gen = streaming()
    assert next(gen) == 1
    with pytest.raises(gr.Error) as shown:
        next(gen)
    assert shown.value.message == "Stopped: the text ran out."
