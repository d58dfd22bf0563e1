"""Feed-forward stylisation of video, frame by frame, with an optional temporal blend (a cheap form
of Ruder, Dosovitskiy & Brox 2016's temporal consistency), streamed in constant memory.

Each frame is stylised on its own, ŷ_t = f_W(x_t); with α > 0 it is then blended with the previous
stylised frame warped into place by optical flow (Farnebäck 2003):

    ŷ_t ← (1 − α·m) ŷ_t + α·m · warp(ŷ_{t−1}, flow_{t→t−1}),
    m = [ mean_c |warp(x_{t−1}, flow) − x_t| < τ ]   (0 at occlusions and flow errors).

The only state is the previous content and stylised frame, so :func:`stylize_video` decodes
(:func:`nomysticism.video.frames`), stylises, encodes (:class:`nomysticism.video.Writer`, atomic)
and measures the flicker (running sums) one frame at a time: a clip of any length runs in constant
memory. Keeping all frames is optional (``keep_frames``).

- :func:`stylize_frames` (tensors or any iterable of frames → (T,3,H,W)), :func:`stylize_video`
  (a file or a tensor → a file and/or tensors, plus flicker and timing);
- :func:`synthetic_clip`: an offline test clip (a camera panning over a bundled photo).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import video as _video
from ..flow import farneback, warp
from ..images import resize, sample_image
from ..progress import Loop
from .inference import stylize

__all__ = ["KEEP_FRAMES_BYTES", "stylize_frames", "stylize_video", "synthetic_clip"]

#: ``stylize_video(..., keep_frames=None)`` with a ``dst`` keeps the frames only while the stylised
#: and content tensors together stay under this many bytes (256 MiB: ~110 frames of 360×270).
KEEP_FRAMES_BYTES = 256 * 2**20


def synthetic_clip(n: int = 16, size=(96, 128), source: str = "astronaut", speed: float = 2.0,
                   zoom: float = 0.004, seed: int = 0) -> torch.Tensor:
    """An offline test clip (T,3,H,W): a camera panning (``speed`` px/frame) and slowly zooming over a
    bundled photo, with a little sensor noise (σ = 1/255, seeded)."""
    h, w = (size, size) if isinstance(size, int) else size
    img = sample_image(source)
    H, W = img.shape[-2:]
    base = min(H / (h * 1.6), W / (w * 1.6))  # window scale: the crop is 1.6× the output at frame 0
    g = torch.Generator().manual_seed(seed)
    frames = []
    for t in range(n):
        s = base * (1 - zoom * t)
        ch, cw = h * s, w * s
        cy = H / 2 - ch / 2 + 0.3 * speed * t * s
        cx = W / 4 + speed * t * s
        cx = min(max(cx, 0), W - cw)
        cy = min(max(cy, 0), H - ch)
        theta = torch.tensor([[cw / W, 0, (2 * cx + cw) / W - 1], [0, ch / H, (2 * cy + ch) / H - 1]],
                             dtype=torch.float32).unsqueeze(0)
        grid = F.affine_grid(theta, (1, 3, h, w), align_corners=False)
        fr = F.grid_sample(img, grid, mode="bilinear", align_corners=False)
        fr = fr + torch.randn(fr.shape, generator=g) / 255.0
        frames.append(fr.clamp(0, 1))
    return torch.cat(frames)


def _check_temporal(temporal: float) -> None:
    if not 0.0 <= temporal < 1.0:
        raise ValueError("temporal must be in [0, 1)")


def _stream(model: nn.Module, frames: Iterable[torch.Tensor], temporal: float, occlusion_threshold: float,
            device) -> Iterator[tuple[torch.Tensor, torch.Tensor, float]]:
    """Yield (x_t, ŷ_t, seconds) per frame, both (1,3,H,W) on the CPU; the state is the previous pair."""
    prev_c = prev_s = None
    for fr in frames:
        fr = (fr if fr.ndim == 4 else fr.unsqueeze(0)).cpu()
        t0 = time.perf_counter()
        y = stylize(model, fr, device=device)
        if temporal > 0 and prev_s is not None:
            flow = farneback(fr, prev_c)  # current -> previous: warp(prev, flow) aligns it to now
            warped_s = warp(prev_s, flow)
            warped_c = warp(prev_c, flow)
            m = ((warped_c - fr).abs().mean(1, keepdim=True) < occlusion_threshold).float()
            y = (1 - temporal * m) * y + temporal * m * warped_s
        yield fr, y, time.perf_counter() - t0
        prev_c, prev_s = fr, y


class _RunningFlicker:
    """:func:`nomysticism.metrics.flicker` one frame at a time: running Σ_t mean|ŷ_t − ŷ_{t−1}| and
    Σ_t mean|x_t − x_{t−1}|, holding only the previous pair."""

    def __init__(self):
        self.ds = self.dc = 0.0
        self.n = 0
        self._prev: tuple[torch.Tensor, torch.Tensor] | None = None

    def add(self, stylized: torch.Tensor, content: torch.Tensor) -> None:
        s = stylized.float()
        c = content.float()
        if c.shape[-2:] != s.shape[-2:]:
            c = F.interpolate(c, size=s.shape[-2:], mode="bilinear", align_corners=False)
        if self._prev is not None:
            self.ds += float((s - self._prev[0]).abs().mean())
            self.dc += float((c - self._prev[1]).abs().mean())
        self._prev = (s, c)
        self.n += 1

    @property
    def value(self) -> float:
        return self.ds / max(self.dc, 1e-12) if self.n > 1 else float("nan")


def stylize_frames(model: nn.Module, frames, *, temporal: float = 0.0, occlusion_threshold: float = 0.05,
                   device=None, progress: bool = True, callback: Callable | None = None,
                   callback_every: int = 1, stop=None) -> torch.Tensor:
    """Ruder et al. 2016 (cheaply): stylise frames one by one; with ``temporal = α > 0``, blend each
    stylised frame with the previous *stylised* frame warped into place by Farnebäck flow:
    ŷ_t ← (1 − α·m)·ŷ_t + α·m·warp(ŷ_{t−1}), where the mask m is 0 where the warped previous
    *content* frame differs from the current one by more than ``occlusion_threshold`` (occlusions,
    disocclusions, flow errors) and 1 elsewhere.

    ``frames``: (T,3,H,W) or an iterable of (1|3,H,W) frames. Returns (T,3,H,W). ``callback(step,
    frame, info)`` (:mod:`nomysticism.progress`; step = frames done, ``info["frame"]`` the index)
    runs every ``callback_every`` frames; returning True or setting ``stop`` ends early.
    """
    _check_temporal(temporal)
    total = len(frames) if hasattr(frames, "__len__") else None
    loop = Loop(total, progress=progress, callback=callback, every=callback_every, stop=stop,
                desc="frames", unit="frame")
    outs = []
    for t, (_, y, _) in enumerate(_stream(model, loop.wrap(frames), temporal, occlusion_threshold, device)):
        outs.append(y)
        if loop.report(t + 1, image=y, info={"frame": t}):
            break
    loop.finish()
    if not outs:
        raise ValueError("no frames")
    return torch.cat(outs)


def _source(src, max_side: int | None, max_frames: int | None) -> tuple[Iterable[torch.Tensor], float, int | None]:
    """(frames, fps, count or None): a file decoded lazily, or the frames of a (T,3,H,W) tensor."""
    if isinstance(src, torch.Tensor):
        clip = src if src.ndim == 4 else src.unsqueeze(0)
        if max_frames is not None:
            clip = clip[:max_frames]
        if max_side and max(clip.shape[-2:]) > max_side:
            clip = resize(clip, max_side)
        return (clip[t : t + 1] for t in range(clip.shape[0])), 25.0, clip.shape[0]
    meta = _video.info(src)
    n = meta.frames or None
    if n is not None and max_frames is not None:
        n = min(n, max_frames)
    return _video.frames(src, max_side=max_side, max_frames=max_frames), meta.fps, n


def stylize_video(model: nn.Module, src, dst=None, *, temporal: float = 0.0, max_side: int | None = None,
                  max_frames: int | None = None, fps: float | None = None, device=None,
                  keep_frames: bool | None = None, occlusion_threshold: float = 0.05, crf: int | None = 18,
                  progress: bool = True, callback: Callable | None = None, callback_every: int = 1,
                  stop=None) -> dict:
    """Ruder et al. 2016 (cheaply): stylise a video file (or a (T,3,H,W) tensor) frame by frame, streamed.

    Frames are decoded one at a time (:func:`nomysticism.video.frames`), stylised (with the temporal
    blend of :func:`stylize_frames` when ``temporal > 0``: its state is the previous frame only),
    written to ``dst`` as they come (:class:`nomysticism.video.Writer`: atomic, H.264 at ``crf``) and
    the flicker is summed online, so a clip of any length runs in constant memory.

    ``keep_frames``: True keeps every frame in memory (``"frames"``, ``"content"``); False keeps none
    (they are None); None (default) keeps them when ``dst`` is None (they are the only output) or
    when the clip is short: both tensors fit in :data:`KEEP_FRAMES_BYTES` (decided at the first frame
    from the frame count, or dropped as soon as the budget is passed when the count is unknown); a
    longer clip streams and returns None for both.

    Returns ``{"frames": (T,3,H,W) stylised or None, "content": (T,3,H,W) or None, "fps",
    "flicker", "seconds" (stylising only, not decoding or encoding), "path" (``dst`` or None),
    "n_frames", "size" ((H, W) of the output)}``. ``fps`` overrides the source's frame rate (25 for a
    tensor). A stop (``stop`` set, or a callback returning True) writes the frames done so far.
    """
    _check_temporal(temporal)
    frames_in, in_fps, total = _source(src, max_side, max_frames)
    out_fps = fps or in_fps
    keep = keep_frames if keep_frames is not None else True
    bounded = keep_frames is None and dst is not None  # keep only while the clip is short
    kept_s: list[torch.Tensor] = []
    kept_c: list[torch.Tensor] = []
    kept_bytes = 0
    meter = _RunningFlicker()
    secs = 0.0
    size = None
    loop = Loop(total, progress=progress, callback=callback, every=callback_every, stop=stop,
                desc="frames", unit="frame")
    writer = _video.Writer(dst, out_fps, crf=crf) if dst is not None else contextlib.nullcontext()
    with writer as w:
        for t, (x, y, dt) in enumerate(_stream(model, loop.wrap(frames_in), temporal, occlusion_threshold,
                                              device)):
            secs += dt
            size = tuple(y.shape[-2:])
            if w is not None:
                w.write(y)
            meter.add(y, x)
            if keep:
                pair = y.numel() * y.element_size() + x.numel() * x.element_size()
                if bounded and t == 0 and total is not None:  # the length is known: decide now
                    keep = total * pair <= KEEP_FRAMES_BYTES
                kept_bytes += pair
                if bounded and kept_bytes > KEEP_FRAMES_BYTES:  # longer than it said: stop keeping
                    keep, kept_s, kept_c = False, [], []
            if keep:
                kept_s.append(y)
                kept_c.append(x)
            if loop.report(t + 1, image=y, info={"frame": t, "flicker": meter.value}):
                break
        loop.finish()
        if meter.n == 0:
            raise ValueError("no frames")
    return {"frames": torch.cat(kept_s) if keep else None, "content": torch.cat(kept_c) if keep else None,
            "fps": out_fps, "seconds": secs, "flicker": meter.value,
            "path": Path(dst) if dst is not None else None, "n_frames": meter.n, "size": size}
