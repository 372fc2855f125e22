"""Fine-tuning: heads and inputs, the no-leak split, CSV checks, the side-by-side run. Offline throughout; the
Hub dataset path runs against a mocked `datasets.load_dataset`."""

from __future__ import annotations

import copy
import math
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from playground import registry
from playground.errors import UserError
from playground.finetune import run as run_module
from playground.finetune import tasks
from playground.finetune.heads import ADDED, Classifier, Encoded, scratch_copy
from playground.finetune.run import (
    FineTuneConfig,
    FineTuneProgress,
    FineTuneTrainer,
    FineTuning,
    load_classifier,
    predict,
    save_classifier,
)
from playground.model_cache import ModelCache
from playground.tiny import paused
from playground.tiny import run as tiny_run
from playground.tiny.checkpoint import export_zip

from .narrow import of_type, present


@pytest.fixture(scope="module")
def bert():
    return registry.load("tiny-english-bert", "masked")


@pytest.fixture(scope="module")
def gpt():
    return registry.load("tiny-shakespeare-gpt", "causal")


def toy_task(pair: bool = False, n: int = 60) -> tasks.Task:
    """An easy task: is the animal a cat or a dog? (the label is a word in the text)"""
    rows = []
    for i in range(n):
        animal = "cat" if i % 2 else "dog"
        text = f"the {animal} number {i} sat by the door and slept"
        rows.append([text, "and then it woke up", animal] if pair else [text, animal])
    return tasks._task_from_rows(rows, pair, "toy", 0.25)


# ---------------------------------------------------------------- heads and inputs


@pytest.mark.parametrize("which", ["bert", "gpt"])
def test_head_output_shapes(which, bert, gpt, request):
    loaded = bert if which == "bert" else gpt
    clf = Classifier(copy.deepcopy(loaded.model), loaded.tokenizer, ("a", "b", "c"))
    assert clf.kind == which
    enc = clf.encode(["one short text", "a somewhat longer text than that"], ["and a second", "part"])
    assert clf(enc).shape == (2, 3)
    assert clf.features(enc).shape == (2, loaded.model.config.n_embd)


def test_bert_pair_is_cls_a_sep_b_sep_with_segments(bert):
    seen = Classifier(copy.deepcopy(bert.model), bert.tokenizer, ("x", "y")).seen("It rained.", "We stayed in.")
    assert seen.tokens[0] == "[CLS]" and seen.tokens.count("[SEP]") == 2 and seen.tokens[-1] == "[SEP]"
    first_sep = seen.tokens.index("[SEP]")
    assert seen.token_type_ids == [0] * (first_sep + 1) + [1] * (len(seen.tokens) - first_sep - 1)
    assert seen.read_at == 0


def test_gpt1_pair_has_start_delimiter_and_extract(gpt):
    clf = Classifier(copy.deepcopy(gpt.model), gpt.tokenizer, ("x", "y"))
    a, b = "To be or not", "that is the question"
    seen = clf.seen(a, b)
    n_a = len(gpt.tokenizer(a, add_special_tokens=False).input_ids)
    assert seen.tokens[0] == "<start>"
    assert seen.tokens[1 + n_a] == "<delim>"
    assert seen.tokens[-1] == "<extract>" and seen.read_at == len(seen.tokens) - 1
    base = gpt.model.config.vocab_size  # the added tokens are new ids past the body's own table
    assert [seen.ids[0], seen.ids[1 + n_a], seen.ids[-1]] == [base, base + 1, base + 2]
    assert seen.tokens.count("<delim>") == 1 and len(ADDED) == 3
    one = clf.seen(a)  # one text: start, A, extract
    assert one.tokens[0] == "<start>" and one.tokens[-1] == "<extract>" and "<delim>" not in one.tokens


def test_gpt_reads_the_extract_token_of_each_padded_row(gpt):
    clf = Classifier(copy.deepcopy(gpt.model), gpt.tokenizer, ("x", "y")).eval()
    short, long = "Hi", "A much longer line of verse than the first"
    batch = clf.features(clf.encode([short, long]))
    alone = clf.features(clf.encode([short]))
    torch.testing.assert_close(batch[0], alone[0], atol=1e-4, rtol=1e-4)  # padding on the right changes nothing


