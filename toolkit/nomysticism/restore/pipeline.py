"""The whole old-film pipeline, streamed: :func:`restore` and its :class:`RestoreResult`.

Two passes over the file, each one frame at a time:

1. the duplicate search (:func:`~.duplicates.dedup`) keeps only the list of repeats (a few
   integers per repeat), so the film's true rate is known before anything is written:
   ``film_fps = src_fps × kept / total`` (the repeats padded the original frames out to ``src_fps``);
2. decode again, skip the repeats, and run the other steps as generators
   (normalise → deflicker → denoise → :func:`~.interpolate.change_fps` → upscale) into
   ``nm.video.Writer``, which writes a temp file renamed onto ``dst`` only when all went well.

At most ``deflicker_window // 2 + 1`` decoded frames, two interpolation frames and the duplicate
search's ``window`` small prepared frames are held, whatever the film's length.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..progress import Loop
from ..video import Writer, frames, info
from .duplicates import Repeat, dedup, repeat_kinds
from .interpolate import change_fps, n_output_frames
from .recipes import STEPS, recipe
from .tone import deflicker, denoise, normalize_range
from .upscale import upscale

__all__ = ["RestoreResult", "restore", "find_repeats"]


@dataclass
class RestoreResult:
    """What :func:`restore` did: counts, rates, the repeats it dropped, timings."""

    dst: Path
    n_in: int
    repeats: list[Repeat]
    n_out: int
    src_fps: float
    film_fps: float
    target_fps: float
    size: tuple[int, int]          # output (H, W)
    steps: tuple[str, ...]
    seconds: float
    cuts: list[int] = field(default_factory=list)  # kept-frame pairs (k, k+1) not interpolated
    stopped: bool = False

    @property
    def n_kept(self) -> int:
        return self.n_in - len(self.repeats)

    @property
    def fps(self) -> float:
        """Throughput: input frames processed per second of wall time."""
        return self.n_in / self.seconds if self.seconds > 0 else float("nan")


def find_repeats(src, *, progress: bool = True, **kw) -> tuple[list[Repeat], int]:
    """Pass 1 of :func:`restore`: the repeats of the file ``src`` and its frame count (streamed)."""
    reps, n = [], 0
    bar = Loop(None, progress=progress, desc="repeats", unit="frame")
    for d in bar.wrap(dedup(src, **kw)):
        n += 1
        bar.bar.update(1)
        if d.repeat is not None:
            reps.append(d.repeat)
    return repeat_kinds(reps), n


def restore(src, dst, *, target_fps: float | None = None, steps: tuple[str, ...] | None = None,
            recipe_name: str = "default", method: str | None = None, device=None, progress: bool = True,
            stop=None, crf: int = 18, **overrides) -> RestoreResult:
    """Restore the old film ``src`` into ``dst`` (both video files), streamed, atomically written.

    ``steps`` (default from :data:`~.recipes.RECIPES`) are some of :data:`~.recipes.STEPS`, run in
    that order: ``dedup`` (drop repeats), ``normalize`` (percentile stretch), ``deflicker``,
    ``denoise`` (a small median), ``interpolate`` (to ``target_fps`` by ``method``: rife, flow,
    blend or nearest, with the scene-cut guard) and ``upscale`` (Lanczos, ``upscale`` ×). Without
    ``interpolate`` the kept frames are written at the film's rate. Other recipe keys can be given
    as keywords (``threshold=…``). Broken or truncated input raises ``nm.video.VideoError`` and
    leaves nothing at ``dst``. ``stop`` (a threading.Event) ends early, discarding the output.
    """
    cfg = recipe(recipe_name, target_fps=target_fps, method=method, **overrides)
    steps = tuple(cfg["steps"] if steps is None else steps)
    bad = [s for s in steps if s not in STEPS]
    if bad:
        raise ValueError(f"unknown steps {bad}; steps are {', '.join(STEPS)}")
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise ValueError(f"{dst}: the output would overwrite the input")
    t0 = time.perf_counter()
    meta = info(src)  # VideoError for missing, empty or unreadable files
    dkw = {k: cfg[k] for k in ("window", "threshold", "noise", "block", "q", "median", "low", "high")}
    if "dedup" in steps:
        reps, n_in = find_repeats(src, progress=progress, **dkw)
    else:
        reps, n_in = [], sum(1 for _ in frames(src))
    drop = {r.index for r in reps}
    n_kept = n_in - len(drop)
    film_fps = meta.fps * n_kept / n_in if n_in else meta.fps
    interp = "interpolate" in steps
    out_fps = float(cfg["target_fps"]) if interp else film_fps
    n_out = n_output_frames(n_kept, film_fps, out_fps) if interp else n_kept

    def kept() -> Iterator[torch.Tensor]:
        for i, fr in enumerate(frames(src)):
            if i not in drop:
                yield fr

    stream: Iterator[torch.Tensor] = kept()
    if "normalize" in steps:
        stream = (normalize_range(f, cfg["low"], cfg["high"]) for f in stream)
    if "deflicker" in steps:
        stream = deflicker(stream, cfg["deflicker_window"])
    if "denoise" in steps:
        stream = (denoise(f, cfg["denoise"]) for f in stream)
    cuts: list[int] = []
    if interp:
        stream = change_fps(stream, film_fps, out_fps, cfg["method"], guard=cfg["guard"], device=device,
                            cuts=cuts)
    if "upscale" in steps:
        stream = (upscale(f, cfg["upscale"]) for f in stream)
    loop = Loop(n_out, progress=progress, stop=stop, desc="restore", unit="frame")
    size, count, stopped = None, 0, False
    try:
        with Writer(dst, out_fps, crf=crf) as w:
            for fr in loop.wrap(stream):
                w.write(fr)
                size = tuple(fr.shape[-2:])
                count += 1
                loop.bar.update(1)
            if loop.stopped:
                raise _Stopped  # leave the block with an error: the Writer drops its temp file
    except _Stopped:
        stopped = True
    return RestoreResult(dst, n_in, reps, count, meta.fps, film_fps, out_fps, size, steps,
                         time.perf_counter() - t0, cuts, stopped)


class _Stopped(Exception):
    """Raised inside the Writer block when the stop event is set."""
