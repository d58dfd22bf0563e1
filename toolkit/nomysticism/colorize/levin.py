"""Levin, Lischinski & Weiss 2004, "Colorization using optimization" (SIGGRAPH), and a baseline.

Neighbouring pixels with similar intensities should have similar colours. With Y the lightness
(here CIE L / 100, in [0, 1]) and U each chroma channel (CIE a and b), eq. 1 of the paper is

    J(U) = Σ_r ( U(r) − Σ_{s∈N(r)} w_rs U(s) )²,    w_rs ∝ exp(−(Y(r) − Y(s))² / (2σ_r²))   (eq. 2)

over the 3×3 window N(r) (the 8 neighbours, fewer at the border) and Σ_s w_rs = 1, with U fixed
to the user's colour at the hint pixels. σ_r² = κ · var_r, var_r the variance of Y in the window
around r (r included), floored at ``eps``. The paper says only "the variance"; κ = 0.3 is the
authors' released code (``exp(−ΔY² / (0.6 · var))``). With κ = 1 the weights across a step edge
are about exp(−2.25) ≈ 0.1 of those along it, whatever the step's height, and colour leaks
through edges; κ = 0.3 makes that exp(−7.5) ≈ 5·10⁻⁴.

As in the authors' code the sum runs over the free pixels r; its minimum, J = 0, is the sparse
linear system

    U(r) − Σ_s w_rs U(s) = 0  for every free r,        U(r) = hint(r)  at every hint r.

The hint pixels move to the right-hand side; the free block (I − W)_ff, a nonsingular M-matrix
(weakly diagonally dominant, irreducible, strict at the hints' neighbours), is factorised once
without pivoting (SuperLU) in a geometric nested-dissection order of the pixel grid and solved for
a and b together: 0.2–0.35 s for 256 × 256 px on one (shared) core.

- :func:`levin_weights`: the sparse matrix W of eq. 2, vectorised (no loop over pixels);
- :func:`levin_solve`: the chroma field that solves the system;
- :func:`nearest_fill`: every pixel takes the chroma of its nearest hint (Euclidean distance
  transform), the edge-blind baseline.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.sparse.linalg import splu

__all__ = ["EPS", "KAPPA", "levin_weights", "levin_solve", "nearest_fill"]

EPS = 1e-4  # floor on σ_r² (Y in [0, 1]): flat windows get (near-)uniform weights, not 0/0
KAPPA = 0.3  # σ_r² = KAPPA · window variance, as in the authors' code (2σ² = 0.6 var)

# the 3×3 window as (dy, dx) offsets; index 4 is the centre r itself
_WINDOW = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
_NEIGHBOURS = [k for k, o in enumerate(_WINDOW) if o != (0, 0)]


def levin_weights(Y: np.ndarray, eps: float = EPS, kappa: float = KAPPA) -> sp.csr_matrix:
    """Levin et al. 2004, eq. 2: the (HW × HW) matrix of w_rs = exp(−ΔY² / 2σ_r²), rows summing to 1.

    ``Y`` is the (H, W) lightness; pixel r = y·W + x. σ_r² = max(``kappa`` · var_r, ``eps``),
    var_r the population variance of Y in r's 3×3 window (clipped at the border).
    """
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2:
        raise ValueError(f"Y must be an (H, W) array, not shape {Y.shape}")
    H, W = Y.shape
    P = np.pad(Y, 1, constant_values=np.nan)
    win = np.stack([P[1 + dy:1 + dy + H, 1 + dx:1 + dx + W] for dy, dx in _WINDOW])  # (9, H, W)
    inside = ~np.isnan(win)
    mean = np.nanmean(win, 0)
    var = np.nansum((win - mean) ** 2, 0) / inside.sum(0)
    sigma2 = np.maximum(kappa * var, eps)
    nb, ok = win[_NEIGHBOURS], inside[_NEIGHBOURS]  # (8, H, W)
    w = np.where(ok, np.exp(-np.square(np.where(ok, nb, 0.0) - Y) / (2 * sigma2)), 0.0)
    total = w.sum(0)
    w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)

    idx = np.pad(np.arange(H * W).reshape(H, W), 1, constant_values=-1)
    cols = np.stack([idx[1 + dy:1 + dy + H, 1 + dx:1 + dx + W] for dy, dx in _WINDOW])[_NEIGHBOURS]
    rows = np.broadcast_to(np.arange(H * W).reshape(H, W), cols.shape)
    return sp.csr_matrix((w[ok], (rows[ok], cols[ok])), shape=(H * W, H * W))


@lru_cache(maxsize=8)
def _dissection(H: int, W: int, leaf: int = 16) -> np.ndarray:
    """A nested-dissection order of an (H, W) grid with 8-neighbours: halves first, separators last.

    One row (or column) of pixels separates the two halves of a 3×3 stencil, so eliminating
    them last keeps the LU factors' fill near O(N log N) instead of the O(N^1.5) of row order.
    """
    parts: list[np.ndarray] = []

    def cut(y0, y1, x0, x1):
        h, w = y1 - y0, x1 - x0
        if h <= 0 or w <= 0:
            return
        if h * w <= leaf:
            parts.append((np.arange(y0, y1)[:, None] * W + np.arange(x0, x1)).ravel())
        elif h >= w:
            m = y0 + h // 2
            cut(y0, m, x0, x1), cut(m + 1, y1, x0, x1)
            parts.append(m * W + np.arange(x0, x1))
        else:
            m = x0 + w // 2
            cut(y0, y1, x0, m), cut(y0, y1, m + 1, x1)
            parts.append(np.arange(y0, y1) * W + m)

    cut(0, H, 0, W)
    order = np.concatenate(parts)
    order.flags.writeable = False
    return order


def levin_solve(Y: np.ndarray, mask: np.ndarray, ab: np.ndarray, eps: float = EPS,
                kappa: float = KAPPA) -> np.ndarray:
    """Levin et al. 2004, eq. 1 at its minimum: U = W U on free pixels, U = hint on hint pixels.

    ``Y``: (H, W) lightness in [0, 1]; ``mask``: (H, W) bool, True at hints; ``ab``: (C, H, W)
    chroma, read at the hints only; ``eps``, ``kappa``: see :func:`levin_weights`. Returns
    (C, H, W) float64, equal to ``ab`` at the hints (exactly: they are not unknowns). Without
    hints the answer is 0 (grey).
    """
    Y = np.asarray(Y, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    ab = np.asarray(ab, dtype=np.float64)
    if mask.shape != Y.shape or ab.ndim != 3 or ab.shape[1:] != Y.shape:
        raise ValueError(f"Y {Y.shape}, mask {mask.shape} and ab {ab.shape} must share (H, W)")
    C, N = ab.shape[0], Y.size
    m = mask.ravel()
    out = np.zeros((C, N))
    out[:, m] = ab.reshape(C, N)[:, m]
    if m.all() or not m.any():
        return out.reshape(ab.shape)
    order = _dissection(*Y.shape)
    p = order[~m[order]]                                  # the free pixels, in dissection order
    Wm = levin_weights(Y, eps, kappa)
    W_p = Wm[p]                                           # their rows
    A = (sp.identity(p.size, format="csc") - W_p[:, p]).tocsc()
    rhs = W_p[:, m] @ out[:, m].T                         # (I − W)_ff U_f = W_fc U_c
    lu = splu(A, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    out[:, p] = lu.solve(np.ascontiguousarray(rhs)).T
    return out.reshape(ab.shape)


def nearest_fill(mask: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Nearest-hint fill (the baseline for Levin et al. 2004): each pixel takes its closest hint's ab.

    Closest in Euclidean pixel distance (``scipy.ndimage.distance_transform_edt``); the image
    itself is ignored, so colours bleed across edges. Without hints the answer is 0 (grey).
    """
    mask = np.asarray(mask, dtype=bool)
    ab = np.asarray(ab, dtype=np.float64)
    if not mask.any():
        return np.zeros_like(ab)
    _, (iy, ix) = ndimage.distance_transform_edt(~mask, return_indices=True)
    return ab[:, iy, ix]
