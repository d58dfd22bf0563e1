"""ipywidgets front ends over the toolkit's methods, one module per topic.

Widgets hold no algorithm: they gather settings, run a toolkit method in a background thread
(:class:`~nomysticism.widgets.base.Runner`), and show results as they arrive.
"""

from __future__ import annotations

import importlib

_LAZY = {
    # name -> module that defines it
    "ImageView": "base", "Runner": "base", "png_bytes": "base", "mark": "base",
    "TopKExplorer": "tour",
    "UnitExplorer": "attribution", "SaliencyExplorer": "attribution",
    "ClassModelViewer": "attribution", "MethodComparison": "attribution",
    "DeepDreamWidget": "attribution",
    "StyleTransferWidget": "style",
    "FastStylizer": "fast_style", "ToggleCompare": "fast_style", "FrameCompare": "fast_style",
    "LatentInterpolator": "gan", "ConditionToggle": "gan", "CycleViewer": "gan",
    "HintEditor": "colorize",
    "MoodMap": "music",
    "Anonymizer": "anonymize",
    "FilmScrubber": "restore",
    # TrainingMonitor and loss_figure exist per topic: use widgets.gan.* or widgets.fast_style.*
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    try:
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError:
        raise AttributeError(f"module 'nomysticism.widgets' has no attribute {name!r}") from None
