"""Video colourisation from hints on a few key frames, carried to the other frames by optical flow.

The seed, "Video Colorization for Professionals": local colour hints on key frames, carried to
the other frames by tracking the objects. Here every hint ``(y, x, (r, g, b))`` of key frame k is
a point track:

1. **carried** forward to the next key frame and backward to the previous one (at most ``reach``
   frames either way) by dense optical flow (DIS, Kroeger et al. 2016; ``nm.flow``):
   p_{t±1} = p_t + w_{t→t±1}(p_t), the flow sampled bilinearly at the sub-pixel point;
2. **dropped** where the forward-backward check of Sundaram, Brox & Keutzer 2010 fails at its
   pixel, |w_f + w_b(x + w_f)|² > α₁(|w_f|² + |w_b(x + w_f)|²) + α₂ (``nm.flow.consistency_mask``:
   the point is occluded or mis-tracked), or when it leaves the frame;
3. each frame is **colourised** from the hints it holds (Levin et al. 2004, or Zhang et al. 2017's
   hint network: :data:`nomysticism.colorize.METHODS`);
4. its chroma is **smoothed over time** with the previous output warped into place (an exponential
   filter along the flow, the cheap temporal blend of Ruder et al. 2016):
   ab_t ← (1 − α m) ab_t + α m · warp(ab_{t−1}, w_{t→t−1}), m the forward-backward mask.

**Streamed in two passes.** Carrying a hint backward needs the frames before its key frame, which
a forward stream has already passed. Pass 1 (:func:`track_hints`) decodes frame by frame, tracks
the hints and keeps only their tracks (points), plus the grey uint8 frames of the last ``reach``
frames while a key frame is within reach (the backward flows are computed when it arrives).
Pass 2 decodes again, colourises and encodes (``nm.video.Writer``: atomic). Memory is ``reach``
grey frames and the tracks, whatever the film's length; a broken file fails in pass 1, before
anything is written.

- :func:`video`: the whole thing, file (or tensor) in, file out, a :class:`VideoColorization`;
- :func:`track_hints` → :class:`HintTracks` (of :class:`Track`), :meth:`HintTracks.hints_at`;
- :func:`save_video_hints` / :func:`load_video_hints`: ``{"version": 1, "keyframes": {"0":
  [{"y": int, "x": int, "rgb": [r, g, b]}, ...], "40": [...]}}``, each list in the format of the
  single-image file (:func:`~.hints.save_hints`), which itself reads as key frame 0.
"""

from __future__ import annotations

import contextlib
import operator
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from .. import video as _video
from ..color import lab_to_rgb
from ..flow import METHODS as FLOW_METHODS
from ..flow import consistency_mask, gray_u8, optical_flow, warp
from ..progress import Loop
from .hints import (
    VERSION,
    Hint,
    HintError,
    check_hints,
    check_version,
    hint_maps,
    load_hints,
    read_json,
    write_json,
)

__all__ = ["video", "VideoColorization", "track_hints", "HintTracks", "Track", "save_video_hints",
           "load_video_hints", "check_video_hints", "REACH", "SMOOTH", "CARRY", "ENDS"]

#: frames a hint is carried from its key frame, each way (also the look-back buffer, in frames)
REACH = 48
#: α of the temporal ab blend (0: each frame on its own)
SMOOTH = 0.5
#: how hints travel: ``"flow"`` (tracked) or ``"none"`` (they stay at their pixel: the baseline)
CARRY = ("flow", "none")
#: why a track ends; the first two are drops
END_FB, END_LEFT = "fb check", "left the frame"
END_KEY, END_REACH, END_EDGE = "key frame", "reach", "end of video"
ENDS = (END_FB, END_LEFT, END_KEY, END_REACH, END_EDGE)


# --- hints per key frame: checking and the JSON file ---

def _key(k, where: str) -> int:
    if isinstance(k, str):
        if not k.strip().isdigit():
            raise HintError(f"{where}: key frame {k!r} is not a frame number (0, 1, 2, ...)")
        return int(k)
    if isinstance(k, (bool, np.bool_)):
        raise HintError(f"{where}: key frame must be a frame number, not the bool {k!r}")
    try:
        k = operator.index(k)
    except TypeError:
        raise HintError(f"{where}: key frame {k!r} is not a frame number (0, 1, 2, ...)") from None
    if k < 0:
        raise HintError(f"{where}: key frame {k} is negative")
    return k


