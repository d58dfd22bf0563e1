"""Is the person still recognisable? A nearest-neighbour re-identification attacker.

The attacker holds a gallery of known faces (one per identity) and, for each anonymised probe,
names the gallery face whose feature vector is nearest (cosine similarity). The rate is the
fraction named correctly (chance: 1/N). Two feature spaces: HOG (Dalal & Triggs 2005) and the
pooled embedding of ImageNet-trained EfficientNet-Lite0 (Tan & Le 2019). The *matched* attacker
first applies the same obfuscation (the same blur, say) to his gallery, as McPherson et al. 2016
("Defeating image obfuscation with deep learning") showed one should.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["face_features", "reidentification_rate", "FEATURES"]

FEATURES = ("hog", "efficientnet")


@functools.lru_cache(maxsize=1)
def _net():
    from ..models import load

    return load("efficientnet_lite0", device="cpu")


def _batch(images) -> torch.Tensor:
    x = torch.as_tensor(images, dtype=torch.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[0] == 0:
        raise ValueError(f"expected face crops (N,3,h,w), got {tuple(x.shape)}")
    return x.expand(-1, 3, -1, -1).clamp(0, 1)


def face_features(images, features: str = "hog") -> np.ndarray:
    """(N,D) unit-length feature vectors of face crops (N,3,h,w): ``"hog"`` (grey, 64×64, 9
    orientations, 8-px cells, 2×2 blocks) or ``"efficientnet"`` (224×224, the 1280-d pooled head)."""
    x = _batch(images)
    if features == "hog":
        from skimage.feature import hog

        g = F.interpolate(x.mean(1, keepdim=True), size=(64, 64), mode="bilinear",
                          align_corners=False, antialias=True)[:, 0].numpy()
        f = np.stack([hog(im, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2))
                      for im in g])
    elif features == "efficientnet":
        net = _net()
        out = []
        with torch.no_grad():
            for i in range(0, len(x), 32):
                b = F.interpolate(x[i:i + 32], size=(224, 224), mode="bilinear", align_corners=False)
                out.append(net.features(b, ["pool"])["pool"].flatten(1))
        f = torch.cat(out).numpy()
    else:
        raise ValueError(f"features must be one of {', '.join(FEATURES)}, not {features!r}")
    f = f.astype(np.float64)
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def reidentification_rate(gallery, probes, *, features: str = "hog",
                          matched: Callable | None = None) -> float:
    """Nearest-neighbour re-identification: the fraction of probes ``i`` whose most similar gallery
    face (cosine similarity of :func:`face_features`) is gallery face ``i``.

    ``gallery[i]`` and ``probes[i]`` show the same identity. ``matched``: a function applied to the
    gallery batch first (the matched attacker, who obfuscates his gallery as the probes were)."""
    g, p = _batch(gallery), _batch(probes)
    if len(g) != len(p):
        raise ValueError(f"gallery ({len(g)}) and probes ({len(p)}) must pair up one to one")
    if matched is not None:
        g = _batch(matched(g))
        if len(g) != len(p):
            raise ValueError("matched(gallery) must return one image per gallery face")
    sim = face_features(p, features) @ face_features(g, features).T
    return float((sim.argmax(1) == np.arange(len(p))).mean())
