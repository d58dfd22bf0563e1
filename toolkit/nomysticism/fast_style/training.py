"""Johnson et al. 2016, §3 / Ulyanov et al. 2016, §3: train the feed-forward network once, with Adam,
to minimise the perceptual loss (eq. 5) over many content images: min_W E_x [ℓ(f_W(x), x, y_s)].

- ``_Batches``: deterministic batches (step s always gets the same images), so a resumed run sees
  what an uninterrupted one would;
- :func:`train`: the loop, on :class:`nomysticism.progress.Loop` (bar, callback cadence, stop) and
  :class:`nomysticism.checkpoint.Checkpointer` (atomic saves, bit-for-bit resume); bf16 autocast and
  channels_last on CUDA via :mod:`nomysticism.runtime`. Its defaults are ``RECIPES["default"]``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..checkpoint import Checkpointer
from ..data import ImageFolder, random_crops
from ..models import LayeredNet
from ..progress import Loop
from ..runtime import autocast, memory_format
from ..runtime import device as pick_device
from .inference import _as_style_image
from .perceptual import PerceptualLoss
from .recipes import RECIPES
from .texture_net import TextureNetwork

__all__ = ["train"]

_D = RECIPES["default"]


class _Batches:
    """Deterministic batches: step s always gets the same images (seeded by (seed, epoch)), so a
    resumed run sees exactly the batches an uninterrupted one would."""

    def __init__(self, data, image_size: int, batch_size: int, seed: int, workers: int = 0):
        if data is None:
            data = _D["n_crops"]
        if isinstance(data, int):  # offline: random crops of the bundled photos
            data = random_crops(data, image_size, seed=seed)
        if isinstance(data, (str, Path)):
            data = ImageFolder(data, image_size)
        self.data, self.bs, self.seed, self.workers = data, batch_size, seed, workers
        self.n = len(data)
        if self.n < 1:
            raise ValueError("no training images")

    def _order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(self.n, generator=g)

    def indices(self, step: int) -> list[int]:
        out, pos = [], step * self.bs
        while len(out) < self.bs:
            epoch, i = divmod(pos, self.n)
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
    """
    dev = pick_device(device)
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
    opt = torch.optim.Adam(model.parameters(), lr=lr)

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

    ck = Checkpointer(checkpoint, state, every=checkpoint_every, resume=resume)
    start = 0
    st = ck.resume(map_location=dev)  # restores the RNG state too
    if st is not None:
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        start = int(st["step"])
        hist = {k: (list(v) if isinstance(v, list) else v) for k, v in st["history"].items()}
    t0 = time.perf_counter()

    batches = _Batches(data, image_size, batch_size, seed, workers) if model.takes_content else None
    it = batches.iterate(start) if batches is not None else None
    loop = Loop(steps, start=start, progress=progress, callback=callback, every=log_every, stop=stop,
                desc="train")
    step, out = start, None
    acc = {"loss": 0.0, "content": 0.0, "style": 0.0, "tv": 0.0}
    nacc = 0
    for step in loop:
        x = next(it).to(dev, non_blocking=True).contiguous(memory_format=mf) if it is not None else None
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)  # the noise of step s, on resume too
        with autocast(dev, amp):
            if model.takes_content:
                out = model(x, generator=g) if isinstance(model, TextureNetwork) else model(x)
            else:
                out = model(n=batch_size, size=(image_size, image_size), generator=g)
            total, parts = loss(out, x)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        step += 1
        acc["loss"] += float(total.detach())
        for k in ("content", "style", "tv"):
            acc[k] += float(parts[k].detach())
        nacc += 1
        if step % log_every == 0 or step == steps:  # the history: mean losses since the last entry
            hist["step"].append(step)
            for k in acc:
                hist[k].append(acc[k] / nacc)
            acc = dict.fromkeys(acc, 0.0)
            nacc = 0
        postfix = {"loss": f"{hist['loss'][-1]:.4g}"} if hist["loss"] else None
        if loop.report(step, image=lambda out=out: out.detach().float(), info=hist, postfix=postfix):
            break
        ck.step(step)
    loop.finish()
    tick()
    ck.save(step)
    model.eval()
    return hist
