"""A procedural world where colour is semantic, and some of it is undecidable from lightness alone.

Zhang, Isola & Efros 2016, §1: "colorization is inherently ambiguous" (an apple may be red or
green); a network that sees only L can learn colours that follow from *what* a thing is, never
those that do not. This world makes both kinds, with the truth known per pixel:

- typical colours, fixed by the class (the shape, place and lightness tell which class):
  sky (blue, at the top, lighter towards the horizon), sun (yellow), clouds (white), grass
  (green, at the bottom), water (blue-grey), tree trunks (brown) and canopies (dark green);
- ambiguous objects: balls that are red OR blue, drawn at exactly the same CIE L = 50
  (:data:`BALL_COLOURS`), chosen by a coin flip. From L alone no network can know which; the
  best an L2 regression can do is their mean, ab = (28.5, −9.5), half their chroma (Zhang
  et al.'s "desaturated" failure), and the honest fix is a user hint (Zhang et al. 2017).

The scene is drawn in L*a*b* with hard edges (no anti-aliasing, so an edge pixel is either ball or
background and the balls' L stays exactly 50), every colour inside sRGB, then converted to RGB with
:func:`nomysticism.color.lab_to_rgb`.

- :func:`world`: ``n`` images with their ambiguous-object masks and per-pixel class maps;
- :func:`chroma`: the mean CIE chroma √(a² + b²) of images inside a mask (for the chroma plot).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ..color import lab_to_rgb, rgb_to_lab

__all__ = ["World", "world", "chroma", "CLASSES", "BALL_COLOURS", "BALL_L"]

#: Class names, in the order of the class map's values.
CLASSES = ("sky", "sun", "cloud", "grass", "water", "trunk", "canopy", "ball")
_SKY, _SUN, _CLOUD, _GRASS, _WATER, _TRUNK, _CANOPY, _BALL = range(len(CLASSES))

#: The balls' lightness: both colours have exactly this CIE L.
BALL_L = 50.0
#: The two ball colours (L, a, b): red and blue at the same L and nearly the same chroma (60.9 and
#: 61.2; sRGB (0.78, 0.32, 0.20) and (0.04, 0.47, 0.87)). Their mean, (28.5, −9.5), has chroma 30.
BALL_COLOURS = ((BALL_L, 45.0, 41.0), (BALL_L, 12.0, -60.0))

# typical (a, b) of each class, and its lightness (a base, or a range drawn per object)
_AB = {_SKY: (-6.0, -34.0), _SUN: (-3.0, 70.0), _CLOUD: (0.0, 0.0), _GRASS: (-40.0, 42.0),
       _WATER: (-6.0, -24.0), _TRUNK: (12.0, 26.0), _CANOPY: (-34.0, 30.0)}


class World(NamedTuple):
    """``images`` (N,3,S,S) RGB in [0,1]; ``ambiguous`` (N,1,S,S) bool, the balls' pixels;
    ``classes`` (N,1,S,S) long, indices into :data:`CLASSES`; ``names`` = :data:`CLASSES`."""

    images: torch.Tensor
    ambiguous: torch.Tensor
    classes: torch.Tensor
    names: tuple


def _smooth_noise(rng: np.random.Generator, size: int, cells: int = 4) -> np.ndarray:
    """Value noise in [-1, 1]: a coarse random grid, bilinearly upsampled to (size, size)."""
    g = rng.uniform(-1, 1, (cells + 1, cells + 1))
    t = np.linspace(0, cells, size)
    i = np.minimum(t.astype(int), cells - 1)
    f = t - i
    rows = g[i] * (1 - f)[:, None] + g[i + 1] * f[:, None]
    return rows[:, i] * (1 - f)[None] + rows[:, i + 1] * f[None]


def _draw(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One scene: Lab (3,S,S) float64 and the class map (S,S)."""
    S = size
    yy, xx = np.mgrid[0:S, 0:S] + 0.5  # pixel centres
    lab = np.zeros((3, S, S))
    cls = np.zeros((S, S), dtype=np.int64)

    def paint(mask, L, k, jitter=3.0, db=0.0):
        a, b = np.asarray(_AB[k]) + rng.uniform(-jitter, jitter, 2)
        for c, v in enumerate((L, a, b + db)):
            lab[c][mask] = v[mask] if isinstance(v, np.ndarray) else v
        cls[mask] = k

    def ellipse(cy, cx, ry, rx):
        return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1

    horizon = rng.uniform(0.4, 0.6) * S
    # sky: L from 68 at the top to 84 at the horizon, paler (b from -34 to -18) as it gets lighter
    t = np.clip(yy / horizon, 0, 1)
    paint(np.ones((S, S), bool), 68 + 16 * t, _SKY, 2.0, 16 * t)
    if rng.random() < 0.7:
        r = rng.uniform(0.05, 0.09) * S
        paint(ellipse(rng.uniform(r, horizon - r), rng.uniform(r, S - r), r, r), 87.0, _SUN)
    for _ in range(rng.integers(0, 3)):
        ry, rx = rng.uniform(0.04, 0.07) * S, rng.uniform(0.1, 0.2) * S
        paint(ellipse(rng.uniform(ry, horizon - ry), rng.uniform(0, S), ry, rx), 95.0, _CLOUD, 0.0)
    ground = yy >= horizon
    paint(ground, 58 + 5 * _smooth_noise(rng, S), _GRASS)
    if rng.random() < 0.5:
        ry, rx = rng.uniform(0.05, 0.1) * S, rng.uniform(0.12, 0.25) * S
        water = ellipse(rng.uniform(horizon + ry, S - ry), rng.uniform(rx, S - rx), ry, rx) & ground
        paint(water, 44 + 3 * np.sin(yy * 2.1 + rng.uniform(0, 6)), _WATER, 2.0)
    for _ in range(rng.integers(0, 3)):
        cx, base = rng.uniform(0.05, 0.95) * S, rng.uniform(horizon + 0.05 * S, horizon + 0.2 * S)
        w, h, r = 0.035 * S, rng.uniform(0.1, 0.16) * S, rng.uniform(0.08, 0.12) * S
        paint((np.abs(xx - cx) <= w) & (yy <= base) & (yy >= base - h), 34.0, _TRUNK)
        paint(ellipse(base - h - 0.6 * r, cx, r, r), 40 + 3 * _smooth_noise(rng, S, 8), _CANOPY)
    # the ambiguous objects: flat discs at L = 50, red or blue by a coin flip, drawn last
    for _ in range(rng.integers(1, 4)):
        r = rng.uniform(0.08, 0.13) * S
        cy, cx = rng.uniform(max(horizon, r), S - r), rng.uniform(r, S - r)
        disc = ellipse(cy, cx, r, r)
        lab[:, disc] = np.asarray(BALL_COLOURS[int(rng.integers(2))])[:, None]
        cls[disc] = _BALL
    return lab, cls