def check_video_hints(hints, shape: tuple[int, int] | None = None,
                      n_frames: int | None = None) -> dict[int, list[Hint]]:
    """``{frame: [(y, x, (r, g, b)), ...]}`` checked: frame numbers ≥ 0 (and < ``n_frames``), each
    list by :func:`~.hints.check_hints` (against ``shape``). A plain list is key frame 0's hints; a
    path is read with :func:`load_video_hints`. Raises :class:`~.hints.HintError` saying where."""
    if isinstance(hints, (str, Path)):
        return load_video_hints(hints, shape, n_frames)
    if not isinstance(hints, Mapping):
        if isinstance(hints, Iterable) and not isinstance(hints, (bytes, dict)):
            hints = {0: hints}
        else:
            raise HintError(f"hints must be {{frame: [(y, x, (r, g, b)), ...]}}, not {type(hints).__name__}")
    if not hints:
        raise HintError("no key frames: hints is empty (give {frame: [(y, x, (r, g, b)), ...]})")
    out: dict[int, list[Hint]] = {}
    for k, v in hints.items():
        t = _key(k, "hints")
        if n_frames is not None and t >= n_frames:
            raise HintError(f"key frame {t} is past the end of the video ({n_frames} frames, 0..{n_frames - 1})")
        if t in out:
            raise HintError(f"key frame {t} is given twice")
        try:
            out[t] = check_hints(v, shape)
        except HintError as e:
            raise HintError(f"key frame {t}: {e}") from None
    return dict(sorted(out.items()))


def save_video_hints(hints, path, shape: tuple[int, int] | None = None) -> Path:
    """Write ``{frame: hints}`` as ``{"version": 1, "keyframes": {"<frame>": [{"y", "x", "rgb"},
    ...]}}`` JSON, atomically, after checking them (against ``shape`` if given)."""
    keys = check_video_hints(hints, shape)
    doc = {"version": VERSION, "keyframes": {
        str(k): [{"y": h.y, "x": h.x, "rgb": list(h.rgb)} for h in hs] for k, hs in keys.items()}}
    return write_json(path, doc)


def load_video_hints(path, shape: tuple[int, int] | None = None,
                     n_frames: int | None = None) -> dict[int, list[Hint]]:
    """Read a :func:`save_video_hints` file (or a single-image :func:`~.hints.save_hints` file, as
    key frame 0). :class:`~.hints.HintError` names the file, the key frame and the hint."""
    path = Path(path)
    doc = read_json(path)
    form = '{"version": 1, "keyframes": {"0": [{"y": int, "x": int, "rgb": [r, g, b]}, ...], ...}}'
    if isinstance(doc, dict) and "hints" in doc and "keyframes" not in doc:   # one image's hints
        hints = load_hints(path, shape)
        return check_video_hints({0: hints}, shape, n_frames)
    if not isinstance(doc, dict) or "keyframes" not in doc:
        raise HintError(f"{path}: not a video hints file; expected {form}")
    check_version(path, doc)
    frames = doc["keyframes"]
    if not isinstance(frames, dict):
        raise HintError(f"{path}: \"keyframes\" must be an object {{\"frame\": [hints]}}, "
                        f"not {type(frames).__name__}")
    raw = {}
    for k, entries in frames.items():
        t = _key(k, str(path))
        if not isinstance(entries, list):
            raise HintError(f"{path}: key frame {t}: the hints must be a list, not {type(entries).__name__}")
        for i, e in enumerate(entries):
            if not isinstance(e, dict) or set(e) != {"y", "x", "rgb"}:
                raise HintError(f"{path}: key frame {t}: hint {i} must be an object with keys y, x, "
                                f"rgb, not {e!r}")
        raw[t] = [(e["y"], e["x"], e["rgb"]) for e in entries]
    try:
        return check_video_hints(raw, shape, n_frames)
    except HintError as e:
        raise HintError(f"{path}: {e}") from None


# --- pass 1: hint tracks ---

@dataclass
class Track:
    """One hint carried from key frame ``key``: at frame ``frames[i]`` it is at ``points[i]`` = (y, x)
    (sub-pixel). ``step`` is +1 (forward) or −1 (backward); ``end`` says why it stopped
    (:data:`ENDS`; ``"fb check"`` and ``"left the frame"`` are drops)."""

    key: int
    index: int                       # the hint's place in its key frame's list
    rgb: tuple[float, float, float]
    step: int
    frames: list[int] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)
    end: str | None = None

    @property
    def dropped(self) -> bool:
        return self.end in (END_FB, END_LEFT)

    def at(self, t: int) -> tuple[float, float] | None:
        """(y, x) at frame ``t``, or None where the track does not reach."""
        i = (t - self.key) * self.step
        return self.points[i] if 0 <= i < len(self.points) else None


