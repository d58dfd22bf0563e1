"""Zhang, Isola & Efros 2016, "Colorful image colorization": colour as classification over ab bins.

An L2 regression onto ab (eq. 1) predicts the mean of the plausible colours: for a ball that is red
or blue it is a desaturated mix. Zhang et al. instead predict a distribution Ẑ over Q quantised ab
values and read a colour off it:

- :func:`ab_bins`: the ab plane in a grid of 10, keeping the Q bins that sRGB colours reach
  (Q = 313 in the paper; a dense sampling of sRGB through :func:`nomysticism.color.rgb_to_lab`
  gives 261 here);
- :func:`soft_encode`: the target Z of a true ab, §2.1: its 5 nearest bins, weighted by a Gaussian
  of σ = 5 on the distance;
- :func:`empirical_prior`, :func:`rebalance_weights`, :func:`pixel_weights`: class rebalancing,
  eq. 3–4: w ∝ ((1 − λ) p̃ + λ / Q)^−1 with p̃ the smoothed empirical bin distribution,
  λ = 1/2, E_p̃[w] = Σ_q p̃_q w_q = 1, and each pixel weighted by the w of its most likely bin;
- :func:`classification_loss`: the weighted multinomial cross-entropy, eq. 2;
- :func:`annealed_mean`: the colour read off Ẑ, eq. 5: H(Z) = E[f_T(Z)], f_T(z) = exp(log z / T)
  / Σ_q exp(log z_q / T); T = 1 is the mean (greyish), T → 0 the mode (colourful but patchy), the
  paper's T = 0.38 in between;
- :func:`regression_loss`: eq. 1, the L2 (or L1) baseline the paper argues against.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from ..color import rgb_to_lab

__all__ = ["GRID", "K", "SIGMA", "LAMBDA", "T", "ab_bins", "soft_encode", "empirical_prior",
           "rebalance_weights", "pixel_weights", "classification_loss", "annealed_mean",
           "regression_loss"]

#: The paper's settings: grid size, nearest bins in the soft encoding, its σ (also the prior's
#: smoothing σ), the rebalancing mix λ and the annealed-mean temperature.
GRID, K, SIGMA, LAMBDA, T = 10.0, 5, 5.0, 0.5, 0.38


@lru_cache(maxsize=4)
def _bins(grid: float, n: int) -> torch.Tensor:
    v = torch.linspace(0, 1, n, dtype=torch.float64)
    u, w = (t.flatten() for t in torch.meshgrid(v, v, indexing="ij"))
    faces = []  # the cube's six faces at n × n (the gamut's extremes), plus a coarse interior
    for axis in range(3):
        for value in (0.0, 1.0):
            p = [u, w]
            p.insert(axis, torch.full_like(u, value))
            faces.append(torch.stack(p))
    c = torch.linspace(0, 1, 33, dtype=torch.float64)
    faces.append(torch.stack(torch.meshgrid(c, c, c, indexing="ij")).reshape(3, -1))
    rgb = torch.cat(faces, 1)
    ab = rgb_to_lab(rgb.reshape(1, 3, -1, 1))[0, 1:, :, 0]
    q = torch.unique(torch.round(ab / grid).long(), dim=1)  # sorted by a, then b
    return (q.T.double() * grid).float()


def ab_bins(grid: float = GRID, n: int = 256) -> torch.Tensor:
    """Zhang et al. 2016, §2.1: the in-gamut ab bins, (Q, 2) centres on a grid of ``grid``.

    A bin is kept when some sRGB colour falls into it: every colour of the RGB cube's faces at
    ``n`` levels per channel (8-bit sRGB for n = 256) and a 33³ interior, through
    :func:`nomysticism.color.rgb_to_lab`, rounded to the nearest multiple of ``grid``.
    """
    return _bins(float(grid), int(n)).clone()


def _flat(ab: torch.Tensor) -> torch.Tensor:
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"expected ab maps (N,2,H,W), got {tuple(ab.shape)}")
    return ab.permute(0, 2, 3, 1).reshape(-1, 2)


def soft_encode(ab: torch.Tensor, bins: torch.Tensor, k: int = K, sigma: float = SIGMA) -> torch.Tensor:
    """Zhang et al. 2016, §2.1 (the Z of eq. 2): ab (N,2,H,W) → Z (N,Q,H,W), each pixel's ``k``
    nearest bins weighted by exp(−‖ab − c_q‖² / 2σ²), normalised to sum to 1."""
    N, _, H, W = ab.shape
    x = _flat(ab).to(bins)
    d2 = torch.cdist(x, bins).pow(2)  # (NHW, Q)
    near, idx = d2.topk(k, dim=1, largest=False)
    g = torch.exp(-near / (2 * sigma**2))
    z = torch.zeros_like(d2).scatter_(1, idx, g / g.sum(1, keepdim=True))
    return z.reshape(N, H, W, -1).permute(0, 3, 1, 2)


def empirical_prior(ab, bins: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    """Zhang et al. 2016, §2.1 (the p̃ of eq. 4): the bins' empirical distribution, smoothed.

    ``ab``: ab maps (N,2,H,W), or an iterable of them (batches). p_q is the fraction of pixels whose
    nearest bin is q; p̃_q = Σ_q' exp(−‖c_q − c_q'‖² / 2σ²) p_q' (the Gaussian G_σ * p over the
    in-gamut bins), normalised to sum to 1. Returns (Q,) float64.
    """
    b = bins.double()
    counts = torch.zeros(len(b), dtype=torch.float64)
    for batch in [ab] if isinstance(ab, torch.Tensor) else ab:
        nearest = torch.cdist(_flat(batch).double().cpu(), b).argmin(1)
        counts += torch.bincount(nearest, minlength=len(b)).double()
    p = counts / counts.sum()
    G = torch.exp(-torch.cdist(b, b).pow(2) / (2 * sigma**2))
    smooth = G @ p
    return smooth / smooth.sum()


def rebalance_weights(prior: torch.Tensor, lam: float = LAMBDA) -> torch.Tensor:
    """Zhang et al. 2016, eq. 4: w ∝ ((1 − λ) p̃ + λ / Q)^−1, scaled so that Σ_q p̃_q w_q = 1."""
    p = prior.double()
    w = 1.0 / ((1 - lam) * p + lam / len(p))
    return w / (p * w).sum()


def pixel_weights(z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Zhang et al. 2016, eq. 3: v(Z_hw) = w_q*, q* = argmax_q Z_hwq; Z (N,Q,H,W) → (N,1,H,W)."""
    return weights.to(z)[z.argmax(1, keepdim=True)]


