"""A fine-tuned real BERT as transformers' own `BertForSequenceClassification`: a folder (or zip) that
`pipeline("text-classification", model=...)` opens with no code of ours.

The classifier reads [CLS] through the body's pooler and one linear layer (finetune/heads.py), which is exactly
what BertForSequenceClassification computes (its dropout is off in eval mode), so the export only copies weights:
the body's `bert` (embeddings, layers, pooler) and our head as its `classifier`. The logits of both are compared
on the task's own examples before anything is written.

A GPT-style classifier reads its label at GPT-1's added <extract> token, which no standard transformers
classifier has, and a BERT without a pooler (loaded as a masked LM) would need one invented: both are refused
with a sentence. Our own tiny models are saved as our checkpoints instead (run.save_classifier).
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import BertForSequenceClassification, BertModel

from ..errors import UserError
from ..export import CARD, matching, save_tokenizer
from ..tiny.checkpoint import zip_folder
from .config import FineTuneConfig, FineTuneProgress
from .heads import Classifier, bert_pooler
from .tasks import Example, Task

TOLERANCE = 1e-4  # |logit difference| allowed between the classifier and its export (float32 rounding is ~1e-6)
LICENCES = {"MiniLM-L6-BERT": "apache-2.0"}  # name prefix -> the weights' licence (all-MiniLM-L6-v2: Apache-2.0)


@dataclass
class Exported:
    path: Path  # the folder, or the zip holding it
    max_diff: float  # the largest |logit difference| measured on the task's examples
    megabytes: float


def refusal(classifier: Classifier) -> str:
    """Why this classifier has no standard transformers form ("" when it has one)."""
    if classifier.kind != "bert":
        return (
            "A GPT-style classifier reads its label at GPT-1's added <extract> token, which no standard "
            "transformers classifier has, so it stays on this page for Try it."
        )
    if _bert(classifier) is None:
        return (
            "Only a transformers BERT with its pooler (as the packaged English encoder) becomes a "
            "BertForSequenceClassification; this one stays on this page for Try it."
        )
    return ""


def _bert(classifier: Classifier) -> BertModel | None:
    """The body's BertModel, where it is one with a pooler."""
    bert = getattr(classifier.body, "bert", None)
    return bert if isinstance(bert, BertModel) and bert_pooler(bert) is not None else None


def to_transformers(classifier: Classifier) -> BertForSequenceClassification:
    """The classifier as BertForSequenceClassification (a copy, float32, in eval mode)."""
    bert = _bert(classifier)
    if bert is None:
        raise UserError(refusal(classifier))
    config = copy.deepcopy(bert.config)
    config.num_labels = len(classifier.labels)
    config.id2label = dict(enumerate(classifier.labels))
    config.label2id = {label: i for i, label in enumerate(classifier.labels)}
    config.architectures = ["BertForSequenceClassification"]
    config.problem_type = "single_label_classification"
    model = BertForSequenceClassification(config)
    model.bert.load_state_dict(bert.state_dict())
    model.classifier.load_state_dict(classifier.head.state_dict())
    return model.float().eval()


@torch.no_grad()
def max_logit_difference(classifier: Classifier, model: torch.nn.Module, examples: list[Example]) -> float:
    """max |logits(classifier) - logits(model)| over `examples`, each side in eval mode on the CPU."""
    was = classifier.training
    classifier.eval()
    try:
        texts = [ex.text for ex in examples]
        pairs = [ex.text_b or "" for ex in examples] if any(ex.text_b for ex in examples) else None
        enc = classifier.encode(texts, pairs).to(classifier.head.weight.device)
        ours = classifier(enc).float().cpu()
        theirs = model(
            input_ids=enc.input_ids.cpu(),
            attention_mask=enc.attention_mask.cpu(),
            token_type_ids=enc.token_type_ids.cpu(),
        ).logits
    finally:
        classifier.train(was)
    return float((ours - theirs).abs().max())


def model_card(name: str, task: Task, cfg: FineTuneConfig, final: FineTuneProgress, max_diff: float) -> str:
    """README.md: front matter, what it was fine-tuned on, how and how well, and how to use it."""
    licence = next((v for k, v in LICENCES.items() if name.startswith(k)), "other")
    labels = ", ".join(f"`{label}`" for label in task.labels)
    call = 'clf({"text": "First sentence.", "text_pair": "Second sentence."})' if task.pair else 'clf("Your text.")'
    mode = "a linear probe (the body frozen, only the head learnt)" if cfg.freeze else "the whole model"
    lr = cfg.probe_lr if cfg.freeze else cfg.lr
    pre, scratch = final.accuracy("pretrained"), final.accuracy("scratch")
    lines = [
        "---",
        f"license: {licence}",
        "library_name: transformers",
        "pipeline_tag: text-classification",
        "tags:",
        "- pretraining-playground",
        "- bert",
        "- text-classification",
        "---",
        "",
        f"# {name}, fine-tuned: {task.name}",
        "",
        task.description,
        "",
        f"- Labels: {labels}.",
        f"- Fine-tuned in Pretraining Playground: {mode}, {final.step:,} steps of {cfg.batch_size} on "
        f"{cfg.labels:,} labelled examples, learning rate {lr:g}, seed {cfg.seed}.",
        f"- Validation accuracy on {len(task.val):,} held-out examples: **{_percent(pre)}**; the same "
        f"architecture from random weights, trained alike: {_percent(scratch)}.",
        f"- Exported as `BertForSequenceClassification`: its logits match the playground's {matching(max_diff)}.",
        "- Licence: "
        + ("Apache-2.0, as the all-MiniLM-L6-v2 body it starts from." if licence != "other" else "the base model's."),
        "",
        "```python",
        "from transformers import pipeline",
        "",
        'clf = pipeline("text-classification", model="path/to/this/folder")',
        call,
        "```",
        "",
    ]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.1%}"


def export(
    classifier: Classifier,
    name: str,
    task: Task,
    cfg: FineTuneConfig,
    final: FineTuneProgress,
    out: str | Path,
    zipped: bool = True,
) -> Exported:
    """Write the classifier as a transformers folder at `out` (or only `out`.zip holding it, when `zipped`),
    after checking its logits against ours on up to 16 of the task's validation examples."""
    model = to_transformers(classifier)
    max_diff = max_logit_difference(classifier, model, task.val[:16])
    if not max_diff <= TOLERANCE:
        raise UserError(f"The export's logits differ from the fine-tuned model's by {max_diff:.1e}; nothing written.")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        folder = Path(tmp) / out.name
        model.save_pretrained(folder)
        save_tokenizer(classifier.tokenizer, folder, model.config.max_position_embeddings, causal=False)
        (folder / CARD).write_text(model_card(name, task, cfg, final, max_diff))
        target = out.with_suffix(".zip") if zipped else out
        if zipped:
            zip_folder(folder, target)
        else:
            shutil.rmtree(target, ignore_errors=True)
            shutil.move(folder, target)
    size = target.stat().st_size if zipped else sum(f.stat().st_size for f in target.iterdir())
    return Exported(target, max_diff, size / 1e6)
