"""Dense optical flow between frames (OpenCV), warping by flow, and where flow can be trusted.

Convention: ``flow[y, x] = (dx, dy)`` from frame a to frame b means a[y, x] ≈ b[y + dy, x + dx],
so ``warp(b, flow)`` brings b into a's place. Flows are numpy (H, W, 2) float32.

- :func:`farneback` (Farnebäck 2003) and :func:`dis` (Kroeger et al. 2016, dense inverse search:
  faster and sharper at motion edges), or :func:`optical_flow` with ``method=``;
- :func:`warp`: backward warping with bilinear sampling (``grid_sample``, differentiable, on the
  image's device);
- :func:`consistency_mask`: the forward-backward check of Sundaram, Brox & Keutzer 2010 (as used by
  Ruder et al. 2016): a pixel is trusted where following the flow forward and then back returns to
  it, |w_f + w_b(x + w_f)|² ≤ α₁ (|w_f|² + |w_b(x + w_f)|²) + α₂.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["gray_u8", "farneback", "dis", "optical_flow", "warp", "consistency_mask", "METHODS"]

METHODS = ("dis", "farneback")


def gray_u8(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """A (1,3,H,W)/(3,H,W) tensor in [0,1] (or an (H,W,3)/(H,W) uint8 array) as BT.601 grey uint8."""
    if isinstance(x, np.ndarray):
        if x.ndim == 2:
            return np.ascontiguousarray(x, dtype=np.uint8)
        x = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1).float() / 255.0
    x = x[0] if x.ndim == 4 else x
    g = 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2] if x.shape[0] == 3 else x[0]
    return (g.detach().float().clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def farneback(frame_from, frame_to) -> np.ndarray:
    """Farnebäck 2003 (polynomial expansion), OpenCV's ``calcOpticalFlowFarneback``: (H,W,2) float32."""
    import cv2

    return cv2.calcOpticalFlowFarneback(gray_u8(frame_from), gray_u8(frame_to), None,
                                        pyr_scale=0.5, levels=3, winsize=15, iterations=3,
                                        poly_n=5, poly_sigma=1.2, flags=0)


_DIS_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}


def dis(frame_from, frame_to, preset: str = "medium") -> np.ndarray:
    """Kroeger et al. 2016, dense inverse search (OpenCV ``DISOpticalFlow``): (H,W,2) float32."""
    import cv2

    if preset not in _DIS_PRESETS:
        raise ValueError(f"preset must be one of {', '.join(_DIS_PRESETS)}, not {preset!r}")
    d = cv2.DISOpticalFlow_create(_DIS_PRESETS[preset])
    return d.calc(gray_u8(frame_from), gray_u8(frame_to), None)


def optical_flow(frame_from, frame_to, method: str = "dis") -> np.ndarray:
    """Flow from ``frame_from`` to ``frame_to`` by ``method`` (``"dis"`` or ``"farneback"``)."""
    if method == "dis":
        return dis(frame_from, frame_to)
    if method == "farneback":
        return farneback(frame_from, frame_to)
    raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")


def _flow_tensor(flow, device, dtype) -> torch.Tensor:
    """(H,W,2) numpy / (H,W,2) / (N,2,H,W) tensor -> (N,2,H,W)."""
    f = torch.as_tensor(np.ascontiguousarray(flow) if isinstance(flow, np.ndarray) else flow)
    if f.ndim == 3 and f.shape[-1] == 2:
        f = f.permute(2, 0, 1).unsqueeze(0)
    if f.ndim != 4 or f.shape[1] != 2:
        raise ValueError(f"flow is (H,W,2) or (N,2,H,W), not {tuple(f.shape)}")
    return f.to(device, dtype)


def warp(image: torch.Tensor, flow, padding_mode: str = "border") -> torch.Tensor:
    """Backward warp: out[y, x] = image[y + flow_y, x + flow_x] (bilinear; borders replicated).

    ``image`` (N,C,H,W) or (C,H,W); ``flow`` (H,W,2) numpy or a tensor (N,2,H,W). Runs on the
    image's device and is differentiable in both. Returns (N,C,H,W).
    """
    x = image if image.ndim == 4 else image.unsqueeze(0)
    out_dtype = x.dtype if x.is_floating_point() else torch.float32
    # on the CPU, sample in float64: float32 coordinates put an integer shift ~1e-6 off the pixel
    work = torch.float64 if x.device.type == "cpu" else out_dtype
    f = _flow_tensor(flow, x.device, work)
    n, _, h, w = x.shape
    if f.shape[-2:] != (h, w):
        raise ValueError(f"flow is {tuple(f.shape[-2:])} but the image is {(h, w)}")
    ys, xs = torch.meshgrid(torch.arange(h, device=x.device, dtype=work),
                            torch.arange(w, device=x.device, dtype=work), indexing="ij")
    gx = (xs + f[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0
    gy = (ys + f[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], -1).expand(n, -1, -1, -1)
    out = F.grid_sample(x.to(work), grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)
    return out.to(out_dtype)


def consistency_mask(flow_fw, flow_bw, alpha1: float = 0.01, alpha2: float = 0.5) -> np.ndarray:
    """Sundaram et al. 2010 forward-backward check: True where the flow can be trusted, (H,W) bool.

    ``flow_fw`` goes a→b and ``flow_bw`` b→a. At each pixel of a, the backward flow is sampled at
    the forward target x + w_f; the pixel passes if
    |w_f + w_b(x + w_f)|² ≤ α₁ (|w_f|² + |w_b(x + w_f)|²) + α₂ (Ruder et al. 2016, eq. 5's mask).
    Occluded and mis-tracked pixels fail.
    """
    fw = _flow_tensor(flow_fw, "cpu", torch.float32)
    bw = _flow_tensor(flow_bw, "cpu", torch.float32)
    bw_at = warp(bw, fw)  # w_b(x + w_f)
    lhs = (fw + bw_at).pow(2).sum(1)
    rhs = alpha1 * (fw.pow(2).sum(1) + bw_at.pow(2).sum(1)) + alpha2
    return (lhs <= rhs)[0].numpy()