# ---------------------------------------------------------------- the split


@pytest.mark.slow
def test_who_wrote_it_split_leaks_no_document():
    task = tasks.who_wrote_it()
    train_docs, val_docs = task.documents["train"], task.documents["val"]
    assert train_docs and val_docs and not train_docs & val_docs
    assert {e.document for e in task.train} <= train_docs
    assert {e.document for e in task.val} <= val_docs
    assert {e.label for e in task.val} == set(range(len(task.labels))) == {0, 1, 2, 3}
    # no passage text is on both sides either
    assert not {e.text for e in task.train} & {e.text for e in task.val}


@pytest.mark.slow
def test_pair_task_split_leaks_no_document_and_is_balanced():
    task = tasks.continues()
    assert task.pair and not task.documents["train"] & task.documents["val"]
    assert {e.document for e in task.val} <= task.documents["val"]
    assert {e.document for e in task.train} <= task.documents["train"]
    val_texts = {e.text_b for e in task.val} | {e.text for e in task.val}
    assert not val_texts & ({e.text_b for e in task.train} | {e.text for e in task.train})
    labels = [e.label for e in task.val]
    assert labels.count(tasks.CONTINUES) == labels.count(tasks.RANDOM)


def test_the_verdict_task_is_about_structure_not_words():
    """Both classes use the same words, so a bag-of-words classifier (naive Bayes on the training pool) stays near
    chance on validation; the split holds whole reviewed things out."""
    task = tasks.verdict()
    assert not task.documents["train"] & task.documents["val"]
    assert {e.document for e in task.val} <= task.documents["val"] and len(task.val) == 400
    assert [e.label for e in task.val].count(0) == 200
    held_out = {d.split(": ")[1] for d in task.documents["val"]}
    assert not any(thing in e.text.lower() for e in task.train for thing in held_out if " " not in thing)
    counts: list[Counter[str]] = [Counter(), Counter()]
    for e in task.train:
        counts[e.label].update(re.findall(r"[a-z]+", e.text.lower()))
    total = [sum(c.values()) for c in counts]

    def score(text: str, label: int) -> float:
        return sum(
            math.log((counts[label][w] + 1) / (total[label] + 1000)) for w in re.findall(r"[a-z]+", text.lower())
        )

    hits = sum(max((0, 1), key=lambda label: score(e.text, label)) == e.label for e in task.val)
    assert 0.4 < hits / len(task.val) < 0.6  # chance is 0.5
    assert "The film was dull, not charming." not in {e.text for e in task.train}  # the film is held out
    assert any(e.label == 1 and e.text.endswith("it was bad.") for e in task.train)


def test_sample_is_balanced_and_seeded():
    task = toy_task(n=80)
    picked = task.sample(16, seed=3)
    assert sorted(e.label for e in picked) == [0] * 8 + [1] * 8
    assert picked == task.sample(16, seed=3) and picked != task.sample(16, seed=4)
    with pytest.raises(UserError, match="at most"):
        task.sample(10_000, seed=0)


# ---------------------------------------------------------------- CSV checks


def write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def good_rows(n: int = 12) -> str:
    return "".join(f"text number {i},{'pos' if i % 2 else 'neg'}\n" for i in range(n))


def test_csv_reads_single_texts_and_pairs(tmp_path):
    task = tasks.from_csv(write(tmp_path, "text,label\n" + good_rows()))
    assert task.labels == ("neg", "pos") and not task.pair
    assert len(task.train) + len(task.val) == 12 and not {e.document for e in task.train} & task.documents["val"]
    pairs = "text_a,text_b,label\n" + "".join(f"a {i},b {i},{i % 3}\n" for i in range(15))
    task = tasks.from_csv(write(tmp_path, pairs))
    assert task.pair and task.labels == ("0", "1", "2") and task.train[0].text_b


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sentence,category\n" + good_rows(), "header row with the columns text,label"),
        ("text,label\n" + "".join(f"t{i},same\n" for i in range(12)), "at least two different labels"),
        ("text,label\na,x\nb,y\n", "fine-tuning needs at least 10"),
        (b"text,label\n" + "caf\xe9,x\n".encode("latin-1") * 12, "not UTF-8"),
        ('text,label\n"unclosed,x\n' + good_rows(), "malformed"),
        ("text,label\n" + good_rows() + "only one field\n", "Line 14 has 1 fields"),
        ("text,label\n" + good_rows() + ",pos\n", "Line 14 has an empty text"),
        ("text,label\n" + good_rows() + "lonely,odd\n", "'odd' has only one example"),
        ("", "empty"),
    ],
)
def test_csv_refusals_say_what_to_fix(tmp_path, content, message):
    with pytest.raises(UserError, match=message):
        tasks.from_csv(write(tmp_path, content))


