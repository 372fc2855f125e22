"""The server log keeps tracebacks for real errors only: a user's bad input is answered with a sentence and
leaves no traceback in the log; an unexpected error is logged with its traceback (once)."""

import logging

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError


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
    with pytest.raises(AppError, match=r"Something went wrong \(RuntimeError\)"):
        client.predict("To be, or not to [MASK]", 5, api_name="/fill_mask")
    (record,) = logged_tracebacks(caplog)
    assert record.name == "playground" and "an injected bug" in str(record.exc_info[1])
    # Gradio does not print it a second time
    assert capfd.readouterr().err.count("Traceback") == 0
