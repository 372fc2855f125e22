"""One browser session's state, Gradio-free: its workspace folder, the checkpoints and tokenizers it made or
uploaded, and its training run. The UI keeps only the session id.

Keyed by Gradio's session hash, so one session can only ever name its own files: the UI looks names up in
the caller's Session, never by path. It also holds Next Word's step-by-step generation (text and KV cache). Each Session owns a private temp folder that `close` deletes; close
returns the checkpoint folders whose loaded models the caller drops from the model cache (this module does
not import the registry, which never sees a session: no import circle).

A reload starts a new session hash. So that a learner's work survives it, each Session has an unguessable
token which the browser keeps (the page stores it in its own localStorage); the new page hands it back and
`attach` joins the new session id to that Session. When a page goes (`leave`), its Session waits
GRACE_SECONDS for a reload before it is closed.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import workspace
from .budget import Budget, folder_bytes, free_bytes, megabytes, trim_files
from .errors import UserError
from .finetune.run import CLASSIFIER_FILE, FineTuning
from .limits import JobLock
from .tiny.checkpoint import export_zip, import_zip, load_checkpoint, read_config
from .tiny.race import Racing
from .tiny.run import TrainingRun
from .tiny.timeline import FOLDER as TIMELINE_FOLDER
from .tiny.timeline import INDEX as TIMELINE_INDEX
from .tiny.timeline import MAX_BYTES as TIMELINE_BYTES
from .tiny.timeline import MAX_PROBES, Probe, Timeline

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

SUFFIX = " · this session"
# the scrubber's name for the run in progress, with the step it paused at: paused again further on, it is a new
# choice, so the scrubber shows the new frame (one name for every pause kept showing the first)
CURRENT_RUN = "the paused run"
TIMELINES_KEPT = 4  # saved runs whose snapshots are kept (each up to timeline.MAX_BYTES on disk)  # marks a session's own models in the dropdowns
# a browser's session goes when its tab closes (unload); an API client may never say goodbye, so a
# session untouched this long is closed too (far longer than the longest training run)
IDLE_SECONDS = float(os.environ.get("PLAYGROUND_SESSION_IDLE_SECONDS", 6 * 3600))
# a session with a page but untouched this long counts as idle: its models may be removed to make room for others'
IDLE_TRIM_SECONDS = float(os.environ.get("PLAYGROUND_SESSION_TRIM_SECONDS", 10 * 60))
# how long a session whose pages all went away waits for a reload (or the same page opened again)
GRACE_SECONDS = float(os.environ.get("PLAYGROUND_SESSION_GRACE_SECONDS", 15 * 60))


@dataclass(eq=False)
class Session:
    folder: Path  # private temp folder: checkpoints, uploads, downloads
    checkpoints: dict[str, Path] = field(default_factory=dict)  # dropdown name -> checkpoint folder
    # the Tokenizer tab's tokenizers, by the name the Train tab offers them under
    tokenizers: dict[str, PreTrainedTokenizerFast] = field(default_factory=dict)
    trained: dict[str, Any] = field(default_factory=dict)  # kind -> the latest TrainedTokenizer of that kind
    latest: str | None = None  # the kind the Tokenizer tab's replay shows
    hub_tokenizer: str | None = None  # a Hub tokenizer id this session added to the comparison
    # Next Word's step-by-step generation (a next_word.Generation: its text and the model's KV cache); one per
    # session, so its memory is bounded by one context, and it goes when the session closes
    generation: Any = None
    runs: Counter[str] = field(default_factory=Counter)  # checkpoints added per name stem: my-gpt-1, ft-x-1, my-gpt-2
    notices: set[str] = field(default_factory=set)  # model notices already shown to this browser (once each)
    # task -> (the stand-in's name, why): a picker just moved to the model shown in place of one out of reach
    stand_ins: dict[str, tuple[str, str]] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)  # checkpoints the learner chose to keep: never removed to make room
    # the room `reserve` last made for a job (bytes) and the workspace's size then: until the job has written
    # them, other sessions' reservations count them too (two runs at once must not share the same free room)
    reserved: int = 0
    reserved_from: int = 0
    last_used: float = field(default_factory=time.monotonic)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # only its own browser knows it
    left_at: float | None = None  # when its last page went away; None while a page has it
    probes: list[Probe] = field(default_factory=list)  # the learner's own probes: every new run follows them too
    # the scrubber's timelines of saved runs, loaded once (their probe readings kept), by checkpoint name
    timelines: dict[str, tuple[Timeline, PreTrainedTokenizerFast]] = field(default_factory=dict)
    training: TrainingRun = field(init=False)
    finetuning: FineTuning = field(init=False)  # the side-by-side fine-tuning run of the Train tab
    racing: Racing = field(init=False)  # the Train tab's race of two recipes

    def __post_init__(self) -> None:
        job = JobLock()  # one training-like job at a time per session: train, fine-tune, sweep or race
        self.training = TrainingRun(self.new_folder, self.add_checkpoint, job)
        self.finetuning = FineTuning(self.new_folder, self.add_checkpoint, job)
        self.racing = Racing(job)

    def new_folder(self, prefix: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.folder))

    def add_checkpoint(self, folder: Path, label: str) -> str:
        """Register a checkpoint folder under a unique dropdown name; returns that name."""
        base = re.sub(r"[^\w.-]+", "-", label).strip("-") or "model"
        self.runs[base] += 1  # each kind counts on its own; the number after the last "-" keeps names unique
        name = f"{base}-{self.runs[base]}{SUFFIX}"
        self.checkpoints[name] = Path(folder)
        self._keep_timelines()
        return name

    def _keep_timelines(self) -> None:
        """Only the newest TIMELINES_KEPT saved runs keep their snapshots: each may take up to timeline.MAX_BYTES
        of disk, and a session may save many runs (the models themselves are all kept)."""
        with_timeline = [n for n, f in self.checkpoints.items() if (f / TIMELINE_FOLDER).is_dir()]
        for name in with_timeline[:-TIMELINES_KEPT]:
            shutil.rmtree(self.checkpoints[name] / TIMELINE_FOLDER, ignore_errors=True)
            self.timelines.pop(name, None)

    def timeline(self, name: str) -> tuple[Timeline, PreTrainedTokenizerFast]:
        """The timeline the scrubber shows: the paused run's (name CURRENT_RUN) or a saved run's."""
        if name.startswith(CURRENT_RUN):
            run = self.training.run
            if self.training.busy:
                raise UserError("The run is training: pause it to scrub through it.")
            if run is None or run.timeline is None or not run.timeline.frames:
                raise UserError("No run is paused: train one and pause it, or pick a saved run.")
            return run.timeline, run.tokenizer
        if name not in self.checkpoints:
            raise UserError("Pick one of this session's runs.")
        if name not in self.timelines:
            folder = self.checkpoints[name]
            timeline = Timeline.load(folder)
            if timeline is None:
                raise UserError(
                    f"{name.removesuffix(SUFFIX)} has no timeline: only the newest "
                    f"{TIMELINES_KEPT} runs trained here keep their snapshots."
                )
            self.timelines[name] = (timeline, load_checkpoint(folder)[1])
        return self.timelines[name]

    def keep_probe(self, probe: Probe) -> None:
        """A probe the learner added: the next runs follow it from their step 0 (the newest MAX_PROBES kept)."""
        self.probes = [*(p for p in self.probes if p != probe), probe][-MAX_PROBES:]

    def timeline_runs(self) -> list[str]:
        """The runs the scrubber can show: the paused one, then saved ones with a timeline, newest first."""
        run = self.training.run
        paused = [f"{CURRENT_RUN} (step {run.step})"] if run is not None and run.timeline is not None else []
        saved = [n for n, f in self.checkpoints.items() if (f / TIMELINE_FOLDER / TIMELINE_INDEX).is_file()]
        return paused + saved[::-1]

    def checkpoint_tasks(self, name: str) -> tuple[str, ...]:
        return tasks_of(self.checkpoints[name])

    def keep(self, name: str, keep: bool = True) -> None:
        """Mark a checkpoint to be kept (never removed to make room), or no longer."""
        if name not in self.checkpoints:
            raise UserError(f"{name} is not a model of this session.")
        (self.kept.add if keep else self.kept.discard)(name)

    def busy(self) -> bool:
        """Whether a run of this session is writing files (a race writes none)."""
        return self.training.busy or self.finetuning.busy

    def idle(self, now: float) -> bool:
        """No page has it, or none has used it for IDLE_TRIM_SECONDS: its models may go to make room for others'."""
        return self.left_at is not None or now - self.last_used > IDLE_TRIM_SECONDS

    def pending(self) -> int:
        """Reserved bytes its job has not written yet."""
        return max(0, self.reserved - (folder_bytes(self.folder) - self.reserved_from)) if self.reserved else 0

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A job that reserves room and writes: when it ends, what it wrote is on disk and counted as such."""
        try:
            yield
        finally:
            self.reserved = 0

    def make_room(self, incoming: int, budget: Budget) -> list[str]:
        """Remove this session's oldest checkpoints not kept until `incoming` more bytes fit its budget; the
        names removed. Refused with a sentence, before anything is written, when they cannot fit even so."""
        if incoming > budget.session:
            raise UserError(
                f"That would take about {megabytes(incoming)} of disk, more than the "
                f"{megabytes(budget.session)} a session may keep here: choose a smaller model "
                "(fewer layers, or narrower)."
            )
        removed = []
        while folder_bytes(self.folder) + incoming > budget.session:
            name = next((n for n in self.checkpoints if n not in self.kept), None)
            if name is None:
                raise UserError(
                    f"This session's kept models fill its {megabytes(budget.session)} of disk: "
                    "download one and untick Keep, then try again."
                )
            removed.append(self.remove(name))
        return removed

    def remove(self, name: str) -> str:
        """Delete a checkpoint's files (the model, its zip and timeline) and tell the model cache; its name."""
        folder = self.checkpoints.pop(name)
        self.timelines.pop(name, None)
        self.kept.discard(name)
        shutil.rmtree(folder.parent if folder.parent != self.folder else folder, ignore_errors=True)
        for callback in _on_close:
            callback([folder])
        return name

    def models_for(self, task: str) -> list[str]:
        """This session's checkpoints that can serve `task` ("causal", "masked" or "nsp")."""
        return [name for name in self.checkpoints if task in self.checkpoint_tasks(name)]

    def zip_of(self, name: str) -> Path:
        """A checkpoint of this session as a zip for download (safetensors + config + tokenizer), made once."""
        folder = self.checkpoints[name]
        stem = re.sub(r"[^\w.-]+", "-", name.removesuffix(SUFFIX)).strip("-")
        path = folder.parent / f"{stem}.zip"
        index = folder / TIMELINE_FOLDER / TIMELINE_INDEX
        if not path.exists() or (index.exists() and index.stat().st_mtime > path.stat().st_mtime):
            export_zip(folder, path)  # again when probes were read since: their results travel in the zip
        return path

    def import_zip(self, path: Path, max_bytes: int) -> str:
        """A checkpoint zip downloaded earlier becomes a checkpoint of this session again; returns its name."""
        size = Path(path).stat().st_size
        if size > max_bytes + TIMELINE_BYTES:  # the model, and its run's snapshots
            raise UserError(
                f"The file is {size / 1e6:,.1f} MB; a checkpoint here is at most {max_bytes / 1e6:,.0f} MB."
            )
        folder = import_zip(path, self.new_folder("upload") / "model", max_bytes)  # UserError saying what is wrong
        return self.add_checkpoint(folder, re.sub(r"-\d+$", "", Path(path).stem))  # my-gpt-1.zip -> my-gpt-<n>

    def close(self) -> list[Path]:
        """Stop its training, delete its folder; returns the checkpoint folders to drop from the model cache."""
        self.training.close()
        self.finetuning.close()
        self.racing.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return list(self.checkpoints.values())


