"""Data sets that work offline (``nm.data``): made here, or shipped inside the packages we install.

- :mod:`.base`: the procedural *shapes* world (with ground-truth masks), random crops of the
  bundled photos, scikit-learn digits, any folder of images, and the cartoon domains;
- :mod:`.film`: a synthetic old film with its ground truth (``old_film``);
- :mod:`.faces`: face grids from scikit-image's ``lfw_subset``;
- :mod:`.music`: clips rendered here from the music21 corpus with FluidSynth (``music_clips``).

Everything is importable from ``nm.data`` directly; the submodules load on first use.
"""

from __future__ import annotations

import importlib

from .base import *  # noqa: F403
from .base import __all__ as _base_all

# name -> submodule, loaded on first use (the film / faces / music data need heavier imports)
_LAZY = {
    "film": ("old_film", "OldFilm", "moving_scene"),
    "faces": ("face_grid", "lfw_faces", "second_view", "crop_tiles"),
    "music": ("music_clips", "MusicClips", "render_score"),
}
_NAME_TO_MODULE = {n: m for m, names in _LAZY.items() for n in names}


def __getattr__(name):
    if name in _NAME_TO_MODULE:
        return getattr(importlib.import_module(f".{_NAME_TO_MODULE[name]}", __name__), name)
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nomysticism.data' has no attribute {name!r}")


__all__ = [*_base_all, *_NAME_TO_MODULE]
