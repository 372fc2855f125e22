"""Fair CPU per session: one training-like job at a time (train, race, fine-tune, sweep), and a token bucket on
the heavy inference endpoints. Fast: no model trains here, the jobs only hold the session's lock."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
import pytest

from playground import limits
from playground.errors import UserError
from playground.limits import Bucket

SWEEP = ("sweeping label counts", "stop")  # how ui.finetune.run_sweep names its hold

# (start the first job, start the second) -> a context manager each; what the refusal names
JOBS = {
    "train": lambda s: s.training.hold(),
    "race": lambda s: s.racing.hold(),
    "fine-tune": lambda s: s.finetuning.hold(),
    "sweep": lambda s: s.finetuning.hold(*SWEEP),
}
NAMED = {
    "train": "training a model",
    "race": "racing two recipes",
    "fine-tune": "fine-tuning",
    "sweep": "sweeping label counts",
}
PAIRS = [("train", "race"), ("race", "train"), ("train", "fine-tune"), ("fine-tune", "train"),
         ("fine-tune", "sweep"), ("sweep", "fine-tune"), ("race", "sweep")]  # fmt: skip


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_a_second_job_is_refused_while_the_first_runs_and_allowed_after(sessions, first, second):
    own = sessions(f"job-{first}-{second}")
    with JOBS[first](own):
        with pytest.raises(UserError, match=f"already {NAMED[first]} .*first, or wait for it to end"):
            with JOBS[second](own):
                pass
        with pytest.raises(UserError, match="already"):  # the first still holds the lock: refused again
            with JOBS[second](own):
                pass
    with JOBS[second](own):  # the first ended: the second may run now
        pass


def test_the_first_job_is_unaffected_by_a_refused_one(sessions):
    own = sessions("job-first")
    with own.training.hold():
        with pytest.raises(UserError, match="already training a model"):
            with own.racing.hold():
                pass
        assert own.training.busy  # still training: its Pause and Stop still reach it
        assert own.training.pause() == "pausing"
        assert own.racing.state == "idle"  # the refused race never started
    assert not own.training.busy


def test_a_race_does_not_make_the_training_run_busy(sessions):
    """The lock is shared, the runs are not: Pause and Stop of an idle training run say so while a race runs."""
    own = sessions("job-race")
    with own.racing.hold():
        assert not own.training.busy
        assert own.training.pause() == "idle"
        assert own.training.stop().state == "idle"


def test_two_sessions_train_at_once(sessions):
    a, b = sessions("job-a"), sessions("job-b")
    with a.training.hold(), b.racing.hold():
        assert a.training.busy and b.racing.state == "preparing"


def test_the_refusal_of_a_training_says_pause_or_stop(sessions):
    own = sessions("job-words")
    with own.training.hold():
        with pytest.raises(UserError) as refused:
            with own.racing.hold():
                pass
    assert str(refused.value) == (
        "This session is already training a model (one training-like job at a time per session); pause or stop "
        "it first, or wait for it to end."
    )


# ---------------------------------------------------------------- the token bucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_refuses_past_its_size_and_refills_with_time():
    clock = Clock()
    bucket = Bucket(3, per_second=0.5, clock=clock)
    for _ in range(3):
        bucket.take("page")
    with pytest.raises(UserError, match=r"^Too many requests from this page: wait 2 seconds\.$"):
        bucket.take("page")
    clock.now += 1  # half a token back: not yet
    with pytest.raises(UserError, match="wait 1 second\\.$"):
        bucket.take("page")
    clock.now += 1
    bucket.take("page")  # one token back
    with pytest.raises(UserError, match=r"Too many requests from this page: wait \d+ seconds?\."):
        bucket.take("page")
    clock.now += 3600  # refilled, never past its size
    for _ in range(3):
        bucket.take("page")
    with pytest.raises(UserError, match="Too many requests from this page"):
        bucket.take("page")


def test_each_session_has_its_own_bucket_and_a_call_costs_what_it_runs():
    bucket = Bucket(3, per_second=1, clock=Clock())
    bucket.take("a", cost=3)  # Compare of three models
    with pytest.raises(UserError, match="wait 1 second"):
        bucket.take("a")
    bucket.take("b")  # another page is not held back
    bucket.take("c", cost=10)  # dearer than the whole bucket: it runs on a full one, never "wait forever"
    with pytest.raises(UserError, match="wait 3 seconds"):
        bucket.take("c", cost=10)


def test_no_session_is_not_paced():
    bucket = Bucket(1, per_second=1e-9, clock=Clock())
    for _ in range(5):
        bucket.take(None)  # a direct Python call (tests, the CLI): no request, no session


def test_full_buckets_are_forgotten():
    clock = Clock()
    bucket = Bucket(2, per_second=1, clock=clock, keys=5)
    for i in range(5):
        bucket.take(f"page-{i}")
    clock.now += 10  # all refilled
    bucket.take("last")
    assert list(bucket._levels) == ["last"]


@pytest.mark.parametrize("endpoint", ["inside", "lens", "compare"])
def test_the_heavy_endpoints_refuse_with_a_sentence(monkeypatch, endpoint):
    from playground.ui import compare, inside

    monkeypatch.setattr(limits, "INFERENCE", Bucket(2, per_second=0.1, clock=Clock()))
    request = SimpleNamespace(session_hash="flood")
    limits.INFERENCE.take("flood", 2)  # this page spent its bucket; no model is loaded below
    calls = {
        "inside": lambda: inside.handler("causal")("Hello there", "", request=request),
        "lens": lambda: inside.logit_lens("Hello there", "", -1, request=request),
        "compare": lambda: next(compare.handler("causal")("Hello there", ["a", "b"], request=request)),
    }
    with pytest.raises(gr.Error) as refused:
        calls[endpoint]()
    wait = 20 if endpoint == "compare" else 10  # Compare of two models costs two calls
    assert refused.value.message == f"Too many requests from this page: wait {wait} seconds."
