"""Checkpoints that survive an interrupted run, and weights in safetensors.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts (state dicts, optimiser state,
RNG state, step). It is written atomically (temp file + rename, :func:`nomysticism.assets.atomic_write`),
so a kill mid-write leaves the previous checkpoint intact, and read with
``torch.load(weights_only=True)`` (no pickled code).

:class:`Checkpointer` is the one resume helper every training loop uses: it loads the last
checkpoint if there is one, saves every ``every`` steps, and saves again at the end or on a stop.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .assets import atomic_write

__all__ = ["save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state", "save_weights",
           "load_weights", "save_module", "read_metadata", "Checkpointer"]


def _atomic_write(path: Path, write) -> Path:  # kept for older imports; use assets.atomic_write
    return atomic_write(path, write)


def save_checkpoint(path, state: dict) -> Path:
    """Write ``state`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


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
    return atomic_write(path, lambda tmp: save_file(sd, tmp, metadata=meta))


def load_weights(model: nn.Module, path, strict: bool = True) -> nn.Module:
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(path)), strict=strict)
    return model


def save_module(model: nn.Module, path, metadata: dict | None = None) -> Path:
    """A network as safetensors with ``model.config`` (and ``metadata``, JSON-encoded) in the header,
    so it can be rebuilt without pickle. Saves a float32 CPU copy: the caller's model stays put."""
    import copy
    import json

    meta = {"config": json.dumps(model.config)}
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()})
    return save_weights(copy.deepcopy(model).float().cpu(), path, metadata=meta)


def read_metadata(path) -> dict:
    """The string metadata in a safetensors file's header (``{}`` if none)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return f.metadata() or {}


class Checkpointer:
    """Resume-or-start for a training loop, with atomic saves.

    >>> ck = Checkpointer(path, state=lambda: {...}, every=100)   # path None: does nothing
    >>> st = ck.resume(map_location=dev)        # the saved dict (with its RNG state restored), or None
    >>> for step in loop:
    ...     ...
    ...     ck.step(step)                       # saves when step % every == 0
    >>> ck.save(step)                           # at the end or on a stop

    ``state()`` returns the dict to save (networks, optimisers, history); the step and all random
    states (Python, torch CPU and CUDA) are added, so a resumed run draws the same numbers as an
    uninterrupted one.
    """

    def __init__(self, path, state: Callable[[], dict], every: int = 100, resume: bool = True):
        self.path = None if path is None else Path(path)
        self.state, self.every, self.resume_ok = state, max(1, int(every)), resume
        self.saved_step: int | None = None

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def resume(self, map_location="cpu") -> dict | None:
        """The last checkpoint (RNG restored) if resuming is on and one exists, else None."""
        if self.path is None or not self.resume_ok or not self.path.exists():
            return None
        st = load_checkpoint(self.path, map_location=map_location)
        if "rng" in st:
            set_rng_state(st["rng"])
        self.saved_step = int(st.get("step", 0))
        return st

    def save(self, step: int) -> Path | None:
        if self.path is None:
            return None
        save_checkpoint(self.path, {**self.state(), "step": int(step), "rng": rng_state()})
        self.saved_step = int(step)
        return self.path

    def step(self, step: int) -> Path | None:
        """Save if ``step`` is a multiple of ``every``."""
        if self.path is not None and step % self.every == 0:
            return self.save(step)
        return None