def classification_loss(logits: torch.Tensor, z: torch.Tensor, weights: torch.Tensor | None = None
                        ) -> torch.Tensor:
    """Zhang et al. 2016, eq. 2: L_cl = −Σ_hw v(Z_hw) Σ_q Z_hwq log Ẑ_hwq, with Ẑ = softmax(logits),
    averaged over pixels; ``weights`` None: no rebalancing (v = 1)."""
    ce = -(z * F.log_softmax(logits.float(), 1)).sum(1, keepdim=True)
    if weights is not None:
        ce = ce * pixel_weights(z, weights)
    return ce.mean()


def annealed_mean(z: torch.Tensor, bins: torch.Tensor, T: float = T, logits: bool = False
                  ) -> torch.Tensor:
    """Zhang et al. 2016, eq. 5: H(Z) = Σ_q f_T(Z)_q c_q, f_T(z) = exp(log z / T) / Σ exp(log z_q / T).

    ``z``: probabilities (N,Q,H,W) (or ``logits=True``: their logits, log z up to a constant, which
    f_T ignores). T = 1: the mean; T → 0: the mode (the most likely bin's centre). Returns (N,2,H,W).
    """
    if T <= 0:
        raise ValueError(f"the temperature T must be > 0, not {T}")
    log_z = z.float() if logits else torch.log(z.float().clamp_min(1e-30))
    f = torch.softmax(log_z / T, 1)
    return torch.einsum("nqhw,qc->nchw", f, bins.to(f))


def regression_loss(ab_pred: torch.Tensor, ab: torch.Tensor, kind: str = "l2") -> torch.Tensor:
    """Zhang et al. 2016, eq. 1: L_2(Ŷ, Y) = ½ Σ_hw ‖Y_hw − Ŷ_hw‖², here averaged over pixels and
    on ab / 100 (``kind="l1"``: Σ |Y − Ŷ|, the other common regression loss)."""
    d = (ab_pred.float() - ab.float()) / 100
    if kind == "l2":
        return 0.5 * d.pow(2).sum(1).mean()
    if kind == "l1":
        return d.abs().sum(1).mean()
    raise ValueError(f"kind must be 'l2' or 'l1', not {kind!r}")
