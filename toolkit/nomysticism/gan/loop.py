"""Goodfellow et al. 2014, alg. 1: the one training loop every GAN model of the package shares.

    for step in 1 … n:   draw a batch;  update D (k times per G update);  update G

:func:`train` runs it on :class:`nomysticism.progress.Loop` (bar, stop event, callback cadence)
and :class:`nomysticism.checkpoint.Checkpointer` (atomic saves, bit-for-bit resume); each model's
``train_step`` is the body. :class:`Run` is what it returns and what callbacks receive: a
:class:`nomysticism.progress.Progress` (``step``, ``total``, ``image`` = the last sample grid,
``info`` = the loss history) with the model, the samples and the timing.

Under ``torchrun`` (:mod:`nomysticism.distributed`) the same loop trains each net through
DistributedDataParallel: ``batch_size`` is the global batch, each process draws its slice of it;
rank 0 alone keeps sample grids, shows the bar, runs the callback and writes the checkpoint; the
history holds the losses averaged over the processes.
"""

from __future__ import annotations

import time

import torch

from .. import distributed
from ..progress import Loop, Progress, should_stop

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

    Under ``torchrun`` (a process group started by :func:`nomysticism.distributed.init`): ``device``
    None means ``cuda:LOCAL_RANK`` (or the CPU, gloo), ``batch_size`` is split evenly over the
    processes, ``seed`` (None: rank 0's choice) seeds every process alike, and only rank 0 samples,
    reports and writes. With a batch-norm-free model the run ends with the weights one process
    would reach at the full batch; batch norm is SyncBatchNorm on GPUs and per-process on CPUs.
    """
    ctx = distributed.context(device)
    dev = ctx.device
    model.to(dev)
    run = Run(model) if run is None else run
    run.stopped, run.total = False, steps
    local_batch = ctx.local_batch(batch_size)
    ck = distributed.Checkpointer(checkpoint, lambda: {"model": model.state_dict(), "history": run.history},
                                  every=checkpoint_every, resume=resume, ctx=ctx)
    st = ck.resume()  # restores all random states too
    if st is not None:
        model.load_state_dict(st["model"])
        run.step, run.history = int(st["step"]), {k: list(v) for k, v in st["history"].items()}
    elif ctx.distributed and run.step == 0:  # every process draws alike (distributed.Context.shard)
        torch.manual_seed(ctx.broadcast(torch.initial_seed() % 2**62 if seed is None else seed))
    elif seed is not None and run.step == 0:
        torch.manual_seed(seed)

    model.train_mode(True)
    model.distribute(ctx)
    main = ctx.is_main
    loop = Loop(steps, start=run.step, progress=progress and main, callback=callback if main else None,
                every=callback_every, stop=None if ctx.distributed else stop, desc=type(model).__name__,
                leave=True)
    t0, s0 = time.perf_counter(), run.step
    try:
        for _ in loop:
            run.step += 1
            losses = model.train_step(model.draw(data, local_batch), run.step, steps)
            losses = ctx.mean(losses)  # the global batch's losses (one process: as they are)
            run.history.setdefault("step", []).append(run.step)
            for k, v in losses.items():
                run.history.setdefault(k, []).append(float(v))
            if main and (run.step % sample_every == 0 or run.step == steps):
                run.samples.append((run.step, model.samples()))
            ck.step(run.step)
            postfix = {k: f"{v:.3f}" for k, v in list(losses.items())[:3]} if run.step % 10 == 0 else None
            loop.report(run.step, postfix=postfix, progress=run)
            if ctx.distributed and ctx.any(loop.stopped or should_stop(stop)):
                loop.stopped = True  # all processes end at the same step
    finally:
        loop.bar.close()
        model.train_mode(False)
        model.undistribute()
        run.seconds = time.perf_counter() - t0
        run.steps_per_s = (run.step - s0) / max(run.seconds, 1e-9)
    run.stopped = loop.stopped
    ck.save(run.step)
    loop.finish()  # after a stop: one last callback, unless that step was just reported
    return run
