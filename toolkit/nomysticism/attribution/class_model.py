"""Class-model visualisation (Simonyan, Vedaldi & Zisserman 2014, sec. 2).

Eq. 1: I* = argmax_I S_c(I) − λ‖I‖², found by gradient ascent on the image from the zero image,
with S_c the *pre-softmax* class score. Optional regularisers from Yosinski et al. 2015 (random
jitter, a Gaussian blur every few steps) give more natural pictures.

Pieces: :func:`class_model`, and the image operations DeepDream shares: :func:`_jitter`
(a circular shift) and :func:`_gaussian_blur` (separable, reflect-padded).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..progress import Loop
from ..runtime import module_device

__all__ = ["class_model"]


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return x
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1),
                 groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1),
                    groups=c)


def _jitter(x, dy, dx):
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))


def _mean_image(model, size, dev):
    mean = getattr(getattr(model, "normalize", None), "mean", None)
    if mean is None:
        mean = torch.full((1, 3, 1, 1), 0.5)
    return mean.detach().to(dev, torch.float32).expand(1, 3, *size).clone()


def class_model(model, target: int, size: int | tuple[int, int] = 224, steps: int = 200,
                lr: float = 0.01, l2: float = 1e-3, jitter: int = 0, blur_every: int = 0,
                blur_sigma: float = 0.5, seed: int = 0, progress: bool = True,
                callback: Callable | None = None, callback_every: int = 10,
                stop: threading.Event | None = None) -> torch.Tensor:
    """Simonyan et al. 2014, eq. 1: argmax_I S_c(I) − λ‖I‖², by gradient ascent from the zero image.

    "Zero" is the zero of the network's centred input, i.e. the mean image; ‖I‖ is measured from
    it in pixel units. Each step moves by ``lr`` times the gradient divided by its mean magnitude.
    Optional regularisers from Yosinski et al. 2015: random ``jitter`` (pixels) and a Gaussian
    blur every ``blur_every`` steps. Pixels stay in [0, 1]. Returns (1,3,H,W).
    ``callback(step, image)`` (or ``callback(progress)``, see :mod:`nomysticism.progress`) every
    ``callback_every`` steps and at the end; it may return True to stop; ``stop`` (an Event) ends
    early with the image reached.
    """
    size = (size, size) if isinstance(size, int) else tuple(size)
    dev = module_device(model)
    mean = _mean_image(model, size, dev)
    delta = torch.zeros_like(mean, requires_grad=True)
    g = torch.Generator().manual_seed(seed)

    def current():  # the class model so far, in [0, 1]
        return (mean + delta).detach().clamp(0, 1)

    loop = Loop(steps, progress=progress, callback=callback, every=callback_every, stop=stop,
                desc=f"class {target}")
    for step in loop:
        dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=g).tolist() if jitter
                  else (0, 0))
        img = _jitter(mean + delta, dy, dx)
        score = model(img)[0, target] - l2 * delta.pow(2).sum()  # eq. 1
        (grad,) = torch.autograd.grad(score, delta)
        with torch.no_grad():
            delta += lr * grad / grad.abs().mean().clamp_min(1e-12)
            delta.copy_((mean + delta).clamp(0, 1) - mean)
            if blur_every and (step + 1) % blur_every == 0:
                delta.copy_(_gaussian_blur(delta, blur_sigma))
        loop.report(step + 1, image=current)
    loop.finish()
    return current()
