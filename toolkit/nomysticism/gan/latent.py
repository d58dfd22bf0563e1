"""Walking the latent space: Radford et al. 2015, §6.1, with White 2016's spherical interpolation.

Radford 2015 shows that moving z smoothly moves the image smoothly ("walking in the latent space").
White 2016, "Sampling generative networks", notes that under z ~ N(0, I) in 100 dimensions almost
all mass lies near the sphere |z| ≈ √100, so the straight line between two samples cuts through
improbable short vectors; slerp follows the great circle instead:

    slerp(z0, z1; t) = sin((1−t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1,   cos Ω = ẑ0·ẑ1.
"""

from __future__ import annotations

import torch

from .cgan import ConditionalGAN
from .dcgan import DCGAN

__all__ = ["slerp", "interpolate"]


def slerp(z0: torch.Tensor, z1: torch.Tensor, t, spherical: bool = True) -> torch.Tensor:
    """White 2016, "Sampling generative networks": points (T, D) on the great circle from ``z0`` to
    ``z1`` at ``t`` (a float or list in [0,1]): sin((1−t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1, with
    cos Ω = ẑ0·ẑ1. ``spherical=False`` gives the straight line (1−t)·z0 + t·z1."""
    ts = torch.as_tensor([t] if isinstance(t, (int, float)) else list(t), dtype=torch.float32)
    z0, z1 = z0.flatten().float(), z1.flatten().float()
    if spherical:
        omega = torch.arccos((z0 / z0.norm() @ (z1 / z1.norm())).clamp(-1, 1))
        so = torch.sin(omega)
        if so.abs() > 1e-6:
            return (torch.sin((1 - ts) * omega) / so)[:, None] * z0 + (torch.sin(ts * omega) / so)[:, None] * z1
    return (1 - ts)[:, None] * z0 + ts[:, None] * z1


@torch.no_grad()
def interpolate(model: DCGAN, z0: torch.Tensor, z1: torch.Tensor, t, y=None, spherical: bool = True):
    """Radford 2015 §6.1: images along the path from ``z0`` to ``z1`` at ``t`` (a float or a list in
    [0,1]), by :func:`slerp` (keeps |z| typical of N(0, I)). A conditional model draws class ``y``."""
    z = slerp(z0, z1, t, spherical)
    if isinstance(model, ConditionalGAN):
        y = torch.zeros(len(z), dtype=torch.long) if y is None else torch.as_tensor(y).long().expand(len(z))
        return model.generate(z, y=y)
    return model.generate(z)
