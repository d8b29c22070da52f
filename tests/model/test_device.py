"""The device choice and the memory budget's batch sizes."""

import pytest
import torch

from helpers.config import Config, ConfigError
from helpers.model import device as devices
from helpers.model.backbone import load_backbone
from helpers.model.heads import DressedQuantumHead, TransferModel, module_device


def test_auto_resolves_to_the_cpu_on_a_machine_without_a_gpu():
    if len(devices.available_devices()) > 1:
        pytest.skip("this machine has a GPU: auto picks it")
    assert devices.resolve_device("auto") == torch.device("cpu")
    assert devices.resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:3", "mps"])
def test_an_unavailable_device_names_what_is_available(name, monkeypatch):
    monkeypatch.setattr(devices, "available_devices", lambda: ["cpu"])
    with pytest.raises(devices.DeviceUnavailableError) as error:
        devices.resolve_device(name)
    message = str(error.value)
    assert f"device={name!r} is not available here" in message
    assert "available: cpu" in message and "device='auto'" in message


def test_auto_prefers_a_gpu_when_there_is_one(monkeypatch):
    monkeypatch.setattr(devices, "available_devices", lambda: ["cpu", "cuda:0", "cuda:1"])
    assert devices.resolve_device("auto") == torch.device("cuda:0")
    assert devices.resolve_device("cuda") == torch.device("cuda:0")
    assert devices.resolve_device("cuda:1") == torch.device("cuda:1")


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "CPU"])
def test_config_rejects_unknown_devices(value):
    with pytest.raises(ConfigError, match=f"device={value!r}: must be one of auto, cpu, cuda, mps"):
        Config(device=value).validate()


def test_batches_fill_the_budget_and_never_drop_below_one_image():
    per_image = devices.BYTES_PER_PIXEL["gradient"] * 224 * 224
    assert devices.images_per_batch(1024, "gradient", 224) == 1024 * 2**20 // per_image
    assert devices.images_per_batch(2048, "gradient", 224) >= 2 * devices.images_per_batch(
        1024, "gradient", 224
    )
    assert devices.images_per_batch(1024, "inference", 224) > devices.images_per_batch(
        1024, "gradient", 224
    )
    assert devices.images_per_batch(1, "gradient", 224) == 1
    with pytest.raises(ValueError, match="mode='training'"):
        devices.images_per_batch(1024, "training", 224)


def test_a_model_moves_its_inputs_to_its_parts_devices_and_back():
    """The backbone's and the head's devices are read from their parameters (the CPU here; a
    parameterless module counts as the CPU), and gradients flow across the moves."""
    torch.manual_seed(0)
    model = TransferModel(load_backbone("none"), DressedQuantumHead(4, 1, 2)).eval()
    assert module_device(model.backbone) == module_device(torch.nn.ReLU()) == torch.device("cpu")
    images = torch.randn(2, 3, 32, 32, requires_grad=True)
    logits = model(images)
    assert logits.device == images.device
    logits.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
