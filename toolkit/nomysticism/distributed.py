"""Training on several GPUs (or CPU processes): ``torchrun`` + DistributedDataParallel, one process each.

    torchrun --nproc_per_node=4 --no-python nomysticism train-gan --model dcgan --data digits --out run/
    torchrun --nproc_per_node=4 my_script.py        # a script that calls nm.distributed.init()

:func:`init` reads the variables ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``) and starts the process group: NCCL when the process's device is
a GPU (``cuda:LOCAL_RANK``), gloo on the CPU. Outside ``torchrun`` it starts nothing and returns a
one-process :class:`Context`, so the same code runs in a notebook. The toolkit's training loops
(``fast_style.train``, ``gan.train``) call :func:`context` and, with more than one process:

- wrap the networks in ``DistributedDataParallel`` (:func:`wrap`; batch norm becomes
  ``SyncBatchNorm`` on GPUs; PyTorch's SyncBatchNorm has no CPU kernel, so on gloo each process
  normalises with the statistics of its own part of the batch);
- split every step's batch over the processes: ``batch_size`` is the *global* batch, each process
  takes ``batch_size / world_size`` of it. Image sets are ordered by a
  ``torch.utils.data.DistributedSampler`` per epoch (:func:`epoch_order`); random draws (noise,
  GAN minibatches) are drawn for the whole batch with the same generator on every process and each
  takes its slice (:meth:`Context.shard`). So the global batch of step *s* is the one a single
  process would use at the full batch, and DDP's gradient average (of per-sample means over equal
  shards) is the full batch's gradient: N processes end with the weights of one process, to
  rounding, for a network without batch norm;
- let only rank 0 write: checkpoints (:class:`Checkpointer`, atomic as in
  :mod:`nomysticism.checkpoint`), logs, progress bars, sample grids; every rank resumes from the
  same checkpoint file (it must be on a file system every node sees);
- average the logged losses over the processes (:meth:`Context.mean`) and stop all of them
  together when a callback or a stop event on any rank asks (:meth:`Context.any`).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from .checkpoint import Checkpointer as _Checkpointer
from .runtime import device as pick_device

__all__ = ["Context", "init", "session", "context", "shutdown", "is_main", "wrap", "unwrap", "epoch_order",
           "Checkpointer", "TORCHRUN_VARS"]

#: The environment ``torchrun`` gives each process (``torch.distributed.run``).
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")

_OWNED = False  # True when init() started the process group (shutdown() then ends it)


def _initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def _rank_device(prefer, local_rank: int) -> torch.device:
    """The process's device: ``cuda:LOCAL_RANK`` when the pick is a GPU without an index."""
    dev = pick_device(prefer)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return dev


