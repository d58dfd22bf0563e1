"""A synthetic old film with its ground truth: a clean moving scene, degraded and with repeats.

- :func:`moving_scene`: a camera pan over a photo plus moving textured discs, with the speed
  varying between 0 and 6 px per frame. Every frame, *and every in-between time*, is rendered
  exactly, so the true middle frame and the true optical flow are known (:class:`MovingScene`).
- :func:`old_film`: that scene made grey, dark and low in contrast, with per-frame flicker, fresh
  grain, dust and scratches, then repeats of four kinds (:class:`Repeat`) inserted, and H.264
  encoded to a file, streamed. It returns an :class:`OldFilm`: the file and its truth.

Repeat kinds (the hobbyist's 2021 restoration write-up; input-order indices, ``index`` = the frame
to drop, ``of`` = the earlier frame it shows again):

==============  =================  ===================================
``"plain"``     A A                ``of = index - 1``
``"reverse"``   A B A              ``of = index - 2``
``"through"``   A B C A            ``of = index - 3`` (through two)
``"pair"``      A B A B            two Repeats, each ``of = index - 2``
==============  =================  ===================================
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..images import resize, sample_image

__all__ = ["MovingScene", "moving_scene", "Repeat", "REPEAT_KINDS", "OldFilm", "old_film",
           "degrade_frame"]

REPEAT_KINDS = ("plain", "reverse", "through", "pair")
_GAP = {"plain": 1, "reverse": 2, "through": 3, "pair": 2}


# --------------------------------------------------------------------------------------------
# the clean moving scene
# --------------------------------------------------------------------------------------------
def _bilinear_crop(img: torch.Tensor, x0: float, y0: float, h: int, w: int) -> torch.Tensor:
    """``img`` (C,H,W) sampled at (y0 + i, x0 + j), i < h, j < w, bilinear; (C,h,w).

    The crop must lie inside ``img`` (with one pixel to spare for the fractional part)."""
    ix, iy = math.floor(x0), math.floor(y0)
    fx, fy = x0 - ix, y0 - iy
    p = img[:, iy:iy + h + 1, ix:ix + w + 1]
    if p.shape[-2:] != (h + 1, w + 1):
        raise ValueError(f"crop at ({x0:.1f}, {y0:.1f}) of {h}x{w} leaves the {tuple(img.shape[-2:])} canvas")
    top = p[:, :h, :w] * (1 - fx) + p[:, :h, 1:] * fx
    bot = p[:, 1:, :w] * (1 - fx) + p[:, 1:, 1:] * fx
    return top * (1 - fy) + bot * fy


def _velocity_track(rng: np.random.Generator, n: int, speed: tuple[float, float], segment: tuple[int, int],
                    ramp: int, direction: float | None) -> np.ndarray:
    """(n, 2) per-step velocities (dx, dy): segments of random length, each with a speed drawn
    uniformly from ``speed`` and a direction; the speed ramps linearly between segments."""
    lo, hi = speed
    targets = np.zeros((n, 2))
    k = 0
    while k < n:
        length = int(rng.integers(segment[0], segment[1] + 1))
        s = rng.uniform(lo, hi)
        ang = math.radians(direction) if direction is not None else rng.uniform(-math.pi, math.pi)
        targets[k:k + length] = s * math.cos(ang), s * math.sin(ang)
        k += length
    return _ramp(targets, ramp)


def _ramp(targets: np.ndarray, ramp: int) -> np.ndarray:
    """A centred moving average of ``ramp`` steps: speeds change smoothly."""
    n = len(targets)
    if ramp > 1 and n > 1:
        ker = np.ones(ramp) / ramp
        pad = np.pad(targets, ((ramp // 2, ramp - 1 - ramp // 2), (0, 0)), mode="edge")
        targets = np.stack([np.convolve(pad[:, c], ker, mode="valid") for c in range(2)], 1)
    return targets


def _bounce(start: np.ndarray, vel: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Positions (n+1, 2) from ``start`` by the steps ``vel``: when a step would leave [lo, hi],
    that component of it *and of every later step* flips (a reflection, so the motion goes on the
    other way instead of jittering back and forth at the wall). Motion is straight within every
    frame interval."""
    vel = np.array(vel, dtype=np.float64)
    pos = np.empty((len(vel) + 1, 2))
    pos[0] = start
    for k in range(len(vel)):
        for c in range(2):
            if not lo[c] <= pos[k, c] + vel[k, c] <= hi[c]:
                vel[k:, c] = -vel[k:, c]
                if not lo[c] <= pos[k, c] + vel[k, c] <= hi[c]:
                    vel[k, c] = 0.0
        pos[k + 1] = pos[k] + vel[k]
    return pos


