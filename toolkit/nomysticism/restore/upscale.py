"""Upscaling by Lanczos resampling (Duchon 1979's windowed sinc, a = 4 lobes, OpenCV INTER_LANCZOS4):

    L(x) = sinc(x) sinc(x / a) for |x| < a,    out(y) = Σ_i in(i) L(y / s − i) (renormalised).

``method="network"`` (a small super-resolution net trained here and shipped) is left out: there
was no time to train one and show that it beats Lanczos on held-out frames (an ESPCN-sized trial,
Shi et al. 2016, was started on one thread and stopped unmeasured). Asking for it raises a
ValueError that says so.
"""

from __future__ import annotations

import numpy as np
import torch

from .tone import _check_frame

__all__ = ["upscale", "UPSCALE_METHODS"]

UPSCALE_METHODS = ("lanczos",)


def upscale(frame: torch.Tensor, factor: float = 2, method: str = "lanczos") -> torch.Tensor:
    """``frame`` (N,3,H,W) enlarged ``factor`` × (sides rounded), clipped to [0, 1]."""
    import cv2

    if method == "network":
        raise ValueError("upscale(method='network') is not provided: see nomysticism.restore.upscale's "
                         "docstring for why; use method='lanczos'")
    if method not in UPSCALE_METHODS:
        raise ValueError(f"method must be one of {', '.join(UPSCALE_METHODS)}, not {method!r}")
    if not factor > 0:
        raise ValueError(f"factor must be positive, not {factor}")
    x = _check_frame(frame)
    h, w = x.shape[-2:]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    a = x.detach().float().cpu().permute(0, 2, 3, 1).numpy()
    out = np.stack([cv2.resize(np.ascontiguousarray(f), size, interpolation=cv2.INTER_LANCZOS4).reshape(size[1], size[0], -1)
                    for f in a])
    return torch.from_numpy(out).permute(0, 3, 1, 2).clamp(0, 1).to(x.device, x.dtype)
