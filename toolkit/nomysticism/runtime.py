"""Where and how the tensors run: one device picker, and the precision switches every topic uses.

- :func:`device`: CUDA, then Apple MPS, then the CPU (or the one asked for);
- :func:`module_device`: the device a module's weights live on;
- :func:`autocast`: bf16 autocast when asked for (the same code path on the CPU, for tests);
- :func:`memory_format`: channels_last on CUDA by default, plain NCHW elsewhere.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

__all__ = ["device", "module_device", "autocast", "memory_format"]


def device(prefer: str | torch.device | None = None) -> torch.device:
    """The best available device: cuda, then mps, then cpu (or ``prefer`` if given)."""
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def module_device(module: nn.Module, default: str | torch.device = "cpu") -> torch.device:
    """The device of ``module``'s first parameter (or buffer); ``default`` for a module without any."""
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return torch.device(default)


def autocast(dev: torch.device | str, enabled: bool = True, dtype: torch.dtype = torch.bfloat16):
    """``torch.autocast(dev.type, dtype)`` when ``enabled``; a no-op context otherwise."""
    dev = torch.device(dev)
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(dev.type, dtype=dtype)


def memory_format(dev: torch.device | str, channels_last: bool | None = None) -> torch.memory_format:
    """channels_last where it pays (CUDA, unless ``channels_last=False``), else contiguous NCHW."""
    dev = torch.device(dev)
    on = dev.type == "cuda" if channels_last is None else bool(channels_last)
    return torch.channels_last if on else torch.contiguous_format
