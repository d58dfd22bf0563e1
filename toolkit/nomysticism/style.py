"""Gatys, Ecker & Bethge 2015: style = Gram matrices of CNN features; content = the features.

Core losses (shared with ``fast_style``). The Gram matrix of layer l with N_l filters and
M_l = H·W positions is G^l = F^l F^lᵀ (eq. 3). Normalisations in use:

- ``"paper"``: raw G in the Gram, and the loss E_l = 1/(4 N_l² M_l²) Σ (G − A)² (eq. 4);
- ``"chw"``: G / (N_l·M_l) (the PyTorch tutorial, Johnson et al. 2016), loss = mean (G − A)²;
- ``"none"``: raw G.
"""

from __future__ import annotations

import torch

__all__ = ["gram_matrix", "content_loss", "style_loss", "tv_loss"]


def gram_matrix(features: torch.Tensor, normalize: str = "none") -> torch.Tensor:
    """Gatys et al. 2015, eq. 3: G_ij = Σ_k F_ik F_jk for features (N, C, H, W) -> (N, C, C).

    ``normalize``: ``"none"``/``"paper"`` (raw sum; the paper puts 1/(4N²M²) in the loss),
    ``"chw"`` (divide by C·H·W, as in the PyTorch tutorial and Johnson et al.).
    """
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    g = torch.bmm(f, f.transpose(1, 2))
    if normalize in ("none", "paper"):
        return g
    if normalize == "chw":
        return g / (c * h * w)
    raise ValueError(f"normalize must be 'none', 'paper' or 'chw', not {normalize!r}")


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gatys et al. 2015, eq. 1: L_content = ½ Σ (F − P)²."""
    return 0.5 * (features - target).pow(2).sum()


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
