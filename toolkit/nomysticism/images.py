"""Pixels in and out: loading, saving, showing, normalising, and the offline sample images.

Every image in the toolkit is a float32 tensor of shape (N, 3, H, W) with values in [0, 1].
Models normalise internally, so methods never see ImageNet statistics.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ImageError",
    "load_image",
    "save_image",
    "to_pil",
    "to_numpy",
    "from_numpy",
    "resize",
    "show",
    "grid",
    "normalize",
    "denormalize",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "sample_image",
    "list_samples",
    "STYLE_SAMPLES",
    "PHOTO_SAMPLES",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Default decompression-bomb limit (pixels). Pass ``allow_huge=True`` to lift it.
MAX_PIXELS = 100_000_000


class ImageError(ValueError):
    """An image could not be used. The message names the source and the reason."""


def _name(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, Image.Image):
        return f"<PIL image {source.mode} {source.size[0]}x{source.size[1]}>"
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"


_MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP",
          b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WebP"}


def _sniff(source) -> str | None:
    """The format a file claims by its first bytes, if any."""
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as f:
                head = f.read(8)
        elif isinstance(source, (bytes, bytearray)):
            head = bytes(source[:8])
        else:
            return None
    except OSError:
        return None
    return next((k for m, k in _MAGIC.items() if head.startswith(m)), None)


def _open_pil(source, allow_huge: bool) -> Image.Image:
    """Open ``source`` (path, bytes, file object or PIL image) and fully decode it."""
    name = _name(source)
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.exists():
            raise ImageError(f"{name}: no such file")
        if path.is_dir():
            raise ImageError(f"{name}: is a directory, not an image file")
        if path.stat().st_size == 0:
            raise ImageError(f"{name}: the file is empty")
        fp = path
    elif isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageError(f"{name}: no bytes")
        fp = io.BytesIO(source)
    elif hasattr(source, "read"):
        fp = source
    else:
        raise ImageError(f"{name}: cannot read an image from a {type(source).__name__}")

    old_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None if allow_huge else MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(fp)
            w, h = img.size
            if not allow_huge and w * h > MAX_PIXELS:
                raise ImageError(
                    f"{name}: {w}x{h} = {w * h / 1e6:.0f} Mpx is over the {MAX_PIXELS / 1e6:.0f} Mpx "
                    "limit (a possible decompression bomb); pass allow_huge=True if you trust it"
                )
            img.load()  # decode now, so truncation errors surface here
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(
            f"{name}: too many pixels (a possible decompression bomb): {e}; "
            "pass allow_huge=True if you trust it"
        ) from None
    except UnidentifiedImageError:
        kind = _sniff(source)
        if kind:
            raise ImageError(f"{name}: corrupt {kind} file (its header cannot be decoded)") from None
        raise ImageError(f"{name}: not an image file (or a format Pillow cannot read)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{name}: corrupt or truncated image ({e})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit
    return img


def _pil_to_rgb_array(img: Image.Image) -> np.ndarray:
    """Any PIL mode -> float32 (H, W, 3) in [0, 1]. Alpha is composited on white."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        a = np.clip(a / hi, 0, 1)
        return np.repeat(a[..., None], 3, axis=2).astype(np.float32)
    if mode == "F":
        a = np.asarray(img, dtype=np.float64)
        if a.size and (a.min() < 0 or a.max() > 1):
            a = (a - a.min()) / max(a.max() - a.min(), 1e-12)
        return np.repeat(a[..., None], 3, axis=2).astype(np.float32)
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode in ("LA", "PA", "RGBA", "RGBa", "La"):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3:4]
        return rgba[..., :3] * alpha + (1.0 - alpha)
    if mode == "1":
        img = img.convert("L")
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def _array_to_rgb(a: np.ndarray, name: str) -> np.ndarray:
    """Accept (H,W), (H,W,1|3|4), (1|3|4,H,W) arrays of uint8/uint16/bool/float."""
    a = np.asarray(a)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[-1] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        raise ImageError(f"{name}: expected an (H,W), (H,W,C) or (C,H,W) array, got shape {a.shape}")
    if a.dtype == bool:
        a = a.astype(np.float32)
    elif a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535.0
    elif np.issubdtype(a.dtype, np.integer):
        a = a.astype(np.float32) / (255.0 if a.max(initial=0) <= 255 else 65535.0)
    elif np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise ImageError(f"{name}: the array holds NaN or infinite values")
        if a.min(initial=0) < 0 or a.max(initial=0) > 1:
            raise ImageError(
                f"{name}: float values must lie in [0, 1] (got {a.min():.3g}..{a.max():.3g})"
            )
    else:
        raise ImageError(f"{name}: unsupported dtype {a.dtype}")
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.shape[-1] == 4:
        a = a[..., :3] * a[..., 3:] + (1.0 - a[..., 3:])
    return np.ascontiguousarray(a, dtype=np.float32)


