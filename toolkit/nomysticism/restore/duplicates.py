"""Repeated frames: find them in a stream, name their kind, draw the pattern as a strip.

The seed (a hobbyist's 2021 restoration write-up) found four kinds of repeat after decoding:
plain (A A), reverse (A B A), through two (A B C A) and repeated pairs (A B A B). He found them by
eye and coloured spreadsheet cells. Here each frame is compared with the last few *kept* frames:

1. prepare: luma → :func:`~.tone.denoise` (a 5-px median: grain and dust go) →
   :func:`~.tone.normalize_range` (dark frames get their range back);
2. distance: the mean absolute difference in ``block`` × ``block`` blocks, and its ``q``-th
   percentile over the blocks, ``d(a, b) = P_q( mean_block |a − b| )``. Grain is fresh in every
   frame, so a repeat never equals its original; a block statistic averages the grain away, and a
   high percentile still sees a small moving object;
3. the grain's allowance: what is left of the grain after the median still adds to ``d``, and
   more in a dark frame (the stretch amplifies its grain by 1/exposure). Each frame's grain
   σ̂ is estimated in the stretched luma with Immerkær's (1996) Laplacian-difference operator,
   in its robust median form (edges do not count): ``σ̂ = median|I ∗ N| / (6 · 0.6745)``,
   ``N = [[1,−2,1],[−2,4,−2],[1,−2,1]]``. A pair's excess distance is
   ``e(a, b) = d(a, b) − noise · √(σ̂_a² + σ̂_b²)``;
4. a frame whose smallest excess distance to the last ``window`` kept frames is below
   ``threshold`` is a repeat of that frame; otherwise it is kept.

The kind follows from the gap ``index − of`` (1 plain, 2 reverse, 3 through), and two gap-2
repeats in a row are a pair. Below about 1 px of motion per frame a repeat and a still frame look
the same; dropping either is harmless (``bench/restore.py`` scores the motion bands apart).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data.film import REPEAT_KINDS, Repeat
from .tone import _check_frame, denoise, luma, normalize_range

__all__ = ["Repeat", "REPEAT_KINDS", "DuplicateError", "prepare", "block_distance", "noise_sigma",
           "dedup", "duplicate_frames", "repeat_kinds", "score_repeats", "plot_repeat_pattern",
           "Decision", "DEFAULTS"]

#: The search's defaults (``RECIPES`` in :mod:`.recipes` repeats them). Calibrated on
#: ``nm.data.old_film`` seeds 0–7 (200 frames each, 144×192, 139 repeats where the pan is ≥ 2 px):
#: there the repeats' excess distance stayed ≤ 0.088 and every non-repeat frame's ≥ 0.113; the
#: threshold sits between. ``bench/restore.py`` checks it on held-out seeds.
DEFAULTS = {"window": 3, "threshold": 0.10, "noise": 1.5, "block": 8, "q": 98.0, "median": 5,
            "low": 1.0, "high": 99.0, "max_side": 320}


class DuplicateError(ValueError):
    """Bad input to the duplicate search."""


def _shrunk_luma(frame: torch.Tensor, max_side: int | None) -> torch.Tensor:
    y = luma(_check_frame(frame)).float()
    h, w = y.shape[-2:]
    if max_side and max(h, w) > max_side:
        s = max_side / max(h, w)
        y = F.interpolate(y, size=(max(1, round(h * s)), max(1, round(w * s))), mode="area")
    return y


_SPARE = 4

_IMMERKAER = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]).view(1, 1, 3, 3)


def noise_sigma(y: torch.Tensor) -> float:
    """Immerkær 1996 ("Fast noise variance estimation"), median form: the grain's σ in a grey
    (1,1,H,W) picture, ``median|y ∗ N| / (6 · 0.6745)`` with N the difference of two Laplacians
    (zero on any linear ramp, ‖N‖ = 6). The median ignores the few pixels on edges."""
    if y.ndim != 4 or y.shape[1] != 1 or min(y.shape[-2:]) < 3:
        raise DuplicateError(f"noise_sigma needs a (1,1,H,W) picture of at least 3x3, not {tuple(y.shape)}")
    r = F.conv2d(y.float(), _IMMERKAER.to(y.device))
    return float(r.abs().median()) / (6 * 0.6745)


def _prepare(frame, low, high, median, max_side) -> tuple[torch.Tensor, float]:
    """(the prepared picture, the grain σ̂ of the stretched luma before the median)."""
    y = _shrunk_luma(frame, max_side)
    d = denoise(y, median)
    q = torch.quantile(d.flatten(), torch.tensor([low / 100, high / 100]))
    span = max(float(q[1] - q[0]), 1 / 255)
    return normalize_range(d, low, high), noise_sigma(y) / span


def prepare(frame: torch.Tensor, *, low: float = 1.0, high: float = 99.0, median: int = 5,
            max_side: int | None = 320) -> torch.Tensor:
    """The picture the search compares: luma, median-filtered, percentile-stretched, (1,1,h,w).

    Frames larger than ``max_side`` are first shrunk (area average) for speed."""
    return _prepare(frame, low, high, median, max_side)[0]


def block_distance(a: torch.Tensor, b: torch.Tensor, block: int = 8, q: float = 98.0) -> float:
    """``P_q`` over ``block``-px blocks of the blocks' mean |a − b| (prepared (1,1,h,w) frames)."""
    if a.shape != b.shape:
        raise DuplicateError(f"frames of different sizes: {tuple(a.shape)} and {tuple(b.shape)}")
    d = (a - b).abs()
    m = F.avg_pool2d(d, block, block, ceil_mode=True) if min(d.shape[-2:]) >= block else d.mean((-2, -1), keepdim=True)
    m = m.flatten().double()
    # a small frame has few blocks: the percentile then looks past at least ``_SPARE`` of them
    # (a dust speck the median missed lands in one block, whatever the frame's size)
    qq = min(q / 100, max(0.0, 1 - _SPARE / m.numel()))
    return float(torch.quantile(m, qq))


