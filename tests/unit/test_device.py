"""Where torch runs (models/device.py): ``auto`` falls back to the CPU with the same results,
a GPU asked for on a machine without one is a one-line error before any work, and the CLI's
``--device`` reaches every command through ``SUPPORTFLOW_DEVICE``."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from models import device
from models.triage.config import OptimConfig

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


def test_auto_is_the_gpu_when_torch_sees_one_else_the_cpu(monkeypatch):
    monkeypatch.delenv(device.ENV, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device.resolve().type == expected
    assert device.resolve("auto").type == expected
    assert device.resolve("cpu") == torch.device("cpu")


def test_the_environment_decides_when_the_caller_does_not(monkeypatch):
    monkeypatch.setenv(device.ENV, "cpu")
    assert device.resolve() == torch.device("cpu")
    monkeypatch.setenv(device.ENV, "gpu")
    with pytest.raises(device.DeviceError, match="unknown device 'gpu'"):
        device.resolve()
    assert device.resolve("CPU") == torch.device("cpu")  # the argument wins over the variable


@NO_GPU
def test_a_gpu_asked_for_on_a_cpu_machine_is_one_clear_line(monkeypatch):
    monkeypatch.delenv(device.ENV, raising=False)
    with pytest.raises(device.DeviceError) as caught:
        device.resolve("cuda:1")
    message = str(caught.value)
    assert "\n" not in message and "no CUDA GPU" in message and "--device auto" in message


def test_cpu_batches_and_autocast_change_nothing():
    cpu = torch.device("cpu")
    assert device.inference_batch(cpu, 64) == 64
    assert device.inference_batch(torch.device("cuda"), 64) == 64 * device.GPU_BATCH_FACTOR
    layer = torch.nn.Linear(8, 3)
    x = torch.randn(5, 8)
    with device.autocast(cpu):
        inside = layer(x)
    assert inside.dtype == torch.float32 and torch.equal(inside, layer(x))
    batch = {"input_ids": torch.ones(2, 3, dtype=torch.long)}
    assert device.to_device(batch, cpu)["input_ids"] is batch["input_ids"]  # no copy


def test_the_training_config_names_a_device_or_leaves_it_to_the_environment():
    assert OptimConfig().device is None
    assert OptimConfig(device=" CUDA:0 ").device == "cuda:0"
    with pytest.raises(ValidationError, match="unknown device"):
        OptimConfig(device="tpu")


def test_an_embedder_gives_the_same_vectors_on_auto_as_on_the_cpu(monkeypatch):
    from models.triage.config import PACKAGED_ENCODER, encoder_path
    from models.triage.embedding import Embedder

    monkeypatch.delenv(device.ENV, raising=False)
    texts = ["I cannot log in to my account", "Refund for a double charge", ""]
    folder = encoder_path(PACKAGED_ENCODER)
    on_cpu = Embedder(folder, max_length=32, device="cpu").embed(texts)
    auto = Embedder(folder, max_length=32, device="auto").embed(texts)
    assert on_cpu.shape == (3, 384) and on_cpu.dtype == np.float32
    tolerance = 0 if not torch.cuda.is_available() else 2e-2  # bf16 on a GPU
    assert np.abs(on_cpu - auto).max() <= tolerance


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "supportflow.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_device_option_is_checked_before_any_command_runs(tmp_path):
    done = _cli("--device", "gpu", "status", SUPPORTFLOW_HOME=str(tmp_path / "home"))
    assert done.returncode == 2
    assert "unknown device 'gpu': use auto, cpu or cuda[:N]" in done.stdout + done.stderr
    assert not (tmp_path / "home").exists()  # nothing ran
