"""A fine-tuned real BERT downloads as transformers' own BertForSequenceClassification (playground/finetune/
export.py): transformers' pipeline, with none of our code, gives the probabilities the page shows. Real parts
throughout: the packaged encoder through the registry's loading code, our fine-tuning loop, the real pipeline."""

from __future__ import annotations

import json
import zipfile
from typing import Any

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, pipeline

from playground import registry
from playground.errors import UserError
from playground.finetune import export, models
from playground.finetune.config import FineTuneConfig, FineTuneProgress
from playground.finetune.heads import Classifier
from playground.finetune.run import finetune

REVIEWS = ["The film was dull, not charming.", "I expected the hotel to be awful, but it was superb."]


@pytest.fixture(scope="module")
def encoder() -> registry.LoadedModel:
    return models.load_body(registry.ENCODER)


def _pipeline_scores(folder, inputs) -> dict[str, float]:
    clf = pipeline("text-classification", model=str(folder), top_k=None, device="cpu")
    result: Any = clf([inputs])  # one input in a list: one list of every label's score
    return {row["label"]: float(row["score"]) for row in result[0]}


def test_the_classifier_reads_cls_through_berts_own_pooler(encoder):
    """As BERT's fine-tuning: head(tanh(dense(h[CLS]))), the pooler pre-trained with NSP; our tiny BERTs (no
    transformers pooler) read h[CLS] itself."""
    classifier = Classifier(encoder.model, encoder.tokenizer, ("positive", "negative")).eval()
    bert: Any = encoder.model.bert  # BertForPreTraining's BertModel
    dense: Any = bert.pooler.dense
    assert classifier.pooler is bert.pooler
    enc = classifier.encode(REVIEWS)
    with torch.no_grad():
        h = bert(enc.input_ids, enc.attention_mask, enc.token_type_ids).last_hidden_state  # (B, T, C)
        expected = classifier.head(torch.tanh(dense(h[:, 0])))
        torch.testing.assert_close(classifier(enc), expected)
    tiny = models.load_body("tiny-english-bert")
    assert Classifier(tiny.model, tiny.tokenizer, ("a", "b")).pooler is None


@pytest.mark.slow
def test_a_fine_tuned_encoder_is_what_the_pipeline_reads(encoder, tmp_path):
    """Fine-tune a few steps on the verdict task, export: one zip holding one folder, whose config names the
    architecture and the labels, whose pipeline gives our probabilities, and whose card says how it was made."""
    task = models.load_task("verdict")
    cfg = FineTuneConfig(task="verdict", labels=16, steps=3, eval_every=3, seed=0)
    final = list(finetune(cfg, encoder.model, encoder.tokenizer, task))[-1]
    classifier = final.classifiers["pretrained"]
    max_length = encoder.tokenizer.model_max_length
    done = export.export(classifier, encoder.name, task, cfg, final, tmp_path / "ft-verdict")
    assert done.path == tmp_path / "ft-verdict.zip" and done.max_diff <= export.TOLERANCE
    assert encoder.tokenizer.model_max_length == max_length  # the cached model's tokenizer is not changed
    with zipfile.ZipFile(done.path) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "unzipped")
    files = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"}
    assert names == {f"ft-verdict/{f}" for f in files}
    folder = tmp_path / "unzipped" / "ft-verdict"
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["BertForSequenceClassification"]
    assert config["id2label"] == {"0": "positive", "1": "negative"}
    for review in REVIEWS:
        ours = classifier.predict(review)
        theirs = _pipeline_scores(folder, review)
        assert theirs.keys() == ours.keys()
        assert all(abs(theirs[label] - ours[label]) < 1e-5 for label in ours)
    card = (folder / "README.md").read_text()
    assert "pipeline_tag: text-classification" in card and "license: apache-2.0" in card
    assert f"**{final.accuracy('pretrained'):.1%}**" in card and "3 steps of 16 on 16 labelled examples" in card


def test_a_pair_goes_in_as_two_segments(encoder, tmp_path):
    """A pair task's export reads text and text_pair with segment ids 0 and 1, as our classifier does."""
    task = models.load_task("continues")
    classifier = Classifier(encoder.model, encoder.tokenizer, task.labels, seed=1).eval()
    final = FineTuneProgress(step=0, steps=0, classifiers={"pretrained": classifier})
    done = export.export(classifier, encoder.name, task, FineTuneConfig(), final, tmp_path / "pair", zipped=False)
    assert done.path.is_dir() and done.max_diff <= export.TOLERANCE
    a, b = "It was a bright cold day in April.", "The clocks were striking thirteen."
    ours, theirs = classifier.predict(a, b), _pipeline_scores(done.path, {"text": a, "text_pair": b})
    assert all(abs(theirs[label] - ours[label]) < 1e-5 for label in ours)
    assert 'clf({"text": "First sentence.", "text_pair": "Second sentence."})' in (done.path / "README.md").read_text()


def test_what_has_no_standard_classifier_is_refused_with_a_sentence():
    """A GPT reads its label at GPT-1's added <extract> token; a BERT built without its pooler would need one
    invented: neither is exported, each with the reason."""
    gpt = models.load_body("tiny-shakespeare-gpt")
    gpt_classifier = Classifier(gpt.model, gpt.tokenizer, ("a", "b"))
    assert "<extract>" in export.refusal(gpt_classifier)
    with pytest.raises(UserError, match="<extract>"):
        export.to_transformers(gpt_classifier)
    small = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    tokenizer = models.load_body("tiny-english-bert").tokenizer
    masked = Classifier(BertForMaskedLM(small), tokenizer, ("a", "b"))
    assert masked.pooler is None and "pooler" in export.refusal(masked)
