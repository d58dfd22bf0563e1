"""The old-film pipeline's defaults: THE one place where they live (CLI, bench, notebook read it)."""

from __future__ import annotations

from types import MappingProxyType

from ..recipes import pick

__all__ = ["STEPS", "RECIPES", "recipe"]

#: The steps of :func:`~.pipeline.restore`, in the order they run.
STEPS = ("dedup", "normalize", "deflicker", "denoise", "interpolate", "upscale")

# The duplicate search's keys (window, threshold, noise, block, q, median, low, high) are
# ``duplicates.DEFAULTS``: an excess block distance e = d - noise * grain sigma below threshold is
# a repeat (calibrated on old_film seeds 0-7; bench/restore.py scores held-out seeds).
RECIPES = MappingProxyType({
    # the seed's pipeline: drop repeats, give dark frames their range back, even out the flicker,
    # interpolate to 24 fps with RIFE
    "default": MappingProxyType({
        "steps": ("dedup", "normalize", "deflicker", "interpolate"),
        "target_fps": 24.0, "method": "rife", "guard": True,
        "window": 3, "threshold": 0.10, "noise": 1.5, "block": 8, "q": 98.0, "median": 5,
        "low": 1.0, "high": 99.0, "deflicker_window": 9, "denoise": 3, "upscale": 2.0,
    }),
    # no network: DIS-flow interpolation (fast on a CPU)
    "fast": MappingProxyType({
        "steps": ("dedup", "normalize", "deflicker", "interpolate"),
        "target_fps": 24.0, "method": "flow", "guard": True,
        "window": 3, "threshold": 0.10, "noise": 1.5, "block": 8, "q": 98.0, "median": 5,
        "low": 1.0, "high": 99.0, "deflicker_window": 9, "denoise": 3, "upscale": 2.0,
    }),
})


def recipe(name: str = "default", **overrides) -> dict:
    """A copy of ``RECIPES[name]`` with ``overrides`` applied (unknown keys are an error)."""
    return pick(RECIPES, name, **overrides)