def test_csv_too_large(tmp_path):
    with pytest.raises(UserError, match="at most 0 MB"):
        tasks.from_csv(write(tmp_path, "text,label\n" + good_rows()), max_bytes=10)


def test_hub_dataset_offline_says_so_and_mocked_hub_reads_columns(monkeypatch):
    with pytest.raises(UserError, match="cannot be reached"):
        tasks.from_hub("glue", "sst2", offline=True)
    import datasets

    rows = {
        "train": [{"sentence": f"good film {i}" if i % 2 else f"bad film {i}", "label": i % 2} for i in range(30)],
        "validation": [{"sentence": "fine", "label": 1}, {"sentence": "awful", "label": 0}],
    }
    monkeypatch.setattr(datasets, "load_dataset", lambda name, config, split, streaming: iter(rows[split]))
    task = tasks.from_hub("glue", "sst2", offline=False)  # a mocked Hub: no network in tests
    assert task.labels == ("0", "1") and len(task.train) == 30 and len(task.val) == 2

    class Stream(list):  # a streamed split whose label column is a ClassLabel with names
        features = {"label": datasets.ClassLabel(names=["negative", "positive"])}

    monkeypatch.setattr(datasets, "load_dataset", lambda name, config, split, streaming: Stream(rows[split]))
    task = tasks.from_hub("glue", "sst2", offline=False)
    assert task.labels == ("negative", "positive") and {e.label for e in task.val} == {0, 1}


# ---------------------------------------------------------------- the side-by-side run


def test_same_seed_same_head_and_same_batches(bert):
    cfg = FineTuneConfig(labels=16, steps=3, log_every=1, eval_every=100, seed=7)
    run = FineTuneTrainer(cfg, bert.model, bert.tokenizer, toy_task())
    pre, scratch = run.models["pretrained"], run.models["scratch"]
    torch.testing.assert_close(pre.head.weight, scratch.head.weight, rtol=0, atol=0)
    fresh = scratch_copy(bert.model, 7)  # the scratch body is the seeded random init of the same architecture
    for a, b in zip(fresh.state_dict().values(), scratch.body.state_dict().values()):
        assert torch.equal(a, b)
    fed: dict[str, list] = {"pretrained": [], "scratch": []}
    for side, model in run.models.items():
        model.register_forward_pre_hook(lambda _m, args, side=side: fed[side].append(args[0].input_ids.clone()))
    list(run.advance())
    # 3 training batches, then the validation set at the last step: the same tensors, in the same order
    assert len(fed["pretrained"]) == 4 and all(torch.equal(a, b) for a, b in zip(fed["pretrained"], fed["scratch"]))


@pytest.mark.slow
def test_loss_falls_in_a_few_dozen_steps(bert):
    cfg = FineTuneConfig(labels=32, steps=30, log_every=5, eval_every=30, lr=1e-3)
    events = list(FineTuneTrainer(cfg, bert.model, bert.tokenizer, toy_task()).advance())
    assert present(events[-1].train_loss) < 0.5 * present(events[0].train_loss)
    assert events[-1].metrics["accuracy"] >= 0.9


