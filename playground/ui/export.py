"""The Train tab's "Export and publish" part: one of this session's models as a standard transformers model (a zip
of the folder export.py writes, with its model card previewed), then pushed to the Hugging Face Hub under the
learner's own login; layout and wiring only (playground/export.py and playground/publish.py do the work).

The Hub login is Gradio's OAuth (`gr.LoginButton`, a handler taking `gr.OAuthToken`): offered where the app runs as
a Space with `hf_oauth: true` (README front matter). Elsewhere Gradio would mock it with the host's own token, or
refuse to start without one, so the button is left out and the page says how to push from the command line. The
token is read in the Publish handler and handed to publish.push: never kept in the session, a file or a link.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import weakref
import zipfile
from pathlib import Path
from typing import Any

import gradio as gr

from .. import export, publish, session
from ..budget import TOKENIZER_BYTES
from ..errors import UserError
from ..hub import hub_offline
from ..tiny.checkpoint import zip_folder
from .common import friendly, register_picker, session_id
from .train_form import BUDGET

EXPORT_FOLDER = "export"  # under the session's folder: the last export only (a new one replaces it)
LICENCES = ["apache-2.0", "mit", "cc-by-4.0", "cc0-1.0", "other"]
NO_GGUF = "none"
GGUF_CHOICES = [NO_GGUF, "f16", "q8_0"]
CHOOSE = "Choose one of this session's models (train one above, or upload a checkpoint zip)."
BUSY = (
    "A run of this session is training right now: pause or stop it first, then export (Stop saves it as a "
    "model of this session)."
)
OFFLINE = "The Hugging Face Hub cannot be reached from this server, so nothing can be published now; download the zip."
_locks: weakref.WeakKeyDictionary[session.Session, threading.Lock] = weakref.WeakKeyDictionary()


def login_offered() -> bool:
    """A Space with OAuth on (hf_oauth: true sets OAUTH_CLIENT_ID): only there is the login real."""
    return os.environ.get("SYSTEM") == "spaces" and bool(os.environ.get("OAUTH_CLIENT_ID"))


def needs_login() -> str:
    if login_offered():
        return "Publishing needs your Hugging Face login: press “Sign in with Hugging Face” above, then Publish."
    return (
        "Publishing needs a Hugging Face login, which this app offers when it runs as a Space; here, download the "
        "zip or run `python -m playground push CHECKPOINT --repo NAME` with HF_TOKEN set."
    )


def model_choices(sid: str | None) -> list[str]:
    own = session.peek(sid)
    return list(own.checkpoints) if own else []


def _checkpoint(own: session.Session | None, name: str | None) -> Path:
    if not name:
        raise UserError(CHOOSE)
    if own is None or name not in own.checkpoints:
        raise UserError(f"{name} is not a model of this session: train or upload one first.")
    return own.checkpoints[name]


def _stem(name: str) -> str:
    """The folder (and zip) name of an export: the model's name without this session's suffix."""
    return re.sub(r"[^\w.-]+", "-", name.removesuffix(session.SUFFIX)).strip("-.") or "model"


def _exported(own: session.Session | None, name: str | None) -> Path:
    """The folder the last Export wrote for this model (its card was previewed); UserError when there is none."""
    folder = _checkpoint(own, name)  # (a model of this session)
    assert own is not None
    exported = own.folder / EXPORT_FOLDER / _stem(name or "")
    if not (exported / export.CARD).is_file() or not folder.exists():
        raise UserError("Press Export first: what is published is the folder whose card you have read.")
    return exported


@friendly
def show_plan(name: str | None, request: gr.Request = None) -> tuple[str, Any]:
    """What the model exports as, or the sentence saying why it cannot be; the GGUF choice where GGUF is written."""
    if not name:
        return CHOOSE, gr.update(visible=False, value=NO_GGUF)
    p = export.plan_checkpoint(_checkpoint(session.peek(session_id(request)), name))
    gguf = p.target is not None and p.target.gguf
    return ("" if p.exportable else "⚠️ ") + p.sentence, gr.update(visible=gguf, value=NO_GGUF)


def export_bytes(weights: int, gguf: str | None) -> int:
    """An upper bound on one export: the weights again (float32, as ours), a GGUF file no larger than them, the
    tokenizer, card and curve."""
    return weights + (weights if gguf else 0) + TOKENIZER_BYTES


@friendly
def export_model(
    name: str | None, licence: str, gguf: str | None, request: gr.Request = None
) -> tuple[str | None, str, str, str]:
    """Export the chosen model into the session's folder (replacing the last export) and zip it: (the zip, the
    status, the card as Markdown, the loss curve as SVG)."""
    sid = session_id(request)
    own = session.get(sid)
    folder = _checkpoint(own, name)
    assert name is not None
    if own.busy():
        raise UserError(BUSY)
    fmt = None if gguf in (None, "", NO_GGUF) else gguf
    lock = _locks.setdefault(own, threading.Lock())
    if not lock.acquire(blocking=False):
        raise UserError("This session is exporting a model already; wait for it to finish.")
    try:
        done, made_room = _write(own, name, folder, licence or LICENCES[0], fmt)
    finally:
        lock.release()
    zipped = zip_folder(done.folder, done.folder.with_suffix(".zip"))
    card, curve = card_preview(done.folder)
    gguf_note = f" GGUF ({fmt}): {done.gguf_file.name}." if done.gguf_file else ""
    status = (
        f"{done.plan.sentence} Its logits match ours {export.matching(done.max_diff)} on real text.{gguf_note} "
        f"Read its card below before publishing. {made_room}"
    ).strip()
    return str(zipped), status, card, curve


def _write(own: session.Session, name: str, folder: Path, licence: str, gguf: str | None):
    """The export itself, with room made for it on disk first (the model exported is never the one removed)."""
    root = own.folder / EXPORT_FOLDER
    shutil.rmtree(root, ignore_errors=True)  # the last export goes: a session keeps one
    size = export_bytes((folder / "model.safetensors").stat().st_size, gguf)
    kept = name in own.kept
    own.kept.add(name)
    try:
        with own.writing():  # the folder and its zip here, and Gradio's copy of the zip
            made_room = session.reserve(own, 2 * size, BUDGET, served=size)
            done = export.export(folder, root / _stem(name), license=licence, gguf=gguf)
    finally:
        if not kept:
            own.kept.discard(name)
    return done, made_room


def card_preview(folder: Path) -> tuple[str, str]:
    """(the model card as the page renders it, the loss curve's SVG or ""): the front matter as a YAML block, the
    curve's image link (relative to the folder, which a page cannot follow) pointing at the curve shown above."""
    text = (folder / export.CARD).read_text()
    front, body = "", text
    if text.startswith("---\n"):
        end = text.index("\n---\n", 4)
        front, body = text[4:end], text[end + 5 :]
    body = body.replace(f"![validation loss]({export.CURVE})", "*(the loss curve: shown above this card)*")
    card = (f"```yaml\n{front}\n```\n" if front else "") + body
    curve_file = folder / export.CURVE
    svg = curve_file.read_text() if curve_file.is_file() else ""
    return card, svg.replace("<svg ", '<svg style="max-width: 100%; height: auto" ', 1)  # narrow columns: it shrinks


def check_name(repo: str | None) -> str:
    """The repo name, checked as it is typed."""
    if not (repo or "").strip():
        return ""
    try:
        owner, name = publish.check_repo_name(repo)
    except UserError as err:
        return f"⚠️ {err}"
    where = f"{owner}/{name}" if owner else f"your-name/{name}"
    return f"✓ It goes to **{where}** on the Hub, private unless you tick Public."


@friendly
def publish_model(
    name: str | None, repo: str | None, public: bool, oauth_token: gr.OAuthToken | None, request: gr.Request = None
) -> str:
    """Push the last export of the chosen model to the learner's own account (private first, then public if asked)."""
    folder = _exported(session.peek(session_id(request)), name)
    done = publish.push(folder, repo or "", _token(oauth_token), public=bool(public))
    return _published(done, "or type it into the Next Word or Fill Mask tab here")


@friendly
def publish_finetuned(
    repo: str | None, public: bool, oauth_token: gr.OAuthToken | None, request: gr.Request = None
) -> str:
    """Push the session's fine-tuned real BERT (the zip its run left: a BertForSequenceClassification folder) to
    the learner's own account, unpacked for the upload in a temporary folder of the session."""
    own = session.peek(session_id(request))
    zipped = own.finetuning.exported if own is not None else None
    if own is None or zipped is None or not zipped.is_file():
        raise UserError(
            "Fine-tune the English encoder first: its fine-tuned copy is what is published here (our own models "
            "are exported and published in the Train tab's Export and publish)."
        )
    if own.busy():
        raise UserError(BUSY)
    token = _token(oauth_token)
    with own.writing():
        made_room = session.reserve(own, zipped.stat().st_size, BUDGET)  # the unpacked copy, while it uploads
        with tempfile.TemporaryDirectory(dir=own.folder) as tmp:
            with zipfile.ZipFile(zipped) as zf:  # (our own zip: one folder, written by finetune/export.py)
                zf.extractall(tmp)
            (folder,) = Path(tmp).iterdir()
            done = publish.push(folder, repo or "", token, public=bool(public))
    said = _published(done, f'e.g. `pipeline("text-classification", model="{done.repo_id}")`')
    return f"{said} {made_room}".strip()


def _token(oauth_token: gr.OAuthToken | None) -> str:
    """The learner's login for one push (never kept); a sentence when there is none or the Hub is out of reach."""
    if oauth_token is None:
        raise UserError(needs_login())
    if hub_offline():
        raise UserError(OFFLINE)
    return oauth_token.token


def _published(done: publish.Published, how: str) -> str:
    """What the page says once published; `how`: where else the model can be used, after "by that id,"."""
    seen = "public" if not done.private else "private: only you see it until you make it public"
    return (
        f"Published as [{done.repo_id}]({done.url}) ({seen}). Anyone can load it with transformers by that id, {how}."
    )


def follow(chosen: str | None, request: gr.Request = None) -> Any:
    """The model chosen (or just saved) among this session's models, chosen here too."""
    return gr.update(choices=model_choices(session_id(request)), value=chosen or None)


def build(mine: gr.Dropdown) -> None:
    """The accordion, below this session's models (`mine`: choosing one there chooses it here)."""
    with gr.Accordion("Export and publish", open=False, elem_id="ex-accordion"):
        gr.Markdown(
            "Turn a model of this session into a standard transformers model (GPT-2, Arcee or Megatron-BERT, "
            "whichever computes exactly what ours does), with a model card, and publish it on the Hugging Face Hub."
        )
        model = gr.Dropdown([], label="Model to export", elem_id="ex-model", allow_custom_value=True)
        register_picker(model, model_choices)
        plan = gr.Markdown(CHOOSE, elem_id="ex-plan")
        with gr.Row():
            licence = gr.Dropdown(LICENCES, value=LICENCES[0], label="Licence of the weights", elem_id="ex-license")
            gguf = gr.Radio(GGUF_CHOICES, value=NO_GGUF, label="Also as GGUF", visible=False, elem_id="ex-gguf")
        go = gr.Button("Export", variant="primary", elem_id="ex-go")
        status = gr.Markdown(elem_id="ex-status")
        download = gr.DownloadButton("Download the exported model (zip)", elem_id="ex-download")
        curve = gr.HTML(elem_id="ex-curve")
        card = gr.Markdown(elem_id="ex-card", label="Model card")
        repo, public, publish_go, published = publish_row("ex", "my-tiny-gpt")
    private: dict[str, Any] = dict(api_visibility="private", queue=False)
    mine.change(follow, [mine], [model], **private)
    model.change(show_plan, [model], [plan, gguf], api_name="export_plan", queue=False)
    go.click(export_model, [model, licence, gguf], [download, status, card, curve], api_name="export_model")
    repo.change(check_name, [repo], [published], show_progress="hidden", **private)
    publish_go.click(publish_model, [model, repo, public], [published], api_name="publish_model")


def publish_row(
    prefix: str, placeholder: str, login: bool = True
) -> tuple[gr.Textbox, gr.Checkbox, gr.Button, gr.Markdown]:
    """The login (on a Space, where `login`), the repo name, Public, Publish and what it answers; elem ids
    `{prefix}-repo` etc."""
    gr.Markdown("**Publish to the Hub**: under your own account, private unless you tick Public.")
    if login_offered() and login:
        gr.LoginButton()
    elif not login_offered():
        gr.Markdown(needs_login(), elem_id=f"{prefix}-login-note")
    with gr.Row():
        repo = gr.Textbox(label="Repo name", placeholder=placeholder, elem_id=f"{prefix}-repo", scale=2)
        public = gr.Checkbox(False, label="Public (once every file is uploaded)", elem_id=f"{prefix}-public", scale=1)
        publish_go = gr.Button("Publish to the Hub", elem_id=f"{prefix}-publish", scale=1)
    return repo, public, publish_go, gr.Markdown(elem_id=f"{prefix}-published")


def build_finetuned() -> None:
    """Publishing the fine-tuned encoder, below the fine-tuning run (the login is the one in Export and publish)."""
    with gr.Accordion("Publish the fine-tuned model", open=False, elem_id="ftp-accordion"):
        gr.Markdown(
            "A fine-tuned English encoder is a transformers `BertForSequenceClassification` (the zip above); "
            "publish it under your own account, with its card."
            + (" Sign in with the button in **Export and publish** above." if login_offered() else "")
        )
        repo, public, publish_go, published = publish_row("ftp", "my-review-classifier", login=False)
    repo.change(check_name, [repo], [published], show_progress="hidden", api_visibility="private", queue=False)
    publish_go.click(publish_finetuned, [repo, public], [published], api_name="publish_finetuned")