@dataclass
class Sprite:
    """A textured disc moving over the frame: centre ``path[k]`` = (x, y) at frame k (screen px)."""

    path: np.ndarray     # (T+1, 2) float64, centre at each frame (the last one is only for tweening)
    radius: float
    texture: torch.Tensor  # (3, 2R+1, 2R+1) with R = ceil(radius) + 2, the disc's picture


@dataclass
class MovingScene:
    """A clean moving scene with exactly known motion (see :func:`moving_scene`).

    Times are floats: ``frame(k)`` is frame k, ``frame(k + 0.5)`` the true in-between frame, since
    the camera and every sprite move in a straight line at constant speed within each frame
    interval. ``camera[k]`` is the top-left corner (x, y) of the view on the canvas; the picture
    moves by ``-(camera[k+1] - camera[k])`` on the screen. All frames are (1,3,H,W) float32 in [0,1].
    """

    canvas: torch.Tensor   # (3, Hc, Wc) the photo the camera pans over
    camera: np.ndarray     # (T+1, 2) float64
    sprites: list[Sprite]
    size: tuple[int, int]  # (H, W)
    n_frames: int
    fps: float = 24.0
    _grid: tuple = field(default=None, repr=False)

    def __len__(self) -> int:
        return self.n_frames

    def _check_t(self, t: float) -> None:
        if not 0 <= t <= self.n_frames:
            raise ValueError(f"time {t} is outside the scene's 0 … {self.n_frames}")

    @staticmethod
    def _at(track: np.ndarray, t: float) -> np.ndarray:
        k = min(int(math.floor(t)), len(track) - 2)
        a = t - k
        return track[k] * (1 - a) + track[k + 1] * a

    def camera_at(self, t: float) -> np.ndarray:
        """The camera's (x, y) at time ``t`` (linear within each frame interval)."""
        self._check_t(t)
        return self._at(self.camera, t)

    def sprite_at(self, i: int, t: float) -> np.ndarray:
        """Sprite ``i``'s centre (x, y) at time ``t``."""
        self._check_t(t)
        return self._at(self.sprites[i].path, t)

    def _alpha(self, centre: np.ndarray, radius: float) -> tuple[torch.Tensor, int, int]:
        """Antialiased disc coverage (analytic, 1-px edge) in the sprite's bounding box."""
        h, w = self.size
        R = int(math.ceil(radius)) + 2
        bx, by = int(math.floor(centre[0])) - R, int(math.floor(centre[1])) - R
        ys = torch.arange(by, by + 2 * R + 2, dtype=torch.float64)[:, None]
        xs = torch.arange(bx, bx + 2 * R + 2, dtype=torch.float64)[None, :]
        d = ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2).sqrt()
        return (radius + 0.5 - d).clamp(0, 1).float(), bx, by

    def _layers(self, t: float):
        """(background (3,H,W), [(alpha, picture, bx, by) for each sprite, bottom to top])."""
        h, w = self.size
        cx, cy = self.camera_at(t)
        bg = _bilinear_crop(self.canvas, cx, cy, h, w)
        layers = []
        for i, s in enumerate(self.sprites):
            c = self.sprite_at(i, t)
            alpha, bx, by = self._alpha(c, s.radius)
            R = (s.texture.shape[-1] - 1) // 2
            n = alpha.shape[-1]
            # texture coordinate of screen pixel p is p - c + R; keep the sampled window inside it
            tex = torch.nn.functional.pad(s.texture, (2, 2, 2, 2), mode="replicate")
            pic = _bilinear_crop(tex, bx - c[0] + R + 2, by - c[1] + R + 2, n - 1, n - 1)
            layers.append((alpha[:-1, :-1], pic, bx, by))
        return bg, layers

    def frame(self, t: float) -> torch.Tensor:
        """The clean frame at time ``t`` (an integer for a frame, a fraction for an in-between)."""
        h, w = self.size
        out, layers = self._layers(float(t))
        out = out.clone()
        for alpha, pic, bx, by in layers:
            y0, x0 = max(by, 0), max(bx, 0)
            y1, x1 = min(by + alpha.shape[0], h), min(bx + alpha.shape[1], w)
            if y1 <= y0 or x1 <= x0:
                continue
            a = alpha[y0 - by:y1 - by, x0 - bx:x1 - bx]
            p = pic[:, y0 - by:y1 - by, x0 - bx:x1 - bx]
            out[:, y0:y1, x0:x1] = out[:, y0:y1, x0:x1] * (1 - a) + p * a
        return out.clamp(0, 1).unsqueeze(0)

    def tween(self, k: int, t: float = 0.5) -> torch.Tensor:
        """The true frame between frames ``k`` and ``k + 1`` at fraction ``t`` (0.5 = the middle)."""
        if not 0 <= k < self.n_frames - 1 or not 0 <= t <= 1:
            raise ValueError(f"tween needs 0 <= k < {self.n_frames - 1} and 0 <= t <= 1, not k={k}, t={t}")
        return self.frame(k + t)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[torch.Tensor]:
        """Frames ``start … stop-1`` one at a time (streamed: nothing is kept)."""
        for k in range(start, self.n_frames if stop is None else min(stop, self.n_frames)):
            yield self.frame(k)

    __iter__ = frames

    def __getitem__(self, k: int) -> torch.Tensor:
        if not -self.n_frames <= k < self.n_frames:
            raise IndexError(k)
        return self.frame(k % self.n_frames)

    def clip(self, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Frames ``start … stop-1`` stacked, (T,3,H,W). For short scenes; use :meth:`frames` to stream."""
        return torch.cat(list(self.frames(start, stop)))

    def mask(self, t: float) -> torch.Tensor:
        """(1,1,H,W) float: how much of each pixel the sprites cover at time ``t``."""
        h, w = self.size
        cover = torch.zeros(h, w)
        for i, s in enumerate(self.sprites):
            alpha, bx, by = self._alpha(self.sprite_at(i, t), s.radius)
            y0, x0, y1, x1 = max(by, 0), max(bx, 0), min(by + alpha.shape[0], h), min(bx + alpha.shape[1], w)
            if y1 > y0 and x1 > x0:
                a = alpha[y0 - by:y1 - by, x0 - bx:x1 - bx]
                cover[y0:y1, x0:x1] = cover[y0:y1, x0:x1] * (1 - a) + a
        return cover[None, None]

    def flow(self, k: float, t: float = 1.0) -> np.ndarray:
        """True optical flow from time ``k`` to time ``k + t``, (H,W,2) float32, ``nm.flow``'s
        convention: frame(k)[y, x] ≈ frame(k+t)[y + dy, x + dx].

        The background moves by −(camera shift); a pixel whose topmost cover (alpha > ½) is a
        sprite moves with that sprite. Pixels uncovered between the two times have no true
        correspondence; they get the motion of what covers them at time ``k``."""
        h, w = self.size
        cam = self.camera_at(k + t) - self.camera_at(k)
        out = np.empty((h, w, 2), np.float32)
        out[..., 0], out[..., 1] = -cam[0], -cam[1]
        for i, s in enumerate(self.sprites):
            alpha, bx, by = self._alpha(self.sprite_at(i, k), s.radius)
            d = self.sprite_at(i, k + t) - self.sprite_at(i, k)
            y0, x0, y1, x1 = max(by, 0), max(bx, 0), min(by + alpha.shape[0], h), min(bx + alpha.shape[1], w)
            if y1 > y0 and x1 > x0:
                m = alpha[y0 - by:y1 - by, x0 - bx:x1 - bx].numpy() > 0.5
                out[y0:y1, x0:x1][m] = d.astype(np.float32)
        return out

    def pan_speed(self, k: int) -> float:
        """The camera's speed between frames k and k+1, px per frame."""
        return float(np.hypot(*(self.camera[k + 1] - self.camera[k])))

    def motion(self, k: int) -> float:
        """How far the picture moves between frames k and k+1, px per frame: the pan's speed (the
        background, most of the frame; the sprites move on their own, see :meth:`max_motion`)."""
        return self.pan_speed(k)

    def max_motion(self, k: int) -> float:
        """The largest displacement anywhere in the picture between frames k and k+1 (the pan or
        any sprite), px per frame."""
        d = [self.pan_speed(k)] + [float(np.hypot(*(s.path[k + 1] - s.path[k]))) for s in self.sprites]
        return max(d)

    def motions(self) -> np.ndarray:
        """:meth:`motion` for every step, (n_frames - 1,)."""
        return np.array([self.motion(k) for k in range(self.n_frames - 1)])


def moving_scene(n_frames: int = 96, size: tuple[int, int] = (144, 192), *, photo: str = "astronaut",
                 speed: tuple[float, float] = (0.0, 6.0), segment: tuple[int, int] = (12, 40),
                 ramp: int = 4, direction: float | None = None, objects: int = 3,
                 object_speed: tuple[float, float] | None = None, object_photo: str = "coffee",
                 canvas_scale: float = 1.6, fps: float = 24.0, seed: int = 0) -> MovingScene:
    """A clean moving scene with known motion: a camera pan over ``photo`` plus ``objects``
    textured discs moving on their own.

    The pan's speed varies between ``speed[0]`` and ``speed[1]`` px per frame: ``segment``-long
    stretches (random lengths) at a speed drawn uniformly from that range in a random direction
    (or ``direction`` in degrees, 0 = the camera moving right, i.e. the picture moving left),
    ramped over ``ramp`` frames. The camera bounces off the canvas's edges (``photo`` resized to
    ``canvas_scale`` × the frame, aspect kept). Discs (radius 7–12 % of the shorter side, textured
    with crops of ``object_photo``) move the same way at ``object_speed`` (default ``speed``) and
    bounce off the frame's edges. Motion is straight and uniform within each frame interval, so
    :meth:`MovingScene.tween` is the exact in-between frame and :meth:`MovingScene.flow` the
    exact flow.

    Returns a :class:`MovingScene` (renders frames on demand: a 2,000-frame scene costs a canvas
    and a few small arrays). Colour; use ``nm.color.to_gray`` for a black-and-white film.

        scene = nm.data.moving_scene(48, (96, 128), seed=1)
        a, b, mid = scene[10], scene[11], scene.tween(10)      # true middle frame
        flow = scene.flow(10)                                  # (H,W,2) true flow 10 -> 11
    """
    h, w = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if n_frames < 1 or h < 8 or w < 8:
        raise ValueError(f"need n_frames >= 1 and a frame of at least 8x8, not {n_frames} frames of {w}x{h}")
    if not 0 <= speed[0] <= speed[1]:
        raise ValueError(f"speed is a range (low, high) with 0 <= low <= high, not {speed}")
    if canvas_scale < 1.2:
        raise ValueError(f"canvas_scale must be >= 1.2 (the camera needs room to pan), not {canvas_scale}")
    rng = np.random.default_rng(seed)
    img = sample_image(photo)
    ih, iw = img.shape[-2:]
    s = canvas_scale * max(h / ih, w / iw)
    canvas = resize(img, (max(h + 4, round(ih * s)), max(w + 4, round(iw * s))))[0].contiguous()
    ch, cw = canvas.shape[-2:]
    lo, hi = np.array([1.0, 1.0]), np.array([cw - w - 2.0, ch - h - 2.0])
    start = rng.uniform(lo, hi)
    camera = _bounce(start, _velocity_track(rng, n_frames, speed, segment, ramp, direction), lo, hi)

    sprites = []
    if objects:
        tex_img = sample_image(object_photo)
        th, tw = tex_img.shape[-2:]
    for _ in range(objects):
        radius = rng.uniform(0.07, 0.12) * min(h, w)
        R = int(math.ceil(radius)) + 2
        side = 2 * R + 1
        scale = rng.uniform(0.3, 0.6)  # a zoomed-out crop of the texture photo
        crop = max(side, int(min(th, tw) * scale))
        y, x = int(rng.integers(0, th - crop + 1)), int(rng.integers(0, tw - crop + 1))
        tex = resize(tex_img[:, :, y:y + crop, x:x + crop], (side, side))[0].contiguous()
        m = np.array([radius + 1.0, radius + 1.0])
        pos0 = rng.uniform(m, np.array([w, h]) - m)
        vel = _velocity_track(rng, n_frames, object_speed or speed, segment, ramp, None)
        sprites.append(Sprite(_bounce(pos0, vel, m, np.array([w, h]) - m), float(radius), tex))
    return MovingScene(canvas, camera, sprites, (h, w), int(n_frames), float(fps))


# --------------------------------------------------------------------------------------------
# the old film
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Repeat:
    """A repeated frame: drop input frame ``index``; it shows frame ``of`` again; ``kind`` is one
    of :data:`REPEAT_KINDS` (plain A A, reverse A B A, through A B C A, pair A B A B)."""

    index: int
    of: int
    kind: str

    def __post_init__(self):
        if self.kind not in REPEAT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(REPEAT_KINDS)}, not {self.kind!r}")
        if not 0 <= self.of < self.index:
            raise ValueError(f"a repeat's 'of' ({self.of}) comes before its index ({self.index})")


