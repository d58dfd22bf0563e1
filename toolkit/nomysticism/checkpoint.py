"""Checkpoints that survive an interrupted run, and weights in safetensors.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts (state dicts, optimiser state,
RNG state, step). It is written atomically (temp file + rename, :func:`nomysticism.assets.atomic_write`),
so a kill mid-write leaves the previous checkpoint intact, and read with
``torch.load(weights_only=True)`` (no pickled code).

:class:`Checkpointer` is the one resume helper every training loop uses: it loads the last
checkpoint if there is one, saves every ``every`` steps, and saves again at the end or on a stop.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .assets import asset, asset_path, atomic_write, list_assets

__all__ = ["save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state", "save_weights",
           "load_weights", "save_module", "read_metadata", "shipped_configs", "shipped_record", "Checkpointer", "TrainingRun"]


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



def shipped_configs(folder: str) -> dict[str, dict]:
    """Each shipped ``assets/<folder>/<name>.safetensors``'s model config (the JSON under ``"config"``
    in its header, as :func:`save_module` writes it), by name."""
    out = {}
    for name in list_assets(folder, ".safetensors"):
        with asset_path(f"{folder}/{name}.safetensors") as p:
            out[name] = json.loads(read_metadata(p).get("config", "{}"))
    return out


def shipped_record(folder: str, name: str, known: list[str]) -> dict:
    """A shipped model's training record, ``assets/<folder>/<name>.json`` (``known``: the names to
    suggest when there is none)."""
    f = asset(f"{folder}/{name}.json")
    if not f.is_file():
        raise ValueError(f"no record for {name!r}; shipped models: {', '.join(known) or 'none'}")
    return json.loads(f.read_text("utf-8"))

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


class TrainingRun:
    """One network + optimiser trained step by step: mean loss per logging interval, wall time,
    and a :class:`Checkpointer` that resumes all of it (the interval's pending losses included, so
    a resumed run logs the same numbers as an uninterrupted one).

    >>> run = TrainingRun(model, opt, checkpoint, total=steps, log_every=25, map_location=dev)
    >>> for step in Loop(steps, start=run.start, ...):
    ...     loss = ...; opt.step()
    ...     run.record(step + 1, float(loss))     # logs, and saves every ``every`` steps
    >>> hist = run.finish(step)                    # {"step": [...], "loss": [...], "seconds", **extra}

    The checkpoint holds ``model``, ``optimizer``, ``history`` and ``pending``.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, path, *, total: int,
                 log_every: int = 25, every: int = 100, resume: bool = True, map_location="cpu",
                 **extra):
        self.model, self.optimizer, self.total, self.log_every = model, optimizer, int(total), max(1, int(log_every))
        self.history = {"step": [], "loss": [], "seconds": 0.0, **extra}
        self._acc, self._n, self._t0 = 0.0, 0, time.perf_counter()
        self.checkpointer = Checkpointer(path, self._state, every=every, resume=resume)
        self.start = 0
        st = self.checkpointer.resume(map_location=map_location)
        if st is not None:
            model.load_state_dict(st["model"])
            optimizer.load_state_dict(st["optimizer"])
            self.start, self.history = int(st["step"]), dict(st["history"])
            self._acc, self._n = float(st["pending"][0]), int(st["pending"][1])
        self._t0 = time.perf_counter()

    def _state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "pending": [self._acc, self._n],
                "history": {**self.history, "seconds": self.history["seconds"] + time.perf_counter() - self._t0}}

    def record(self, step: int, loss: float) -> None:
        """The loss of the step that has just ended (``step`` counts from 1)."""
        self._acc, self._n = self._acc + loss, self._n + 1
        if step % self.log_every == 0 or step == self.total:
            self.history["step"].append(step)
            self.history["loss"].append(self._acc / self._n)
            self._acc, self._n = 0.0, 0
        self.checkpointer.step(step)

    def finish(self, step: int) -> dict:
        """Add the wall time, save the last checkpoint, return the history."""
        self.history["seconds"] += time.perf_counter() - self._t0
        self._t0 = time.perf_counter()
        self.checkpointer.save(step)
        return self.history
