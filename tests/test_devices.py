"""Device choice, the ZeroGPU decorator away from a Space, and what the page says about the hardware."""

import pytest
import torch

from playground import devices
from playground.errors import UserError


def test_auto_takes_the_gpu_only_when_there_is_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.pick_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.pick_device("auto") == torch.device("cuda")
    assert devices.pick_device("cpu") == torch.device("cpu")  # asked for: even with a GPU


def test_cuda_without_a_gpu_is_the_users_mistake(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="no GPU is available; use --device cpu"):
        devices.pick_device("cuda")


def test_an_unknown_device_name_is_a_developers_mistake():
    with pytest.raises(ValueError, match="device must be auto, cpu or cuda") as err:
        devices.pick_device("tpu")
    assert not isinstance(err.value, UserError)


def test_device_of_is_where_the_weights_are():
    assert devices.device_of(torch.nn.Linear(2, 2)) == torch.device("cpu")
    meta = torch.nn.Linear(2, 2, device="meta")
    assert devices.device_of(meta) == torch.device("meta")


def test_the_gpu_decorator_is_the_identity_off_a_space(monkeypatch):
    monkeypatch.setattr(devices, "ZERO_GPU", False)

    def work(x):
        return x + 1

    assert devices.gpu(duration=30)(work) is work


def test_the_gpu_decorator_asks_zerogpu_on_a_space(monkeypatch):
    asked = {}

    class FakeSpaces:  # the `spaces` package exists only on Hugging Face Spaces
        @staticmethod
        def GPU(duration):
            asked["duration"] = duration
            return lambda fn: ("on a GPU", fn)

    monkeypatch.setattr(devices, "ZERO_GPU", True)
    monkeypatch.setattr(devices, "spaces", FakeSpaces)
    assert devices.gpu(duration=90)(len) == ("on a GPU", len) and asked == {"duration": 90}


@pytest.mark.parametrize(
    "name, tflops",
    [
        ("NVIDIA H100 80GB HBM3", 989.0),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA A100-SXM4-40GB", 312.0),
        ("Tesla T4", None),
    ],
)
def test_bf16_peak_is_read_from_the_gpu_name_most_specific_first(name, tflops):
    peak = devices.bf16_peak_flops(name)
    assert peak == (tflops * 1e12 if tflops else None)


def test_describe_names_the_cpu_threads():
    assert devices.describe(torch.device("cpu")) == f"CPU ({torch.get_num_threads()} threads)"


def test_max_runs_from_the_environment_else_by_hardware(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_RUNS", "3")
    assert devices.default_max_runs() == 3
    monkeypatch.setenv("PLAYGROUND_MAX_RUNS", "0")
    assert devices.default_max_runs() == 1  # at least one
    monkeypatch.delenv("PLAYGROUND_MAX_RUNS")
    monkeypatch.setattr(devices, "has_gpu", lambda: False)
    assert devices.default_max_runs() == 2
    monkeypatch.setattr(devices, "has_gpu", lambda: True)
    assert devices.default_max_runs() == 1


def test_the_tabs_models_go_to_the_gpu_only_outside_zerogpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.inference_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(devices, "ZERO_GPU", False)
    assert devices.inference_device() == torch.device("cuda")
    monkeypatch.setattr(devices, "ZERO_GPU", True)  # a GPU only inside spaces.GPU calls: the tabs stay on the CPU
    assert devices.inference_device() == torch.device("cpu")


def test_a_loaded_model_sits_where_inference_runs():
    from playground import registry

    loaded = registry.load("tiny-shakespeare-gpt", "causal")
    assert devices.device_of(loaded.model) == devices.inference_device()
