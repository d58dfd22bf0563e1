"""No Mysticism: what convolutional networks see and how they paint, one paper at a time.

    import nomysticism as nm
    img = nm.images.sample_image("chelsea")
    net = nm.models.load("efficientnet_lite0")      # offline ImageNet classifier

Modules (data flows down this list): images, data, models, checkpoint, then one module per topic
(attribution, style, fast_style, gan, legacy), then widgets. Submodules load on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "images", "data", "models", "checkpoint", "attribution", "style", "fast_style", "gan",
    "legacy", "widgets", "cli",
}

from .images import ImageError, load_image, sample_image, save_image, show  # noqa: E402
from .models import device, load  # noqa: E402


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nomysticism' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)


__all__ = ["ImageError", "load_image", "sample_image", "save_image", "show", "device", "load",
           *sorted(_SUBMODULES)]
