"""In-between frames and frame-rate change, with a scene-cut guard.

- ``"blend"``: the plain average, (1 − t) a + t b (ghosts wherever anything moves);
- ``"flow"``: DIS flow both ways (Kroeger et al. 2016, ``nm.flow.dis``), the intermediate flows
  approximated as in Super SloMo (Jiang et al. 2018, eq. 4),
  F_t→0 = −(1 − t) t F_0→1 + t² F_1→0,  F_t→1 = (1 − t)² F_0→1 − t (1 − t) F_1→0,
  and Î_t = (1 − t) W(a, F_t→0) + t W(b, F_t→1);
- ``"rife"``: RIFE (Huang et al. 2022), :mod:`.rife`.

:func:`scene_cut` is the guard Practical-RIFE uses: SSIM of the two frames shrunk to 32 px below
0.2 means a cut, and no frame is made across it (the nearer frame is repeated instead). Here the
frames are range-normalised first, so a dark frame is not taken for a cut.

:func:`change_fps` streams a film from ``src_fps`` to ``dst_fps``: output frame j shows source time
p = j · src_fps / dst_fps; a whole p is that frame, otherwise the pair around it is interpolated at
t = p − ⌊p⌋. ``n`` frames give ⌊(n − 1) · dst / src⌋ + 1 frames (the last source frame's time is the
end). Two source frames are held at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F

from ..flow import dis, warp
from ..metrics import ssim
from .tone import _check_frame, luma, normalize_range

__all__ = ["METHODS", "interpolate", "blend", "flow_interpolate", "scene_cut", "change_fps",
           "n_output_frames", "CUT_SSIM"]

#: Practical-RIFE's scene-cut test: SSIM below this between the 32-px frames.
CUT_SSIM = 0.2


def blend(a: torch.Tensor, b: torch.Tensor, t: float = 0.5) -> torch.Tensor:
    """(1 − t) a + t b."""
    return (1 - t) * a + t * b


def flow_interpolate(a: torch.Tensor, b: torch.Tensor, t: float = 0.5, *, flows=None) -> torch.Tensor:
    """Warp both frames along DIS flow to time ``t`` and blend them (Jiang et al. 2018, eq. 1 and
    4, without their visibility maps). ``flows``: precomputed (F_0→1, F_1→0) to reuse for several t."""
    f01, f10 = flows if flows is not None else (dis(a, b), dis(b, a))
    f01, f10 = torch.from_numpy(f01), torch.from_numpy(f10)
    ft0 = -(1 - t) * t * f01 + t * t * f10
    ft1 = (1 - t) ** 2 * f01 - t * (1 - t) * f10
    w0 = warp(a, ft0.numpy())
    w1 = warp(b, ft1.numpy())
    return ((1 - t) * w0 + t * w1).clamp(0, 1).to(a.dtype)


def _rife(a, b, t=0.5, **kw):
    from .rife import rife

    return rife(a, b, t, device=kw.get("device"))


METHODS: dict[str, Callable] = {"rife": _rife, "flow": flow_interpolate, "blend": blend}


def scene_cut(a: torch.Tensor, b: torch.Tensor, threshold: float = CUT_SSIM) -> bool:
    """True when ``a`` and ``b`` are on two sides of a cut: SSIM of their range-normalised luma,
    shrunk to 32 px on the short side, below ``threshold`` (Practical-RIFE's guard)."""
    ya, yb = (normalize_range(luma(_check_frame(x)).float().cpu()) for x in (a, b))
    h, w = ya.shape[-2:]
    s = 32 / min(h, w)
    size = (max(8, round(h * s)), max(8, round(w * s)))
    ya, yb = (F.interpolate(y, size=size, mode="area") for y in (ya, yb))
    return float(ssim(ya, yb, win_size=7)) < threshold


def interpolate(a: torch.Tensor, b: torch.Tensor, t: float = 0.5, method: str = "rife", *,
                guard: bool = True, device=None) -> torch.Tensor:
    """The frame at time ``t`` ∈ [0, 1] between (1,3,H,W) frames ``a`` and ``b``.

    ``method``: ``"rife"``, ``"flow"`` or ``"blend"`` (see the module). With ``guard``, a
    :func:`scene_cut` between a and b gives the nearer frame instead of a mix of two shots."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be in [0, 1], not {t}")
    a, b = _check_frame(a, "a"), _check_frame(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"frames of different shapes: {tuple(a.shape)} and {tuple(b.shape)}")
    if t == 0.0:
        return a.clone()
    if t == 1.0:
        return b.clone()
    if guard and scene_cut(a, b):
        return (a if t < 0.5 else b).clone()
    if method == "rife":
        return _rife(a, b, t, device=device)
    return METHODS[method](a, b, t)


def n_output_frames(n: int, src_fps: float, dst_fps: float) -> int:
    """How many frames :func:`change_fps` makes from ``n``: ⌊(n − 1) · dst / src⌋ + 1 (0 for none)."""
    if n <= 0:
        return 0
    return int(math.floor((n - 1) * dst_fps / src_fps + 1e-9)) + 1


def change_fps(frames: Iterable[torch.Tensor], src_fps: float, dst_fps: float, method: str = "rife", *,
               guard: bool = True, device=None, cuts: list | None = None) -> Iterator[torch.Tensor]:
    """Stream ``frames`` (at ``src_fps``) re-timed to ``dst_fps`` (see the module docstring).

    ``method`` as in :func:`interpolate`; ``"nearest"`` repeats the nearest frame (no new
    pictures). ``cuts``: a list that receives the source index k of each guarded pair (k, k+1)."""
    if src_fps <= 0 or dst_fps <= 0:
        raise ValueError(f"frame rates must be positive, not {src_fps} and {dst_fps}")
    if method not in METHODS and method != "nearest":
        raise ValueError(f"method must be one of {', '.join([*METHODS, 'nearest'])}, not {method!r}")
    ratio = src_fps / dst_fps
    it = iter(frames)
    try:
        prev = _check_frame(next(it))
    except StopIteration:
        return
    k, j = 0, 0  # prev is source frame k; j the next output frame
    pair_cut = flows = None
    for nxt in it:
        nxt = _check_frame(nxt)
        pair_cut, flows = None, None
        while True:
            p = j * ratio
            if p > k + 1 - 1e-9:
                break
            t = p - k
            if t < 1e-9:
                out = prev
            elif method == "nearest":
                out = prev if t < 0.5 else nxt
            else:
                if pair_cut is None:
                    pair_cut = bool(guard and scene_cut(prev, nxt))
                    if pair_cut and cuts is not None:
                        cuts.append(k)
                if pair_cut:
                    out = prev if t < 0.5 else nxt
                elif method == "flow":
                    if flows is None:
                        flows = (dis(prev, nxt), dis(nxt, prev))
                    out = flow_interpolate(prev, nxt, t, flows=flows)
                else:
                    out = interpolate(prev, nxt, t, method, guard=False, device=device)
            yield out
            j += 1
        prev, k = nxt, k + 1
    if abs(j * ratio - k) < 1e-9:  # the last frame lands exactly on an output time
        yield prev