def tasks_of(folder: Path) -> tuple[str, ...]:
    """Which model tabs a tiny checkpoint can serve: its config says causal or masked, and whether NSP; a fine-tuned
    one also classifies."""
    config, _ = read_config(folder)
    classify = ("classify",) if (Path(folder) / CLASSIFIER_FILE).exists() else ()
    if config.causal:
        return ("causal", *classify)
    return ("masked", "nsp", *classify) if "nsp" in config.heads else ("masked", *classify)


# ---------------------------------------------------------------- the sessions of this process

_sessions: dict[str, Session] = {}  # token -> session
_ids: dict[str, str] = {}  # session id -> token of its Session (a reload adds a second id)
_lock = threading.Lock()
_on_close: list[Callable[[Iterable[Path]], None]] = []  # told the checkpoint folders of each closed session


def on_close(callback: Callable[[Iterable[Path]], None]) -> None:
    """Call `callback(folders)` with a closed session's checkpoint folders (the UI drops their models)."""
    if callback not in _on_close:
        _on_close.append(callback)


def get(session_id: str | None) -> Session:
    """The Session of a session id, created on first use ("cli" when there is no browser session)."""
    key = session_id or "cli"
    with _lock:
        session = _sessions.get(_ids.get(key, ""))
        if session is None:
            session = Session(workspace.make("session"))  # names this process: a crash's leftover is swept
            _sessions[session.token] = session
            _ids[key] = session.token
        session.last_used = now = time.monotonic()
        expired = _expired(now)
    for other in expired:
        _close(other)
    return session


