"""An exported model folder (export.py) pushed to the Hugging Face Hub under the learner's own name.

The order keeps a failure harmless: the repo is created private (a name already taken is refused before anything is
uploaded), the folder is uploaded as one commit, and only then, when the learner asked for it, the repo is made
public. The Hub going down mid-upload never leaves a half-published public repo: the empty private one this push
created is deleted again (or, where that fails too, left private and the sentence says so). The pushed card's
loading code names the repo, where the folder's names the folder.

The learner's token is handed to `HfApi(token=...)` and nowhere else: it is never logged, written to a file or put
in a sentence or a link (each failure's sentence is written here, never the exception's own text). Gradio-free: the
page passes the OAuth token, the CLI passes None (huggingface_hub then reads HF_TOKEN or the saved login itself).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, HFValidationError
from huggingface_hub.errors import HTTPError as HubHTTPError  # httpx's base: HTTP statuses and connection failures
from huggingface_hub.utils import validate_repo_id

from .errors import UserError
from .export import CARD, FOLDER_NOTE

log = logging.getLogger("playground.publish")

HUB = "https://huggingface.co"
MAX_NAME = 96  # huggingface_hub's validate_repo_id: a name (and an owner) is 1 to 96 characters
NAME_CHARS = re.compile(r"[A-Za-z0-9_.-]+")
NEEDED_FILES = ("config.json", CARD)  # a standard transformers folder with its model card
EXPORTED = "an exported model folder (python -m playground export CHECKPOINT DIR writes one)"
STAYS_PRIVATE = "the repo stays private; delete it or pick another name."
DELETED = "the empty repo was deleted again, so nothing is left on the Hub; publish again later."


@dataclass(frozen=True)
class Published:
    repo_id: str  # owner/name
    private: bool

    @property
    def url(self) -> str:
        return f"{HUB}/{self.repo_id}"


def name_problem(name: str) -> str:
    """Why `name` cannot be a Hub repo name ("" when it can): the rules huggingface_hub's validate_repo_id
    enforces (1 to 96 of letters, digits, '-', '_', '.'; no '-' or '.' first or last; no '--' or '..'; no '.git'
    ending), each said in words."""
    if not name:
        return "Type a name for the model's repo, e.g. my-tiny-gpt."
    if len(name) > MAX_NAME:
        return f"{name[:40]!r}… is {len(name)} characters; a Hub repo name has at most {MAX_NAME}."
    bad = sorted(set(NAME_CHARS.sub("", name)))
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        return f"{name!r} has {shown}: a Hub repo name uses only letters, digits, '-', '_' and '.'."
    if name[0] in "-." or name[-1] in "-.":
        return f"{name!r} starts or ends with '-' or '.', which a Hub repo name may not."
    if "--" in name or ".." in name:
        return f"{name!r} has '--' or '..', which a Hub repo name may not."
    if name.endswith(".git"):
        return f"{name!r} ends in '.git', which a Hub repo name may not."
    try:
        validate_repo_id(name)  # a backstop, should huggingface_hub's rules grow
    except HFValidationError:
        return f"{name!r} is not a valid Hub repo name."
    return ""


def check_repo_name(name: str | None) -> tuple[str | None, str]:
    """(owner or None, name) from what the learner typed ('name' or 'owner/name'); UserError saying which rule a
    part breaks."""
    text = (name or "").strip()
    parts = text.split("/")
    if len(parts) > 2:
        raise UserError(f"{text!r} has more than one '/': type the model's name, e.g. my-tiny-gpt.")
    for part in parts:
        problem = name_problem(part)
        if problem:
            raise UserError(problem)
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def check_folder(folder: str | Path) -> Path:
    """The folder, if it holds an exported model with its card; UserError otherwise."""
    folder = Path(folder)
    missing = [f for f in NEEDED_FILES if not (folder / f).is_file()]
    if not folder.is_dir() or missing:
        raise UserError(f"{folder.name or folder} is not {EXPORTED}: it lacks {', '.join(missing) or 'files'}.")
    return folder


def push(folder: str | Path, name: str, token: str | None, public: bool = False) -> Published:
    """Create `user/name` private, upload `folder` into it, then (public=True) make it public; the repo pushed.
    UserError with one sentence when the name is taken or invalid, the login is refused or the Hub fails."""
    owner, name = check_repo_name(name)
    folder = check_folder(folder)
    api = HfApi(token=token)  # token None: huggingface_hub reads HF_TOKEN or the saved login
    user = _hub_call(lambda: api.whoami()["name"], "", "finding your Hugging Face account")
    if owner is not None and owner != user:
        raise UserError(f"You can publish only under your own name: type {name!r}, and it goes to {user}/{name}.")
    repo_id = f"{user}/{name}"
    _hub_call(lambda: api.create_repo(repo_id, private=True, exist_ok=False, repo_type="model"), repo_id, "creating")
    try:
        _hub_call(
            lambda: api.create_commit(
                repo_id,
                operations=_files(folder, repo_id),
                commit_message="A model trained in Pretraining Playground",
                repo_type="model",
            ),
            repo_id,
            "uploading to",
        )
    except UserError as err:  # the repo was created for this push and holds nothing: it goes again where it can
        if _deleted(api, repo_id):
            raise UserError(str(err).replace(STAYS_PRIVATE, DELETED)) from None
        raise
    if public:  # only once every file is there: a failure before this point leaves the repo private
        _hub_call(lambda: api.update_repo_settings(repo_id, private=False, repo_type="model"), repo_id, "making public")
    log.info("published %s (%s)", repo_id, "public" if public else "private")
    return Published(repo_id, private=not public)


def _files(folder: Path, repo_id: str) -> list[CommitOperationAdd]:
    """The folder's files as one commit, the model card's loading code pointing at the repo instead of a folder."""
    card = (folder / CARD).read_text(encoding="utf-8")
    card = re.sub(rf'model="[^"\n]*"\)(\s*# {re.escape(FOLDER_NOTE)})?', f'model="{repo_id}")', card)
    files = [CommitOperationAdd(CARD, card.encode("utf-8"))]
    return files + [
        CommitOperationAdd(f.name, str(f)) for f in sorted(folder.iterdir()) if f.is_file() and f.name != CARD
    ]


def _deleted(api: HfApi, repo_id: str) -> bool:
    """Delete the repo this push created, after a failed upload; False (logged) when that fails too."""
    try:
        api.delete_repo(repo_id, repo_type="model")
    except (HfHubHTTPError, HubHTTPError, OSError) as err:
        log.warning("could not delete %s after a failed upload (%s)", repo_id, type(err).__name__)
        return False
    return True


def _hub_call(call, repo_id: str, doing: str):
    """`call()`'s answer; a Hub or network failure as one sentence (written here: the exception's own text is never
    shown or logged, so nothing the request carried can leak)."""
    try:
        return call()
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        log.warning("the Hub answered HTTP %s while %s %s", status, doing, repo_id or "the account")
        raise UserError(_http_sentence(status, repo_id, doing)) from None
    except (HubHTTPError, OSError) as err:  # refused, timed out, DNS, offline mode
        log.warning(
            "the Hub could not be reached while %s %s (%s)", doing, repo_id or "the account", type(err).__name__
        )
        raise UserError(_after(repo_id, doing, "the Hugging Face Hub could not be reached")) from None


def _http_sentence(status: int | None, repo_id: str, doing: str) -> str:
    if status == 401:
        return "The Hugging Face Hub did not accept your login (it may have expired): log in again and publish."
    if status == 403:
        return (
            "Your Hugging Face login may not create or write repos (it needs the write scope): log out, log in "
            "again and allow it, then publish."
        )
    if status == 409 and doing == "creating":
        return f"{repo_id} already exists on the Hub: choose another name (nothing was uploaded)."
    return _after(repo_id, doing, f"the Hugging Face Hub answered HTTP {status}")


def _after(repo_id: str, doing: str, what: str) -> str:
    """The sentence for a failure at one step, saying what the learner's repo is left as."""
    if doing == "uploading to":
        return f"The upload to {repo_id} failed ({what}): {STAYS_PRIVATE}"
    if doing == "making public":
        return f"{repo_id} was uploaded but stays private ({what}): make it public in its settings on the Hub."
    if doing == "creating":
        return f"{repo_id} could not be created ({what}); nothing was uploaded, try again later."
    return f"Nothing was published: {what}; try again later."
