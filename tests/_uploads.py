"""What an ``ipywidgets.FileUpload`` hands a widget, for the widget and app tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def random_png(h: int = 48, w: int = 64, seed: int = 0) -> bytes:
    """A PNG of random RGB noise."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def upload_entry(data: bytes, name: str = "photo.png", size: int | None = None) -> dict:
    """One ``FileUpload`` value entry as ipywidgets 8 gives it."""
    return {"name": name, "type": "image/png", "size": len(data) if size is None else size,
            "content": memoryview(data), "last_modified": 0}