def test_evaluations_before_the_last_read_a_fixed_balanced_subset(bert):
    """Intermediate evaluations read the same label-balanced subset of the validation set (two models on 400 long
    passages cost more than the steps between them); the last one, and the final event, read all of it."""
    task = toy_task(n=200)
    subset = task.val_subset(20)
    assert subset == task.val_subset(20) and len(subset) == 20
    assert sorted(ex.label for ex in subset) == [0] * 10 + [1] * 10
    assert task.val_subset(len(task.val)) == task.val and len(task.val) == 50
    cfg = FineTuneConfig(labels=16, steps=4, log_every=1, eval_every=2, eval_examples=20)
    run = FineTuneTrainer(cfg, bert.model, bert.tokenizer, task)
    evaluate = run.evaluate

    def slow_evaluate(val=None, batch=64):  # each evaluation takes at least 0.1 s, to see it on the clocks
        time.sleep(0.1)
        return evaluate(val, batch)

    run.evaluate = slow_evaluate  # type: ignore[method-assign]  # the same evaluation, made measurably slow
    events = [of_type(e, FineTuneProgress) for e in run.advance()]
    assert [e.evaluated for e in events] == [0, 20, 0, 50]
    # both evaluations count as evaluation time, the last one too, and are on the clock its event shows
    assert run.eval_seconds >= 0.2 and events[-1].elapsed >= 0.2
    final = run.finish()
    assert final.evaluated == 50 and final.metrics == events[-1].metrics
    assert "accuracy on 20 held-out examples" in " · ".join(events[1].describe())


def test_frozen_body_is_bit_identical_after_training(gpt):
    cfg = FineTuneConfig(labels=16, steps=5, freeze=True, log_every=5, eval_every=5)
    run = FineTuneTrainer(cfg, gpt.model, gpt.tokenizer, toy_task(pair=True))
    before = {k: v.clone() for k, v in run.models["pretrained"].body.state_dict().items()}
    head = run.models["pretrained"].head.weight.clone()
    added = present(run.models["pretrained"].added).clone()
    list(run.advance())
    after = run.models["pretrained"].body.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not torch.equal(head, run.models["pretrained"].head.weight)  # the head did learn
    # GPT-1's added tokens keep their random vectors: in a linear probe only the head learns
    assert torch.equal(added, present(run.models["pretrained"].added))


def test_a_frozen_body_reads_each_example_once_with_the_same_scores(gpt):
    """A linear probe keeps each example's features: later steps and evaluations cost no body pass, and the
    kept features give the scores a fresh forward pass gives."""
    cfg = FineTuneConfig(labels=16, steps=6, batch_size=8, freeze=True, log_every=3, eval_every=3)
    task = toy_task()
    run = FineTuneTrainer(cfg, gpt.model, gpt.tokenizer, task)
    read: list[int] = []
    for model in run.models.values():

        def counted(enc: Encoded, original: Callable[[Encoded], torch.Tensor] = model.features) -> torch.Tensor:
            read.append(len(enc.input_ids))
            return original(enc)

        model.features = counted  # type: ignore[method-assign]  # this instance's, counting; `del` below restores it
    list(run.advance())
    assert sum(read) == 2 * (16 + len(task.val))  # both models, each example once
    model = run.models["pretrained"]
    enc, _ = run.encode(task.val[:5])
    del model.features  # the class's own forward again
    torch.testing.assert_close(run.logits("pretrained", task.val[:5]), model(enc), atol=1e-5, rtol=1e-5)


def test_the_cached_model_is_never_trained_in_place(bert):
    before = [p.clone() for p in bert.model.parameters()]
    list(
        FineTuneTrainer(
            FineTuneConfig(labels=16, steps=2, eval_every=100), bert.model, bert.tokenizer, toy_task()
        ).advance()
    )
    assert all(torch.equal(a, b) for a, b in zip(before, bert.model.parameters()))


def test_predict_save_load_and_zip(bert, tmp_path):
    cfg = FineTuneConfig(labels=16, steps=2, eval_every=100)
    run = FineTuneTrainer(cfg, bert.model, bert.tokenizer, toy_task())
    list(run.advance())
    final = run.finish()
    probs = predict(final.classifiers, "the cat sat")
    assert set(probs) == {"pretrained", "scratch"}
    assert all(abs(sum(p.values()) - 1) < 1e-5 and set(p) == {"cat", "dog"} for p in probs.values())
    folder = save_classifier(tmp_path / "ft", final.classifiers["pretrained"], {"task": "toy"})
    back = load_classifier(folder)
    assert back.predict("the cat sat") == pytest.approx(probs["pretrained"], abs=1e-5)
    import zipfile

    names = zipfile.ZipFile(export_zip(folder, tmp_path / "ft.zip")).namelist()
    assert "classifier.safetensors" in names


