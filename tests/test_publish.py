"""Publishing an exported model to the Hub (playground/publish.py, `python -m playground push`).

The Hub cannot be reached here, so every test runs against a **mocked `HfApi`** (FakeHub below), which records
each call and fails where a test tells it to: what is checked is the order of the calls (private repo first, the
upload, visibility flipped last and only when asked), the sentences, and that the learner's token goes nowhere but
`HfApi(token=...)`: no log record, no file, no sentence, no link.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx2  # huggingface_hub's HTTP client: its errors carry one of these responses
import pytest
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import validate_repo_id
from hypothesis import given, settings
from hypothesis import strategies as st

from playground import publish
from playground.__main__ import main
from playground.errors import UserError

TOKEN = "hf_SeCrEtToKeN0123456789abcdefghijklmn"  # what a learner's OAuth token looks like


def http_error(status: int) -> HfHubHTTPError:
    request = httpx2.Request("POST", "https://huggingface.co/api/repos/create")
    return HfHubHTTPError(f"HTTP {status}", response=httpx2.Response(status, request=request))


class FakeHub:
    """Stands in for huggingface_hub.HfApi: `calls` in order; `fail[method]` raised when that method is called.
    `repos` maps repo id -> private (what the Hub would hold)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.tokens: list[str | None] = []
        self.fail: dict[str, Exception] = {}
        self.repos: dict[str, bool] = {}
        self.uploaded: dict[str, list[str]] = {}
        self.cards: dict[str, bytes] = {}  # repo id -> the README.md uploaded

    def __call__(self, token: str | None = None) -> FakeHub:  # HfApi(token=...)
        self.tokens.append(token)
        return self

    def _call(self, method: str, **kwargs) -> None:
        self.calls.append((method, kwargs))
        if method in self.fail:
            raise self.fail[method]

    def whoami(self) -> dict:
        self._call("whoami")
        return {"name": "learner", "type": "user"}

    def create_repo(self, repo_id, private=None, exist_ok=False, repo_type=None):
        self._call("create_repo", repo_id=repo_id, private=private, exist_ok=exist_ok)
        if repo_id in self.repos and not exist_ok:
            raise http_error(409)
        self.repos[repo_id] = bool(private)

    def create_commit(self, repo_id, operations, commit_message=None, repo_type=None):
        self._call("create_commit", repo_id=repo_id)
        self.uploaded[repo_id] = sorted(op.path_in_repo for op in operations)
        self.cards[repo_id] = next(op.path_or_fileobj for op in operations if op.path_in_repo == "README.md")

    def delete_repo(self, repo_id, repo_type=None):
        self._call("delete_repo", repo_id=repo_id)
        del self.repos[repo_id]

    def update_repo_settings(self, repo_id, private=None, repo_type=None):
        self._call("update_repo_settings", repo_id=repo_id, private=private)
        self.repos[repo_id] = bool(private)

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]


@pytest.fixture
def hub(monkeypatch) -> FakeHub:
    fake = FakeHub()
    monkeypatch.setattr(publish, "HfApi", fake)
    return fake


@pytest.fixture
def exported(tmp_path) -> Path:
    """What export.export writes, as far as a push reads it: a folder with config.json and the card."""
    folder = tmp_path / "my-gpt"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "gpt2"}')
    usage = 'pipe = pipeline("text-generation", model="my-gpt")  # the folder, or its Hub id once pushed'
    (folder / "README.md").write_text(f"---\nlicense: mit\n---\n# my-gpt\n\n```python\n{usage}\n```\n")
    (folder / "model.safetensors").write_bytes(b"\0" * 64)
    return folder


