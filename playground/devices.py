"""Which device the work runs on, what it can do, and the GPU decorator for Hugging Face ZeroGPU."""

from __future__ import annotations

import os

import torch

from .errors import UserError
from .protocols import LanguageModel

try:  # present on Hugging Face Spaces; `spaces.GPU` asks ZeroGPU for a GPU for one call
    import spaces
except ImportError:
    spaces = None

# On a ZeroGPU Space the GPU exists only inside functions decorated with `gpu`
ZERO_GPU = spaces is not None and os.environ.get("SPACES_ZERO_GPU", "").lower() not in ("", "0", "false")

# bf16 dense peak (TFLOP/s, no sparsity) by a name fragment of torch.cuda.get_device_name(), most specific first
BF16_PEAK_TFLOPS = (("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0), ("GH200", 989.0), ("A100", 312.0))


def pick_device(name: str = "auto") -> torch.device:
    """'auto' takes the GPU when there is one; asking for 'cuda' without one is an error with a reason."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA was asked for but no GPU is available; use --device cpu")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def use_tf32() -> None:
    """Let float32 matrix products on an NVIDIA GPU use TF32 tensor cores (about 8x faster, a 10-bit mantissa that
    training does not notice). Process-wide, so set once where a process starts (app.py, the CLI), never per run."""
    torch.backends.cuda.matmul.allow_tf32 = True


def inference_device() -> torch.device:
    """Where the model tabs run their models: the GPU when this process has one. Not on ZeroGPU, where a GPU exists
    only inside a `spaces.GPU` call (the training chunks); there the tabs stay on the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() and not ZERO_GPU else "cpu")


def device_of(model: LanguageModel) -> torch.device:
    """Where a model's weights are: its inputs go there."""
    return next(model.parameters()).device


def has_gpu() -> bool:
    return ZERO_GPU or torch.cuda.is_available()


def gpu(duration: int = 60):
    """`spaces.GPU(duration=...)` on a ZeroGPU Space, the identity elsewhere.

    On ZeroGPU the decorated call may run in another process: it must return (or yield) whatever
    state it changed, rather than rely on mutating its arguments.
    """
    if ZERO_GPU:
        return spaces.GPU(duration=duration)
    return lambda fn: fn


def describe(device: torch.device) -> str:
    """'CPU (2 threads)' or the GPU's name, for the page."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


def bf16_peak_flops(device_name: str) -> float | None:
    """The GPU's dense bf16 peak in FLOP/s, read from its name; None when we do not know it."""
    for fragment, tflops in BF16_PEAK_TFLOPS:
        if fragment.lower() in device_name.lower():
            return tflops * 1e12
    return None


def default_max_runs() -> int:
    """Training runs at once over all sessions: PLAYGROUND_MAX_RUNS, else 1 on a GPU and 2 on CPU."""
    value = os.environ.get("PLAYGROUND_MAX_RUNS")
    return max(1, int(value)) if value else (1 if has_gpu() else 2)
