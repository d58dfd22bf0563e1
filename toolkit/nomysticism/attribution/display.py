"""Attributions as pictures: heat maps (Simonyan et al. 2014), signed images, overlays.

Simonyan et al. 2014, sec. 3.1: the saliency map of an image is M_ij = max_c |w_h(i,j,c)|, the
largest gradient magnitude over the colour channels. Zeiler & Fergus 2013 and Springenberg et
al. 2015 show signed reconstructions instead, grey for zero.

Pieces: :func:`heatmap` (channels → one map), :func:`to_rgb` (signed → grey-centred picture),
:func:`overlay` (a coloured map over the image).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["heatmap", "to_rgb", "overlay"]


def heatmap(attr: torch.Tensor, reduce: str = "max", normalize: bool = True) -> torch.Tensor:
    """Simonyan et al. 2014, sec. 3.1: M_ij = max_c |w_h(i,j,c)|, one map (N,1,H,W) per image.

    ``reduce``: 'max' (the paper: max over channels of |attr|), 'sum' (|Σ_c attr|, what Captum's
    ``visualize_image_attr`` shows: it *sums* channels), 'abs_sum' (Σ_c |attr|) or 'l2'.
    ``normalize`` divides each map by its maximum (so it lies in [0, 1]).
    """
    a = attr if attr.ndim == 4 else attr.unsqueeze(0)
    a = a.detach().float()
    if reduce == "max":
        h = a.abs().amax(1, keepdim=True)
    elif reduce == "sum":
        h = a.sum(1, keepdim=True).abs()
    elif reduce == "abs_sum":
        h = a.abs().sum(1, keepdim=True)
    elif reduce == "l2":
        h = a.pow(2).sum(1, keepdim=True).sqrt()
    else:
        raise ValueError(f"reduce must be 'max', 'sum', 'abs_sum' or 'l2', not {reduce!r}")
    if normalize:
        h = h / h.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    return h


def to_rgb(attr: torch.Tensor, percentile: float = 99.5) -> torch.Tensor:
    """Zeiler & Fergus 2013, fig. 2 style: a signed attribution (N,3,H,W) as a picture in [0,1],
    grey is zero. Each image is scaled so its ``percentile`` of |attr| is ±0.5."""
    a = attr.detach().float()
    a = a if a.ndim == 4 else a.unsqueeze(0)
    flat = a.abs().flatten(1)
    s = torch.quantile(flat, percentile / 100.0, dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return (0.5 + 0.5 * a / s).clamp(0, 1)


def overlay(image: torch.Tensor, heat: torch.Tensor, alpha: float = 0.6, cmap: str = "jet",
            percentile: float = 99.5, weighted: bool = True) -> torch.Tensor:
    """Selvaraju et al. 2017, fig. 1 style: lay a heat map (N,1,h,w) in colour over images (N,3,H,W).

    Each map is scaled so its ``percentile`` is 1. ``weighted=True`` blends by α·heat per pixel (cold
    parts stay see-through); ``weighted=False`` blends the whole colour map with α.
    """
    import matplotlib

    image = image if image.ndim == 4 else image.unsqueeze(0)
    h = heat.detach().float().cpu()
    h = h if h.ndim == 4 else h.unsqueeze(0)
    if h.shape[-2:] != image.shape[-2:]:
        h = F.interpolate(h, size=image.shape[-2:], mode="bilinear", align_corners=False)
    s = torch.quantile(h.flatten(1), percentile / 100.0, dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    h = (h / s).clamp(0, 1)
    rgb = torch.from_numpy(matplotlib.colormaps[cmap](h[:, 0].numpy())[..., :3]).float()
    rgb = rgb.permute(0, 3, 1, 2)
    a = alpha * h if weighted else torch.full_like(h, alpha)
    return ((1 - a) * image.detach().float().cpu() + a * rgb).clamp(0, 1)