def load_image(
    source,
    max_side: int | None = None,
    *,
    allow_huge: bool = False,
    min_side: int = 2,
) -> torch.Tensor:
    """Load any image as a float32 tensor (1, 3, H, W) in [0, 1].

    ``source`` is a path, bytes, a file object, a PIL image, a numpy array or a tensor.
    Handles grayscale, palette, RGBA/LA (composited on white), CMYK, 16-bit and EXIF orientation.
    ``max_side`` shrinks (never enlarges) with antialiasing so the longer side is at most that.
    Raises :class:`ImageError` naming the source and the reason for corrupt, truncated, non-image,
    huge (> 100 Mpx unless ``allow_huge``) and too-small (a side under ``min_side``) inputs.
    """
    name = _name(source)
    if isinstance(source, torch.Tensor):
        source = source.detach().cpu()
        if source.ndim == 4:
            if source.shape[0] != 1:
                raise ImageError(f"{name}: expected one image, got a batch of {source.shape[0]}")
            source = source[0]
        if source.ndim == 3:  # tensors are always (C, H, W)
            source = source.permute(1, 2, 0)
        arr = _array_to_rgb(source.float().numpy(), name)
    elif isinstance(source, np.ndarray):
        arr = _array_to_rgb(source, name)
    else:
        img = _open_pil(source, allow_huge)
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:  # a broken EXIF block should not lose the picture
            pass
        if img.mode == "CMYK":
            img = img.convert("RGB")
        arr = _pil_to_rgb_array(img)

    h, w = arr.shape[:2]
    if h == 0 or w == 0:
        raise ImageError(f"{name}: the image is empty ({w}x{h})")
    if min(h, w) < min_side:
        raise ImageError(f"{name}: {w}x{h} is too small (each side must be at least {min_side} px)")
    x = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()
    if max_side is not None and max(h, w) > max_side:
        x = resize(x, max_side)
    return x


