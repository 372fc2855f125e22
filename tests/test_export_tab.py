"""The Train tab's "Export and publish" part (playground/ui/export.py), its handlers driven as Gradio would: a
session with models of its own (copies of the bundled checkpoints, as an uploaded zip makes them), its requests,
its disk budget. The Hub cannot be reached here: the one publish that goes through uses a mocked HfApi."""

from __future__ import annotations

import re
import shutil
import types
import zipfile
from pathlib import Path

import gradio as gr
import pytest

from playground import publish, session
from playground.budget import Budget, folder_bytes
from playground.bundled import bundled_path
from playground.ui import export as tab

from .test_publish import TOKEN, FakeHub, files_holding


@pytest.fixture
def browser(request, sessions):
    """(what the handlers read of gr.Request, the core Session) of a fresh browser session."""
    sid = f"test-{request.node.name}"
    return types.SimpleNamespace(session_hash=sid), sessions(sid)


def own_copy(own: session.Session, bundled: str) -> str:
    """A bundled checkpoint as a model of this session (what uploading its zip gives); its dropdown name."""
    folder = own.new_folder("upload") / "model"
    shutil.copytree(bundled_path(bundled), folder)
    return own.add_checkpoint(folder, bundled)


def plan_of(name, req) -> tuple[str, dict]:
    return tab.show_plan(name, request=req)


def test_the_plan_is_shown_for_a_session_model_before_any_button(browser):
    req, own = browser
    gpt = own_copy(own, "tiny-shakespeare-gpt")
    text, gguf = plan_of(gpt, req)
    assert text == "Exports as GPT-2 (GPT2LMHeadModel) (and as GGUF)."
    assert gguf["visible"] is True and gguf["value"] == tab.NO_GGUF
    assert gpt in tab.model_choices(req.session_hash) and tab.model_choices("someone-else") == []


def test_a_rotary_bert_is_refused_in_the_plan_with_what_to_change(browser):
    req, own = browser
    bert = own_copy(own, "tiny-english-bert")  # trained with rotary positions: no standard encoder has them
    text, gguf = plan_of(bert, req)
    assert text.startswith("⚠️ This model cannot be exported exactly") and "rotary positions" in text
    assert gguf["visible"] is False
    with pytest.raises(gr.Error, match="rotary positions"):
        tab.export_model(bert, "mit", tab.NO_GGUF, request=req)
    assert not (own.folder / tab.EXPORT_FOLDER).exists() or not any((own.folder / tab.EXPORT_FOLDER).iterdir())


@pytest.mark.parametrize(
    "name, says",
    [(None, "Choose one of this session's models"), ("x · this session", "is not a model of this session")],
)
def test_no_model_or_another_sessions_model_is_a_sentence(browser, name, says):
    req, _ = browser
    if name is None:
        assert plan_of(name, req)[0] == tab.CHOOSE
    with pytest.raises(gr.Error, match=says):
        tab.export_model(name, "mit", tab.NO_GGUF, request=req)


def test_export_gives_a_zip_in_the_session_folder_and_a_card_to_read(browser):
    req, own = browser
    gpt = own_copy(own, "tiny-shakespeare-gpt")
    path, status, card, curve = tab.export_model(gpt, "mit", tab.NO_GGUF, request=req)
    zipped = Path(path)
    assert zipped.is_file() and zipped.is_relative_to(own.folder)
    names = zipfile.ZipFile(zipped).namelist()
    expected = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"}
    assert {f"tiny-shakespeare-gpt-1/{f}" for f in expected} <= set(names)
    assert status.startswith("Exports as GPT-2") and re.search(
        r"match ours (exactly|within \d\.\de-\d\d) on real text", status
    )
    assert "```yaml\nlicense: mit" in card and "from transformers import pipeline" in card
    assert "](loss_curve.svg)" not in card  # the page cannot follow the folder's relative link: the curve is above
    assert curve == ""  # the bundled checkpoint kept no validation curve (a run trained here does: below)
    assert folder_bytes(own.folder) <= tab.BUDGET.session


