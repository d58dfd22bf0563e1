"""Perceptual losses shared by the topics: Gram matrices, content, style and total variation.

- :func:`gram_matrix` (Gatys et al. 2015, eq. 3), :func:`content_loss` (eq. 1), :func:`style_loss`
  (eq. 4), :func:`channel_means` / :func:`mean_loss` (the seed's mean-statistic variant);
- :func:`tv_loss` (Mahendran & Vedaldi 2015, the β exponent of the 2015 Lasagne code).

Gram normalisations (``normalize``): ``"paper"`` / ``"none"`` (raw G, and E_l = 1/(4N²M²) Σ(G−A)²),
``"chw"`` (G / (C·H·W) and a mean squared difference: the PyTorch tutorial, Johnson et al. 2016).
Sums run in at least float32, also under bf16 autocast.
"""

from __future__ import annotations

import torch

__all__ = ["gram_matrix", "channel_means", "content_loss", "style_loss", "mean_loss", "tv_loss"]


def _hi(x: torch.Tensor) -> torch.Tensor:
    """float16/bfloat16 -> float32 (losses and Grams are summed in at least float32)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def gram_matrix(features: torch.Tensor, normalize: str = "none") -> torch.Tensor:
    """Gatys et al. 2015, eq. 3: G_ij = Σ_k F_ik F_jk for features (N, C, H, W) -> (N, C, C).

    ``normalize``: ``"none"``/``"paper"`` (raw sum; the paper puts 1/(4N²M²) in the loss),
    ``"chw"`` (divide by C·H·W, as in the PyTorch tutorial and Johnson et al.).
    The product runs in float32 even under bf16 autocast (sums of M products lose precision).
    """
    n, c, h, w = features.shape
    f = _hi(features).reshape(n, c, h * w)
    g = torch.bmm(f, f.transpose(1, 2))
    if normalize in ("none", "paper"):
        return g
    if normalize == "chw":
        return g / (c * h * w)
    raise ValueError(f"normalize must be 'none', 'paper' or 'chw', not {normalize!r}")


def channel_means(features: torch.Tensor) -> torch.Tensor:
    """The seed's alternative style statistic: the mean of each feature map, (N, C, H, W) -> (N, C)."""
    return _hi(features).mean(dim=(2, 3))


def content_loss(features: torch.Tensor, target: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Gatys et al. 2015, eq. 1: L_content = ½ Σ (F − P)².

    ``reduction="mean"`` gives ½ mean (F − P)², which does not grow with the image size
    (what :func:`transfer` uses).
    """
    d = (_hi(features) - _hi(target)).pow(2)
    if reduction == "sum":
        return 0.5 * d.sum()
    if reduction == "mean":
        return 0.5 * d.mean()
    raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")


def style_loss(features: torch.Tensor, target_gram: torch.Tensor, normalize: str = "paper") -> torch.Tensor:
    """Gatys et al. 2015, eq. 4: E_l = 1/(4 N_l² M_l²) Σ_ij (G_ij − A_ij)².

    ``target_gram`` is A, computed with the same ``normalize``. With ``"chw"`` the loss is the mean
    squared Gram difference (tutorial convention). Sums over the batch.
    """
    n, c, h, w = features.shape
    g = gram_matrix(features, normalize)
    if normalize in ("paper", "none"):
        return (g - target_gram).pow(2).sum() / (4.0 * c**2 * (h * w) ** 2)
    return (g - target_gram).pow(2).mean()


def mean_loss(features: torch.Tensor, target_means: torch.Tensor) -> torch.Tensor:
    """The seed's "channel means instead of Gram" style loss: Σ_i (μ_i − m_i)² / (4 N_l).

    μ_i is the spatial mean of feature map i (:func:`channel_means`). The 1/(4N) mirrors eq. 4's
    1/(4N²) for a statistic with N entries instead of N²; the magnitudes still differ from the Gram
    loss, so :func:`transfer` scales this loss by ``MEAN_STAT_SCALE``.
    """
    mu = channel_means(features)
    return (mu - target_means).pow(2).sum() / (4.0 * features.shape[1])


def tv_loss(image: torch.Tensor, exponent: float = 1.0) -> torch.Tensor:
    """Total variation (Mahendran & Vedaldi 2015): Σ ((x_{i,j+1} − x_ij)² + (x_{i+1,j} − x_ij)²)^{β/2}.

    ``exponent`` is β/2. The 2015 Lasagne notebook used 1.25 (β = 2.5); 1.0 is the plain sum of
    squared differences.
    """
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    s = dx.pow(2) + dy.pow(2)
    if exponent == 1.0:
        return s.sum()
    if exponent < 1.0:
        s = s + 1e-8  # keep the gradient finite at flat regions
    return s.pow(exponent).sum()