def resize(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Resize (N,3,H,W): an int sets the longer side (aspect kept); a tuple is (H, W). Antialiased."""
    h, w = x.shape[-2:]
    if isinstance(size, int):
        s = size / max(h, w)
        size = (max(1, round(h * s)), max(1, round(w * s)))
    if tuple(size) == (h, w):
        return x
    down = size[0] < h or size[1] < w
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=down).clamp(0, 1)


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """(1,3,H,W) or (3,H,W) tensor -> uint8 (H, W, 3) array."""
    x = x.detach().float().cpu()
    if x.ndim == 4:
        x = x[0]
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return (x.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def from_numpy(a: np.ndarray) -> torch.Tensor:
    """uint8/float (H, W, 3) array -> (1, 3, H, W) tensor in [0, 1]."""
    return load_image(a)


def to_pil(x: torch.Tensor) -> Image.Image:
    return Image.fromarray(to_numpy(x))


def save_image(x: torch.Tensor, path, **kwargs) -> Path:
    """Save a (1,3,H,W) / (3,H,W) tensor in [0,1]; the format follows the suffix. Atomic."""
    from .assets import atomic_write

    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    return atomic_write(path, lambda tmp: to_pil(x).save(tmp, format=fmt, **kwargs))


def normalize(x: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """[0,1] image -> ImageNet-normalised input: (x - mean) / std, per channel."""
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


def denormalize(x: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """Inverse of :func:`normalize`."""
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return x * s + m


def grid(images, ncols: int | None = None, pad: int = 2, value: float = 1.0) -> torch.Tensor:
    """Tile a list/batch of images (each (1|N,3,H,W)) into one (1,3,H',W') image, resized to the first."""
    if isinstance(images, torch.Tensor):
        images = list(images.unbind(0)) if images.ndim == 4 else [images]
    ims = []
    for im in images:
        im = im if im.ndim == 4 else im.unsqueeze(0)
        ims.extend(im.unbind(0))
    if not ims:
        raise ValueError("grid() needs at least one image")
    h, w = ims[0].shape[-2:]
    ims = [resize(i.unsqueeze(0).float().cpu().expand(1, 3, -1, -1), (h, w))[0] for i in ims]
    n = len(ims)
    ncols = ncols or min(n, 8)
    nrows = math.ceil(n / ncols)
    out = torch.full((3, nrows * (h + pad) - pad, ncols * (w + pad) - pad), value)
    for k, im in enumerate(ims):
        r, c = divmod(k, ncols)
        out[:, r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = im
    return out.unsqueeze(0)


def show(*images, titles=None, ncols: int | None = None, size: float = 3.0, cmap=None, axes=None):
    """Show images side by side with matplotlib and return the figure.

    Accepts tensors (1|3 channels), arrays or PIL images; a (N,3,H,W) batch counts as N images.
    """
    import matplotlib.pyplot as plt

    flat = []
    for im in images:
        if isinstance(im, (list, tuple)):
            flat.extend(im)
        elif isinstance(im, torch.Tensor) and im.ndim == 4 and im.shape[0] > 1:
            flat.extend(im.unbind(0))
        else:
            flat.append(im)
    n = len(flat)
    titles = list(titles) if titles is not None else [None] * n
    if axes is None:
        ncols = ncols or min(n, 4)
        nrows = math.ceil(n / ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
        axes = list(axes.flat)
    else:
        axes = list(np.ravel(axes))
        fig = axes[0].figure
    for ax in axes:
        ax.axis("off")
    for ax, im, t in zip(axes, flat, titles):
        if isinstance(im, torch.Tensor):
            im = im.detach().float().cpu()
            im = im[0] if im.ndim == 4 else im
            if im.ndim == 3 and im.shape[0] == 1:
                ax.imshow(im[0].numpy(), cmap=cmap or "gray")
            elif im.ndim == 2:
                ax.imshow(im.numpy(), cmap=cmap or "gray")
            else:
                ax.imshow(to_numpy(im))
        else:
            ax.imshow(np.asarray(im), cmap=cmap)
        if t:
            ax.set_title(t, fontsize=9)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Sample images: scikit-image photos and procedurally drawn style images (all offline).
# ----------------------------------------------------------------------------------------------

PHOTO_SAMPLES = {
    "astronaut": "astronaut",
    "chelsea": "chelsea",
    "coffee": "coffee",
    "rocket": "rocket",
    "hubble": "hubble_deep_field",
    "brick": "brick",
    "grass": "grass",
    "gravel": "gravel",
    "camera": "camera",
    "coins": "coins",
    # colour photos from other packages' sample data (all inside their wheels)
    "motorcycle": ("skimage", "stereo_motorcycle"),  # the left view
    "china": ("sklearn", "china.jpg"),
    "flower": ("sklearn", "flower.jpg"),
    "grace_hopper": ("matplotlib", "grace_hopper.jpg"),
}
STYLE_SAMPLES = ("mosaic", "stripes", "dots", "swirl", "waves", "checks")


def list_samples(kind: str | None = None) -> list[str]:
    """Names accepted by :func:`sample_image`. ``kind`` is None, 'photo' or 'style'."""
    if kind == "photo":
        return list(PHOTO_SAMPLES)
    if kind == "style":
        return list(STYLE_SAMPLES)
    if kind is not None:
        raise ValueError(f"kind must be None, 'photo' or 'style', not {kind!r}")
    return list(PHOTO_SAMPLES) + list(STYLE_SAMPLES)


def sample_image(name: str, max_side: int | None = None) -> torch.Tensor:
    """A bundled image as (1,3,H,W) in [0,1]: a scikit-image photo or a procedural style image.

    Style images (mosaic, stripes, dots, swirl, waves, checks) are drawn deterministically at 512 px.
    """
    key = name.lower()
    if key in PHOTO_SAMPLES:
        x = _photo(key)
    elif key in STYLE_SAMPLES:
        x = _style(key)
    else:
        raise ValueError(f"unknown sample {name!r}; choose from {', '.join(list_samples())}")
    x = x.clone()
    return resize(x, max_side) if max_side is not None and max(x.shape[-2:]) > max_side else x


@cache
def _photo(key: str) -> torch.Tensor:
    src = PHOTO_SAMPLES[key]
    package, name = src if isinstance(src, tuple) else ("skimage", src)
    if package == "sklearn":
        from sklearn.datasets import load_sample_image

        return load_image(load_sample_image(name))
    if package == "matplotlib":
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data(name) as f:
            return load_image(np.asarray(Image.open(f).convert("RGB")))
    import skimage.data

    x = getattr(skimage.data, name)()
    return load_image(x[0] if isinstance(x, tuple) else x)


@cache
def _style(key: str, size: int = 512) -> torch.Tensor:
    rng = np.random.default_rng({"mosaic": 1, "stripes": 2, "dots": 3, "swirl": 4, "waves": 5, "checks": 6}[key])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if key == "mosaic":
        img = _voronoi_mosaic(rng, size)
    elif key == "stripes":
        pal = np.array([[0.93, 0.80, 0.20], [0.10, 0.25, 0.55], [0.85, 0.25, 0.15], [0.95, 0.95, 0.90]])
        t = (xx * 0.8 + yy * 0.6) * 14 + 0.6 * np.sin(yy * 12)
        img = pal[np.floor(t).astype(int) % len(pal)]
        img = img * (0.85 + 0.15 * (np.sin(t * np.pi * 2)[..., None] ** 2))
    elif key == "dots":
        img = _pointillist(rng, size)
    elif key == "swirl":
        cx, cy = 0.5, 0.5
        r = np.hypot(xx - cx, yy - cy)
        th = np.arctan2(yy - cy, xx - cx) + 9.0 * r
        v = 0.5 + 0.5 * np.sin(6 * th + 20 * r)
        c1, c2, c3 = np.array([0.05, 0.10, 0.35]), np.array([0.95, 0.75, 0.20]), np.array([0.30, 0.55, 0.85])
        img = v[..., None] * c2 + (1 - v[..., None]) * c1
        img = img * (1 - 0.5 * r[..., None]) + 0.25 * c3 * np.cos(3 * th)[..., None] ** 2
    elif key == "waves":
        v = np.sin(yy * 30 + 3 * np.sin(xx * 8)) * 0.5 + 0.5
        img = np.stack([0.1 + 0.2 * v, 0.3 + 0.4 * v, 0.6 + 0.4 * v], -1)
        foam = (v > 0.93).astype(np.float32)[..., None]
        img = img * (1 - foam) + foam
    else:  # checks
        k = 8
        cell = (np.floor(xx * k) + np.floor(yy * k)) % 2
        img = np.stack([0.9 * cell + 0.05, 0.2 + 0.5 * cell, 0.3 + 0.0 * cell], -1)
    img = np.clip(img, 0, 1).astype(np.float32)
    return torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).contiguous()


def _voronoi_mosaic(rng, size: int, n: int = 90) -> np.ndarray:
    """Stained-glass mosaic: Voronoi cells of saturated colours with dark borders."""
    pts = rng.random((n, 2)).astype(np.float32) * size
    cols = rng.choice(
        np.array([[0.80, 0.15, 0.10], [0.95, 0.70, 0.10], [0.10, 0.35, 0.70], [0.10, 0.55, 0.30],
                  [0.55, 0.20, 0.55], [0.95, 0.90, 0.75], [0.20, 0.65, 0.80]]),
        size=n,
    )
    cols = np.clip(cols + rng.normal(0, 0.05, cols.shape), 0, 1)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    d = (xx[..., None] - pts[:, 0]) ** 2 + (yy[..., None] - pts[:, 1]) ** 2
    part = np.partition(d, 1, axis=-1)
    nearest = np.argmin(d, axis=-1)
    border = (np.sqrt(part[..., 1]) - np.sqrt(part[..., 0])) < 3.0
    img = cols[nearest]
    img[border] = 0.08
    return img


def _pointillist(rng, size: int, n: int = 2500) -> np.ndarray:
    """Pointillist dots of a few complementary colours on a pale ground."""
    img = np.full((size, size, 3), 0.93, np.float32)
    pal = np.array([[0.95, 0.55, 0.10], [0.15, 0.35, 0.80], [0.20, 0.60, 0.25], [0.85, 0.20, 0.35],
                    [0.95, 0.85, 0.20]])
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(n):
        cx, cy = rng.integers(0, size, 2)
        r = rng.integers(3, 8)
        y0, y1, x0, x1 = max(cy - r, 0), min(cy + r + 1, size), max(cx - r, 0), min(cx + r + 1, size)
        m = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 <= r * r
        img[y0:y1, x0:x1][m] = pal[rng.integers(len(pal))]
    return img
