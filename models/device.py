"""Where torch runs: ``auto`` (a CUDA GPU when torch sees one, else the CPU), ``cpu`` or
``cuda[:N]``.

One setting for fine-tuning, scoring and embedding: the ``device`` argument where a caller has
one (``optim.device`` in train.yaml, ``--device`` on the CLI), else the ``SUPPORTFLOW_DEVICE``
environment variable, else ``auto``. On a GPU the forward passes run under bf16 autocast (fp32
master weights and optimiser state; bf16 needs no loss scaling, unlike fp16) and inference
batches are ``GPU_BATCH_FACTOR`` times larger; on the CPU nothing changes, so a machine
without a GPU gives the same results as before this setting existed. The int8 ONNX Runtime
paths (``fastpath.py``, ``OnnxEmbedder``) are CPU kernels: on a GPU the torch model is used.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

import torch

ENV = "SUPPORTFLOW_DEVICE"
DEFAULT = "auto"
GPU_BATCH_FACTOR = 4  # inference batch on a GPU = the CPU batch × this (64 → 256 tickets)
_NAME = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


class DeviceError(ValueError):
    """A device name that is malformed or names a GPU this machine does not have."""


def check_name(name: str) -> str:
    """``name`` unchanged when it is ``auto``, ``cpu`` or ``cuda[:N]``; else ``DeviceError``."""
    if not _NAME.match(name):
        raise DeviceError(f"unknown device {name!r}: use auto, cpu or cuda[:N]")
    return name


def resolve(name: str | None = None) -> torch.device:
    """The torch device for ``name`` (None: ``$SUPPORTFLOW_DEVICE``, else ``auto``).

    ``auto`` is ``cuda`` when ``torch.cuda.is_available()``, else ``cpu``. Raises
    ``DeviceError`` (one line) for an unknown name or a GPU torch cannot see."""
    name = check_name((name or os.environ.get(ENV) or DEFAULT).strip().lower())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r} asked for, but torch sees no CUDA GPU here; "
                "use --device auto (GPU when present) or cpu"
            )
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r}: only {torch.cuda.device_count()} GPU(s) here")
    return torch.device(name)


def is_gpu(device: torch.device) -> bool:
    return device.type == "cuda"


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """bf16 autocast on a GPU that supports it (Ampere and later), nothing on the CPU."""
    if is_gpu(device) and torch.cuda.is_bf16_supported():
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            yield
    else:
        yield


def inference_batch(device: torch.device, batch_size: int) -> int:
    """The inference batch size for ``device``: ``batch_size`` on the CPU, ×``GPU_BATCH_FACTOR``
    on a GPU (more rows per kernel launch; padding stays bounded by length sorting)."""
    return batch_size * GPU_BATCH_FACTOR if is_gpu(device) else batch_size


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """A collated batch's tensors on ``device`` (no copy on the CPU)."""
    if device.type == "cpu":
        return batch
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}
