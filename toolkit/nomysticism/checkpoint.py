"""Checkpoints that survive an interrupted run, and weights in safetensors.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts (state dicts, optimiser state,
RNG state, step). It is written atomically (temp file + rename), so a kill mid-write leaves the
previous checkpoint intact, and read with ``torch.load(weights_only=True)`` (no pickled code).
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import torch
from torch import nn

__all__ = ["save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state", "save_weights",
           "load_weights"]


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, not thread-safe


def _atomic_write(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(path, state: dict) -> Path:
    """Write ``state`` to ``path`` atomically."""
    return _atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path, map_location="cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``)."""
    return torch.load(path, map_location=map_location, weights_only=True)


def rng_state() -> dict:
    """Python, torch CPU and CUDA random states, in a form ``weights_only`` can load."""
    st = {"python": list(random.getstate()[1]), "python_pos": random.getstate()[2],
          "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict) -> None:
    random.setstate((3, tuple(st["python"]), st["python_pos"]))
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def save_weights(model: nn.Module, path, metadata: dict | None = None) -> Path:
    """A model's state dict as safetensors (atomic)."""
    from safetensors.torch import save_file

    sd = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    return _atomic_write(path, lambda tmp: save_file(sd, tmp, metadata=meta))


def load_weights(model: nn.Module, path, strict: bool = True) -> nn.Module:
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(path)), strict=strict)
    return model