def test_the_card_preview_shows_the_curve_beside_the_text(tmp_path):
    from playground import export

    (tmp_path / export.CARD).write_text(f"---\nlicense: mit\n---\n# m\n\n![validation loss]({export.CURVE})\n")
    (tmp_path / export.CURVE).write_text(export.curve_svg([(0, 4.2), (10, 3.1), (20, 2.7)]))
    card, curve = tab.card_preview(tmp_path)
    assert card == "```yaml\nlicense: mit\n```\n# m\n\n*(the loss curve: shown above this card)*\n"
    assert curve.startswith('<svg style="max-width: 100%; height: auto" ') and "<polyline" in curve


def test_export_as_gguf_where_the_plan_offers_it(browser):
    req, own = browser
    gpt = own_copy(own, "tiny-shakespeare-gpt")
    path, status, _, _ = tab.export_model(gpt, "apache-2.0", "q8_0", request=req)
    assert "GGUF (q8_0)" in status
    entries = zipfile.ZipFile(path).infolist()
    assert any(e.filename.endswith(".gguf") for e in entries)
    # weights stored as they are (deflating them is slow and saves little), text deflated
    weights = [e for e in entries if e.filename.endswith((".gguf", ".safetensors"))]
    assert weights and all(e.compress_type == zipfile.ZIP_STORED for e in weights)
    assert all(e.compress_type == zipfile.ZIP_DEFLATED for e in entries if e.filename.endswith(".json"))


def test_a_new_export_replaces_the_last_and_counts_against_the_budget(browser, monkeypatch):
    req, own = browser
    older = own_copy(own, "tiny-shakespeare-bert")
    gpt = own_copy(own, "tiny-shakespeare-gpt")
    tab.export_model(gpt, "mit", tab.NO_GGUF, request=req)
    weights = (own.checkpoints[gpt] / "model.safetensors").stat().st_size
    models = folder_bytes(own.folder) - folder_bytes(own.folder / tab.EXPORT_FOLDER)
    older_bytes = folder_bytes(own.checkpoints[older].parent)
    # room for the models and one export (its folder and zip) only once the last export and the older model go
    session_bytes = models + 2 * tab.export_bytes(weights, None) - older_bytes // 2
    monkeypatch.setattr(tab, "BUDGET", Budget(session=session_bytes, total=10**12, free_floor=0))
    _, status, _, _ = tab.export_model(gpt, "mit", tab.NO_GGUF, request=req)
    assert older not in own.checkpoints and gpt in own.checkpoints  # the model exported is never the one removed
    assert f"{older} was removed" in status
    assert len(list((own.folder / tab.EXPORT_FOLDER).glob("*.zip"))) == 1


def test_an_export_too_large_for_the_session_is_refused_before_writing(browser, monkeypatch):
    req, own = browser
    gpt = own_copy(own, "tiny-shakespeare-gpt")
    monkeypatch.setattr(tab, "BUDGET", Budget(session=1000, total=10**12, free_floor=0))
    with pytest.raises(gr.Error, match="more than the .* a session may keep here"):
        tab.export_model(gpt, "mit", tab.NO_GGUF, request=req)
    assert gpt in own.checkpoints and not (own.folder / tab.EXPORT_FOLDER / "tiny-shakespeare-gpt-1").exists()


def test_export_while_a_run_trains_is_refused(browser, monkeypatch):
    req, own = browser
    gpt = own_copy(own, "tiny-shakespeare-gpt")
    monkeypatch.setattr(own, "busy", lambda: True)
    with pytest.raises(gr.Error, match="training right now: pause or stop it first"):
        tab.export_model(gpt, "mit", tab.NO_GGUF, request=req)


def test_publish_answers_what_it_needs(browser):
    req, own = browser
    gpt = own_copy(own, "tiny-shakespeare-gpt")
    with pytest.raises(gr.Error, match="Press Export first"):
        tab.publish_model(gpt, "my-gpt", False, None, request=req)
    tab.export_model(gpt, "mit", tab.NO_GGUF, request=req)
    with pytest.raises(gr.Error, match="Publishing needs a Hugging Face login"):
        tab.publish_model(gpt, "my-gpt", False, None, request=req)
    token = gr.OAuthToken(token=TOKEN, scope="openid profile manage-repos", expires_at=0)
    with pytest.raises(gr.Error, match="cannot be reached from this server"):  # the tests run offline
        tab.publish_model(gpt, "my-gpt", False, token, request=req)