@dataclass(frozen=True)
class Decision:
    """One frame of :func:`dedup`: input ``index``, the frame, the Repeat (or None when kept),
    the smallest excess distance ``e`` to the kept frames (``inf`` for the first; a repeat when
    below the threshold), and the frame's grain ``sigma`` (σ̂, stretched units)."""

    index: int
    frame: torch.Tensor
    repeat: Repeat | None
    distance: float
    sigma: float = float("nan")


def _frames_of(frames) -> Iterable[torch.Tensor]:
    if isinstance(frames, (str, Path)):
        from ..video import frames as read

        return read(frames)
    if isinstance(frames, torch.Tensor):
        x = _check_frame(frames)
        return (x[i:i + 1] for i in range(x.shape[0]))
    return frames


def dedup(frames, *, window: int = 3, threshold: float = DEFAULTS["threshold"],
          block: int = DEFAULTS["block"], q: float = DEFAULTS["q"], low: float = 1.0, high: float = 99.0,
          median: int = DEFAULTS["median"], max_side: int | None = 320,
          noise: float = DEFAULTS["noise"]) -> Iterator[Decision]:
    """Stream a :class:`Decision` per input frame (a path, a (T,3,H,W) tensor or an iterable).

    Frame i is a repeat of the kept frame j (of the last ``window``) with the smallest excess
    distance ``e = block_distance − noise · √(σ̂_i² + σ̂_j²)``, when ``e < threshold`` (see the
    module). Holds ``window`` prepared frames, whatever the film's length. Kinds here are from the
    gap alone (``"reverse"`` for gap 2); :func:`duplicate_frames` turns gap-2 runs into pairs."""
    if window < 1:
        raise DuplicateError(f"window must be >= 1, not {window}")
    if threshold <= 0:
        raise DuplicateError(f"threshold must be positive, not {threshold}")
    if noise < 0:
        raise DuplicateError(f"noise must be >= 0, not {noise}")
    kept: deque = deque(maxlen=window)  # (input index, prepared frame, grain sigma)
    gaps = {1: "plain", 2: "reverse", 3: "through"}
    for i, fr in enumerate(_frames_of(frames)):
        p, sig = _prepare(fr, low, high, median, max_side)
        if kept and kept[-1][1].shape != p.shape:
            raise DuplicateError(f"frame {i} is {tuple(fr.shape[-2:])}, the earlier ones "
                                 f"{tuple(kept[-1][1].shape[-2:])} (before shrinking)")
        best, of = float("inf"), None
        for j, pk, sk in kept:
            e = block_distance(p, pk, block, q) - noise * math.hypot(sig, sk)
            if e < best:
                best, of = e, j
        if of is not None and best < threshold:
            yield Decision(i, fr, Repeat(i, of, gaps.get(i - of, "through")), best, sig)
        else:
            kept.append((i, p, sig))
            yield Decision(i, fr, None, best, sig)


def repeat_kinds(repeats: list[Repeat]) -> list[Repeat]:
    """Name the kinds from the gaps: 1 plain, 2 reverse, 3+ through; consecutive gap-2 repeats
    (A B A B) are a pair."""
    out = list(repeats)
    by_index = {r.index: k for k, r in enumerate(out)}
    for k, r in enumerate(out):
        gap = r.index - r.of
        kind = "plain" if gap == 1 else "reverse" if gap == 2 else "through"
        if gap == 2:
            nxt, prv = by_index.get(r.index + 1), by_index.get(r.index - 1)
            if (nxt is not None and out[nxt].index - out[nxt].of == 2 and out[nxt].of == r.of + 1) or \
               (prv is not None and out[prv].index - out[prv].of == 2 and out[prv].of == r.of - 1):
                kind = "pair"
        out[k] = Repeat(r.index, r.of, kind)
    return out