def peek(session_id: str | None) -> Session | None:
    """The Session if the id has one; never creates a folder."""
    with _lock:
        session = _sessions.get(_ids.get(session_id or "cli", ""))
        if session is not None:
            session.last_used = time.monotonic()
        return session


def attach(session_id: str, token: str | None) -> str:
    """A reloaded page hands back its Session's token: the id joins that Session (if it is still kept) and the
    token to keep is returned. An unknown or expired token gives the id a Session of its own."""
    with _lock:
        session = _sessions.get(token or "")
        if session is not None:
            previous = _ids.get(session_id)
            _ids[session_id] = session.token
            session.last_used, session.left_at = time.monotonic(), None
            if previous and previous != session.token and previous in _sessions:
                _park(_sessions[previous])  # made by this page's first events before it attached: no work yet
            return session.token
    return get(session_id).token


def leave(session_id: str | None) -> None:
    """A page went away (closed or reloading): once its last page has left, its training pauses, and the Session
    is closed GRACE_SECONDS later unless a reload attaches to it first."""
    with _lock:
        token = _ids.pop(session_id or "cli", None)
        if token in _sessions:
            _park(_sessions[token])
            if _sessions[token].left_at is not None:
                _sessions[token].training.pause()  # nobody watches: free its place, keep it for a reload
    timer = threading.Timer(GRACE_SECONDS + 1, close_expired)
    timer.daemon = True
    timer.start()