def world(n: int, size: int = 32, seed: int = 0) -> World:
    """Zhang et al. 2016, §1's ambiguity, drawn: ``n`` scenes of sky, sun, grass, water, trees (typical
    colours) and balls red or blue at the same L = 50 (the ``ambiguous`` mask).

    Image ``i`` depends only on ``(seed, i)``, so ``world(10)`` is the start of ``world(1000)``.
    """
    if n < 0 or size < 8:
        raise ValueError(f"need n >= 0 and size >= 8, not n={n}, size={size}")
    labs = np.empty((n, 3, size, size))
    classes = np.empty((n, 1, size, size), dtype=np.int64)
    for i in range(n):
        labs[i], classes[i, 0] = _draw(np.random.default_rng([seed, i]), size)
    rgb = lab_to_rgb(torch.from_numpy(labs), clip=True).float()
    cls = torch.from_numpy(classes)
    return World(rgb, cls == _BALL, cls, CLASSES)


def chroma(images: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Zhang et al. 2016, §3.1's "saturation": the mean CIE chroma √(a² + b²) of RGB ``images``
    (N,3,H,W) over the pixels where ``mask`` (N,1,H,W) is True (all pixels if None)."""
    lab = rgb_to_lab(images.detach().double().clamp(0, 1))
    c = lab[:, 1:].pow(2).sum(1, keepdim=True).sqrt()
    if mask is None:
        return float(c.mean())
    m = mask.to(c.device).bool().expand_as(c)
    if not m.any():
        raise ValueError("the mask selects no pixel")
    return float(c[m].mean())
