"""Scoring attribution methods against ground-truth masks (the shapes world of ``nm.data``).

Two scores per method, with the true label as target: the pointing game (Zhang et al. 2016:
is argmax_ij M_ij on the object, within a tolerance?) and the mass inside the mask,
Σ M·mask / Σ M (a map that ignores the object scores the mask's area fraction). Both are
defined in :mod:`nomysticism.metrics`.

Pieces: :func:`score_methods` (the table's rows), :func:`format_scores` (as Markdown).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..metrics import _as_map, mass_in_mask, pointing_game
from ..progress import Loop
from .display import heatmap
from .gradients import random_attribution

__all__ = ["score_methods", "format_scores"]


def score_methods(model, images: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor,
                  methods: dict[str, Callable] | Sequence[str] | None = None,
                  tolerances: Sequence[int] = (0, 2), reduce: str = "max",
                  batch_size: int = 32, progress: bool = False) -> list[dict]:
    """Zhang et al. 2016 (pointing game) and mass in mask: score attribution methods against
    ground-truth masks (e.g. ``nm.data.shapes``).

    For each method: the pointing-game hit rate at each tolerance (pixels) and the mean share of
    heat inside the mask, with the true label as target. Channels are reduced by ``reduce``
    (:func:`heatmap`). Returns rows ``{'method', 'pointing@0', 'pointing@2', 'mass_in_mask'}`` and
    a last row 'mask area' (what a uniform map's mass would be).
    """
    from . import METHODS

    if methods is None:
        methods = ["gradient", "deconvnet", "guided", "grad_cam", "random"]
    if not isinstance(methods, dict):
        methods = {m: METHODS[m] for m in methods}
    items = list(methods.items())
    rows = []
    loop = Loop(len(items), progress=progress, desc="methods", leave=True)
    for i in loop:
        name, fn = items[i]
        hits = {t: [] for t in tolerances}
        mass = []
        for s in range(0, len(images), batch_size):
            x, m, y = images[s : s + batch_size], masks[s : s + batch_size], labels[s : s + batch_size]
            kw = {"seed": s} if fn is random_attribution else {}
            heat = heatmap(fn(model, x, y, **kw), reduce=reduce, normalize=False)
            for t in tolerances:
                hits[t].append(pointing_game(heat, m, t))
            mass.append(mass_in_mask(heat, m))
        row = {"method": name}
        for t in tolerances:
            row[f"pointing@{t}"] = float(torch.cat(hits[t]).float().mean())
        row["mass_in_mask"] = float(torch.cat(mass).mean())
        rows.append(row)
        loop.report(i + 1)
    loop.finish()
    area = float(_as_map(masks).flatten(1).float().mean(1).mean())
    rows.append({"method": "mask area", **{f"pointing@{t}": float("nan") for t in tolerances},
                 "mass_in_mask": area})
    return rows


def format_scores(rows: list[dict]) -> str:
    """The rows of :func:`score_methods` as a Markdown table."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "|".join("---" for _ in keys) + "|"]
    for r in rows:
        cells = [r[k] if isinstance(r[k], str) else ("" if r[k] != r[k] else f"{r[k]:.2f}")
                 for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
