"""Pictures: the mood map (Russell 1980's circumplex), spectrograms and their saliency."""

from __future__ import annotations

import math

import numpy as np
import torch

from .recipes import QUADRANTS, RECIPES

__all__ = ["plot_mood_map", "plot_spectrogram", "plot_saliency", "quadrant"]


def quadrant(valence: float, arousal: float) -> str:
    """The circumplex quadrant's words for a point (ties go to the positive side)."""
    return QUADRANTS[(1 if valence >= 0 else -1, 1 if arousal >= 0 else -1)]


def _points(tracks):
    if isinstance(tracks, dict):
        items = list(tracks.items())
    else:
        items = [(str(i), t) for i, t in enumerate(tracks)]
    out = []
    for name, t in items:
        v, a = (t.valence, t.arousal) if hasattr(t, "valence") else t
        out.append((str(name), float(v), float(a)))
    return out


def plot_mood_map(tracks, ax=None, title: str = "mood map", arrows=(), annotate: bool = True,
                  color=None):
    """The valence–arousal plane with its unit circle and quadrant words (happy / excited,
    angry / tense, sad / depressed, calm / relaxed) and ``tracks`` as labelled points.

    ``tracks``: ``{name: (valence, arousal)}`` or ``{name: Mood}`` or a list of pairs;
    ``arrows``: pairs of names to join with an arrow (e.g. the major and minor rendering of one
    piece). Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 5.2))
    t = np.linspace(0, 2 * math.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.75", lw=1)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    for (sv, sa), words in QUADRANTS.items():
        ax.text(0.72 * sv, 0.92 * sa, words, ha="center", va="center", fontsize=10, color="0.35",
                style="italic")
    pts = _points(tracks)
    where = {n: (v, a) for n, v, a in pts}
    for a_name, b_name in arrows:
        if a_name in where and b_name in where:
            ax.annotate("", xy=where[b_name], xytext=where[a_name],
                        arrowprops={"arrowstyle": "->", "color": "0.3"})
    if pts:
        ax.scatter([p[1] for p in pts], [p[2] for p in pts], s=40, zorder=3,
                   c=color if color is not None else "tab:red", edgecolor="k", linewidth=0.5)
    if annotate:
        for n, v, a in pts:
            ax.annotate(n, (v, a), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set(xlim=(-1.1, 1.1), ylim=(-1.1, 1.1), xlabel="valence (sad … happy)",
           ylabel="arousal (calm … energetic)", title=title, aspect="equal")
    return ax


def _pitch_axis(ax, n_bins: int) -> None:
    lf = RECIPES["cnn"]["log_freq"]
    step = lf["bins_per_octave"]
    first = (-lf["fmin_midi"]) % 12 * step // 12  # the first C
    ticks = list(range(first, n_bins, step))
    ax.set_yticks([t + 0.5 for t in ticks])
    ax.set_yticklabels([f"C{(lf['fmin_midi'] + 12 * t // step) // 12 - 1}" for t in ticks])
    ax.set_ylabel("pitch")


def _extent(spec: torch.Tensor, sr: int, hop: int):
    return [0, spec.shape[-1] * hop / sr, 0, spec.shape[0]]


def plot_spectrogram(spec: torch.Tensor, sr: int | None = None, ax=None,
                     title: str = "semitone spectrogram (dB)"):
    """A (n_bins, T) semitone spectrogram in dB (the network's input, :mod:`.spectra`): time in
    seconds across, pitch up, with the C of each octave marked."""
    import matplotlib.pyplot as plt

    r = RECIPES["cnn"]
    sr = sr or r["sr"]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 2.6))
    im = ax.imshow(spec.detach().cpu().numpy(), origin="lower", aspect="auto", cmap="magma",
                   extent=_extent(spec, sr, r["log_freq"]["hop_length"]))
    _pitch_axis(ax, spec.shape[0])
    ax.set(xlabel="time (s)", title=title)
    ax.figure.colorbar(im, ax=ax, pad=0.01)
    return ax


def plot_saliency(sal, axes=None, sr: int | None = None):
    """A :class:`~.cnn.Saliency`: the spectrogram, and |∂y/∂S| over it (time and mel band)."""
    import matplotlib.pyplot as plt

    r = RECIPES["cnn"]
    sr = sr or r["sr"]
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    plot_spectrogram(sal.spec, sr, axes[0])
    g = sal.grad.detach().cpu().numpy()
    signed = bool((g < 0).any())
    lim = float(np.abs(g).max()) or 1.0
    im = axes[1].imshow(g, origin="lower", aspect="auto", cmap="RdBu_r" if signed else "viridis",
                        vmin=-lim if signed else 0, vmax=lim,
                        extent=_extent(sal.spec, sr, r["log_freq"]["hop_length"]))
    _pitch_axis(axes[1], sal.spec.shape[0])
    axes[1].set(xlabel="time (s)",
                title=f"saliency of {sal.target} ({sal.value:+.2f})"
                      + (": red raises it, blue lowers it" if signed else ""))
    axes[1].figure.colorbar(im, ax=axes[1], pad=0.01)
    return axes
