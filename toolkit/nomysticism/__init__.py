"""No Mysticism: what convolutional networks see and how they paint, one paper at a time.

    import nomysticism as nm
    img = nm.images.sample_image("chelsea")
    net = nm.models.load("efficientnet_lite0")      # offline ImageNet classifier

Layers (data flows down this list; a module imports only from the layers above it):

1. core: ``images``, ``video``, ``flow``, ``color``, ``assets``, ``checkpoint``, ``progress``,
   ``runtime`` (the device picker);
2. data: ``data``;
3. models and shared pieces: ``models``, ``blocks``, ``losses``, ``metrics``;
4. topics, one sub-package each, never importing one another: ``attribution``, ``style``,
   ``fast_style``, ``gan``, ``legacy``, ``colorize``, ``restore``, ``anonymize``, ``music``;
5. ``widgets``; 6. ``cli``.

Submodules load on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

CORE = ("images", "video", "flow", "color", "assets", "checkpoint", "progress", "runtime", "recipes",
        "audio", "distributed")
DATA = ("data",)
SHARED = ("models", "blocks", "losses", "metrics")
TOPICS = ("attribution", "style", "fast_style", "gan", "legacy", "colorize", "restore", "anonymize",
          "music")
FRONT = ("widgets", "cli")
_SUBMODULES = set(CORE + DATA + SHARED + TOPICS + FRONT)

from .images import ImageError, load_image, sample_image, save_image, show  # noqa: E402
from .models import load  # noqa: E402
from .runtime import device  # noqa: E402


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nomysticism' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)


__all__ = ["ImageError", "load_image", "sample_image", "save_image", "show", "device", "load",
           *sorted(_SUBMODULES)]
