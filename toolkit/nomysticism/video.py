"""Video in and out, one frame at a time (PyAV), so memory never grows with the clip's length.

- :func:`frames`: decode a file lazily into (1,3,H,W) float tensors in [0,1];
- :func:`info`: frame rate, frame count, size and duration, without decoding the pictures;
- :class:`Writer`: encode frames as they come (H.264 yuv420p by default), to a temp file that
  becomes the target only when the ``with`` block ends without an error;
- :func:`read_video` / :func:`write_video`: the whole clip at once, for short clips only.

Broken, truncated or missing files raise :class:`VideoError` with the file's name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from .assets import atomic_path
from .images import resize

__all__ = ["VideoError", "VideoInfo", "frames", "info", "Writer", "read_video", "write_video",
           "to_uint8", "from_uint8"]


class VideoError(ValueError):
    """A video file that is missing, unreadable, broken or empty."""


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frames: int          # from the container; counted by decoding when the container does not say
    width: int
    height: int
    duration: float      # seconds

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width


def _check(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such video file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: the file is empty")
    return path


def _open(path: Path):
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as e:  # InvalidDataError, …
        raise VideoError(f"{path}: not a video PyAV can read ({e})") from e
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: the file has no video stream")
    return container


def _fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 25.0


def to_uint8(frame: torch.Tensor) -> np.ndarray:
    """(1,3,H,W) or (3,H,W) in [0,1] -> (H,W,3) uint8 (rounded)."""
    fr = frame[0] if frame.ndim == 4 else frame
    if fr.ndim != 3 or fr.shape[0] not in (1, 3):
        raise ValueError(f"a frame is (1,3,H,W), (3,H,W) or (1,H,W), not {tuple(frame.shape)}")
    if fr.shape[0] == 1:
        fr = fr.expand(3, -1, -1)
    a = fr.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    return (a * 255 + 0.5).astype(np.uint8)


def from_uint8(a: np.ndarray) -> torch.Tensor:
    """(H,W,3) uint8 -> (1,3,H,W) float32 in [0,1]."""
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


def _gif_info(path: Path) -> VideoInfo:
    """A GIF's size, frame count and its own frame delays (10 fps when it has none)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
            n = int(getattr(im, "n_frames", 1))
            ms = 0.0
            for k in range(n):
                im.seek(k)
                ms += float(im.info.get("duration") or 0)
    except (OSError, ValueError, EOFError) as e:
        raise VideoError(f"{path}: not a readable GIF ({e})") from e
    dur = ms / 1000 if ms > 0 else n / 10.0
    return VideoInfo(n / dur if dur > 0 else 10.0, n, w, h, dur)


def info(path) -> VideoInfo:
    """Frame rate, frame count, width, height and duration of a video file."""
    path = _check(path)
    if path.suffix.lower() == ".gif":
        return _gif_info(path)
    with _open(path) as c:
        s = c.streams.video[0]
        fps = _fps(s)
        n = int(s.frames or 0)
        w, h = s.codec_context.width, s.codec_context.height
        if not n:  # the container does not say: count packets (no decoding)
            n = sum(1 for p in c.demux(s) if p.size)
        dur = float(s.duration * s.time_base) if s.duration and s.time_base else n / fps
    return VideoInfo(fps, n, w, h, dur)