def degrade_frame(x: torch.Tensor, rng: np.random.Generator, *, gain: float = 1.0, contrast: float = 0.5,
                  black: float = 0.06, grain: float = 0.03, dust: float = 4.0,
                  scratches: list[tuple[float, float]] = ()) -> torch.Tensor:
    """One frame of old film from a clean grey (1,3,H,W) frame: low contrast and darkened
    (``black + contrast × gain × x``), fresh grain (Gaussian, σ = ``grain``, 2-px clumps), about
    ``dust`` specks (Poisson; dark or bright discs of radius 1–3 px), and ``scratches``
    (x position, strength): thin bright vertical lines."""
    h, w = x.shape[-2:]
    g = x[:, :1].double()
    y = black + contrast * gain * g
    noise = torch.from_numpy(rng.standard_normal((1, 1, h + 1, w + 1)))
    noise = 0.5 * (noise[..., 1:, 1:] + noise[..., :-1, :-1] + noise[..., 1:, :-1] + noise[..., :-1, 1:])
    y = y + grain * noise  # the four-pixel average has σ 1: clumps of about 2 px
    yy = torch.arange(h, dtype=torch.float64)[:, None]
    xx = torch.arange(w, dtype=torch.float64)[None, :]
    for _ in range(int(rng.poisson(dust))):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1, 3)
        a = (r + 0.5 - ((xx - cx) ** 2 + (yy - cy) ** 2).sqrt()).clamp(0, 1)
        level = 0.02 if rng.random() < 0.6 else 0.9
        y = y * (1 - a) + level * a
    for sx, strength in scratches:
        a = (1.0 - (xx - sx).abs()).clamp(0, 1) * strength
        y = y * (1 - a) + 0.85 * a
    return y.clamp(0, 1).float().expand(-1, 3, -1, -1).contiguous()


