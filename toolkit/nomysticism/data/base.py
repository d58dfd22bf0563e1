"""Data sets that work offline: the procedural *shapes* world (with ground-truth masks),
random crops of the bundled photos, scikit-learn digits, and any folder of images.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..images import ImageError, load_image, resize, sample_image

__all__ = [
    "SHAPE_CLASSES",
    "Shapes",
    "shapes",
    "random_crops",
    "digits",
    "ImageFolder",
    "IMAGE_SUFFIXES",
]

SHAPE_CLASSES = ("circle", "square", "triangle", "star", "cross")


class Shapes(NamedTuple):
    """images (N,3,S,S) float in [0,1]; labels (N,) long; masks (N,1,S,S) bool (the object)."""

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    classes: tuple = SHAPE_CLASSES


def _polygon(kind: str, cx: float, cy: float, r: float, rot: float) -> list[tuple[float, float]]:
    def ring(n, radii):
        return [
            (cx + radii[i % len(radii)] * math.cos(rot + 2 * math.pi * i / n),
             cy + radii[i % len(radii)] * math.sin(rot + 2 * math.pi * i / n))
            for i in range(n)
        ]

    if kind == "square":
        return ring(4, [r * 1.05])
    if kind == "triangle":
        return ring(3, [r * 1.15])
    if kind == "star":
        return ring(10, [r * 1.15, r * 0.48])
    if kind == "cross":
        a, b = r, r * 0.36
        pts = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a), (-b, b),
               (-a, b), (-a, -b), (-b, -b)]
        c, s = math.cos(rot), math.sin(rot)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]
    raise ValueError(kind)


def _texture(rng: np.random.Generator, size: int, base: np.ndarray) -> np.ndarray:
    """A fill for a shape: solid, stripes or dots around a base colour, (S,S,3) float."""
    kind = rng.integers(3)
    img = np.broadcast_to(base, (size, size, 3)).copy()
    if kind == 0:
        return img
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    other = np.clip(base * rng.uniform(0.4, 0.7), 0, 1)
    if kind == 1:
        ang = rng.uniform(0, math.pi)
        period = rng.uniform(3, 7)
        m = (np.sin((xx * math.cos(ang) + yy * math.sin(ang)) * 2 * math.pi / period) > 0)
    else:
        period = rng.uniform(4, 7)
        m = ((xx % period - period / 2) ** 2 + (yy % period - period / 2) ** 2) < (period / 3.2) ** 2
    img[m] = other
    return img


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    c0, c1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    t = np.linspace(0, 1, size, dtype=np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    g = (np.cos(ang) * t[None, :] + np.sin(ang) * t[:, None])
    g = (g - g.min()) / max(g.max() - g.min(), 1e-6)
    img = c0 * (1 - g[..., None]) + c1 * g[..., None]
    img += rng.normal(0, 0.03, img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


def _draw_one(rng: np.random.Generator, size: int, label: int) -> tuple[np.ndarray, np.ndarray]:
    img = _background(rng, size)
    # clutter: random lines, drawn before the object
    pil = Image.fromarray((img * 255).astype(np.uint8))
    d = ImageDraw.Draw(pil)
    for _ in range(rng.integers(2, 7)):
        p = rng.uniform(-0.1, 1.1, 4) * size
        d.line([tuple(p[:2]), tuple(p[2:])], fill=tuple(int(v) for v in rng.integers(0, 256, 3)),
               width=int(rng.integers(1, 3)))
    img = np.asarray(pil, dtype=np.float32) / 255.0

    r = rng.uniform(0.14, 0.28) * size
    cx, cy = rng.uniform(r + 2, size - r - 2, 2)
    mask_img = Image.new("L", (size, size), 0)
    md = ImageDraw.Draw(mask_img)
    kind = SHAPE_CLASSES[label]
    if kind == "circle":
        md.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    else:
        md.polygon(_polygon(kind, cx, cy, r, rng.uniform(0, 2 * math.pi)), fill=255)
    mask = np.asarray(mask_img) > 127
    # an object colour that stands out from the background under it
    under = img[mask].mean(0) if mask.any() else img.mean((0, 1))
    for _ in range(20):
        col = rng.uniform(0, 1, 3)
        if np.abs(col - under).sum() > 0.9:
            break
    fill = _texture(rng, size, col.astype(np.float32))
    img = np.where(mask[..., None], fill, img)
    return img, mask


def shapes(n: int, size: int = 64, seed: int = 0, classes=SHAPE_CLASSES) -> Shapes:
    """``n`` procedural images of one shape each (circle, square, triangle, star, cross), coloured or
    textured, on gradient backgrounds with line clutter; with the object's ground-truth mask.

    Deterministic for a given ``seed``; labels are balanced and shuffled.
    """
    if n < 1 or size < 16:
        raise ValueError("shapes() needs n >= 1 and size >= 16")
    idx = [SHAPE_CLASSES.index(c) for c in classes]
    rng = np.random.default_rng(seed)
    labels = np.array([idx[i % len(idx)] for i in range(n)])
    rng.shuffle(labels)
    ims = np.empty((n, size, size, 3), np.float32)
    masks = np.empty((n, size, size), bool)
    for i, lab in enumerate(labels):
        ims[i], masks[i] = _draw_one(rng, size, int(lab))
    return Shapes(
        torch.from_numpy(ims).permute(0, 3, 1, 2).contiguous(),
        torch.from_numpy(labels).long(),
        torch.from_numpy(masks).unsqueeze(1),
        tuple(SHAPE_CLASSES),
    )


def random_crops(n: int, size: int = 128, seed: int = 0, sources=None,
                 scale: tuple[float, float] = (0.3, 1.0)) -> torch.Tensor:
    """``n`` random square crops (N,3,size,size) of the bundled photos, with random flips.

    The offline stand-in for COCO when training feed-forward stylisation networks.
    """
    g = torch.Generator().manual_seed(seed)
    sources = sources or ["astronaut", "chelsea", "coffee", "rocket", "hubble", "camera", "coins"]
    photos = [sample_image(s) if isinstance(s, str) else load_image(s) for s in sources]
    out = torch.empty(n, 3, size, size)
    for i in range(n):
        im = photos[int(torch.randint(len(photos), (1,), generator=g))]
        h, w = im.shape[-2:]
        frac = float(torch.empty(1).uniform_(*scale, generator=g))
        s = max(8, int(min(h, w) * frac))
        y = int(torch.randint(h - s + 1, (1,), generator=g))
        x = int(torch.randint(w - s + 1, (1,), generator=g))
        crop = resize(im[..., y : y + s, x : x + s], (size, size))
        if torch.rand(1, generator=g) < 0.5:
            crop = crop.flip(-1)
        out[i] = crop[0]
    return out


def digits(size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 handwritten digits, upscaled: images (N,1,size,size) in [0,1], labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0).unsqueeze(1)
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.clamp(0, 1), torch.from_numpy(d.target).long()


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class ImageFolder(torch.utils.data.Dataset):
    """Every image under ``root`` (recursively), loaded with :func:`load_image`, centre-cropped and
    resized to ``size``. Broken files are skipped with a warning, not a crash (COCO has a few)."""

    def __init__(self, root, size: int = 256):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: no such directory")
        self.files = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise FileNotFoundError(f"{self.root}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.size = size

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        import warnings

        for k in range(len(self.files)):
            path = self.files[(i + k) % len(self.files)]
            try:
                x = load_image(path, max_side=max(self.size * 2, 512))
            except ImageError as e:
                warnings.warn(str(e), stacklevel=2)
                continue
            h, w = x.shape[-2:]
            s = min(h, w)
            y0, x0 = (h - s) // 2, (w - s) // 2
            return resize(x[..., y0 : y0 + s, x0 : x0 + s], (self.size, self.size))[0]
        raise ImageError(f"{self.root}: no readable image")


# --- GAN domains ---
# Two unpaired image domains for CycleGAN (Zhu 2017), made offline: crops of the bundled photos (A)
# and crops of the same photos drawn as cartoons (B): smoothed, posterised, with dark edges.


def posterize(x: torch.Tensor, levels: int = 4) -> torch.Tensor:
    """Quantise each channel of (N,C,H,W) images in [0,1] to ``levels`` values (0, 1/(L-1), …, 1)."""
    if levels < 2:
        raise ValueError("posterize needs levels >= 2")
    return (x.clamp(0, 1) * (levels - 1)).round() / (levels - 1)


def cartoon(x: torch.Tensor, levels: int = 4, edge: float = 0.7, blur: int = 2) -> torch.Tensor:
    """A cartoon version of (N,3,H,W) images in [0,1]: ``blur`` passes of a 3×3 box blur, then
    :func:`posterize` to ``levels`` values per channel, then black lines where the blurred image's
    Sobel gradient magnitude (of the grey level) exceeds ``edge``."""
    import torch.nn.functional as F

    s = x.float()
    for _ in range(blur):
        s = F.avg_pool2d(F.pad(s, (1, 1, 1, 1), mode="replicate"), 3, 1)
    grey = s.mean(1, keepdim=True)
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3)
    gp = F.pad(grey, (1, 1, 1, 1), mode="replicate")
    mag = (F.conv2d(gp, kx) ** 2 + F.conv2d(gp, kx.transpose(2, 3)) ** 2).sqrt()
    out = posterize(s, levels)
    return torch.where(mag > edge, torch.zeros_like(out), out)


def cartoon_domains(n: int = 256, size: int = 64, seed: int = 0, levels: int = 4, sources=None,
                    scale: tuple[float, float] = (0.15, 0.6)) -> tuple[torch.Tensor, torch.Tensor]:
    """Unpaired CycleGAN domains: A = ``n`` random crops of the bundled photos, B = ``n`` *other*
    random crops of the same photos made into :func:`cartoon` images. (N,3,size,size) each.

    No image in B is the cartoon of an image in A (different crop seeds), as in the unpaired setting.
    ``sources`` defaults to the colour photos (astronaut, chelsea, coffee, rocket).
    """
    sources = sources or ["astronaut", "chelsea", "coffee", "rocket"]
    a = random_crops(n, size, seed=2 * seed, sources=sources, scale=scale)
    b = cartoon(random_crops(n, size, seed=2 * seed + 1, sources=sources, scale=scale), levels=levels)
    return a, b


__all__ += ["posterize", "cartoon", "cartoon_domains"]