def close_expired() -> None:
    """Close the Sessions whose grace period or idle limit has passed."""
    with _lock:
        expired = _expired(time.monotonic())
    for session in expired:
        _close(session)


def release(session_id: str | None) -> None:
    """Close a session id's Session now: its training stops, its folder goes, its models are dropped."""
    with _lock:
        session = _sessions.get(_ids.get(session_id or "cli", ""))
        if session is None:
            return
        _forget(session)
    _close(session)


def count() -> int:
    with _lock:
        return len(_sessions)


def reserve(session: Session, incoming: int, budget: Budget | None = None, served: int = 0) -> str:
    """Room for `incoming` bytes this session is about to write, and `served` more that Gradio will copy into its
    cache to serve (a zip for the download button): within the session's budget (its oldest models not kept go
    first), then within the server's, trimming Gradio's older copies, then idle sessions, the least recently
    used first. Returns a sentence naming what went ("" when nothing did); a UserError, before anything is
    written, when the room cannot be made."""
    budget = budget or Budget.from_env()
    mine = session.make_room(incoming, budget)
    others = _make_global_room(session, incoming + served, budget)
    session.reserved, session.reserved_from = incoming + served, folder_bytes(session.folder)
    said = []
    if mine:
        said.append(
            f"To stay within this session's {megabytes(budget.session)} of disk, {', '.join(mine)} "
            f"{'was' if len(mine) == 1 else 'were'} removed (the oldest not marked Keep)."
        )
    if others:
        said.append(f"To make room on the server, {len(others)} idle model(s) of other visitors were removed.")
    return " ".join(said)


