"""Johnson et al. 2016 / Ulyanov et al. 2016 at test time: stylising is one forward pass ŷ = f_W(x).

- :func:`stylize`: batches on the model's device, bf16 autocast and channels_last on CUDA
  (:mod:`nomysticism.runtime`), float32 CPU results;
- ``_as_style_image``: a tensor, an image path or a bundled sample name as (1,3,H,W).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..images import load_image, resize, sample_image
from ..runtime import autocast, memory_format, module_device

__all__ = ["stylize"]


def _as_style_image(style) -> torch.Tensor:
    """A (1,3,H,W) image from a tensor ((3,H,W) or (N,3,H,W)), a file path or a sample name."""
    if isinstance(style, torch.Tensor):
        return style if style.ndim == 4 else style.unsqueeze(0)
    if isinstance(style, str) and not Path(style).exists():
        return sample_image(style)
    return load_image(style)


@torch.no_grad()
def stylize(model: nn.Module, image: torch.Tensor, *, device=None, max_side: int | None = None,
            amp: bool | None = None, channels_last: bool | None = None, batch_size: int = 8) -> torch.Tensor:
    """Johnson et al. 2016: one forward pass ŷ = f_W(x). ``image`` is (3,H,W) or (N,3,H,W) in [0,1]
    (or a path / sample name); returns (N,3,H,W) float32 on the CPU.

    Runs on ``device`` (default: the model's). On CUDA, ``amp`` (bf16 autocast) and
    ``channels_last`` default on. ``max_side`` shrinks large inputs first.
    """
    if not isinstance(image, torch.Tensor):
        image = _as_style_image(image)
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if max_side is not None and max(image.shape[-2:]) > max_side:
        image = resize(image, max_side)
    dev = torch.device(device) if device is not None else module_device(model)
    amp = dev.type == "cuda" if amp is None else amp
    mf = memory_format(dev, channels_last)
    was_training = model.training
    model.eval().to(dev, memory_format=mf)
    outs = []
    for i in range(0, image.shape[0], batch_size):
        x = image[i : i + batch_size].to(dev, torch.float32).contiguous(memory_format=mf)
        with autocast(dev, amp):
            y = model(x)
        outs.append(y.float().clamp(0, 1).cpu().contiguous())
    model.train(was_training)
    return torch.cat(outs)