@dataclass
class HintTracks:
    """Pass 1's result: the key frames' hints and every :class:`Track` (no frames)."""

    keys: dict[int, list[Hint]]
    tracks: list[Track]
    n_frames: int
    shape: tuple[int, int]
    carry: str = "flow"
    _index: dict = field(default=None, repr=False)

    def _by_frame(self) -> dict[int, list[tuple[Track, int]]]:
        if self._index is None:
            idx: dict[int, list] = {}
            for tr in self.tracks:
                for i, t in enumerate(tr.frames):
                    if t not in self.keys:
                        idx.setdefault(t, []).append((tr, i))
            self._index = idx
        return self._index

    def hints_at(self, t: int) -> list[Hint]:
        """The hints frame ``t`` holds: a key frame's own, else those carried into it (rounded to
        the nearest pixel), forward from the last key frame and backward from the next."""
        if t in self.keys:
            return list(self.keys[t])
        H, W = self.shape
        return [Hint(min(max(int(round(tr.points[i][0])), 0), H - 1),
                     min(max(int(round(tr.points[i][1])), 0), W - 1), tr.rgb)
                for tr, i in self._by_frame().get(t, [])]

    def survival(self) -> dict:
        """Hint survival: the fraction of tracks never dropped (``"kept"``), those dropped by the
        forward-backward check (``"fb"``) and by leaving the frame (``"left"``), and the mean number
        of frames a track was carried (``"frames"``)."""
        n = len(self.tracks)
        fb = sum(tr.end == END_FB for tr in self.tracks)
        left = sum(tr.end == END_LEFT for tr in self.tracks)
        carried = [len(tr.frames) - 1 for tr in self.tracks]
        return {"tracks": n, "kept": (n - fb - left) / n if n else float("nan"),
                "fb": fb / n if n else 0.0, "left": left / n if n else 0.0,
                "frames": float(np.mean(carried)) if n else 0.0}


