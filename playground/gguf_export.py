"""An exported GPT-2 (playground/export.py) as one GGUF file, the format llama.cpp, Ollama and transformers'
GGUF loader read (`playground/gguf.py` is the other direction: reading packaged GGUF weights).

Written with the `gguf` package as llama.cpp's convert_hf_to_gguf.py writes GPT-2: tensors under GGUF's
standard names (gguf.get_tensor_name_map), GPT-2's Conv1D weights back to (out, in), the tokenizer as a "gpt2"
(byte-level BPE) vocabulary with its merges. Types: "f32", "f16" (matrices in float16, norms and biases in
float32, as llama.cpp keeps them) or "q8_0" (matrices in 8-bit blocks of 32 with one float16 scale each).
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerFast
from transformers.integrations.ggml import GGUF_CONFIG_MAPPING

from .errors import UserError

KINDS = {
    "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
    "q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
}
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")  # (in, out)


def file_name(kind: str) -> str:
    return f"model-{kind}.gguf"


def write_gguf(model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, folder: Path, kind: str) -> Path:
    """`folder`/model-<kind>.gguf of a GPT2LMHeadModel with a tied head; UserError for what GGUF cannot hold."""
    if kind not in KINDS:
        raise UserError(f"The GGUF type must be one of {', '.join(KINDS)}, not {kind!r}.")
    cfg = model.config
    if cfg.model_type not in GGUF_CONFIG_MAPPING or cfg.model_type != "gpt2":
        raise UserError(f"GGUF is written for GPT-2 exports only, not {cfg.model_type}.")
    if not cfg.tie_word_embeddings:
        # transformers' GGUF loader reads a GPT-2 as tied (GGUF keeps no such flag): an untied head would be lost
        raise UserError("GGUF export needs the tied output layer of the classic recipe: switch 'tied head' on.")
    path = Path(folder) / file_name(kind)
    writer = gguf.GGUFWriter(str(path), "gpt2")
    writer.add_name(Path(folder).name)
    writer.add_block_count(cfg.n_layer)
    writer.add_context_length(cfg.n_positions)
    writer.add_embedding_length(cfg.n_embd)
    writer.add_feed_forward_length(cfg.n_inner or 4 * cfg.n_embd)
    writer.add_head_count(cfg.n_head)
    writer.add_layer_norm_eps(cfg.layer_norm_epsilon)
    writer.add_file_type(KINDS[kind][1])
    add_tokenizer(writer, tokenizer)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GPT2, cfg.n_layer)
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":  # tied: llama.cpp and transformers reuse token_embd
            continue
        base, suffix = name.rsplit(".", 1)
        array = tensor.detach().float().numpy()
        if name.endswith(CONV1D):
            array = np.ascontiguousarray(array.T)  # Conv1D's (in, out) -> (out, in), as llama.cpp stores it
        _add(writer, f"{names.get_name(base)}.{suffix}", array, kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _add(writer: gguf.GGUFWriter, name: str, array: np.ndarray, kind: str) -> None:
    """A tensor in the file's type; vectors (norms, biases) and rows not a multiple of Q8_0's block stay float32."""
    qtype = KINDS[kind][0]
    if array.ndim < 2 or qtype == gguf.GGMLQuantizationType.F32:
        writer.add_tensor(name, array.astype(np.float32))
    elif qtype == gguf.GGMLQuantizationType.F16:
        writer.add_tensor(name, array.astype(np.float16))
    elif array.shape[-1] % gguf.GGML_QUANT_SIZES[qtype][0]:
        writer.add_tensor(name, array.astype(np.float16))
    else:
        quantized = gguf.quants.quantize(array, qtype)  # uint8 (rows, bytes): the writer reads the shape back
        writer.add_tensor(name, quantized, raw_dtype=qtype)


def add_tokenizer(writer: gguf.GGUFWriter, tokenizer: PreTrainedTokenizerFast) -> None:
    """Our tokenizer as GGUF's "gpt2" one: byte-level BPE with its merges, or a character tokenizer (single-byte
    characters, no merges) spelt in GPT-2's byte alphabet; UserError for WordPiece or wider characters."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec["model"]
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    specials = set(tokenizer.all_special_tokens)
    if model["type"] == "BPE":
        tokens = [t for t, _ in vocab]
        merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    elif model["type"] == "WordLevel" and all(t in specials or len(t.encode()) == 1 for t, _ in vocab):
        alphabet = _byte_alphabet()
        tokens = [t if t in specials else alphabet[t.encode()[0]] for t, _ in vocab]
        merges = []
    else:
        raise UserError(
            "GGUF holds byte-level BPE vocabularies: train the model with the BPE or the character tokenizer "
            "(on text of single-byte characters)."
        )
    if [i for _, i in vocab] != list(range(len(vocab))):
        raise UserError("The tokenizer's ids have gaps, which a GGUF vocabulary cannot hold.")
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt2")
    writer.add_token_list(tokens)
    control, normal = gguf.TokenType.CONTROL, gguf.TokenType.NORMAL
    writer.add_token_types([control if t in specials else normal for t in tokens])
    writer.add_token_merges(merges)
    for attr, add in (("unk_token_id", writer.add_unk_token_id), ("pad_token_id", writer.add_pad_token_id)):
        if getattr(tokenizer, attr) is not None:
            add(getattr(tokenizer, attr))
    writer.add_add_bos_token(False)


def _byte_alphabet() -> dict[int, str]:
    """GPT-2's byte -> printable character table (bytes_to_unicode), as its byte-level BPE spells tokens."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def load_gguf(folder: Path, kind: str) -> torch.nn.Module:
    """The GGUF file's weights read back through transformers (dequantised to float32), with the exported
    folder's config.json: transformers 5.23's GGUF reader maps GPT-2's context length onto `n_ctx`, which
    GPT2Config no longer reads (it builds a 1,024-row position table and refuses ours), and GGUF keeps no
    activation (it would take GPT-2's tanh GELU, ours is the exact one)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(folder)
    return AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=file_name(kind), config=config, dtype=torch.float32
    ).eval()
