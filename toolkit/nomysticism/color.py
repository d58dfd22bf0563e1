"""Colour spaces on tensors (N,3,H,W), differentiable and on any device, through kornia.

- :func:`rgb_to_lab` / :func:`lab_to_rgb`: CIE L*a*b* under D65 from sRGB (L in [0, 100],
  a and b about ±100): the space of the colourisation papers (Zhang et al. 2016 predict ab from L);
- :func:`rgb_to_yuv` / :func:`yuv_to_rgb`: BT.601 (Y in [0, 1], U ±0.436, V ±0.615), the space of
  colour-preserving style transfer;
- :func:`rgb_to_hsv` / :func:`hsv_to_rgb`: hue in [0, 1) (kornia uses radians; we use turns, so
  a hue shift of 0.5 is the opposite colour), saturation and value in [0, 1];
- :func:`luminance` (BT.601 Y, one channel) and :func:`to_gray` (Y in three channels).

kornia is the reference implementation (a well-kept library for exactly this); the tests check
it against scikit-image's float64 conversions.
"""

from __future__ import annotations

import math

import torch

__all__ = ["rgb_to_lab", "lab_to_rgb", "rgb_to_yuv", "yuv_to_rgb", "rgb_to_hsv", "hsv_to_rgb",
           "luminance", "to_gray", "hue_shift"]


def _kc():
    import kornia.color as kc

    return kc


def _check(x: torch.Tensor) -> torch.Tensor:
    if x.ndim < 3 or x.shape[-3] != 3:
        raise ValueError(f"expected (…,3,H,W) images, got {tuple(x.shape)}")
    return x


def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """sRGB in [0,1] -> CIE L*a*b* (D65): L in [0, 100], a, b about ±100."""
    return _kc().rgb_to_lab(_check(x).clamp(0, 1))


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """CIE L*a*b* -> sRGB; ``clip`` clamps out-of-gamut results to [0, 1]."""
    return _kc().lab_to_rgb(_check(lab), clip=clip)


def rgb_to_yuv(x: torch.Tensor) -> torch.Tensor:
    """RGB -> YUV (BT.601: Y = 0.299 R + 0.587 G + 0.114 B)."""
    return _kc().rgb_to_yuv(_check(x))


def yuv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """YUV -> RGB, the inverse of :func:`rgb_to_yuv` (not clamped)."""
    return _kc().yuv_to_rgb(_check(x))


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0,1] -> HSV with hue in turns [0, 1), saturation and value in [0, 1]."""
    hsv = _kc().rgb_to_hsv(_check(x))
    return torch.cat([hsv[..., :1, :, :] / (2 * math.pi), hsv[..., 1:, :, :]], -3)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """HSV (hue in turns) -> RGB in [0, 1]."""
    h = torch.remainder(hsv[..., :1, :, :], 1.0) * (2 * math.pi)
    return _kc().hsv_to_rgb(torch.cat([h, hsv[..., 1:, :, :]], -3))


def hue_shift(x: torch.Tensor, shift: float | torch.Tensor) -> torch.Tensor:
    """Rotate the hue by ``shift`` turns (0.5: the opposite colour); greys stay grey."""
    hsv = rgb_to_hsv(x)
    return hsv_to_rgb(torch.cat([hsv[..., :1, :, :] + shift, hsv[..., 1:, :, :]], -3))


def luminance(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B, as (…,1,H,W)."""
    return rgb_to_yuv(x)[..., :1, :, :]


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """The luma in all three channels (…,3,H,W): a grey picture of the same shape."""
    y = luminance(x)
    return y.expand(*y.shape[:-3], 3, *y.shape[-2:]).contiguous()