def test_the_name_is_checked_as_it_is_typed():
    assert tab.check_name("") == ""
    assert tab.check_name("my gpt").startswith("⚠️ 'my gpt' has ' '")
    assert tab.check_name("my-gpt") == "✓ It goes to **your-name/my-gpt** on the Hub, private unless you tick Public."


def test_publish_with_a_login_pushes_the_previewed_folder_and_keeps_the_token_nowhere(browser, monkeypatch, caplog):
    req, own = browser
    hub = FakeHub()
    monkeypatch.setattr(publish, "HfApi", hub)
    monkeypatch.setattr(tab, "hub_offline", lambda: False)
    gpt = own_copy(own, "tiny-shakespeare-gpt")
    tab.export_model(gpt, "mit", tab.NO_GGUF, request=req)
    token = gr.OAuthToken(token=TOKEN, scope="openid profile manage-repos", expires_at=0)
    said = tab.publish_model(gpt, "my-gpt", True, token, request=req)
    assert said.startswith("Published as [learner/my-gpt](https://huggingface.co/learner/my-gpt) (public)")
    assert hub.methods()[-2:] == ["create_commit", "update_repo_settings"] and hub.tokens == [TOKEN]
    assert "README.md" in hub.uploaded["learner/my-gpt"]
    with pytest.raises(gr.Error, match="already exists") as err:
        tab.publish_model(gpt, "my-gpt", False, token, request=req)
    assert TOKEN not in said and TOKEN not in str(err.value) and TOKEN not in caplog.text
    assert files_holding(own.folder, TOKEN) == []


def test_the_fine_tuned_encoder_is_published_from_its_zip(browser, monkeypatch, caplog):
    """Publish below the fine-tuning run: refused before a real BERT was fine-tuned, then the session's export
    zip (BertForSequenceClassification) is unpacked into a temporary folder of the session and pushed (mocked
    Hub), its card loading it by the repo id; the temporary folder is gone afterwards."""
    from playground import registry
    from playground.finetune import export as ft_export
    from playground.finetune import models
    from playground.finetune.config import FineTuneConfig, FineTuneProgress
    from playground.finetune.heads import Classifier

    req, own = browser
    token = gr.OAuthToken(token=TOKEN, scope="openid profile manage-repos", expires_at=0)
    with pytest.raises(gr.Error, match="Fine-tune the English encoder first"):
        tab.publish_finetuned("my-verdict", False, token, request=req)
    loaded, task = models.load_body(registry.ENCODER), models.load_task("verdict")
    classifier = Classifier(loaded.model, loaded.tokenizer, task.labels)
    final = FineTuneProgress(step=0, steps=0, classifiers={"pretrained": classifier})
    done = ft_export.export(classifier, loaded.name, task, FineTuneConfig(), final, own.new_folder("finetune") / "v")
    own.finetuning.exported = done.path
    with pytest.raises(gr.Error, match="Publishing needs a Hugging Face login"):
        tab.publish_finetuned("my-verdict", False, None, request=req)
    hub = FakeHub()
    monkeypatch.setattr(publish, "HfApi", hub)
    monkeypatch.setattr(tab, "hub_offline", lambda: False)
    before = sorted(own.folder.iterdir())
    said = tab.publish_finetuned("my-verdict", False, token, request=req)
    assert said.startswith("Published as [learner/my-verdict]") and "private" in said
    assert 'model="learner/my-verdict"' in said
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= set(
        hub.uploaded["learner/my-verdict"]
    )
    assert (
        'clf = pipeline("text-classification", model="learner/my-verdict")' in hub.cards["learner/my-verdict"].decode()
    )
    assert sorted(own.folder.iterdir()) == before  # the unpacked copy is gone
    assert TOKEN not in said and TOKEN not in caplog.text and files_holding(own.folder, TOKEN) == []
