"""Goodfellow et al. 2014, alg. 1: the one training loop every GAN model of the package shares.

    for step in 1 … n:   draw a batch;  update D (k times per G update);  update G

:func:`train` runs it on :class:`nomysticism.progress.Loop` (bar, stop event, callback cadence)
and :class:`nomysticism.checkpoint.Checkpointer` (atomic saves, bit-for-bit resume); each model's
``train_step`` is the body. :class:`Run` is what it returns and what callbacks receive: a
:class:`nomysticism.progress.Progress` (``step``, ``total``, ``image`` = the last sample grid,
``info`` = the loss history) with the model, the samples and the timing.
"""

from __future__ import annotations

import time

import torch

from ..checkpoint import Checkpointer
from ..progress import Loop, Progress
from ..runtime import device as pick_device

__all__ = ["Run", "train"]


class Run(Progress):
    """What :func:`train` returns and hands to callbacks: the step reached, the loss history
    (``history["step"]`` and one list per loss), sample grids ``[(step, images)]`` taken with the
    fixed noise, whether it was stopped, and seconds spent.

    As a :class:`~nomysticism.progress.Progress` it has ``step``, ``total`` (the run's target),
    ``image`` (:attr:`last_samples`) and ``info`` (:attr:`history`), so a callback may take the run
    (``callback(run)``) or the positional form ``callback(step, image, info)``.
    """

    def __init__(self, model, step: int = 0, history: dict | None = None, samples: list | None = None,
                 stopped: bool = False, seconds: float = 0.0, steps_per_s: float = 0.0, total: int | None = None):
        self.model, self.step, self.total = model, step, total
        self.history = {} if history is None else history
        self.samples = [] if samples is None else samples
        self.stopped, self.seconds, self.steps_per_s = stopped, seconds, steps_per_s

    @property
    def last_samples(self):
        return self.samples[-1][1] if self.samples else None

    @property
    def image(self):
        return self.last_samples

    @property
    def info(self) -> dict:
        return self.history

    def __repr__(self) -> str:
        return (f"Run({type(self.model).__name__}, step={self.step}, total={self.total}, "
                f"stopped={self.stopped}, seconds={self.seconds:.1f})")

    __eq__ = object.__eq__
    __hash__ = object.__hash__


def train(model, data, steps: int, *, batch_size: int = 64, device=None, seed: int | None = None,
          sample_every: int = 100, checkpoint=None, checkpoint_every: int = 200, resume: bool = True,
          progress: bool = True, callback=None, callback_every: int = 10, stop=None,
          run: Run | None = None) -> Run:
    """Goodfellow 2014, alg. 1: alternate D and G updates for ``steps`` steps (one loop for every model).

    Each step draws a random batch of ``data`` (with replacement, from torch's generator), calls
    ``model.train_step`` and logs its losses. Every ``sample_every`` steps it keeps a grid from
    the fixed noise; every ``callback_every`` steps it calls ``callback(run)`` (or
    ``callback(step, samples, history)``; returning True stops); every ``checkpoint_every`` steps
    (and at the end or on stop) it writes ``checkpoint`` atomically with the networks, optimisers,
    pools, loss history and all random states. With ``resume=True`` an existing checkpoint is
    loaded first and the run goes on from its step, so a killed run that is restarted continues
    exactly (bit for bit on CPU) as if it had never stopped. ``steps`` is the total, not the number
    still to do. ``seed`` seeds torch on a fresh start. Set ``stop`` (a ``threading.Event``) to end
    early; pass the returned ``run`` back in to go on in memory (a widget's Start after Stop).
    ``device``: default :func:`nomysticism.runtime.device`. Set ``model.amp = True`` for bf16
    autocast on a GPU.
    """
    dev = pick_device(device)
    model.to(dev)
    run = Run(model) if run is None else run
    run.stopped, run.total = False, steps
    ck = Checkpointer(checkpoint, lambda: {"model": model.state_dict(), "history": run.history},
                      every=checkpoint_every, resume=resume)
    st = ck.resume()  # restores all random states too
    if st is not None:
        model.load_state_dict(st["model"])
        run.step, run.history = int(st["step"]), {k: list(v) for k, v in st["history"].items()}
    elif seed is not None and run.step == 0:
        torch.manual_seed(seed)

    model.train_mode(True)
    loop = Loop(steps, start=run.step, progress=progress, callback=callback, every=callback_every, stop=stop,
                desc=type(model).__name__, leave=True)
    t0, s0 = time.perf_counter(), run.step
    try:
        for _ in loop:
            run.step += 1
            losses = model.train_step(model.draw(data, batch_size), run.step, steps)
            run.history.setdefault("step", []).append(run.step)
            for k, v in losses.items():
                run.history.setdefault(k, []).append(float(v))
            if run.step % sample_every == 0 or run.step == steps:
                run.samples.append((run.step, model.samples()))
            ck.step(run.step)
            postfix = {k: f"{v:.3f}" for k, v in list(losses.items())[:3]} if run.step % 10 == 0 else None
            loop.report(run.step, postfix=postfix, progress=run)
    finally:
        loop.bar.close()
        model.train_mode(False)
        run.seconds = time.perf_counter() - t0
        run.steps_per_s = (run.step - s0) / max(run.seconds, 1e-9)
    run.stopped = loop.stopped
    ck.save(run.step)
    loop.finish()  # after a stop: one last callback, unless that step was just reported
    return run