FULL = "The server is full right now: download your models, or try again later."
DOWNLOAD_SECONDS = 120  # how long a download Gradio just copied is spared by the trimming


def _make_global_room(session: Session, incoming: int, budget: Budget) -> list[str]:
    """Trim other, idle sessions (no page first, then the least recently used; never one in use: `idle`) until
    `incoming` fits the total and leaves the free-space floor; their removed models' names. UserError when it
    still does not fit."""
    now = time.monotonic()
    with _lock:
        idle = (s for s in _sessions.values() if s is not session and not s.busy() and s.idle(now))
        others = sorted(idle, key=lambda s: (s.left_at is None, s.last_used))
        every = list(_sessions.values())
    cache = workspace.own_gradio_cache()  # Gradio's copies of the zips it served (each run's, for its button)
    used = sum(folder_bytes(s.folder) + (s.pending() if s is not session else 0) for s in every)
    used += folder_bytes(cache) if cache else 0
    free = free_bytes(session.folder)

    def fits() -> bool:
        return used + incoming <= budget.total and free - incoming >= budget.free_floor

    if cache is not None and not fits():  # copies go first, the oldest first: the next download copies again
        # a copy made in the last DOWNLOAD_SECONDS is a button a page just showed: the click must find it
        excess = max(used + incoming - budget.total, budget.free_floor - free + incoming)
        freed = trim_files(cache, excess, spare_seconds=DOWNLOAD_SECONDS)
        used, free = used - freed, free + freed
    removed = []
    for other in others:
        while not fits() and any(n not in other.kept for n in other.checkpoints):
            before = folder_bytes(other.folder)
            removed.append(other.remove(next(n for n in other.checkpoints if n not in other.kept)))
            freed = before - folder_bytes(other.folder)
            used, free = used - freed, free + freed
    if not fits():
        raise UserError(FULL)
    return removed


def _park(session: Session) -> None:
    """(under the lock) Start the grace period of a Session no page has any more."""
    if session.token not in _ids.values():
        session.left_at = time.monotonic()


def _expired(now: float) -> list[Session]:
    """(under the lock) Take out the Sessions past their grace period or idle limit."""
    gone = [
        s
        for s in _sessions.values()
        if now - s.last_used > IDLE_SECONDS or (s.left_at is not None and now - s.left_at > GRACE_SECONDS)
    ]
    for s in gone:
        _forget(s)
    return gone


def _forget(session: Session) -> None:
    """(under the lock) Drop a Session and every session id that names it."""
    _sessions.pop(session.token, None)
    for key in [k for k, token in _ids.items() if token == session.token]:
        del _ids[key]


def _close(session: Session) -> None:
    folders = session.close()
    for callback in _on_close:
        callback(folders)
