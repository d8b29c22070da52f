"""torchvision imports next to CPU torch (pytorch/vision#9077), through ``import helpers``."""

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_import_helpers_then_torchvision_builds_resnet18():
    result = _run("""
        import helpers, torchvision
        from torchvision import datasets, models, transforms
        model = models.resnet18(weights=None)
        print(type(model).__name__, model.fc.in_features)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ResNet", "512"]


def test_workaround_only_when_extension_cannot_load():
    result = _run("""
        import torch
        from helpers._torchvision_compat import torchvision_extension_loads
        loads = torchvision_extension_loads()
        import helpers, torchvision, torchvision.ops
        if not loads:
            try:
                torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
            except RuntimeError as exc:
                print("ops-unavailable" if "custom C++ ops" in str(exc) else f"other: {exc}")
        else:
            print("extension-loads")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"ops-unavailable", "extension-loads"}