def duplicate_frames(frames, *, window: int = 3, threshold: float = DEFAULTS["threshold"],
                     block: int = DEFAULTS["block"], q: float = DEFAULTS["q"], low: float = 1.0,
                     high: float = 99.0, median: int = DEFAULTS["median"], max_side: int | None = 320,
                     return_distances: bool = False, noise: float = DEFAULTS["noise"]):
    """The repeated frames of ``frames`` (a video path, a (T,3,H,W) tensor or an iterable of
    (1,3,H,W) frames, streamed) as ``list[Repeat]`` in input order (see the module's steps).

    ``threshold`` bounds the excess distance ``e = d − noise · √(σ̂_a² + σ̂_b²)`` (units of the
    stretched picture, 0–1): the block distance beyond what two grain draws give. See
    :data:`DEFAULTS` for how the defaults were calibrated and ``bench/restore.py`` for precision
    and recall per motion band on held-out films.
    With ``return_distances``, also the (T,) array of each frame's smallest excess distance."""
    reps, dist = [], []
    for d in dedup(frames, window=window, threshold=threshold, block=block, q=q, low=low, high=high,
                   median=median, max_side=max_side, noise=noise):
        dist.append(d.distance)
        if d.repeat is not None:
            reps.append(d.repeat)
    reps = repeat_kinds(reps)
    return (reps, np.array(dist)) if return_distances else reps


def score_repeats(found: list[Repeat], truth: list[Repeat]) -> dict:
    """Precision, recall and kind accuracy of ``found`` against ``truth`` (by frame index)."""
    f, t = {r.index: r for r in found}, {r.index: r for r in truth}
    tp = set(f) & set(t)
    return {"found": len(f), "true": len(t), "tp": len(tp),
            "precision": len(tp) / len(f) if f else 1.0,
            "recall": len(tp) / len(t) if t else 1.0,
            "kind_accuracy": float(np.mean([f[i].kind == t[i].kind for i in tp])) if tp else float("nan"),
            "of_accuracy": float(np.mean([f[i].of == t[i].of for i in tp])) if tp else float("nan")}


KIND_COLORS = {"kept": "#f2f2f2", "plain": "#d62728", "reverse": "#1f77b4", "through": "#2ca02c",
               "pair": "#ff7f0e"}


def plot_repeat_pattern(repeats: list[Repeat], n_frames: int, *, truth: list[Repeat] | None = None,
                        per_row: int = 60, ax=None, title: str | None = None):
    """The repeat pattern as the seed's spreadsheet strip: one cell per input frame, coloured by
    kind, with an arc from each repeat to the frame it shows again. With ``truth``, a second row
    per strip holds the true pattern (and missed/false cells get a black edge). Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    rows = max(1, -(-n_frames // per_row))
    tracks = [("found", repeats)] + ([("truth", truth)] if truth is not None else [])
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(16, 0.22 * per_row + 1.5), 0.5 + 0.42 * rows * len(tracks) + 0.4))
    else:
        fig = ax.figure
    t_idx = {r.index for r in truth} if truth is not None else None
    for ti, (name, reps) in enumerate(tracks):
        kinds = {r.index: r.kind for r in reps}
        for i in range(n_frames):
            row, col = divmod(i, per_row)
            y = -(row * (len(tracks) + 0.6) + ti)
            wrong = t_idx is not None and name == "found" and ((i in kinds) != (i in t_idx))
            ax.add_patch(Rectangle((col, y), 0.92, 0.85, facecolor=KIND_COLORS[kinds.get(i, "kept")],
                                   edgecolor="black" if wrong else "none", linewidth=1.5 if wrong else 0))
        for r in reps:
            row, col = divmod(r.index, per_row)
            y = -(row * (len(tracks) + 0.6) + ti) + 0.85
            c0 = col - (r.index - r.of)
            ax.annotate("", xy=(c0 + 0.46, y), xytext=(col + 0.46, y),
                        arrowprops=dict(arrowstyle="->", lw=0.8, color="black",
                                        connectionstyle="arc3,rad=-0.5"))
        if len(tracks) > 1:
            for row in range(rows):
                ax.text(-0.6, -(row * (len(tracks) + 0.6) + ti) + 0.4, name, ha="right", va="center",
                        fontsize=7)
    ax.set_xlim(-4 if len(tracks) > 1 else -0.5, per_row + 0.5)
    ax.set_ylim(-(rows * (len(tracks) + 0.6)) + 0.4, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(handles=[Patch(color=c, label=k) for k, c in KIND_COLORS.items()], ncol=5, fontsize=7,
              loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    if title:
        ax.set_title(title, fontsize=9, pad=18)
    return fig