def _schedule(rng: np.random.Generator, n: int, events: int, kinds: tuple[str, ...],
              spacing: int = 5) -> dict[int, str]:
    """Source frame k -> the repeat kind inserted right after it; events at least ``spacing`` apart."""
    slots = np.arange(3, n - 1)
    if len(slots) == 0 or events <= 0:
        return {}
    events = min(events, max(1, (n - 4) // spacing))
    # an irregular mix: random proportions, every kind at least once when there is room
    p = rng.dirichlet(np.full(len(kinds), 2.0))
    chosen = list(kinds[:events]) + list(rng.choice(kinds, size=max(0, events - len(kinds)), p=p))
    rng.shuffle(chosen)
    # positions: random gaps >= spacing over the available span
    free = len(slots) - (events - 1) * spacing
    pos = np.sort(rng.choice(max(free, events), size=events, replace=False)) + np.arange(events) * spacing
    pos = np.minimum(pos + slots[0], n - 2)
    return {int(k): str(kind) for k, kind in zip(pos, chosen)}


@dataclass
class OldFilm:
    """A synthetic old film and its truth (see :func:`old_film`).

    ``source[i]`` is the clean scene frame that film frame ``i`` shows; ``repeats`` lists the film
    frames to drop; ``gain[i]`` the exposure (the darkened frames have ``dark[i]``). Clean truth:
    :meth:`clean` (grey when the film is black and white) and :meth:`tween` (the true in-between).
    """

    path: Path
    fps: float
    scene: MovingScene
    source: np.ndarray
    repeats: list[Repeat]
    gain: np.ndarray
    dark: np.ndarray
    gray: bool = True

    def __len__(self) -> int:
        return len(self.source)

    @property
    def n_frames(self) -> int:
        return len(self.source)

    @property
    def size(self) -> tuple[int, int]:
        return self.scene.size

    @property
    def kept(self) -> list[int]:
        """The film frames that are not repeats (in order: they show source 0, 1, 2, …)."""
        drop = {r.index for r in self.repeats}
        return [i for i in range(len(self.source)) if i not in drop]

    def frames(self) -> Iterator[torch.Tensor]:
        """The degraded, H.264-decoded film, one (1,3,H,W) frame at a time."""
        from ..video import frames

        return frames(self.path)

    def _look(self, x: torch.Tensor) -> torch.Tensor:
        if not self.gray:
            return x
        g = 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
        return g.expand(-1, 3, -1, -1).contiguous()

    def clean(self, k: int) -> torch.Tensor:
        """Source frame ``k`` as it was before the damage (grey for a black-and-white film)."""
        return self._look(self.scene.frame(k))

    def clean_frames(self) -> Iterator[torch.Tensor]:
        for k in range(self.scene.n_frames):
            yield self.clean(k)

    def tween(self, k: int, t: float = 0.5) -> torch.Tensor:
        """The true clean frame between source frames ``k`` and ``k + 1``."""
        return self._look(self.scene.tween(k, t))

    def motion_at(self, i: int, reach: int = 3) -> float:
        """How far film frame ``i``'s picture is from its nearest real neighbour, px of camera
        pan: the smallest pan displacement between the source frame it shows and any other
        source frame up to ``reach`` away (a duplicate search looks about that far back). A camera
        turning round brings a picture back near where it was two frames before, which this
        counts and the speed alone would not."""
        k = int(self.source[i])
        cam = self.scene.camera
        d = [float(np.hypot(*(cam[k] - cam[j]))) for j in range(k - reach, k + reach + 1)
             if j != k and 0 <= j < self.scene.n_frames]
        return min(d) if d else 0.0


def old_film(n_frames: int = 120, size: tuple[int, int] = (144, 192), *, path=None, fps: float = 18.0,
             repeats: int | None = None, kinds: tuple[str, ...] = REPEAT_KINDS, dark: float = 0.15,
             flicker: float = 0.12, contrast: float = 0.5, grain: float = 0.03, dust: float = 4.0,
             scratches: int = 2, crf: int = 23, gray: bool = True, seed: int = 0,
             scene: MovingScene | None = None, **scene_kwargs) -> OldFilm:
    """A synthetic old film with ground truth, written to ``path`` (an .mp4; default a temp file).

    1. A :func:`moving_scene` of ``n_frames`` clean frames (``scene_kwargs`` go to it; or pass
       ``scene``): a pan over a photo plus moving discs, 0–6 px per frame.
    2. Repeats (about one event per 12 frames unless ``repeats`` events are asked for), an
       irregular random mix of ``kinds``: plain (A A), reverse (A B A), through two (A B C A) and
       pair (A B A B, two repeats).
    3. Each film frame, repeats included, is degraded afresh (:func:`degrade_frame`): grey, low
       ``contrast``, exposure flicker (gain × U(1 ± ``flicker``)), darkened stretches (a fraction
       ``dark`` of the film at gain 0.4–0.6), fresh grain, dust and ``scratches`` drifting lines.
    4. H.264 at ``crf`` through ``nm.video.Writer`` (streamed, atomic).

    Returns an :class:`OldFilm` with the truth: ``repeats``, ``source``, ``clean``, ``tween``.
    """
    if scene is None:
        scene = moving_scene(n_frames, size, fps=fps, seed=seed, **scene_kwargs)
    n = scene.n_frames
    bad = [k for k in kinds if k not in REPEAT_KINDS]
    if bad or not kinds:
        raise ValueError(f"kinds must be some of {', '.join(REPEAT_KINDS)}, not {kinds}")
    rng = np.random.default_rng(seed + 1_000_003)
    plan = _schedule(rng, n, max(n // 12, 1) if repeats is None else int(repeats), tuple(kinds))
    source, reps = [], []
    for k in range(n):
        source.append(k)
        kind = plan.get(k)
        if kind is None:
            continue
        back = {"plain": [k], "reverse": [k - 1], "through": [k - 2], "pair": [k - 1, k]}[kind]
        for b in back:
            i = len(source)
            reps.append(Repeat(i, i - _GAP[kind], kind))
            source.append(b)
    source = np.array(source)
    m = len(source)
    gain = 1.0 + flicker * rng.uniform(-1, 1, m)
    is_dark = np.zeros(m, bool)
    while is_dark.mean() < dark:  # darkened stretches of 4–12 frames
        a = int(rng.integers(0, m))
        is_dark[a:a + int(rng.integers(4, 13))] = True
    gain[is_dark] *= rng.uniform(0.4, 0.6, is_dark.sum())
    h, w = scene.size
    tracks = [(rng.uniform(0, w), rng.uniform(0.2, 0.5)) for _ in range(scratches)]
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="nm-old-film-")) / f"old_film_{seed}.mp4"
    from ..video import Writer

    film = OldFilm(Path(path), float(fps), scene, source, reps, gain, is_dark, gray)
    with Writer(path, fps, crf=crf) as wr:
        for i, k in enumerate(source):
            tracks = [(min(max(x + rng.normal(0, 0.7), 0), w - 1), s) for x, s in tracks]
            wr.write(degrade_frame(film.clean(int(k)), rng, gain=float(gain[i]), contrast=contrast,
                                   grain=grain, dust=dust, scratches=tracks))
    return film