def test_a_private_push_creates_the_repo_private_and_uploads(hub, exported):
    done = publish.push(exported, "my-gpt", TOKEN)
    assert hub.methods() == ["whoami", "create_repo", "create_commit"]  # no visibility change asked for
    assert hub.calls[1][1] == {"repo_id": "learner/my-gpt", "private": True, "exist_ok": False}
    assert hub.repos == {"learner/my-gpt": True} and hub.tokens == [TOKEN]
    assert hub.uploaded["learner/my-gpt"] == ["README.md", "config.json", "model.safetensors"]
    assert done.repo_id == "learner/my-gpt" and done.private and done.url == "https://huggingface.co/learner/my-gpt"


def test_public_is_set_only_after_the_upload(hub, exported):
    done = publish.push(exported, "learner/my-gpt", TOKEN, public=True)  # the owner may be typed too
    assert hub.methods() == ["whoami", "create_repo", "create_commit", "update_repo_settings"]
    assert hub.calls[1][1]["private"] is True and hub.calls[3][1]["private"] is False
    assert hub.repos == {"learner/my-gpt": False} and not done.private


@pytest.mark.parametrize(
    "name, says",
    [
        ("", "Type a name"),
        ("   ", "Type a name"),
        ("my gpt", "' '"),
        ("my/gpt/x", "more than one '/'"),
        ("-gpt", "starts or ends"),
        ("gpt.", "starts or ends"),
        ("my--gpt", "'--'"),
        ("my..gpt", "'--' or '..'"),
        ("gpt.git", ".git"),
        ("g" * 97, "at most 96"),
        ("émile", "'é'"),
        ("../../etc", "more than one '/'"),
        ("../etc", "starts or ends"),
    ],
)
def test_an_invalid_name_is_a_sentence_and_nothing_is_asked(hub, exported, name, says):
    with pytest.raises(UserError, match=re.escape(says)) as err:
        publish.push(exported, name, TOKEN)
    assert str(err.value).endswith(".")
    assert hub.calls == [] and hub.tokens == []  # refused before the Hub is asked anything


def test_names_the_hub_accepts_pass():
    assert publish.check_repo_name(" my-tiny_gpt.v2 ") == (None, "my-tiny_gpt.v2")
    assert publish.check_repo_name("learner/gpt") == ("learner", "gpt")


def test_an_existing_repo_is_a_sentence_and_nothing_is_uploaded(hub, exported):
    hub.repos["learner/my-gpt"] = False  # someone's public repo of that name
    with pytest.raises(UserError, match="learner/my-gpt already exists on the Hub: choose another name"):
        publish.push(exported, "my-gpt", TOKEN, public=True)
    assert hub.methods() == ["whoami", "create_repo"] and hub.uploaded == {}


def test_the_pushed_card_loads_the_model_by_its_repo_id(hub, exported):
    """The folder's card names the folder; the card on the Hub names the repo (the folder keeps its own)."""
    publish.push(exported, "my-gpt", TOKEN)
    card = hub.cards["learner/my-gpt"].decode()
    assert 'pipe = pipeline("text-generation", model="learner/my-gpt")\n' in card and "once pushed" not in card
    assert 'model="my-gpt")  # the folder, or its Hub id once pushed' in (exported / "README.md").read_text()


def test_the_hub_failing_mid_upload_deletes_the_empty_repo_it_created(hub, exported):
    hub.fail["create_commit"] = httpx2.ConnectError("connection reset by peer")
    with pytest.raises(UserError, match="The upload to learner/my-gpt failed .* the empty repo was deleted again"):
        publish.push(exported, "my-gpt", TOKEN, public=True)
    assert hub.methods() == ["whoami", "create_repo", "create_commit", "delete_repo"]  # never made public
    assert hub.repos == {}


def test_a_repo_that_cannot_be_deleted_either_stays_private_and_the_sentence_says_so(hub, exported):
    hub.fail["create_commit"] = http_error(500)
    hub.fail["delete_repo"] = http_error(403)
    with pytest.raises(UserError, match=r"HTTP 500\): the repo stays private; delete it or pick another name"):
        publish.push(exported, "my-gpt", TOKEN, public=True)
    assert hub.repos == {"learner/my-gpt": True}


