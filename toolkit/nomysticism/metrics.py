"""Image, video and attribution scores, each from its paper, in one place for every topic.

- :func:`psnr` and :func:`ssim` (Wang et al. 2004, eq. 13: Gaussian window 11 px, σ = 1.5,
  K₁ = 0.01, K₂ = 0.03), for pictures in [0, ``data_range``];
- :func:`colorfulness` (Hasler & Süsstrunk 2003, eq. 3): how vivid a picture is, 0 for grey;
- :func:`flicker`: how much a processed video changes from frame to frame, relative to its input;
- :func:`frechet_distance` (Heusel et al. 2017): the Fréchet distance between two feature sets,
  the FID when the features are Inception's (:func:`fid`);
- :func:`pointing_game` (Zhang et al. 2016) and :func:`mass_in_mask`: attribution against masks.

Tensors are (N,C,H,W); per-image scores come back as a tensor of N values, set scores as floats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["psnr", "ssim", "colorfulness", "flicker", "frechet_distance", "fid", "pointing_game",
           "mass_in_mask"]


def _batch(x: torch.Tensor) -> torch.Tensor:
    x = x.detach()
    return (x if x.ndim == 4 else x.unsqueeze(0)).double()


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio, 10 log₁₀(R² / MSE) in dB, one value per image (float64).

    Identical images give +inf.
    """
    a, b = _batch(x), _batch(y)
    if a.shape != b.shape:
        raise ValueError(f"psnr needs images of one shape, not {tuple(a.shape)} and {tuple(b.shape)}")
    mse = (a - b).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(data_range**2 / mse)


def _gauss(size: int, sigma: float, dtype) -> torch.Tensor:
    t = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, win_size: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Wang, Bovik, Sheikh & Simoncelli 2004, eq. 13: the mean SSIM per image (float64).

    SSIM = (2μₓμᵧ + C₁)(2σₓᵧ + C₂) / ((μₓ² + μᵧ² + C₁)(σₓ² + σᵧ² + C₂)), C = (K·R)², with local
    statistics under a Gaussian window (σ = 1.5, 11 px), averaged over the valid positions and the
    channels (as scikit-image's ``gaussian_weights=True, use_sample_covariance=False``).
    """
    a, b = _batch(x), _batch(y)
    if a.shape != b.shape:
        raise ValueError(f"ssim needs images of one shape, not {tuple(a.shape)} and {tuple(b.shape)}")
    if min(a.shape[-2:]) < win_size:
        raise ValueError(f"ssim needs images of at least {win_size} px a side, not {tuple(a.shape[-2:])}")
    c = a.shape[1]
    g = _gauss(win_size, sigma, a.dtype).to(a.device)
    w = (g[:, None] * g[None, :]).expand(c, 1, win_size, win_size)

    def blur(t):
        return F.conv2d(t, w, groups=c)

    mx, my = blur(a), blur(b)
    sxx, syy, sxy = blur(a * a) - mx**2, blur(b * b) - my**2, blur(a * b) - mx * my
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return s.flatten(1).mean(1)


def colorfulness(x: torch.Tensor) -> torch.Tensor:
    """Hasler & Süsstrunk 2003, eq. 3: M = σ_rgyb + 0.3 μ_rgyb on 0–255 RGB, one value per image.

    rg = R − G, yb = ½(R + G) − B; σ_rgyb = √(σ_rg² + σ_yb²), μ_rgyb = √(μ_rg² + μ_yb²). Grey gives 0;
    the paper's scale calls about 33 "moderately", 45 "quite" and 59 "highly" colourful.
    """
    a = _batch(x) * 255.0
    if a.shape[1] != 3:
        raise ValueError(f"colorfulness needs RGB images, not {a.shape[1]} channels")
    r, g, b = a[:, 0].flatten(1), a[:, 1].flatten(1), a[:, 2].flatten(1)
    rg, yb = r - g, 0.5 * (r + g) - b
    sd = (rg.var(1, unbiased=False) + yb.var(1, unbiased=False)).sqrt()
    mu = (rg.mean(1) ** 2 + yb.mean(1) ** 2).sqrt()
    return sd + 0.3 * mu


def flicker(stylized: torch.Tensor, content: torch.Tensor) -> float:
    """Flicker: the mean absolute change between consecutive stylised frames, relative to the mean
    absolute change between the content frames, (Σ_t mean|ŷ_t − ŷ_{t−1}|) / (Σ_t mean|x_t − x_{t−1}|).

    1 means the stylised video changes as much as the input does; a network that flickers
    (independent per-frame decisions) scores well above 1.
    """
    if stylized.shape[0] != content.shape[0] or stylized.shape[0] < 2:
        raise ValueError("flicker needs two sequences of the same length (≥ 2 frames)")
    if stylized.shape[-2:] != content.shape[-2:]:
        content = F.interpolate(content, size=stylized.shape[-2:], mode="bilinear", align_corners=False)
    ds = (stylized[1:].float() - stylized[:-1].float()).abs().mean()
    dc = (content[1:].float() - content[:-1].float()).abs().mean()
    return float(ds / dc.clamp_min(1e-12))


def frechet_distance(feats1: torch.Tensor, feats2: torch.Tensor) -> float:
    """Heusel et al. 2017, eq. (FID): ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), in float64.

    Tr((Σ₁Σ₂)^½) is the sum of the square roots of the eigenvalues of Σ₁^½ Σ₂ Σ₁^½ (symmetric,
    positive semi-definite), which avoids a non-symmetric matrix square root.
    """
    a, b = feats1.double().flatten(1), feats2.double().flatten(1)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    w, v = torch.linalg.eigh(s1)
    r1 = (v * w.clamp_min(0).sqrt()) @ v.T
    m = r1 @ s2 @ r1
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * tr_sqrt)


def fid(real_features: torch.Tensor, fake_features: torch.Tensor) -> float:
    """Heusel et al. 2017: the Fréchet distance between two (N, D) feature sets (Inception's in the
    paper; any fixed network's here, so compare numbers only within one network and sample size)."""
    return frechet_distance(real_features, fake_features)


def _as_map(x: torch.Tensor) -> torch.Tensor:
    x = x.detach().float().cpu()
    if x.ndim == 2:
        x = x[None, None]
    elif x.ndim == 3:
        x = x[:, None]
    return x


def pointing_game(heat: torch.Tensor, mask: torch.Tensor, tolerance: int = 0) -> torch.Tensor:
    """Zhang et al. 2016 (pointing game): is the heat map's peak on the object? One bool per image.

    ``heat`` (N,1,H,W) (reduce channels first with :func:`heatmap`), ``mask`` (N,1,H,W) bool.
    ``tolerance`` accepts peaks within that many pixels of the mask (Chebyshev distance; the
    paper uses 15 px at 224 px). Ties go to the first peak in raster order.
    """
    h, m = _as_map(heat), _as_map(mask) > 0.5
    if tolerance > 0:
        k = 2 * tolerance + 1
        m = F.max_pool2d(m.float(), k, 1, tolerance) > 0.5
    idx = h.flatten(1).argmax(1)
    return m.flatten(1).gather(1, idx[:, None])[:, 0]


def mass_in_mask(heat: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The share of (non-negative) heat on the object: Σ heat·mask / Σ heat, one per image.
    A map that ignores the object scores the mask's area fraction."""
    h, m = _as_map(heat).clamp_min(0), _as_map(mask) > 0.5
    return (h * m).flatten(1).sum(1) / h.flatten(1).sum(1).clamp_min(1e-12)
