"""Colour in neural style transfer: keep the photo's colours (Gatys et al. 2016), or reduce the palette.

Gatys, Bethge, Hertzmann & Shechtman 2016, "Preserving colour in neural artistic style transfer",
work in YUV (BT.601, :mod:`nomysticism.color`), where Y is the luminance and U, V the chroma:

- :func:`original_colors`: colour transfer *after* the optimisation (jcjohnson's
  ``-original_colors 1``): the result's Y with the content's U, V;
- :func:`match_luminance`: luminance-only transfer, eq. 1: L_s' = σ_c/σ_s (L_s − μ_s) + μ_c, the
  style's luminance given the content's mean and spread, before the optimisation;
- :func:`quantize_colors`: the seed's palette reduction of a style image (k-means in RGB).
"""

from __future__ import annotations

import torch

from ..color import rgb_to_yuv, yuv_to_rgb
from ..images import resize

__all__ = ["rgb_to_yuv", "yuv_to_rgb", "original_colors", "match_luminance", "quantize_colors"]


def original_colors(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Gatys et al. 2016, colour transfer (jcjohnson's ``-original_colors 1``): Y of ``result``, U, V of ``content``.

    ``content`` is resized to the result's size. The output is clamped to [0, 1].
    """
    content = resize(content.to(result.device, result.dtype), tuple(result.shape[-2:]))
    y = rgb_to_yuv(result)[:, :1]
    uv = rgb_to_yuv(content)[:, 1:]
    return yuv_to_rgb(torch.cat([y, uv], 1)).clamp(0, 1)


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Gatys et al. 2016 ("Preserving colour…"), eq. 1: the style's luminance, grey, with the content's mean and std.

    L_s' = σ_c/σ_s (L_s − μ_s) + μ_c. Returns a grey RGB image (the luminance in all channels).
    """
    ls = rgb_to_yuv(style)[:, :1]
    lc = rgb_to_yuv(content.to(style.device))[:, :1]
    ls = (ls - ls.mean()) * (lc.std() / ls.std().clamp_min(1e-6)) + lc.mean()
    return ls.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def quantize_colors(image: torch.Tensor, k: int, iters: int = 15, seed: int = 0,
                    max_samples: int = 20000) -> torch.Tensor:
    """The seed's palette reduction: replace every pixel by the nearest of ``k`` colours (k-means in RGB).

    k-means++ seeding on up to ``max_samples`` pixels, then Lloyd iterations; deterministic for a
    given ``seed``. Returns an image of the same shape with at most ``k`` distinct colours.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    x = image.detach().float()
    n, c, h, w = x.shape
    pix = x.permute(0, 2, 3, 1).reshape(-1, c)
    g = torch.Generator(device="cpu").manual_seed(seed)
    sample = pix
    if pix.shape[0] > max_samples:
        idx = torch.randperm(pix.shape[0], generator=g)[:max_samples].to(pix.device)
        sample = pix[idx]
    # k-means++ seeding
    centers = [sample[torch.randint(sample.shape[0], (1,), generator=g).item()]]
    d2 = (sample - centers[0]).pow(2).sum(1)
    for _ in range(1, k):
        if float(d2.sum()) <= 0:
            break
        probs = (d2 / d2.sum()).cpu()
        centers.append(sample[torch.multinomial(probs, 1, generator=g).item()])
        d2 = torch.minimum(d2, (sample - centers[-1]).pow(2).sum(1))
    cent = torch.stack(centers)
    # Lloyd iterations (an empty cluster keeps its centre)
    for _ in range(iters):
        lab = torch.cdist(sample, cent).argmin(1)
        new = torch.zeros_like(cent).index_add_(0, lab, sample)
        cnt = torch.bincount(lab, minlength=cent.shape[0]).clamp_min(1).unsqueeze(1).to(new.dtype)
        cent = torch.where(torch.bincount(lab, minlength=cent.shape[0]).unsqueeze(1) > 0, new / cnt, cent)
    lab = torch.cdist(pix, cent).argmin(1)
    out = cent[lab].reshape(n, h, w, c).permute(0, 3, 1, 2).contiguous()
    return out.to(image.dtype)
