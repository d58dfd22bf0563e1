"""The person around each face: a GrabCut mask, the clothes in it, and the background outside it.

- :func:`person_mask`: GrabCut (Rother et al. 2004) seeded from the face boxes. No segmentation
  model ships in the packages we install, so the face box tells GrabCut where a person is: the
  face and a torso strip below it are certain foreground, a body-sized box under each face is
  "probably foreground", and everything outside those boxes is background. It runs on a copy
  shrunk to ``work_side`` pixels and is feathered at full size.
- :func:`recolor_clothes`: the person mask minus the faces and the skin (the YCrCb skin rule of
  Chai & Ngan 1999: 133 ≤ Cr ≤ 173, 77 ≤ Cb ≤ 127), hue-shifted in HSV (``nm.color.hue_shift``)
  and alpha-blended through a feathered mask, so there is no hard seam.
- :func:`cartoon_background`: ``nm.data.cartoon`` (box blur, posterise, dark Sobel edges) outside
  the person mask. The project's fast-style models live in another topic, which a topic may not
  import; the data layer's cartoon is the same look the CycleGAN domains use.
"""

from __future__ import annotations

import numpy as np
import torch

from ..color import hue_shift
from .detect import Faces, _u8, as_image
from .replace import face_regions

__all__ = ["person_mask", "clothes_mask", "skin_mask", "recolor_clothes", "cartoon_background",
           "body_boxes"]


def body_boxes(faces: Faces, size: tuple[int, int]) -> np.ndarray:
    """(N,4) xyxy: for each face box (w × h) a body box, 4.4 w wide, from 0.4 h above the face
    to 6 h below it, clipped to the image."""
    h, w = size
    out = []
    for x1, y1, x2, y2 in faces.boxes:
        fw, fh, cx = x2 - x1, y2 - y1, (x1 + x2) / 2
        out.append([max(0, cx - 2.2 * fw), max(0, y1 - 0.4 * fh), min(w, cx + 2.2 * fw),
                    min(h, y2 + 6 * fh)])
    return np.asarray(out, np.float32).reshape(-1, 4)


def _feather(m: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(m.astype(np.float32), (0, 0), sigma) if sigma > 0 else m.astype(np.float32)


def _soft_regions(faces: Faces, size) -> np.ndarray:
    """The face regions (where face operations act) with a soft edge outside them: 1 on every
    region, falling to 0 over about a tenth of the face size beyond it."""
    import cv2

    hard = face_regions(faces, size).astype(np.uint8)
    sigma = max(1.0, 0.06 * float(np.median(faces.sizes)))
    r = int(np.ceil(2 * sigma))
    grown = cv2.dilate(hard, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
    return np.maximum(_feather(grown, sigma), hard)


def person_mask(image, faces: Faces, *, iterations: int = 3, work_side: int = 256,
                feather: float = 0.01) -> torch.Tensor:
    """GrabCut (Rother et al. 2004: iterated graph cuts on a GMM colour model) seeded from the
    face boxes; returns (H,W) float in [0,1], 1 on the people. No faces: all zeros.

    ``feather``: the edge's Gaussian σ as a fraction of the image's long side."""
    import cv2

    x = as_image(image)
    H, W = x.shape[-2:]
    if len(faces) == 0:
        return torch.zeros(H, W)
    a = _u8(x)
    s = min(1.0, work_side / max(H, W))
    h, w = max(1, round(H * s)), max(1, round(W * s))
    small = cv2.resize(a, (w, h), interpolation=cv2.INTER_AREA) if s < 1 else a
    scaled = Faces(faces.boxes * s, faces.scores, faces.landmarks * s, (h, w))
    gc = np.full((h, w), cv2.GC_BGD, np.uint8)
    for bx1, by1, bx2, by2 in body_boxes(scaled, (h, w)):
        gc[int(by1):int(np.ceil(by2)), int(bx1):int(np.ceil(bx2))] = cv2.GC_PR_FGD
    for x1, y1, x2, y2 in scaled.boxes:  # the face, and a torso strip below the chin: certain
        fw, fh = x2 - x1, y2 - y1
        gc[int(y1 + 0.1 * fh):int(y2), int(x1 + 0.15 * fw):int(np.ceil(x2 - 0.15 * fw))] = cv2.GC_FGD
        gc[int(y2 + 0.6 * fh):int(min(h, y2 + 2.5 * fh)), int(x1 + 0.1 * fw):int(np.ceil(x2 - 0.1 * fw))] = cv2.GC_FGD
    fg = np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if min(h, w) >= 4 and fg.any() and not fg.all():
        cv2.setRNGSeed(0)  # GrabCut's GMM initialisation draws from OpenCV's RNG
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), gc, None, bgd, fgd, iterations,
                        cv2.GC_INIT_WITH_MASK)
            fg = np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD))
        except cv2.error:  # too few pixels of one kind for the colour model: keep the boxes
            pass
    m = fg.astype(np.float32)
    if s < 1:
        m = cv2.resize(m, (W, H), interpolation=cv2.INTER_LINEAR)
    m = np.maximum(_feather(m, feather * max(H, W)), _soft_regions(faces, (H, W)))
    return torch.from_numpy(np.clip(m, 0, 1).astype(np.float32))


def skin_mask(image) -> torch.Tensor:
    """(H,W) bool: pixels inside the YCrCb skin box of Chai & Ngan 1999."""
    import cv2

    ycc = cv2.cvtColor(_u8(as_image(image)), cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1], ycc[..., 2]
    return torch.from_numpy((cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127))


def clothes_mask(image, person: torch.Tensor, faces: Faces, *, feather: float = 0.006) -> torch.Tensor:
    """(H,W) float: the person mask without the face regions and the skin, feathered; it is never
    above the person mask and is zero on the faces' regions."""
    x = as_image(image)
    H, W = x.shape[-2:]
    p = torch.as_tensor(person, dtype=torch.float32).reshape(H, W).numpy()
    keep = (p > 0.5) & ~skin_mask(x).numpy() & ~face_regions(faces, (H, W))
    m = _feather(keep, feather * max(H, W))
    m = np.minimum(m, p) * ~face_regions(faces, (H, W))
    return torch.from_numpy(m.astype(np.float32))


def recolor_clothes(image, person: torch.Tensor, faces: Faces, *, seed: int | None = None,
                    shift: float | None = None) -> torch.Tensor:
    """DeepAnon's first clothes change: a random hue rotation in HSV (by ``shift`` turns, or one
    drawn in [0.25, 0.75] from ``seed``) alpha-blended through :func:`clothes_mask`."""
    x = as_image(image)
    if shift is None:
        shift = float(np.random.default_rng(seed).uniform(0.25, 0.75))
    a = clothes_mask(x, person, faces)[None, None]
    return (a * hue_shift(x, shift) + (1 - a) * x).clamp(0, 1)


def cartoon_background(image, person: torch.Tensor, *, levels: int = 5, edge: float = 0.35,
                       blur: int = 3) -> torch.Tensor:
    """The background (1 - person mask) drawn as a cartoon by ``nm.data.cartoon``; the people stay."""
    from ..data import cartoon

    x = as_image(image)
    m = torch.as_tensor(person, dtype=torch.float32).reshape(1, 1, *x.shape[-2:])
    return (m * x + (1 - m) * cartoon(x, levels=levels, edge=edge, blur=blur)).clamp(0, 1)
