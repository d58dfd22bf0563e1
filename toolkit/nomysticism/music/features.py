"""The baseline: four hand features of a track and a ridge regression on them.

- :func:`tempo_estimate`: spectral-flux onset strength (the half-wave-rectified rise of the
  log-mel bands), its autocorrelation, and the lag that maximises it under Ellis 2007's
  log-Gaussian tempo prior W(τ) = exp(−½ (log₂(τ/τ₀)/σ)²), τ₀ = 0.5 s, σ = 1.4 octaves (eq. 6);
- :func:`chroma`: STFT energy folded onto the 12 pitch classes (55 Hz – 4 kHz);
- :func:`key_mode_score`: the Krumhansl–Schmuckler key finder (Krumhansl & Kessler 1982
  profiles, Pearson correlation with all 24 rotations): best major r − best minor r;
- RMS (dB) and the spectral centroid (Hz);
- :class:`Ridge`: (XᵀX + αI)⁻¹Xᵀy on standardised features (Hoerl & Kennard 1970), one column
  per axis, and :func:`r2` (the coefficient of determination, 1 − SS_res / SS_tot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..audio import log_mel, stft_power

__all__ = ["FEATURES", "hand_features", "tempo_estimate", "chroma", "key_mode_score",
           "KK_MAJOR", "KK_MINOR", "Ridge", "r2"]

FEATURES = ("tempo", "key_mode", "rms_db", "centroid")
#: Krumhansl & Kessler 1982 probe-tone profiles, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _np(wave) -> torch.Tensor:
    return wave.detach().double() if isinstance(wave, torch.Tensor) else torch.as_tensor(
        np.asarray(wave, dtype=np.float64))


def tempo_estimate(wave, sr: int, hop_length: int = 320, bpm_range=(40.0, 240.0)) -> float:
    """Beats per minute from the onset-strength autocorrelation with Ellis 2007's prior."""
    S = log_mel(_np(wave), sr, hop_length=hop_length).numpy()
    flux = np.maximum(0.0, np.diff(S, axis=1)).mean(0)
    flux = flux - flux.mean()
    fps = sr / hop_length
    n = len(flux)
    if n < 4 or not np.any(flux):
        return 120.0
    ac = np.correlate(flux, flux, mode="full")[n - 1:]
    lags = np.arange(len(ac))
    lo, hi = int(math.floor(60 * fps / bpm_range[1])), int(math.ceil(60 * fps / bpm_range[0]))
    lags = lags[max(lo, 1): min(hi, len(ac) - 1) + 1]
    if len(lags) == 0:
        return 120.0
    tau = lags / fps
    w = np.exp(-0.5 * (np.log2(tau / 0.5) / 1.4) ** 2)
    best = lags[np.argmax(ac[lags] * w)]
    return float(60.0 * fps / best)


def chroma(wave, sr: int, n_fft: int = 4096, fmin: float = 55.0, fmax: float = 4000.0) -> np.ndarray:
    """(12,) pitch-class energy (C = 0), summed over the track, normalised to sum 1."""
    P = stft_power(_np(wave), n_fft, n_fft // 4).numpy().sum(1)
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    keep = (f >= fmin) & (f <= fmax)
    pc = np.round(12 * np.log2(f[keep] / 440.0) + 69).astype(int) % 12
    c = np.bincount(pc, weights=np.sqrt(P[keep]), minlength=12)
    return c / c.sum() if c.sum() > 0 else np.full(12, 1 / 12)


def key_mode_score(c: np.ndarray) -> tuple[float, int, str]:
    """Krumhansl–Schmuckler: (best major r − best minor r, tonic, mode of the best key)."""
    r = {(m, k): float(np.corrcoef(c, np.roll(prof, k))[0, 1])
         for m, prof in (("major", KK_MAJOR), ("minor", KK_MINOR)) for k in range(12)}
    r = {k: (0.0 if math.isnan(v) else v) for k, v in r.items()}
    best_major = max(v for (m, _), v in r.items() if m == "major")
    best_minor = max(v for (m, _), v in r.items() if m == "minor")
    (mode, tonic) = max(r, key=r.get)
    return best_major - best_minor, tonic, mode


def hand_features(wave, sr: int) -> np.ndarray:
    """(4,) float64: tempo (BPM), key-mode score, RMS (dB), spectral centroid (Hz): :data:`FEATURES`."""
    x = _np(wave)
    P = stft_power(x, 1024, 320)
    f = torch.linspace(0, sr / 2, P.shape[0], dtype=P.dtype)
    centroid = float((f[:, None] * P).sum() / P.sum().clamp_min(1e-20))
    rms_db = 10 * math.log10(max(float(x.pow(2).mean()), 1e-10))
    return np.array([tempo_estimate(x, sr), key_mode_score(chroma(x, sr))[0], rms_db, centroid])


@dataclass
class Ridge:
    """Ridge regression (Hoerl & Kennard 1970) on standardised features, one output per column."""

    alpha: float = 1.0
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    coef: np.ndarray | None = None
    intercept: np.ndarray | None = None

    def fit(self, X, y) -> Ridge:
        X, y = np.asarray(X, np.float64), np.asarray(y, np.float64)
        self.mean, self.scale = X.mean(0), X.std(0) + 1e-12
        Z = (X - self.mean) / self.scale
        self.intercept = y.mean(0)
        A = Z.T @ Z + self.alpha * np.eye(Z.shape[1])
        self.coef = np.linalg.solve(A, Z.T @ (y - self.intercept))
        return self

    def predict(self, X) -> np.ndarray:
        if self.coef is None:
            raise ValueError("fit the Ridge first")
        Z = (np.asarray(X, np.float64) - self.mean) / self.scale
        return np.clip(Z @ self.coef + self.intercept, -1, 1)


def r2(y_true, y_pred) -> np.ndarray:
    """Coefficient of determination per column: 1 − Σ(y − ŷ)² / Σ(y − ȳ)²."""
    y, p = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    return 1.0 - ((y - p) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
