"""Faces that ship offline: scikit-image's ``lfw_subset`` (100 faces and 100 non-faces, 25×25 grey,
from Labeled Faces in the Wild, Huang et al. 2007), and grids of them for detection benchmarks.

- :func:`lfw_faces`: the 100 faces and the 100 non-face patches as (N,3,25,25) tensors;
- :func:`face_grid`: faces (and optionally non-face tiles) upscaled and laid out in one picture,
  with the box of every face tile, the ground truth for a face detector;
- :func:`second_view`: another "photo" of each face for re-identification tests (each LFW identity
  appears once here): shifted, rescaled and re-lit;
- :func:`crop_tiles`: the tiles of a grid cut out again, one per box.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["lfw_faces", "face_grid", "second_view", "crop_tiles"]


def lfw_faces() -> tuple[torch.Tensor, torch.Tensor]:
    """(faces (100,3,25,25), nonfaces (100,3,25,25)), float32 in [0,1], grey in three channels."""
    from skimage.data import lfw_subset

    a = torch.from_numpy(np.asarray(lfw_subset(), np.float32))[:, None].expand(-1, 3, -1, -1)
    a = a.contiguous()
    return a[:100], a[100:]


def face_grid(n: int = 16, size: int = 112, cols: int = 4, seed: int = 0, nonfaces: int = 0, *,
              faces: torch.Tensor | None = None, gap: int = 0,
              background: float = 0.5) -> tuple[torch.Tensor, np.ndarray]:
    """A grid of ``n`` LFW faces (chosen by ``seed``; or the given ``faces`` (N,3,h,w), in order),
    each upscaled (bicubic) to ``size``×``size``, plus ``nonfaces`` non-face tiles at random cells.

    Returns (image (1,3,H,W), boxes (n,4) float32 xyxy of the face tiles, in the faces' order).
    ``gap`` pixels of ``background`` grey separate the tiles.
    """
    lfw, non = lfw_faces()
    rng = np.random.default_rng(seed)
    if faces is None:
        if not 0 <= n <= len(lfw):
            raise ValueError(f"n must be in 0..{len(lfw)}, got {n}")
        faces = lfw[np.sort(rng.choice(len(lfw), n, replace=False))] if n < len(lfw) else lfw
    else:
        faces = torch.as_tensor(faces, dtype=torch.float32)
        if faces.ndim != 4 or faces.shape[1] not in (1, 3):
            raise ValueError(f"faces must be (N,3,h,w), got {tuple(faces.shape)}")
        faces = faces.expand(-1, 3, -1, -1)
    if not 0 <= nonfaces <= len(non):
        raise ValueError(f"nonfaces must be in 0..{len(non)}, got {nonfaces}")
    if size < 8 or cols < 1:
        raise ValueError("size must be >= 8 and cols >= 1")
    tiles = [faces[i:i + 1] for i in range(len(faces))]
    kinds = [("face", i) for i in range(len(faces))]
    if nonfaces:
        pick = np.sort(rng.choice(len(non), nonfaces, replace=False))
        tiles += [non[i:i + 1] for i in pick]
        kinds += [("non", int(i)) for i in pick]
    order = rng.permutation(len(tiles)) if nonfaces else np.arange(len(tiles))
    total = len(tiles)
    rows = max(1, -(-total // cols))
    ncols = min(cols, max(1, total))
    cell = size + gap
    out = torch.full((1, 3, rows * cell + gap, ncols * cell + gap), float(background))
    boxes = np.zeros((len(faces), 4), np.float32)
    for slot, k in enumerate(order):
        r, c = divmod(slot, ncols)
        y, x = gap + r * cell, gap + c * cell
        t = F.interpolate(tiles[k], size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
        out[..., y:y + size, x:x + size] = t
        kind, i = kinds[k]
        if kind == "face":
            boxes[i] = (x, y, x + size, y + size)
    return out, boxes


def second_view(faces: torch.Tensor, shift: float = 1.0, zoom: float = 1.04, gain: float = 0.9,
                lift: float = 0.04) -> torch.Tensor:
    """Another photo of the same faces (N,3,h,w): shifted by ``shift`` px, zoomed by ``zoom`` and
    re-lit (``gain``·x + ``lift``). The probes of the re-identification protocol
    (``bench/anonymize.py``, notebook 16), since ``lfw_subset`` has one photo per person."""
    faces = torch.as_tensor(faces, dtype=torch.float32)
    if faces.ndim != 4:
        raise ValueError(f"faces must be (N,3,h,w), got {tuple(faces.shape)}")
    n, c, h, w = faces.shape
    theta = torch.tensor([[1 / zoom, 0, 2 * shift / w], [0, 1 / zoom, 2 * shift / h]], dtype=torch.float32)
    grid = F.affine_grid(theta.expand(n, 2, 3), (n, c, h, w), align_corners=False)
    moved = F.grid_sample(faces, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return (moved * gain + lift).clamp(0, 1)


def crop_tiles(image: torch.Tensor, boxes: np.ndarray) -> torch.Tensor:
    """(N,3,h,w): the ``boxes`` (xyxy pixels, as :func:`face_grid` returns them) cut out of ``image``."""
    return torch.cat([image[..., int(b[1]):int(b[3]), int(b[0]):int(b[2])] for b in boxes])
