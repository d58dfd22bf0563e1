"""Old-film restoration: scrub through a film frame by frame and see what each frame is.

Holds no algorithm. :class:`FilmScrubber` shows one frame at a time (a Play button linked to a
frame slider), the frame's label (kept / repeat of #k (kind) / interpolated, and the truth when one
is given), and the repeat-pattern strip of :func:`nomysticism.restore.plot_repeat_pattern` with the
current frame framed. The duplicate search (:func:`nomysticism.restore.duplicate_frames`) runs in a
background thread (:class:`~.base.Runner`) from the "find repeats" button.

A film given as a path is read lazily: frames are decoded as the slider reaches them and only the
last ``cache`` of them are kept (as uint8), so a long film is never held whole.
"""

from __future__ import annotations

import html
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import ipywidgets as W
import numpy as np
import torch

from .. import restore as R
from ..video import VideoError
from ..video import frames as read_frames
from ..video import info as video_info
from .base import ImageView, Runner, mark

__all__ = ["FilmScrubber", "FrameSource", "frame_label"]


class FrameSource:
    """Random access to the frames of a film: a (T,3,H,W) tensor, a list of (1,3,H,W)/(3,H,W)
    frames, or a video file read lazily (a forward decoder, restarted on a backward jump, and an
    LRU cache of ``cache`` decoded frames as uint8)."""

    def __init__(self, film, cache: int = 32):
        if cache < 1:
            raise ValueError(f"cache must be at least 1 frame, not {cache}")
        self.cache_size = int(cache)
        self.path: Path | None = None
        self._frames = None
        self._cache: OrderedDict[int, torch.Tensor] = OrderedDict()
        self._it = None
        self._pos = 0            # the index the decoder yields next
        self._lock = threading.Lock()
        self.decoded = 0         # frames decoded so far (tests and curious readers)
        if isinstance(film, (str, Path)):
            self.path = Path(film)
            if not self.path.is_file():
                raise FileNotFoundError(f"{self.path}: no such video file")
            meta = video_info(self.path)      # VideoError for a broken file
            if meta.frames < 1:
                raise VideoError(f"{self.path}: the video has no frames")
            self.n = int(meta.frames)
            self.fps = float(meta.fps)
        elif isinstance(film, torch.Tensor):
            x = film.unsqueeze(0) if film.ndim == 3 else film
            self._check(x, "film")
            self._frames, self.n, self.fps = x, x.shape[0], None
        elif isinstance(film, (list, tuple)):
            if not film:
                raise ValueError("film is an empty list: give at least one frame")
            fr = []
            for i, f in enumerate(film):
                if not isinstance(f, torch.Tensor):
                    raise TypeError(f"film[{i}] is a {type(f).__name__}, not a (1,3,H,W) tensor")
                f = f.unsqueeze(0) if f.ndim == 3 else f
                self._check(f, f"film[{i}]")
                if f.shape[0] != 1:
                    raise ValueError(f"film[{i}] holds {f.shape[0]} frames; give one frame per item")
                if fr and f.shape[-2:] != fr[0].shape[-2:]:
                    raise ValueError(f"film[{i}] is {tuple(f.shape[-2:])}, film[0] {tuple(fr[0].shape[-2:])}")
                fr.append(f)
            self._frames, self.n, self.fps = fr, len(fr), None
        else:
            raise TypeError(f"film must be a video path, a (T,3,H,W) tensor or a list of frames, "
                            f"not {type(film).__name__}")

    @staticmethod
    def _check(x: torch.Tensor, name: str) -> None:
        if x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[0] < 1:
            raise ValueError(f"{name} must be (T,3,H,W) or (T,1,H,W) frames, not {tuple(x.shape)}")

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        """Frame ``i`` as (1,3,H,W) float32 in [0, 1]."""
        if not -self.n <= i < self.n:
            raise IndexError(f"frame {i} is outside the film's 0 … {self.n - 1}")
        i %= self.n
        if self._frames is not None:
            f = self._frames[i:i + 1] if isinstance(self._frames, torch.Tensor) else self._frames[i]
            f = f.detach().float().cpu()
            return f.expand(1, 3, *f.shape[-2:]) if f.shape[1] == 1 else f
        with self._lock:
            if i in self._cache:
                self._cache.move_to_end(i)
                return self._cache[i].float() / 255
            if self._it is None or i < self._pos:      # a backward jump: decode again from near i
                self.close()
                self._pos = max(0, i - self.cache_size // 4)
                self._it = read_frames(self.path, start=self._pos)
            while self._pos <= i:
                try:
                    fr = next(self._it)
                except StopIteration:
                    raise VideoError(f"{self.path}: ended at frame {self._pos}, before frame {i}") from None
                self.decoded += 1
                self._cache[self._pos] = (fr[0].clamp(0, 1) * 255).round().to(torch.uint8)[None]
                self._cache.move_to_end(self._pos)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
                self._pos += 1
            return self._cache[i].float() / 255

    def __iter__(self):
        """The frames in order (for a path, a fresh decoder: the cache is not touched)."""
        if self.path is not None:
            return read_frames(self.path)
        return (self[i] for i in range(self.n))

    def close(self) -> None:
        if self._it is not None:
            self._it.close()
            self._it = None


def _describe(r) -> str:
    return f"repeat of #{r.of} ({r.kind})"


def frame_label(i: int, repeats=None, truth=None, interpolated=()) -> dict:
    """What frame ``i`` is: ``{"found": text, "truth": text or None, "agrees": bool or None}``.

    ``repeats``/``truth`` are lists of :class:`~nomysticism.restore.Repeat`; a frame in
    ``interpolated`` is a made in-between frame. ``agrees`` compares the two by kept-or-repeat and,
    for repeats, by the frame shown again and the kind."""
    interpolated = set(interpolated or ())
    found = {r.index: r for r in repeats or ()}
    true = {r.index: r for r in truth or ()} if truth is not None else None
    if i in interpolated:
        text = "interpolated"
    elif repeats is None:
        text = "not searched yet"
    else:
        text = _describe(found[i]) if i in found else "kept"
    if true is None:
        return {"found": text, "truth": None, "agrees": None}
    ttext = _describe(true[i]) if i in true else "kept"
    agrees = None
    if repeats is not None and i not in interpolated:
        a, b = found.get(i), true.get(i)
        agrees = (a is None and b is None) or (a is not None and b is not None and a.of == b.of
                                                  and a.kind == b.kind)
    return {"found": text, "truth": ttext, "agrees": agrees}


def _strip_figure(repeats, n: int, truth, per_row: int):
    """plot_repeat_pattern on an off-screen Agg figure (never shown by pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tracks = 1 + (truth is not None)
    rows = max(1, -(-n // per_row))
    fig = Figure(figsize=(min(16, 0.22 * per_row + 1.5), 0.5 + 0.42 * rows * tracks + 0.4), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    R.plot_repeat_pattern(repeats or [], n, truth=truth, per_row=per_row, ax=ax)
    return fig, ax, tracks


class FilmScrubber:
    """The hobbyist's 2021 restoration write-up, step 3 (the repeat pattern he coloured by hand):
    scrub through an old film. Play + frame slider (``nm-primary``), the frame (``nm-output``),
    its label, and the repeat-pattern strip with the current frame framed.

    ``FilmScrubber(film, repeats=None, truth=None, interpolated=(), width=384, per_row=60,
    cache=32)``. ``film``: a video path (read lazily), a (T,3,H,W) tensor, a list of frames, or an
    ``nm.data.old_film`` result (its file, and its repeats as the truth). ``repeats``: the found
    repeats (``nm.restore.duplicate_frames``); None until the "find repeats" button (a background
    :class:`~.base.Runner`) has run the search. ``truth``: the true repeats, shown beside the found
    ones. ``interpolated``: indices of made in-between frames (a restored film).
    From code: :meth:`show` (what moving the slider does), :meth:`find_repeats`, :meth:`wait`.
    """

    def __init__(self, film, repeats=None, truth=None, interpolated: Iterable[int] = (), *,
                 width: int = 384, per_row: int = 60, cache: int = 32, fps: float | None = None,
                 **search):
        if hasattr(film, "path") and hasattr(film, "repeats") and hasattr(film, "scene"):  # an OldFilm
            truth = film.repeats if truth is None else truth
            fps = fps or film.fps
            film = film.path
        self.source = FrameSource(film, cache=cache)
        n = len(self.source)
        self.repeats = self._check_repeats(repeats, "repeats")
        self.truth = self._check_repeats(truth, "truth")
        self.interpolated = set(int(i) for i in interpolated)
        bad = sorted(i for i in self.interpolated if not 0 <= i < n)
        if bad:
            raise ValueError(f"interpolated frame {bad[0]} is outside the film's 0 … {n - 1}")
        if per_row < 1:
            raise ValueError(f"per_row must be at least 1, not {per_row}")
        self.per_row = int(per_row)
        self.search = search
        fps = fps or self.source.fps or 12.0

        self.slider = mark(W.IntSlider(value=0, min=0, max=n - 1, description="frame",
                                       continuous_update=True, layout=W.Layout(width=f"{max(width, 300)}px")),
                           "nm-primary")
        self.play = W.Play(value=0, min=0, max=n - 1, interval=max(20, int(1000 / fps)), description="play")
        W.jslink((self.play, "value"), (self.slider, "value"))
        self.view = mark(ImageView(width=width), "nm-output")
        self.label = W.HTML()
        self.score = W.HTML()
        self.strip = W.Image(format="png", layout=W.Layout(width="auto", max_width="100%"))
        self.runner = Runner(self._job, self._done, run_label="find repeats",
                             description="the duplicate search runs in the background")
        self.slider.observe(lambda ch: self.show(ch["new"]), names="value")
        self.box = mark(W.VBox([W.HBox([self.play, self.slider]), self.view, self.label, self.strip,
                                self.runner.box, self.score]), "nm-widget")
        self._render_strip()
        self.show(0)

    def _check_repeats(self, reps, name: str):
        if reps is None:
            return None
        out = list(reps)
        n = len(self.source)
        for r in out:
            if not isinstance(r, R.Repeat):
                raise TypeError(f"{name} must be a list of nm.restore.Repeat, not one holding "
                                f"{type(r).__name__}")
            if r.index >= n:
                raise ValueError(f"{name}: {r} is past the film's last frame ({n - 1})")
        return out

    # -- what the slider does --------------------------------------------------------------------
    def show(self, i: int) -> None:
        """Show frame ``i``: picture, label, strip marker."""
        n = len(self.source)
        if not 0 <= i < n:
            raise IndexError(f"frame {i} is outside the film's 0 … {n - 1}")
        self.index = int(i)
        self.view.show(self.source[i])
        lab = frame_label(i, self.repeats, self.truth, self.interpolated)
        self.current = lab
        parts = [f"<b>frame {i}</b> / {n - 1}: {html.escape(lab['found'])}"]
        if lab["truth"] is not None:
            mark_ = {True: " <span style='color:#2a2'>✓</span>",
                     False: " <span style='color:#b00'>✗</span>", None: ""}[lab["agrees"]]
            parts.append(f"truth: {html.escape(lab['truth'])}{mark_}")
        self.label.value = " · ".join(parts)
        self.strip.value = self._marked(i)

    # -- the strip --------------------------------------------------------------------------------
    def _render_strip(self) -> None:
        n = len(self.source)
        fig, ax, tracks = _strip_figure(self.repeats, n, self.truth, self.per_row)
        fig.canvas.draw()
        rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        H = rgb.shape[0]
        # cell geometry of plot_repeat_pattern: frame i is the unit box at (col, -(row (tracks + .6) + track))
        boxes = []
        for i in range(n):
            row, col = divmod(i, self.per_row)
            top = -(row * (tracks + 0.6)) + 0.95
            bottom = -(row * (tracks + 0.6) + tracks - 1) - 0.1
            (x0, y0), (x1, y1) = ax.transData.transform([(col - 0.1, bottom), (col + 1.02, top)])
            boxes.append((int(math.floor(H - y1)), int(math.ceil(H - y0)), int(math.floor(x0)),
                          int(math.ceil(x1))))
        ink = (rgb < 250).any(-1)                        # crop the white margin
        ys, xs = np.nonzero(ink)
        y0, y1 = max(0, ys.min() - 4), min(H, ys.max() + 5)
        x0, x1 = max(0, xs.min() - 4), min(rgb.shape[1], xs.max() + 5)
        self._strip = rgb[y0:y1, x0:x1]
        self._boxes = [(a - y0, b - y0, c - x0, d - x0) for a, b, c, d in boxes]

    def cell_center(self, i: int) -> tuple[int, int]:
        """(y, x) in the strip image of frame ``i``'s found cell (the top one)."""
        a, b, c, d = self._boxes[i]
        tracks = 1 + (self.truth is not None)
        return (a + (b - a) // (2 * tracks) if tracks > 1 else (a + b) // 2, (c + d) // 2)

    def _marked(self, i: int) -> bytes:
        from PIL import Image

        img = self._strip.copy()
        a, b, c, d = self._boxes[i]
        h, w = img.shape[:2]
        a, b, c, d = max(a, 0), min(b, h), max(c, 0), min(d, w)
        t = 3
        for ys, xs in ((slice(a, a + t), slice(c, d)), (slice(b - t, b), slice(c, d)),
                       (slice(a, b), slice(c, c + t)), (slice(a, b), slice(d - t, d))):
            img[ys, xs] = (200, 0, 200)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        return buf.getvalue()

    # -- the duplicate search, in the background --------------------------------------------------
    def find_repeats(self, wait: bool = False) -> None:
        """Run ``nm.restore.duplicate_frames`` on the film in a thread (the button does this)."""
        self.runner.start()
        if wait:
            self.wait()

    def _job(self, stop, report):
        n = len(self.source)
        found, done = [], 0

        def frames():
            nonlocal done
            for fr in self.source:
                if stop.is_set():
                    return
                done += 1
                if done % 8 == 0:
                    report(done / n, f"searching: frame {done} / {n}")
                yield fr

        found = R.duplicate_frames(frames(), **self.search)
        return None if stop.is_set() else found

    def _done(self, found) -> None:
        if found is None:
            return
        self.repeats = found
        self._render_strip()
        self.show(self.index)
        self.score.value = f"{len(found)} repeats found"
        if self.truth is not None:
            s = R.score_repeats(found, self.truth)
            self.score.value = (f"{len(found)} repeats found; precision {s['precision']:.2f}, "
                                        f"recall {s['recall']:.2f}")

    def wait(self, timeout: float = 120.0) -> bool:
        """Block until the search has finished (tests and notebooks use this)."""
        return self.runner.join(timeout)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)