def test_session_fine_tuning_saves_into_the_session(bert, tmp_path):
    added: dict[str, Path] = {}

    def keep(folder: Path, label: str) -> str:
        added.setdefault(label, folder)
        return label

    ft = FineTuning(lambda prefix: Path(tmp_path / prefix), keep)
    cfg = FineTuneConfig(labels=16, steps=4, eval_every=100)
    with ft.hold():
        ft.begin(FineTuneTrainer(cfg, bert.model, bert.tokenizer, toy_task()), "toy", ft.limits)
        gen = ft.train(max_steps=2)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            assert stop.value.state == "paused" and present(ft.run).step == 2
    outcome = ft.stop()
    assert outcome.state == "saved" and (present(outcome.folder) / "classifier.safetensors").exists()
    assert present(outcome.final).done and present(outcome.final).stopped


def _finished(bert, tmp_path: Path, name: str) -> FineTuning:
    """A session's FineTuning whose 2-step run on the toy task finished (Stop saved it)."""
    ft = FineTuning(lambda prefix: Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_path)), lambda folder, label: name)
    with ft.hold():
        ft.begin(
            FineTuneTrainer(FineTuneConfig(labels=16, steps=2, eval_every=100), bert.model, bert.tokenizer, toy_task()),
            "toy",
            ft.limits,
        )
        list(ft.train())
    return ft


def test_all_sessions_kept_fine_tuned_models_are_bounded(bert, tmp_path, monkeypatch):
    """Each session's last fine-tuned pair stays for Try it within one process-wide budget: past it the least
    recently tried pair is set aside and its session hears why; closing a session frees its pair."""
    first = _finished(bert, tmp_path, "a")
    pair = first.classifiers()
    monkeypatch.setattr(
        run_module, "_kept", ModelCache(int(1.5 * run_module._pair_bytes(pair)), run_module._pair_bytes)
    )
    first._keep(pair)  # into the small budget
    second = _finished(bert, tmp_path, "b")
    with pytest.raises(UserError, match="set aside to free the server's memory for other visitors: fine-tune again"):
        first.classifiers()
    assert set(second.classifiers()) == {"pretrained", "scratch"}
    assert run_module._kept.size <= run_module._kept.budget
    second.close()
    assert run_module._kept.size == 0


def _paused(bert, tmp_path: Path, name: str) -> FineTuning:
    """A session's FineTuning paused after one step on the toy task (the whole model learning)."""
    ft = FineTuning(lambda prefix: Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_path)), lambda folder, label: name)
    with ft.hold():
        cfg = FineTuneConfig(labels=16, steps=4, eval_every=100)
        ft.begin(FineTuneTrainer(cfg, bert.model, bert.tokenizer, toy_task()), "toy", ft.limits)
        list(ft.train(max_steps=1))
    assert present(ft.run).step == 1
    return ft


def _settled(ft: FineTuning) -> None:
    """Wait for a run set aside to be saved (in the background)."""
    deadline = time.monotonic() + 120
    while ft.busy and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not ft.busy


def test_a_paused_run_holds_no_gradients_and_its_size_counts_adams_two_moments(bert, tmp_path):
    ft = _paused(bert, tmp_path, "a")
    run = of_type(ft.run, FineTuneTrainer)
    assert all(p.grad is None for m in run.models.values() for p in m.parameters())  # the next step makes new ones
    weights = sum(p.numel() * 4 for m in run.models.values() for p in m.parameters())  # float32
    moved = [p for opt in run.side_optimizers.values() for p in opt.state]  # the weights Adam has moments for
    learning = sum(p.numel() * 4 for p in moved)
    assert learning > 0.9 * weights  # the whole model learns (a few weights, e.g. the unused MLM head, get none)
    models = sum(run_module.module_bytes(m) for m in run.models.values())
    extra = run.held_bytes() - models - 2 * learning  # Adam's step counts, one scalar per weight tensor
    assert 0 <= extra <= 8 * len(moved)
    ft.close()


