"""Johnson et al. 2016, §3 / Ulyanov et al. 2016, §3: train the feed-forward network once, with Adam,
to minimise the perceptual loss (eq. 5) over many content images: min_W E_x [ℓ(f_W(x), x, y_s)].

- ``_Batches``: deterministic batches (step s always gets the same images), so a resumed run sees
  what an uninterrupted one would; under ``torchrun`` each epoch's order is a DistributedSampler's
  (:func:`nomysticism.distributed.epoch_order`) and each process loads only its share;
- :func:`train`: the loop, on :class:`nomysticism.progress.Loop` (bar, callback cadence, stop) and
  :class:`nomysticism.checkpoint.Checkpointer` (atomic saves, bit-for-bit resume); bf16 autocast and
  channels_last on CUDA via :mod:`nomysticism.runtime`; DistributedDataParallel under ``torchrun``
  (:mod:`nomysticism.distributed`: rank 0 writes, the batch is split). Its defaults are
  ``RECIPES["default"]``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .. import distributed
from ..data import ImageFolder, random_crops
from ..models import LayeredNet
from ..progress import Loop, should_stop
from ..runtime import autocast, memory_format
from .inference import _as_style_image
from .perceptual import PerceptualLoss
from .recipes import RECIPES
from .texture_net import TextureNetwork

__all__ = ["train"]

_D = RECIPES["default"]


class _Batches:
    """Deterministic batches: step s always gets the same images (seeded by (seed, epoch)), so a
    resumed run sees exactly the batches an uninterrupted one would.

    ``batch_size`` is this process's batch; with several processes (``ctx``) each epoch is ordered
    by a DistributedSampler (:func:`nomysticism.distributed.epoch_order`, seed ``seed·100003``), and
    the ranks' batches of step s together are the one-process batch of step s at the global size."""

    def __init__(self, data, image_size: int, batch_size: int, seed: int, workers: int = 0, ctx=None):
        if data is None:
            data = _D["n_crops"]
        if isinstance(data, int):  # offline: random crops of the bundled photos
            data = random_crops(data, image_size, seed=seed)
        if isinstance(data, (str, Path)):
            data = ImageFolder(data, image_size)
        self.data, self.bs, self.seed, self.workers = data, batch_size, seed, workers
        self.ctx = ctx or distributed.Context()
        self.n = len(data)
        if self.n < 1:
            raise ValueError("no training images")
        self._cache: tuple[int, list[int]] | None = None

    def _order(self, epoch: int) -> list[int]:
        """This rank's order of epoch ``epoch`` (one process: randperm(n) seeded seed·100003 + epoch)."""
        if self._cache is None or self._cache[0] != epoch:
            self._cache = (epoch, distributed.epoch_order(self.n, self.seed * 100_003, epoch, self.ctx))
        return self._cache[1]

    def indices(self, step: int) -> list[int]:
        out, pos = [], step * self.bs
        m = -(-self.n // self.ctx.world_size)  # each rank's share of an epoch
        while len(out) < self.bs:
            epoch, i = divmod(pos, m)
            out.append(int(self._order(epoch)[i]))
            pos += 1
        return out

    def iterate(self, start: int):
        if isinstance(self.data, torch.Tensor):
            step = start
            while True:
                yield self.data[self.indices(step)]
                step += 1
        else:
            ds = self.data

            class _Sampler(torch.utils.data.Sampler):
                def __iter__(it):
                    step = start
                    while True:
                        yield self.indices(step)
                        step += 1

            loader = torch.utils.data.DataLoader(ds, batch_sampler=_Sampler(), num_workers=self.workers,
                                                 persistent_workers=False)
            yield from loader


def train(
    model: nn.Module,
    style,
    data=None,
    *,
    steps: int = _D["steps"],
    batch_size: int = _D["batch_size"],
    image_size: int = _D["image_size"],
    lr: float = _D["lr"],
    loss: PerceptualLoss | None = None,
    loss_net: str | LayeredNet = _D["loss_net"],
    content_weight: float = _D["content_weight"],
    style_weight: float = _D["style_weight"],
    tv_weight: float = _D["tv_weight"],
    style_size: int | None = _D["style_size"],
    seed: int = _D["seed"],
    device=None,
    amp: bool | None = None,
    channels_last: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = _D["checkpoint_every"],
    resume: bool = True,
    log_every: int = _D["log_every"],
    workers: int = 0,
    progress: bool = True,
    callback: Callable | None = None,
    stop=None,
) -> dict:
    """Johnson et al. 2016, §3 / Ulyanov et al. 2016, §3: train a feed-forward network with Adam to
    minimise the perceptual loss (eq. 5) over ``data``; returns the history.

    ``model``: a :class:`TransformerNet` or :class:`TextureNetwork` (a texture-only network gets no
    content term). ``style``: an image tensor, a path, or a sample name (``"mosaic"``).
    ``data``: a folder of images (COCO), a tensor (N,3,S,S), an ``ImageFolder``, or an int ``n``
    / None (``n`` random crops of the bundled photos, 512 by default). The defaults are
    ``RECIPES["default"]`` (:mod:`~nomysticism.fast_style.recipes`); ``train(model, style, data,
    **train_kwargs("cpu_demo"))`` is the shipped model's recipe.

    ``checkpoint``: a path written atomically every ``checkpoint_every`` steps, on ``stop`` and at
    the end (model, Adam state, step, history, RNG). With ``resume=True`` an existing checkpoint is
    loaded and training continues at its step with the same optimiser state; batches and noise are
    seeded by the step, so the resumed run matches an uninterrupted one bit for bit on CPU.

    ``device``: default :func:`nomysticism.runtime.device` (CUDA, then MPS, then CPU). On CUDA,
    ``amp`` (default on) runs the forward passes in bf16 autocast and ``channels_last`` (default on)
    changes the memory layout; elsewhere both default off.
    ``log_every`` is the cadence (the ``callback_every`` of :mod:`nomysticism.progress`): every
    ``log_every`` steps the mean losses are appended to the history and ``callback(step, output,
    history)`` runs (or ``callback(progress)``); returning True stops, as does setting ``stop``.
    Returns ``{"step", "loss", "content", "style", "tv", "seconds"}`` (lists per logged step).

    Under ``torchrun`` (a process group started, e.g. by :func:`nomysticism.distributed.init`) the
    model trains in DistributedDataParallel on ``cuda:LOCAL_RANK`` (or the CPU with gloo):
    ``batch_size`` is the global batch, split evenly; only rank 0 shows the bar, runs the callback
    and writes the checkpoint; the history holds the losses averaged over the processes. A texture
    network's noise is drawn per rank (seed, step, rank). See :mod:`nomysticism.distributed`.
    """
    ctx = distributed.context(device)
    dev = ctx.device
    amp = dev.type == "cuda" if amp is None else amp
    mf = memory_format(dev, channels_last)

    if loss is None:
        loss = PerceptualLoss(loss_net, content_weight=content_weight, style_weight=style_weight,
                              tv_weight=tv_weight, style_size=style_size)
    loss.net.to(dev, memory_format=mf)
    if not loss.target_grams and style is None:
        raise ValueError("give a style image (or a PerceptualLoss whose set_style() was called)")
    if not loss.target_grams:
        loss.set_style(_as_style_image(style))
    else:
        loss.target_grams = {k: v.to(dev) for k, v in loss.target_grams.items()}
    model.to(dev, memory_format=mf).train()
    if ctx.distributed and dev.type == "cuda":  # before the optimiser: SyncBatchNorm keeps the parameters
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    local_batch = ctx.local_batch(batch_size)

    hist = {"step": [], "loss": [], "content": [], "style": [], "tv": [], "seconds": 0.0}
    t0 = time.perf_counter()

    def tick():  # wall time of this run, added to what a resumed checkpoint had
        nonlocal t0
        now = time.perf_counter()
        hist["seconds"] = hist["seconds"] + now - t0
        t0 = now

    def state():
        tick()
        return {"model": model.state_dict(), "optimizer": opt.state_dict(), "history": hist,
                "config": json.dumps({**getattr(model, "config", {}), "lr": lr, "batch_size": batch_size,
                                      "image_size": image_size, "seed": seed})}

    ck = distributed.Checkpointer(checkpoint, state, every=checkpoint_every, resume=resume, ctx=ctx)
    start = 0
    st = ck.resume(map_location=dev)  # restores the RNG state too
    if st is not None:
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        start = int(st["step"])
        hist = {k: (list(v) if isinstance(v, list) else v) for k, v in st["history"].items()}
    t0 = time.perf_counter()

    batches = _Batches(data, image_size, local_batch, seed, workers, ctx) if model.takes_content else None
    it = batches.iterate(start) if batches is not None else None
    net = distributed.wrap(model, ctx, sync_batchnorm=False)  # DDP with several processes (BN: above)
    # one process: the Loop watches ``stop``; several: every rank checks it after each step, together
    loop = Loop(steps, start=start, progress=progress and ctx.is_main,
                callback=callback if ctx.is_main else None, every=log_every,
                stop=None if ctx.distributed else stop, desc="train")
    step, out = start, None
    acc = {"loss": 0.0, "content": 0.0, "style": 0.0, "tv": 0.0}
    nacc = 0
    for step in loop:
        x = next(it).to(dev, non_blocking=True).contiguous(memory_format=mf) if it is not None else None
        # the noise of step s (and rank r), on resume too
        g = torch.Generator().manual_seed((seed * 1_000_003 + step) * ctx.world_size + ctx.rank)
        with autocast(dev, amp):
            if model.takes_content:
                out = net(x, generator=g) if isinstance(model, TextureNetwork) else net(x)
            else:
                out = net(n=local_batch, size=(image_size, image_size), generator=g)
            total, parts = loss(out, x)
        opt.zero_grad(set_to_none=True)
        total.backward()  # DDP: the gradients are averaged over the processes here
        opt.step()
        step += 1
        vals = ctx.mean([float(total.detach())] + [float(parts[k].detach()) for k in ("content", "style", "tv")])
        for k, v in zip(("loss", "content", "style", "tv"), vals):
            acc[k] += v
        nacc += 1
        if step % log_every == 0 or step == steps:  # the history: mean losses since the last entry
            hist["step"].append(step)
            for k in acc:
                hist[k].append(acc[k] / nacc)
            acc = dict.fromkeys(acc, 0.0)
            nacc = 0
        postfix = {"loss": f"{hist['loss'][-1]:.4g}"} if hist["loss"] else None
        stopped = loop.report(step, image=lambda out=out: out.detach().float(), info=hist, postfix=postfix)
        if ctx.distributed and ctx.any(stopped or should_stop(stop)):
            loop.stopped = stopped = True
        if stopped:
            break
        ck.step(step)
    loop.finish()
    tick()
    ck.save(step)
    model.eval()
    return hist
