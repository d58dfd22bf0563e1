"""Held-out scores: the CNN against the ridge baseline, R² and RMSE per axis (``bench/music.py``).

The test clips are whole pieces never trained on, played on instruments never trained on
(``nm.data.music_clips(split="test")``), so a score measures what carries over to new music and
new timbres, not memory of a piece.
"""

from __future__ import annotations

import numpy as np
import torch

from .cnn import predict, spectrogram
from .features import Ridge, hand_features, r2

__all__ = ["clip_spectrograms", "clip_features", "scores", "baseline"]


def clip_spectrograms(clips) -> torch.Tensor:
    """(N, n_mels, T) network inputs of ``nm.data.MusicClips``."""
    return torch.stack([spectrogram(w, clips.sr) for w in clips.audio])


def clip_features(clips) -> np.ndarray:
    """(N, 4) hand features (``features.FEATURES``) of ``nm.data.MusicClips``."""
    return np.stack([hand_features(w, clips.sr) for w in clips.audio])


def baseline(train_clips, alpha: float = 1.0, formula=None) -> Ridge:
    """The ridge baseline fitted on the training clips' hand features."""
    return Ridge(alpha).fit(clip_features(train_clips), train_clips.labels(formula).numpy())


def _axis_scores(y: np.ndarray, p: np.ndarray) -> dict:
    r = r2(y, p)
    rmse = np.sqrt(((y - p) ** 2).mean(0))
    return {"r2_valence": float(r[0]), "r2_arousal": float(r[1]),
            "rmse_valence": float(rmse[0]), "rmse_arousal": float(rmse[1])}


def scores(model, test_clips, ridge: Ridge | None = None, test_specs=None, formula=None) -> dict:
    """``{"cnn": {...}, "ridge": {...}}``: R² and RMSE per axis on ``test_clips``; also the
    predictions (``"pred_cnn"``, ``"pred_ridge"``, ``"true"``: (N, 2) arrays) for plots."""
    y = test_clips.labels(formula).numpy()
    specs = clip_spectrograms(test_clips) if test_specs is None else test_specs
    pc = predict(model, specs).numpy()
    out = {"cnn": _axis_scores(y, pc), "pred_cnn": pc, "true": y, "n_test": len(test_clips)}
    if ridge is not None:
        pr = ridge.predict(clip_features(test_clips))
        out.update(ridge=_axis_scores(y, pr), pred_ridge=pr)
    return out
