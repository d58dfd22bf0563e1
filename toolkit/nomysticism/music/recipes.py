"""The music topic's settings: THE one place where they live (CLI, scripts, notebook, bench read it).

``"cnn"`` is the recipe of the shipped model (``assets/music/mood_cnn.safetensors``, made by
``scripts/train_music.py`` in about ten minutes on one CPU thread); ``"smoke"`` is the same at a
size that trains in seconds (tests, ``SMOKE=True`` notebooks).

The data: ``n_train`` rendered clips of the training pieces on the training instruments and
``n_test`` of the held-out pieces on the held-out instruments (``nm.data.music_clips``); a
training clip is ``seconds`` long (the network trains on 3-s patches of it), a held-out one
``test_seconds`` (15 s: a track's mood is judged over five windows, not one or two; DEAM's
excerpts are 45 s). The network sees semitone-spectrogram patches of ``window`` frames
(``log_freq``, :data:`.spectra.LOG_FREQ`: 20 ms hop, so 150 frames = 3 s); a whole track is the
mean over windows ``hop`` frames apart.
"""

from __future__ import annotations

from types import MappingProxyType

from ..audio import SR
from ..recipes import pick
from .spectra import LOG_FREQ

__all__ = ["RECIPES", "recipe", "DEFAULT_MODEL", "QUADRANTS"]

DEFAULT_MODEL = "mood_cnn"

#: Russell 1980's circumplex, quadrant by quadrant: (valence sign, arousal sign) → words.
QUADRANTS = MappingProxyType({(1, 1): "happy / excited", (-1, 1): "angry / tense",
                              (-1, -1): "sad / depressed", (1, -1): "calm / relaxed"})

_CNN = {
    "sr": SR, "log_freq": dict(LOG_FREQ), "window": 150, "hop": 75,
    "model": {"arch": "MoodCNN", "width": 16, "n_bins": LOG_FREQ["n_bins"], "chroma": 16,
              "onset": 12, "hidden": 64, "bins_per_octave": LOG_FREQ["bins_per_octave"],
              "fmin_midi": LOG_FREQ["fmin_midi"], "lags": 75},
    "n_train": 2880, "n_test": 240, "seconds": 6.0, "test_seconds": 15.0, "seed": 0,
    "epochs": 48, "batch_size": 32, "lr": 3e-3, "weight_decay": 1e-4,
    "ridge_alpha": 1.0,
}
RECIPES = MappingProxyType({
    "cnn": _CNN,
    "smoke": {**_CNN, "n_train": 16, "n_test": 8, "seconds": 3.5, "test_seconds": 3.5, "epochs": 2,
              "model": {**_CNN["model"], "width": 8, "onset": 8, "hidden": 32}},
})


def recipe(name: str = "cnn", **overrides) -> dict:
    """A copy of ``RECIPES[name]`` with ``overrides`` applied (``None`` values are ignored)."""
    return pick(RECIPES, name, **overrides)