def frames(path, *, max_side: int | None = None, start: int = 0,
           max_frames: int | None = None) -> Iterator[torch.Tensor]:
    """Yield the frames of ``path`` one at a time: (1,3,H,W) float32 in [0,1].

    ``max_side`` shrinks larger frames (aspect kept); ``start`` skips the first frames;
    ``max_frames`` stops after that many. Only one decoded frame is held at a time. A file that
    breaks off mid-way raises :class:`VideoError` at the frame where decoding fails.
    """
    import av

    path = _check(path)

    def out(a):
        x = from_uint8(a)
        return resize(x, max_side) if max_side and max(x.shape[-2:]) > max_side else x

    if path.suffix.lower() == ".gif":
        import imageio.v3 as iio

        try:
            it = iio.imiter(path)
            for k, a in enumerate(it):
                if max_frames is not None and k - start >= max_frames:
                    return
                if k >= start:
                    a = a[..., :3] if a.ndim == 3 else np.repeat(a[..., None], 3, -1)
                    yield out(a)
        except (OSError, ValueError) as e:
            raise VideoError(f"{path}: not a readable GIF ({e})") from e
        return
    container = _open(path)
    n = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        declared = int(stream.frames or 0)  # 0 when the container does not say (mkv, webm)
        k = 0
        try:
            for fr in container.decode(stream):
                if k >= start:
                    if max_frames is not None and n >= max_frames:
                        return
                    yield out(fr.to_ndarray(format="rgb24"))
                    n += 1
                k += 1
        except av.error.FFmpegError as e:
            raise VideoError(f"{path}: decoding failed after {k} frames ({e})") from e
        if k == 0:
            raise VideoError(f"{path}: no frames could be decoded")
        # an mp4 with its index first still decodes when cut short: FFmpeg just stops early
        if declared and k < declared - max(2, declared // 100):
            raise VideoError(f"{path}: the file breaks off after {k} of its {declared} frames "
                             "(truncated?)")
    finally:
        container.close()


class Writer:
    """Encode frames as they arrive: ``with Writer("out.mp4", fps=24) as w: w.write(frame)``.

    ``.mp4``/``.mkv``/``.mov`` use H.264 (``libx264``, yuv420p, ``crf`` 18 = visually lossless;
    odd sides are padded by one pixel, since yuv420p needs even sides), ``.webm`` VP9, ``.gif``
    the GIF encoder. The file is written under a temp name and renamed when the block ends
    cleanly; after an error (or Ctrl-C) nothing is left at ``path``.
    """

    def __init__(self, path, fps: float = 25.0, *, crf: int | None = 18, codec: str | None = None):
        self.path = Path(path)
        self.fps, self.crf = float(fps), crf
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, not {fps}")
        suffix = self.path.suffix.lower()
        self.codec = codec or {".webm": "libvpx-vp9", ".gif": "gif"}.get(suffix, "libx264")
        self.count = 0
        self._c = self._s = None
        self._size: tuple[int, int] | None = None
        self._tmp: Path | None = None
        self._stack: contextlib.ExitStack | None = None

    def __enter__(self) -> Writer:
        import av

        with contextlib.ExitStack() as stack:  # the temp file goes if av.open fails
            self._tmp = stack.enter_context(atomic_path(self.path))
            self._c = av.open(str(self._tmp), "w")
            self._stack = stack.pop_all()
        return self

    def _start(self, h: int, w: int) -> None:
        rate = Fraction(self.fps).limit_denominator(1001)
        s = self._c.add_stream(self.codec, rate=rate)
        if self.codec == "gif":
            s.pix_fmt = "rgb8"  # 3-3-2 bit colour: a GIF preview, not an archive
        else:
            s.pix_fmt = "yuv420p"
            h, w = h + h % 2, w + w % 2
            if self.codec == "libx264" and self.crf is not None:
                s.options = {"crf": str(int(self.crf))}
        s.width, s.height = w, h
        self._s, self._size = s, (h, w)

    def write(self, frame: torch.Tensor | np.ndarray) -> None:
        """One frame ((1,3,H,W)/(3,H,W) in [0,1], or (H,W,3) uint8), or a batch (T,3,H,W)."""
        import av

        if self._c is None:
            raise RuntimeError("use Writer inside a 'with' block")
        if isinstance(frame, torch.Tensor) and frame.ndim == 4 and frame.shape[0] > 1:
            for f in frame:
                self.write(f)
            return
        a = frame if isinstance(frame, np.ndarray) else to_uint8(frame)
        if self._s is None:
            self._start(*a.shape[:2])
        h, w = self._size
        if a.shape[0] > h or a.shape[1] > w or a.shape[0] < h - 1 or a.shape[1] < w - 1:
            raise ValueError(f"frame {self.count} is {a.shape[1]}×{a.shape[0]}, the video {w}×{h}")
        if a.shape[:2] != (h, w):
            a = np.pad(a, ((0, h - a.shape[0]), (0, w - a.shape[1]), (0, 0)), mode="edge")
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format="rgb24")
        for packet in self._s.encode(vf):
            self._c.mux(packet)
        self.count += 1

    def __exit__(self, exc_type, exc, tb) -> bool:
        stack, self._stack = self._stack, None
        if exc_type is not None:  # the block failed: close and drop the temp file
            with contextlib.suppress(Exception):
                self._c.close()
            stack.__exit__(exc_type, exc, tb)
            return False
        with stack:  # atomic_path: renamed onto path only if flushing and closing succeed
            try:
                if self.count == 0:
                    raise ValueError("no frames were written")
                for packet in self._s.encode():
                    self._c.mux(packet)
            finally:
                self._c.close()
        return False


def read_video(path, max_side: int | None = None, max_frames: int | None = None) -> tuple[torch.Tensor, float]:
    """The whole clip as (T,3,H,W) in [0,1] and its frame rate. For short clips: it holds every frame;
    use :func:`frames` to stream."""
    path = _check(path)
    fps = info(path).fps
    clip = list(frames(path, max_side=max_side, max_frames=max_frames))
    if not clip:
        raise VideoError(f"{path}: no frames")
    return torch.cat(clip), fps


def write_video(frames_: torch.Tensor | Iterable[torch.Tensor], path, fps: float = 25.0,
                codec: str | None = None, crf: int | None = 18) -> Path:
    """Write (T,3,H,W) or an iterable of frames with :class:`Writer` (streamed, atomic)."""
    with Writer(path, fps, codec=codec, crf=crf) as w:
        for fr in frames_:
            w.write(fr)
    return Path(path)
