"""What every GAN model of the package shares: networks + optimisers + one ``train_step``.

Goodfellow et al. 2014, alg. 1 alternates a D update and a G update; each model
(:class:`~nomysticism.gan.DCGAN`, :class:`~nomysticism.gan.ConditionalGAN`,
:class:`~nomysticism.gan.CycleGAN`) writes its own step, and :func:`~nomysticism.gan.train` runs
them all. ``_Model`` holds the plumbing: device moves (channels_last on CUDA), bf16 autocast,
gradient clipping, eval-mode sampling, and the state dict a checkpoint saves.

Images are (N,C,H,W) in [0,1] at the API; the networks work in [-1,1] as the papers do (G ends in
tanh): :func:`_to_pm1` and :func:`_to_01` convert at the boundary.

Several processes (``torchrun``, :mod:`nomysticism.distributed`): :meth:`_Model.distribute` wraps
each net in DistributedDataParallel (``self.nets`` keep the plain nets, so checkpoints and samples
do not change); a ``train_step`` trains through :meth:`_Model._net` and draws its randomness with
:meth:`_Model._randn` / :meth:`_Model._randint`, which draw the *global* batch's numbers with the
same generator on every process and keep this rank's slice: the processes' generators stay in step,
and together they use the very numbers one process would at the full batch.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from .. import distributed
from ..runtime import autocast, memory_format


def _to_pm1(x):
    return x * 2 - 1


def _to_01(x):
    return ((x.float() + 1) / 2).clamp(0, 1)


def _adam(params, lr, betas):
    return torch.optim.Adam(params, lr=lr, betas=betas)


def _take(src, idx: torch.Tensor) -> torch.Tensor:
    """Rows ``idx`` of a tensor, or items of a Dataset stacked."""
    if isinstance(src, torch.Tensor):
        return src[idx]
    items = [src[int(i)] for i in idx]
    items = [it[0] if isinstance(it, (tuple, list)) else it for it in items]
    return torch.stack(items)


class _Model:
    """What :func:`~nomysticism.gan.train` needs from a model: ``nets`` and ``opts`` (dicts),
    ``draw(data, n)``, ``train_step(batch, step, n_steps) -> dict of floats``, ``samples()``, extra state."""

    nets: dict[str, nn.Module]
    opts: dict[str, torch.optim.Optimizer]
    device = torch.device("cpu")
    amp = False
    clip_grad: float | None = None
    _cpu_tensors: tuple[str, ...] = ()  # tensor attributes that stay on the CPU (display images)
    _ctx: distributed.Context | None = None  # set by distribute(): several processes
    _ddp: dict[str, nn.Module] | None = None

    # several processes ----------------------------------------------------------------------------
    def distribute(self, ctx: distributed.Context, sync_batchnorm: bool | None = None) -> _Model:
        """Train through DistributedDataParallel wrappers of ``nets`` (when ``ctx`` has more than one
        process); batch norm becomes SyncBatchNorm on GPUs (:func:`nomysticism.distributed.wrap`).
        Call after the model is on its device and any checkpoint is loaded."""
        self._ctx = ctx if ctx.distributed else None
        self._ddp = None
        if self._ctx is not None:
            self._ddp = {k: distributed.wrap(n, ctx, sync_batchnorm) for k, n in self.nets.items()}
            self.nets = {k: distributed.unwrap(w) for k, w in self._ddp.items()}
        return self

    def undistribute(self) -> None:
        self._ctx = self._ddp = None

    def _net(self, name: str) -> nn.Module:
        """The net to train through: its DDP wrapper under several processes, else the net."""
        return self._ddp[name] if self._ddp else self.nets[name]

    @property
    def _world(self) -> int:
        return self._ctx.world_size if self._ctx is not None else 1

    def _shard(self, x):
        return self._ctx.shard(x) if self._ctx is not None else x

    def _randn(self, n: int, *shape) -> torch.Tensor:
        """N(0, I) noise (n, *shape) for this rank: its slice of the global batch's draw."""
        return self._shard(torch.randn(n * self._world, *shape, device=self.device))

    def _rand(self, n: int) -> torch.Tensor:
        """U[0,1) numbers (n,) for this rank (the gradient penalty's ε), sliced like :meth:`_randn`."""
        return self._shard(torch.rand(n * self._world, device=self.device))

    def _randint(self, high: int, n: int) -> torch.Tensor:
        """n indices in [0, high) for this rank (a minibatch drawn with replacement, Goodfellow 2014
        alg. 1): this rank's slice of the global batch's draw."""
        return self._shard(torch.randint(0, high, (n * self._world,)))

    def to(self, device) -> _Model:
        self.device = torch.device(device)
        for n in self.nets.values():  # channels_last on CUDA (runtime.memory_format)
            n.to(self.device, memory_format=memory_format(self.device))
        for k, v in list(vars(self).items()):
            if isinstance(v, torch.Tensor) and k not in self._cpu_tensors:
                setattr(self, k, v.to(self.device))
        for opt in self.opts.values():  # moved optimiser state (after a resume on another device)
            for st in opt.state.values():
                for k, v in st.items():
                    if isinstance(v, torch.Tensor) and v.ndim > 0:
                        st[k] = v.to(self.device)
        return self

    def _autocast(self):
        return autocast(self.device, bool(self.amp) and self.device.type in ("cuda", "cpu"))

    def _input(self, x):
        x = x.to(self.device, non_blocking=True).float()
        return x.contiguous(memory_format=memory_format(self.device))

    def _clip(self, net):
        if self.clip_grad:
            nn.utils.clip_grad_norm_(net.parameters(), self.clip_grad)

    def train_mode(self, on: bool = True):
        for n in self.nets.values():
            n.train(on)

    @contextmanager
    def _sampling(self, *nets: nn.Module):
        """Eval mode (batch norm uses, and does not update, its running statistics) and no grad
        for ``nets`` while sampling; each net's previous mode is restored afterwards."""
        was = [n.training for n in nets]
        try:
            for n in nets:
                n.eval()
            with torch.no_grad(), self._autocast():
                yield
        finally:
            for n, w in zip(nets, was):
                n.train(w)

    def extra_state(self) -> dict:
        """Plain settings a callback may change during training; saved so that they survive a resume."""
        return {"clip_grad": self.clip_grad}

    def load_extra_state(self, st: dict) -> None:
        self.clip_grad = st.get("clip_grad", self.clip_grad)  # older checkpoints lack it

    def state_dict(self) -> dict:
        return {"nets": {k: n.state_dict() for k, n in self.nets.items()},
                "opts": {k: o.state_dict() for k, o in self.opts.items()},
                "extra": self.extra_state()}

    def load_state_dict(self, st: dict) -> None:
        for k, n in self.nets.items():
            n.load_state_dict(st["nets"][k])
        for k, o in self.opts.items():
            o.load_state_dict(st["opts"][k])
        self.load_extra_state(st["extra"])
        self.to(self.device)