def test_all_sessions_paused_fine_tunings_share_one_budget(bert, tmp_path, monkeypatch):
    """Past the budget a new pause sets aside other sessions' longest-paused runs (never its own, never one that
    resumed): each is saved as Stop saves it, in the background, and its page is told why once."""
    first, second = _paused(bert, tmp_path, "a"), _paused(bert, tmp_path, "b")
    one = present(first.run).held_bytes()
    monkeypatch.setattr(paused, "PAUSED", paused.PausedRuns(int(2.5 * one)))
    for ft in (first, second):  # recorded in the small budget's order
        paused.PAUSED.paused(ft, tiny_run._set_aside_notice)
    assert paused.PAUSED.size == 2 * one
    go_on, paused_run = threading.Event(), of_type(first.run, FineTuneTrainer)
    finish = paused_run.finish

    def held_mid_save() -> FineTuneProgress:  # the save has let go of the run and waits here until we go on
        go_on.wait(60)
        return finish()

    monkeypatch.setattr(paused_run, "finish", held_mid_save)
    third = _paused(bert, tmp_path, "c")  # 3 paused > 2.5: the longest paused goes
    with pytest.raises(UserError, match="saving its fine-tuned model; try again in a moment"):
        first.classifiers()
    go_on.set()
    _settled(first)
    assert first.run is None and second.run is not None and third.run is not None
    ended = present(first.ended)
    assert ended.state == "saved" and ended.name == "a" and present(ended.final).stopped
    kept_run = of_type(ended.run, FineTuneTrainer)  # held until its page looks: without Adam's state
    assert not any(opt.state for opt in kept_run.side_optimizers.values())
    assert "this run was stopped at step 1 to free the server's memory" in ended.notice
    assert first.stop() is ended and first.take_ended() is None  # told once; Stop shows it
    assert set(first.classifiers()) == {"pretrained", "scratch"}  # what it learned stays for Try it
    assert paused.PAUSED.size == 2 * one

    paused.PAUSED.budget = int(1.5 * one)
    with second.hold():  # resumed (running: it holds one of the training places, not a paused one's memory)
        fourth = _paused(bert, tmp_path, "d")
        _settled(third)
        assert second.run is not None and third.run is None and present(third.ended).name == "c"
    for ft in (first, second, third, fourth):
        ft.close()
    assert paused.PAUSED.size == 0  # a closed session's run is no longer counted


@pytest.mark.slow
def test_time_estimate_before_starting_grows_with_labels(bert):
    from playground.finetune.run import estimate_seconds, steps_for

    task = toy_task()
    cfg = FineTuneConfig(eval_every=10**6)
    small, large = (estimate_seconds(cfg, bert.model, bert.tokenizer, task, n) for n in (16, 1024))
    assert 0 < small < large
    assert steps_for(16) == 40 and steps_for(1024) == 192  # 3 epochs of batch 16, at least 40 steps


@pytest.mark.slow
def test_sweep_yields_both_accuracies_and_a_stopped_sweep_yields_no_partial_point(bert):
    from playground.finetune.run import sweep

    cfg = FineTuneConfig(epochs=0.1, min_steps=4)
    calls = iter(range(10**6))
    stop_mid_run = lambda: next(calls) >= 3  # noqa: E731 - stops inside the first run
    assert list(sweep(cfg, bert.model, bert.tokenizer, toy_task(), (16,), stop_mid_run)) == []
    (point,) = sweep(replace(cfg), bert.model, bert.tokenizer, toy_task(), (16,))
    assert point.labels == 16 and point.steps == 4 and set(point.accuracy) == {"pretrained", "scratch"}


def test_a_hub_body_offline_falls_back_to_the_bundled_model_with_a_notice():
    from playground.finetune import models

    loaded = models.load_body("gpt2")  # the tests run with HF_HUB_OFFLINE=1
    assert loaded.name == registry.offline_default("causal") and "cannot be reached" in loaded.notice