@pytest.mark.parametrize(
    "status, says",
    [(401, "did not accept your login"), (403, "may not create or write repos")],
)
def test_a_refused_login_is_a_sentence(hub, exported, status, says):
    hub.fail["whoami"] = http_error(status)
    with pytest.raises(UserError, match=says):
        publish.push(exported, "my-gpt", TOKEN)
    assert hub.repos == {}


def test_an_unreachable_hub_is_a_sentence(hub, exported):
    hub.fail["whoami"] = OSError("Network is unreachable")
    with pytest.raises(UserError, match="Nothing was published: the Hugging Face Hub could not be reached"):
        publish.push(exported, "my-gpt", TOKEN)


def test_publishing_goes_only_under_the_learners_own_name(hub, exported):
    with pytest.raises(UserError, match="only under your own name"):
        publish.push(exported, "someone-else/my-gpt", TOKEN)
    assert hub.repos == {}


def test_a_folder_that_is_not_an_export_is_refused(hub, tmp_path):
    with pytest.raises(UserError, match="is not an exported model folder"):
        publish.push(tmp_path, "my-gpt", TOKEN)
    assert hub.calls == []


def files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_the_token_is_in_no_log_record_file_or_sentence(hub, exported, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, every level
    sentences = [str(publish.push(exported, "ok-1", TOKEN, public=True).url)]
    for method, error in [
        ("whoami", http_error(401)),
        ("create_repo", http_error(409)),
        ("create_commit", httpx2.ConnectError(f"failed with Bearer {TOKEN}")),  # even an error that carried it
        ("update_repo_settings", http_error(503)),
    ]:
        hub.fail = {method: error}
        hub.repos.pop("learner/ok-2", None)
        with pytest.raises(UserError) as err:
            publish.push(exported, "ok-2", TOKEN, public=True)
        sentences.append(str(err.value))
    assert len(caplog.records) >= 4  # the failures are logged (without the token)
    assert all(TOKEN not in r.getMessage() and TOKEN not in str(r.args) for r in caplog.records)
    assert all(TOKEN not in s for s in sentences)
    assert files_holding(tmp_path, TOKEN) == []


def test_the_cli_pushes_with_the_token_huggingface_hub_finds(hub, exported, capsys):
    assert main(["push", str(exported), "--repo", "my-gpt", "--public"]) == 0
    assert hub.tokens == [None]  # HfApi reads HF_TOKEN (or a saved login) itself
    assert "https://huggingface.co/learner/my-gpt (public)" in capsys.readouterr().out
    assert main(["push", str(exported), "--repo", "bad name"]) == 2
    assert "a Hub repo name uses only" in capsys.readouterr().err


@pytest.mark.slow
def test_the_cli_exports_a_checkpoint_before_pushing_it(hub, tmp_path, capsys):
    from playground.bundled import bundled_path

    assert main(["push", str(bundled_path("tiny-shakespeare-gpt")), "--repo", "shakespeare-gpt"]) == 0
    assert "exported" in capsys.readouterr().out
    assert {"config.json", "model.safetensors", "README.md", "tokenizer.json"} <= set(
        hub.uploaded["learner/shakespeare-gpt"]
    )
    assert hub.repos == {"learner/shakespeare-gpt": True}


@given(st.text(max_size=120) | st.from_regex(r"[A-Za-z0-9_.\-/]{0,100}", fullmatch=True))
@settings(max_examples=300, deadline=None)
def test_any_typed_name_is_accepted_as_huggingface_hub_would_or_refused_with_a_sentence(text):
    try:
        owner, name = publish.check_repo_name(text)
    except UserError as err:
        assert str(err).endswith(".") and "\n" not in str(err).strip()
        return
    validate_repo_id(f"{owner or 'learner'}/{name}")  # what passes here, huggingface_hub passes too
