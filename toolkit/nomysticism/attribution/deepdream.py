"""DeepDream (Mordvintsev, Olah & Tyka 2015, "Inceptionism").

Gradient ascent on the image of the L2 objective ½‖a_l(I)‖² of a layer l (its gradient is a_l
itself), with normalised steps I ← I + η·g/mean|g|, run over a pyramid of octaves (each
``octave_scale`` times larger; the detail added at one octave is carried up to the next) and
with random jitter, as in the original notebook.

Pieces: :func:`deepdream`, and :func:`_dream_objective` (the layer/channel objective or, the
course seed's variant, the logit of a random class).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..progress import Loop, should_stop
from ..runtime import module_device
from .class_model import _jitter

__all__ = ["deepdream"]


def _dream_objective(model, layer, channel, random_class, gen):
    """The quantity DeepDream ascends, as a function of the image."""
    if random_class:
        n = len(getattr(model, "classes", [])) or None

        def obj(x):
            logits = model(x)
            c = int(torch.randint(n or logits.shape[1], (1,), generator=gen))
            return logits[0, c]

        return obj
    if layer is None:
        layer = model.default_layers.get("dream")

    def obj(x):
        a = model.features(x, [layer])[layer]
        if channel is not None:
            a = a[:, channel]
        return 0.5 * a.float().pow(2).mean()  # the original's L2 objective: its gradient is a

    return obj


def deepdream(model, image: torch.Tensor, layer: str | None = None, channel: int | None = None,
              octaves: int = 4, octave_scale: float = 1.4, steps: int = 10,
              step_size: float = 0.01, jitter: int = 32, random_class: bool = False,
              seed: int = 0, progress: bool = True, callback: Callable | None = None,
              callback_every: int = 1, stop: threading.Event | None = None) -> torch.Tensor:
    """Mordvintsev, Olah & Tyka 2015 (DeepDream): ascend ½‖a_l(I)‖² with normalised steps
    I ← I + η·g/mean|g|, over ``octaves`` scales (each ``octave_scale`` times larger), with
    random jitter, as in the original notebook.

    ``layer`` (default ``model.default_layers['dream']``) and optionally one ``channel``;
    ``random_class=True`` instead ascends the logit of a class drawn at random at every step (the
    course seed's variant). Returns (1,3,H,W) in [0,1]. ``callback(step, image)`` (or
    ``callback(progress)``, see :mod:`nomysticism.progress`) every ``callback_every`` steps
    (default: every step), counted over all octaves; it may return True to stop; ``stop`` (an
    Event) ends early with what there is.
    """
    image = image if image.ndim == 4 else image.unsqueeze(0)
    dev = module_device(model)
    base = image.detach().to(dev, torch.float32)
    gen = torch.Generator().manual_seed(seed)
    objective = _dream_objective(model, layer, channel, random_class, gen)
    h, w = base.shape[-2:]
    sizes = [(max(8, round(h / octave_scale**i)), max(8, round(w / octave_scale**i)))
             for i in range(octaves)][::-1]
    detail = torch.zeros(1, 3, *sizes[0], device=dev)
    loop = Loop(len(sizes) * steps, progress=progress, callback=callback, every=callback_every,
                stop=stop, desc="dream")
    ticks = iter(loop)  # one step counter over all octaves; it ends when stopped
    img = base
    try:
        for size in sizes:
            octave_base = F.interpolate(base, size=size, mode="bilinear", align_corners=False,
                                        antialias=size[0] < h)
            detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
            img = (octave_base + detail).clamp(0, 1)
            for i in itertools.islice(ticks, steps):
                j = min(jitter, size[0] // 4, size[1] // 4)
                dy, dx = torch.randint(-j, j + 1, (2,), generator=gen).tolist() if j else (0, 0)
                x = _jitter(img, dy, dx).requires_grad_(True)
                (g,) = torch.autograd.grad(objective(x), x)
                with torch.no_grad():
                    g = _jitter(g, -dy, -dx)
                    img = (img + step_size * g / g.abs().mean().clamp_min(1e-12)).clamp(0, 1)
                loop.report(i + 1, image=img.detach())
            detail = img - octave_base
            if loop.stopped or should_stop(stop):
                break
    finally:
        ticks.close()
    loop.finish()
    if img.shape[-2:] != (h, w):  # stopped early at a coarse octave
        img = (base + F.interpolate(detail, size=(h, w), mode="bilinear", align_corners=False))
    return img.detach().clamp(0, 1).to(image.device)