@dataclass(frozen=True)
class Context:
    """Where this process stands: ``rank`` of ``world_size`` (``local_rank`` on its node), the
    process group's ``backend`` (None when single) and the ``device`` it computes on.

    With ``world_size == 1`` every method is the identity, so loops call them unconditionally.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, logs and progress bars."""
        return self.rank == 0

    def local_batch(self, batch_size: int) -> int:
        """This process's share of a global ``batch_size`` (which must split evenly)."""
        batch_size = int(batch_size)
        if batch_size < self.world_size or batch_size % self.world_size:
            raise ValueError(f"the batch size ({batch_size}) is the global batch: it must be a multiple "
                             f"of the number of processes ({self.world_size})")
        return batch_size // self.world_size

    def shard(self, x):
        """This rank's contiguous slice of the leading dimension of ``x`` (a global draw)."""
        if not self.distributed:
            return x
        n = self.local_batch(len(x))
        return x[self.rank * n:(self.rank + 1) * n]

    # collectives: every process must call them, in the same order ---------------------------------
    def _tensor(self, values, dtype=torch.float64) -> torch.Tensor:
        dev = self.device if self.backend == "nccl" else torch.device("cpu")
        return torch.tensor(values, dtype=dtype, device=dev)

    def mean(self, values):
        """The mean over processes of each number in ``values`` (a list of floats, or a dict)."""
        if not self.distributed:
            return values
        keys = list(values) if isinstance(values, dict) else None
        t = self._tensor([float(values[k]) for k in keys] if keys else [float(v) for v in values])
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        out = (t / self.world_size).tolist()
        return dict(zip(keys, out)) if keys else out

    def any(self, flag: bool) -> bool:
        """True on every process if ``flag`` is true on any (a stop asked for on one rank)."""
        if not self.distributed:
            return bool(flag)
        t = self._tensor([1.0 if flag else 0.0])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def broadcast(self, value: int) -> int:
        """Rank 0's integer, on every process (a seed)."""
        if not self.distributed:
            return int(value)
        t = self._tensor([int(value)], torch.int64)
        dist.broadcast(t, src=0)
        return int(t.item())

    def same(self, value: int, what: str = "value") -> int:
        """Check that every process holds the same integer (e.g. the step it resumed from)."""
        if not self.distributed:
            return int(value)
        t = self._tensor([int(value), -int(value)], torch.int64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        hi, lo = int(t[0]), -int(t[1])
        if hi != lo:
            raise RuntimeError(f"the processes disagree about the {what}: {lo} on one, {hi} on another")
        return int(value)

    def barrier(self) -> None:
        if self.distributed:
            if self.backend == "nccl":
                dist.barrier(device_ids=[self.device.index])
            else:
                dist.barrier()


def context(device=None) -> Context:
    """The current :class:`Context` (starts nothing): the process group's rank and size if one is
    running, else a single process on ``device`` (default :func:`nomysticism.runtime.device`)."""
    if not _initialized():
        return Context(device=pick_device(device))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    backend = str(dist.get_backend())
    dev = _rank_device(device, local)
    if backend == "nccl" and dev.type != "cuda":
        raise ValueError(f"the process group uses NCCL, which reduces GPU tensors only; this process "
                         f"was asked to train on {dev} (use device=None or 'cuda', or start the group "
                         "with backend='gloo')")
    return Context(dist.get_rank(), dist.get_world_size(), local, backend, dev)


def init(device=None, backend: str | None = None, timeout_s: float = 1800.0) -> Context:
    """Start the process group from ``torchrun``'s environment and return this process's
    :class:`Context`. Idempotent; outside ``torchrun`` (no ``WORLD_SIZE`` > 1) it starts nothing.

    ``backend`` defaults to ``"nccl"`` when the device is a GPU (``cuda:LOCAL_RANK``, made the
    current device) and ``"gloo"`` otherwise.
    """
    global _OWNED
    if _initialized():
        return context(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return context(device)
    if not dist.is_available():
        raise RuntimeError("this PyTorch build has no torch.distributed")
    missing = [k for k in TORCHRUN_VARS if k not in os.environ]
    if missing:
        raise RuntimeError(f"WORLD_SIZE={world} but {', '.join(missing)} unset: start the script with "
                           "torchrun (python -m torch.distributed.run)")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = _rank_device(device, local)
    backend = backend or ("nccl" if dev.type == "cuda" else "gloo")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    dist.init_process_group(backend, init_method="env://", timeout=timedelta(seconds=timeout_s),
                            **({"device_id": dev} if backend == "nccl" else {}))
    _OWNED = True
    return context(device)


def shutdown() -> None:
    """End the process group if :func:`init` started it (after a last barrier)."""
    global _OWNED
    if _OWNED and _initialized():
        context().barrier()
        dist.destroy_process_group()
    _OWNED = False


@contextmanager
def session(device=None, backend: str | None = None):
    """``with session() as ctx:`` :func:`init`, and at the end :func:`shutdown` if this call started
    the process group (a group someone else started, e.g. a script around the CLI, is left running)."""
    started = not _initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1
    ctx = init(device, backend)
    try:
        yield ctx
    finally:
        if started:
            shutdown()


def is_main() -> bool:
    """True on rank 0 (and when not distributed)."""
    return not _initialized() or dist.get_rank() == 0


def wrap(module: nn.Module, ctx: Context, sync_batchnorm: bool | None = None) -> nn.Module:
    """``module`` in ``DistributedDataParallel`` (when ``ctx`` has more than one process; else
    ``module`` itself). DDP broadcasts rank 0's weights at once and averages the gradients in
    ``backward``. ``sync_batchnorm`` (default: on GPUs) first turns batch norm into
    ``SyncBatchNorm`` in place (the parameters stay the same objects, the optimiser keeps working);
    it has no CPU kernel. Train through the wrapper, save ``unwrap(w)`` (or the module you had)."""
    if not ctx.distributed:
        return module
    if sync_batchnorm is None:
        sync_batchnorm = ctx.device.type == "cuda"
    if sync_batchnorm:
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a DDP wrapper (or ``module`` itself)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def epoch_order(n: int, seed: int, epoch: int, ctx: Context | None = None) -> list[int]:
    """This rank's indices of epoch ``epoch`` of a set of ``n`` items: a
    ``torch.utils.data.DistributedSampler`` (shuffled by ``seed + epoch``; rank r takes every
    ``world_size``-th index of the permutation from r, padded by repeating its start to a multiple
    of ``world_size``). With one process this is ``torch.randperm(n)`` under that seed; with W
    processes, position p of rank r is position ``p·W + r`` of it, so consecutive per-rank batches of
    ``b`` together cover exactly the global batch of ``b·W`` when ``n`` is a multiple of ``W``."""
    ctx = ctx or Context()
    s = torch.utils.data.DistributedSampler(range(n), num_replicas=ctx.world_size, rank=ctx.rank,
                                            shuffle=True, seed=seed, drop_last=False)
    s.set_epoch(epoch)
    return list(s)


class Checkpointer(_Checkpointer):
    """:class:`nomysticism.checkpoint.Checkpointer` for several processes: every rank resumes from
    the same file (the processes then check that they agree on the step), only rank 0 saves
    (atomically). With one process it is the plain Checkpointer.

    The saved random state is rank 0's; the loops keep the processes' generators in step (every
    rank makes the same global draws), so it is every rank's."""

    def __init__(self, path, state, every: int = 100, resume: bool = True, ctx: Context | None = None):
        super().__init__(path, state, every=every, resume=resume)
        self.ctx = ctx or context()

    def resume(self, map_location="cpu") -> dict | None:
        st = super().resume(map_location=map_location)
        if self.ctx.distributed:
            self.ctx.same(-1 if st is None else int(st.get("step", 0)),
                          f"step to resume from (is {self.path} on a file system every node sees?)")
        return st

    def save(self, step: int):
        if not self.ctx.is_main:
            self.saved_step = int(step)
            return None
        return super().save(step)