def _sample(flow: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """The flow (H,W,2) (dx, dy) at sub-pixel points (n, 2) (y, x), bilinear: (n, 2) as (dy, dx)."""
    coords = [pts[:, 0], pts[:, 1]]
    dx = ndimage.map_coordinates(flow[..., 0], coords, order=1, mode="nearest")
    dy = ndimage.map_coordinates(flow[..., 1], coords, order=1, mode="nearest")
    return np.stack([dy, dx], 1)


def _advance(tracks: list[Track], flow: np.ndarray | None, ok: np.ndarray | None, t: int,
             shape: tuple[int, int]) -> list[Track]:
    """Move each track to frame ``t`` along ``flow`` (None: stay put); drop those whose pixel fails
    the mask ``ok`` or whose new point leaves the frame. Returns the tracks still alive."""
    if not tracks:
        return []
    H, W = shape
    pts = np.array([tr.points[-1] for tr in tracks], dtype=np.float64)
    new = pts if flow is None else pts + _sample(flow, pts)
    good = np.ones(len(tracks), bool)
    if ok is not None:
        iy = np.clip(np.rint(pts[:, 0]), 0, H - 1).astype(int)
        ix = np.clip(np.rint(pts[:, 1]), 0, W - 1).astype(int)
        good = ok[iy, ix]
    inside = (new[:, 0] > -0.5) & (new[:, 0] < H - 0.5) & (new[:, 1] > -0.5) & (new[:, 1] < W - 0.5)
    alive = []
    for tr, g, ins, p in zip(tracks, good, inside, new):
        if not g:
            tr.end = END_FB
        elif not ins:
            tr.end = END_LEFT
        else:
            tr.frames.append(t)
            tr.points.append((float(p[0]), float(p[1])))
            alive.append(tr)
    return alive


def _start(t: int, hints: list[Hint], step: int) -> list[Track]:
    return [Track(t, i, h.rgb, step, [t], [(float(h.y), float(h.x))]) for i, h in enumerate(hints)]


def _flow(method, a: np.ndarray, b: np.ndarray, i: int, j: int) -> np.ndarray:
    """The flow from frame i (grey ``a``) to frame j (grey ``b``): by name, or ``method(i, j)``."""
    return method(i, j) if callable(method) else optical_flow(a, b, method)


def _flows(method, a: np.ndarray, b: np.ndarray, i: int, j: int, check: bool, alpha1: float,
           alpha2: float):
    """Flow i→j and, with ``check``, frame i's forward-backward mask (j→i computed for it)."""
    fw = _flow(method, a, b, i, j)
    ok = consistency_mask(fw, _flow(method, b, a, j, i), alpha1, alpha2) if check else None
    return fw, ok


def _check_flow(flow) -> None:
    if not callable(flow) and flow not in FLOW_METHODS:
        raise ValueError(f"flow must be one of {', '.join(FLOW_METHODS)} or a function (i, j) -> "
                         f"flow, not {flow!r}")


def track_hints(frames: Iterable[torch.Tensor], hints, *, reach: int = REACH, carry: str = "flow",
                flow: str = "dis", check: bool = True, alpha1: float = 0.01, alpha2: float = 0.5,
                n_frames: int | None = None, progress: bool = True, callback: Callable | None = None,
                callback_every: int = 10, stop=None) -> HintTracks | None:
    """Pass 1: carry every key frame's hints forward and backward by flow (see the module's steps 1–2).

    ``frames``: an iterable of (1,3,H,W) frames, read once. ``hints``: ``{frame: [(y, x, (r, g,
    b))]}`` (see :func:`check_video_hints`). A track runs from its key frame to the frame before
    the next (previous) key frame, at most ``reach`` frames; ``carry="none"`` keeps hints at their
    pixel (the per-frame baseline); ``check=False`` skips the forward-backward drop (α₁, α₂ of
    ``nm.flow.consistency_mask``). ``flow``: ``"dis"``, ``"farneback"`` or a function ``(i, j) ->``
    (H,W,2) flow from frame i to frame j (a scene's true flow, as a reference). Holds at most
    ``reach`` grey frames. Returns None when stopped (``stop`` / a callback returning True).
    """
    keys = check_video_hints(hints)
    if carry not in CARRY:
        raise ValueError(f"carry must be one of {', '.join(CARRY)}, not {carry!r}")
    _check_flow(flow)
    reach = operator.index(reach)
    if reach < 1:
        raise ValueError(f"reach must be at least 1 frame, not {reach}")
    key_list = sorted(keys)
    tracks: list[Track] = []
    active: list[Track] = []
    ring: deque = deque(maxlen=reach)   # (t, grey) of the frames a later key frame can reach back to
    prev = shape = None
    last_key = None
    n = 0
    loop = Loop(n_frames, progress=progress, callback=callback, every=callback_every, stop=stop,
                desc="tracking hints", unit="frame")
    for t, fr in enumerate(loop.wrap(frames)):
        g = gray_u8(fr)
        if shape is None:
            shape = g.shape
            keys = check_video_hints(keys, shape, n_frames)
        elif g.shape != shape:
            raise _video.VideoError(f"frame {t} is {g.shape[1]}×{g.shape[0]}, the first was "
                                    f"{shape[1]}×{shape[0]}")
        if t in keys:
            for tr in active:
                tr.end = END_KEY
            back = _start(t, keys[t], -1)
            tracks += back
            _carry_back(back, g, ring, t, last_key, reach, carry, flow, check, alpha1, alpha2)
            active = _start(t, keys[t], +1)
            tracks += active
            last_key = t
        elif active:
            expired = [tr for tr in active if t - tr.key > reach]
            for tr in expired:
                tr.end = END_REACH
            active = [tr for tr in active if t - tr.key <= reach]
            fw, ok = (_flows(flow, prev, g, t - 1, t, check, alpha1, alpha2) if carry == "flow" and active
                      else (None, None))
            active = _advance(active, fw, ok, t, shape)
        if carry == "flow" and any(t < k <= t + reach for k in key_list):
            ring.append((t, g))
        prev, n = g, t + 1
        if loop.report(n, info={"frame": t, "tracks": len(active)}):
            break
    loop.finish()
    if loop.stopped:
        return None
    if n == 0:
        raise _video.VideoError("the video has no frames")
    for tr in active:
        tr.end = END_EDGE
    late = [k for k in key_list if k >= n]
    if late:
        raise HintError(f"key frame {late[0]} is past the end of the video ({n} frames, 0..{n - 1})")
    return HintTracks(keys, tracks, n, tuple(shape), carry)


def _carry_back(back: list[Track], g: np.ndarray, ring: deque, t: int, last_key: int | None, reach: int,
                carry: str, flow: str, check: bool, alpha1: float, alpha2: float) -> None:
    """Carry key frame ``t``'s hints back through the buffered frames to the previous key frame."""
    lo = max(0 if last_key is None else last_key + 1, t - reach)
    alive, cur = back, g
    if carry == "flow":
        for s, gs in reversed(ring):
            if s < lo or not alive:
                break
            fw, ok = _flows(flow, cur, gs, s + 1, s, check, alpha1, alpha2)
            alive = _advance(alive, fw, ok, s, g.shape)
            cur = gs
    else:
        for s in range(t - 1, lo - 1, -1):
            alive = _advance(alive, None, None, s, g.shape)
    end = END_REACH if lo == t - reach and lo > 0 else (END_EDGE if lo == 0 else END_KEY)
    for tr in alive:
        tr.end = end


# --- pass 2: colourise ---

@dataclass
class VideoColorization:
    """What :func:`video` returns. ``ab_flicker`` is the flow-compensated chroma change,
    mean |ab_t − warp(ab_{t−1}, w_{t→t−1})| (CIE ab units) over the pixels that pass the
    forward-backward check, from the estimated flow; ``frames`` / ``ab`` are kept only on request."""

    path: Path | None
    tracks: HintTracks | None
    n_frames: int
    size: tuple[int, int] | None
    fps: float
    hints_per_frame: list[int]
    ab_flicker: float
    seconds: dict
    stopped: bool = False
    frames: torch.Tensor | None = None
    ab: torch.Tensor | None = None

    def survival(self) -> dict:
        """:meth:`HintTracks.survival` of the tracks used."""
        return self.tracks.survival() if self.tracks is not None else {}


def _opener(src, max_side: int | None, max_frames: int | None) -> tuple[Callable, float, int | None]:
    """(a function giving a fresh iterator of frames, fps, frame count or None) for a path, a
    (T,3,H,W) tensor or any re-iterable of frames."""
    if isinstance(src, (str, Path)):
        meta = _video.info(src)
        n = meta.frames or None
        n = min(n, max_frames) if n and max_frames else n
        return (lambda: _video.frames(src, max_side=max_side, max_frames=max_frames)), meta.fps, n
    if isinstance(src, torch.Tensor):
        clip = src if src.ndim == 4 else src.unsqueeze(0)
        clip = clip[:max_frames] if max_frames is not None else clip
        if max_side and max(clip.shape[-2:]) > max_side:
            from ..images import resize

            clip = resize(clip, max_side)
        return (lambda: (clip[t:t + 1] for t in range(clip.shape[0]))), 25.0, clip.shape[0]
    if iter(src) is src:
        raise TypeError("src is an iterator, which can be read only once; colourising needs two "
                        "passes: give a path, a (T,3,H,W) tensor or a re-iterable (nm.data.moving_scene)")
    n = len(src) if hasattr(src, "__len__") else None
    if n is not None and max_frames is not None:
        n = min(n, max_frames)

    def fresh():
        for t, fr in enumerate(src):
            if max_frames is not None and t >= max_frames:
                return
            yield fr
    return fresh, float(getattr(src, "fps", 25.0)), n


def video(src, dst=None, hints=None, *, method: str = "levin", carry: str = "flow", check: bool = True,
          smooth: float = SMOOTH, reach: int = REACH, flow: str = "dis", alpha1: float = 0.01,
          alpha2: float = 0.5, max_side: int | None = None, max_frames: int | None = None,
          fps: float | None = None, crf: int | None = 18, keep_frames: bool | None = None, device=None,
          progress: bool = True, callback: Callable | None = None, callback_every: int = 1, stop=None,
          **options) -> VideoColorization:
    """Colourise a grey video from hints on key frames: track (pass 1), colourise and smooth (pass 2).

    ``src``: a video file, a (T,3,H,W) tensor or a re-iterable of frames (``nm.data.moving_scene``);
    ``dst``: the output file (None: keep the frames). ``hints``: ``{frame: [(y, x, (r, g, b)), ...]}``
    in the pixels of the frames as colourised (after ``max_side``), or a hints file. ``method``:
    ``"levin"`` or ``"network"`` (any of ``colorize.METHODS``; ``options`` go to it). ``carry``,
    ``check``, ``reach``, ``flow``, α₁, α₂: see :func:`track_hints`; ``smooth``: α of the temporal
    blend (0 = each frame on its own). ``keep_frames``: keep ``frames`` and ``ab`` (default: when
    ``dst`` is None). ``device``: where the network runs. Progress bars and stop: ``nm.progress``
    (the callback sees each coloured frame); a stop in pass 1 writes nothing, in pass 2 the frames
    done so far. Bad hints, a key frame past the end and a broken file raise before ``dst`` exists.
    """
    from . import METHODS, lightness

    if hints is None:
        raise HintError("no hints: give hints={frame: [(y, x, (r, g, b)), ...]} or a hints file")
    if method not in METHODS:
        raise ValueError(f"unknown colourisation method {method!r}; available: {', '.join(sorted(METHODS))}")
    if not 0.0 <= smooth < 1.0:
        raise ValueError(f"smooth must be in [0, 1), not {smooth}")
    _check_flow(flow)
    keys = check_video_hints(hints, n_frames=max_frames)
    open_frames, in_fps, total = _opener(src, max_side, max_frames)
    out_fps = float(fps or in_fps)
    from ..runtime import device as pick_device

    dev = pick_device(device) if (device is not None or method == "network") else torch.device("cpu")
    keep = keep_frames if keep_frames is not None else dst is None
    t0 = time.perf_counter()
    tracks = track_hints(open_frames(), keys, reach=reach, carry=carry, flow=flow, check=check,
                         alpha1=alpha1, alpha2=alpha2, n_frames=total, progress=progress,
                         callback=callback, callback_every=max(callback_every, 10), stop=stop)
    seconds = {"track": time.perf_counter() - t0, "colorize": 0.0}
    if tracks is None:
        return VideoColorization(None, None, 0, None, out_fps, [], float("nan"), seconds, stopped=True)
    n = tracks.n_frames
    loop = Loop(n, progress=progress, callback=callback, every=callback_every, stop=stop,
                desc="colourising", unit="frame")
    per_frame, kept_rgb, kept_ab = [], [], []
    diff_sum = diff_n = 0.0
    prev = None   # (grey uint8, ab) of the previous output frame
    t1 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        writer = None
        for t, fr in enumerate(loop.wrap(open_frames())):
            if t >= n:
                break
            x = (fr if fr.ndim == 4 else fr.unsqueeze(0)).to(dev)
            hs = tracks.hints_at(t)
            L = lightness(x)
            mask, ab_h = hint_maps(hs, L.shape[-2:], dtype=torch.float64, device=L.device)
            ab = METHODS[method](L, mask, ab_h, **options).to(L)
            g = gray_u8(fr)
            if prev is not None:
                fw, ok = _flows(flow, g, prev[0], t, t - 1, True, alpha1, alpha2)  # warp(ab_{t−1}, fw): in place
                m = torch.from_numpy(ok).to(ab)[None, None]
                back = warp(prev[1], fw)
                if smooth > 0:
                    ab = (1 - smooth * m) * ab + smooth * m * back
                diff_sum += float(((ab - back).abs().sum(1, keepdim=True) * m).sum() / 2)
                diff_n += float(m.sum())
            rgb = lab_to_rgb(torch.cat([L, ab], 1), clip=True).float().cpu()
            prev = (g, ab)
            per_frame.append(len(hs))
            if dst is not None:
                if writer is None:
                    writer = stack.enter_context(_video.Writer(dst, out_fps, crf=crf))
                writer.write(rgb)
            if keep:
                kept_rgb.append(rgb)
                kept_ab.append(ab.float().cpu())
            if loop.report(t + 1, image=rgb, info={"frame": t, "hints": len(hs)}):
                break
        loop.finish()
    seconds["colorize"] = time.perf_counter() - t1
    done = len(per_frame)
    if done < n and not loop.stopped:
        raise _video.VideoError(f"{src}: the second pass read {done} frames, the first {n}")
    return VideoColorization(
        Path(dst) if dst is not None and done else None, tracks, done,
        tuple(tracks.shape), out_fps, per_frame, diff_sum / diff_n if diff_n else float("nan"), seconds,
        stopped=loop.stopped, frames=torch.cat(kept_rgb) if keep and kept_rgb else None,
        ab=torch.cat(kept_ab) if keep and kept_ab else None)
