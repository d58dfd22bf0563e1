"""Tone: the percentile stretch that makes dark frames comparable, denoising, and deflicker.

- :func:`normalize_range`: a percentile stretch (the usual "auto levels"): the ``low``-th
  percentile of the luminance goes to black, the ``high``-th to white, and the grey levels in
  between are mapped linearly, ``x' = (x − p_low) / (p_high − p_low)``, clipped to [0, 1]. The
  seed's duplicate search failed on dark frames until he did this;
- :func:`denoise`: a ``size``-px median filter (Huang, Yang & Tang 1979's running median, OpenCV
  ``medianBlur``): grain and dust go, edges stay;
- :func:`deflicker`: streamed exposure equalisation in the manner of FFmpeg's ``deflicker``
  filter (arithmetic mean mode): each frame's brightness is scaled by ``m̄ / m_k``, with ``m_k`` its
  mean luminance and ``m̄`` the mean over a centred window of ``window`` frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np
import torch

__all__ = ["normalize_range", "denoise", "deflicker", "luma"]


def _check_frame(frame: torch.Tensor, name: str = "frame") -> torch.Tensor:
    if not isinstance(frame, torch.Tensor):
        raise TypeError(f"{name} must be a (1,3,H,W) or (3,H,W) tensor, not {type(frame).__name__}")
    x = frame.unsqueeze(0) if frame.ndim == 3 else frame
    if x.ndim != 4 or x.shape[1] not in (1, 3) or min(x.shape[-2:]) < 2:
        raise ValueError(f"{name} must be (N,3,H,W), (N,1,H,W) or (3,H,W), not {tuple(frame.shape)}")
    return x


def luma(frame: torch.Tensor) -> torch.Tensor:
    """BT.601 luma (N,1,H,W) of an RGB or grey frame."""
    x = _check_frame(frame)
    if x.shape[1] == 1:
        return x
    return 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def normalize_range(frame: torch.Tensor, low: float = 1.0, high: float = 99.0) -> torch.Tensor:
    """Percentile stretch: the luminance's ``low``-th percentile → 0, its ``high``-th → 1,
    linear in between (every channel by the same map, so colours keep their hue), clipped.

    A frame with no range at all (p_high − p_low < 1/255) is returned unchanged."""
    if not 0 <= low < high <= 100:
        raise ValueError(f"need 0 <= low < high <= 100, not low={low}, high={high}")
    x = _check_frame(frame)
    y = luma(x).flatten(1).float()
    q = torch.quantile(y, torch.tensor([low / 100, high / 100], dtype=y.dtype), dim=1)  # (2, N)
    lo, hi = q[0].view(-1, 1, 1, 1), q[1].view(-1, 1, 1, 1)
    span = hi - lo
    out = ((x - lo) / span.clamp_min(1e-6)).clamp(0, 1)
    flat = (span < 1 / 255).view(-1)
    if flat.any():
        out[flat] = x[flat]
    return out.to(x.dtype)


def denoise(frame: torch.Tensor, size: int = 5) -> torch.Tensor:
    """A ``size`` × ``size`` median filter of each channel (odd ``size``; OpenCV ``medianBlur``)."""
    import cv2

    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be an odd number >= 1, not {size}")
    x = _check_frame(frame)
    if size == 1:
        return x
    a = (x.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)
    out = np.stack([cv2.medianBlur(np.ascontiguousarray(f), size).reshape(f.shape) for f in a])
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255).to(x.device)


def deflicker(frames: Iterable[torch.Tensor], window: int = 9) -> Iterator[torch.Tensor]:
    """Stream ``frames`` with the exposure flicker evened out (FFmpeg ``deflicker``, mode ``am``).

    Frame k is scaled by ``m̄_k / m_k`` (clipped to [0, 1]): ``m_k`` its mean luminance, ``m̄_k``
    the mean of the ``m`` over the ``window`` frames centred on it (fewer at the ends). Holds
    ``window // 2 + 1`` frames at a time, whatever the film's length."""
    if window < 1:
        raise ValueError(f"window must be >= 1, not {window}")
    half = window // 2
    buf: deque = deque()   # (frame, mean) not yet emitted, at most half + 1
    past: deque = deque(maxlen=half)  # means of the frames already emitted
    for fr in frames:
        x = _check_frame(fr)
        buf.append((x, float(luma(x).mean())))
        if len(buf) > half:
            yield _scaled(buf, past, half)
    while buf:
        yield _scaled(buf, past, half)


def _scaled(buf: deque, past: deque, half: int) -> torch.Tensor:
    x, m = buf.popleft()
    means = [*past, m, *[b[1] for b in list(buf)[:half]]]
    past.append(m)
    target = float(np.mean(means))
    return (x * (target / max(m, 1e-4))).clamp(0, 1)
