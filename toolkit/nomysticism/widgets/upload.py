"""Photo uploads for the apps (``apps/*.ipynb``, served with Voilà): check first, then hand the image on.

A reader's file can be anything: a 200 MB video, a PDF, a truncated JPEG, a 30,000-px panorama. An
:class:`ImageUpload` reads ``ipywidgets.FileUpload``'s bytes, refuses what is not a usable image with a
clear message in the app (never an exception in the kernel), and calls ``on_image(tensor)`` otherwise:

- over :data:`MAX_BYTES` (8 MB: a 24-Mpx phone JPEG is 5–10 MB; the apps shrink photos to ≤ 1024 px
  anyway, and the bytes travel over the notebook's websocket) → "... is 23.4 MB; the limit is 8 MB";
- not an image by its first bytes (PNG, JPEG, GIF, BMP, WebP, TIFF signatures) → "... is not an image";
- an image that does not decode (truncated, corrupt) or is huge in pixels → the
  :class:`~nomysticism.images.ImageError` message from :func:`~nomysticism.images.load_image`.

:func:`attach` wires one into a widget (:class:`StyleTransferWidget`, :class:`DeepDreamWidget`,
:class:`HintEditor`) in place of its own upload button; :class:`UploadFastStylizer` is the
:class:`FastStylizer` with a "your photo" entry.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

import ipywidgets as W
import torch

from ..images import ImageError, load_image, resize
from .base import mark
from .fast_style import FastStylizer

__all__ = ["MAX_BYTES", "UploadError", "read_upload", "ImageUpload", "attach", "UploadFastStylizer"]

MAX_BYTES = 8 * 1024 * 1024
MAX_SIDE = 1024  # uploads are shrunk to this longer side before any widget sees them

# first bytes of the formats Pillow reads that a reader is likely to have
_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF87a": "GIF", b"GIF89a": "GIF",
    b"BM": "BMP", b"II*\x00": "TIFF", b"MM\x00*": "TIFF",
}


class UploadError(ValueError):
    """An uploaded file that is too large, not an image, or does not decode; the message says which."""


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _kind(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((k for sig, k in _SIGNATURES.items() if data.startswith(sig)), None)


def _files(value) -> list[dict]:
    """ipywidgets 8 gives a tuple of dicts; ipywidgets 7 a dict name -> dict."""
    if not value:
        return []
    if isinstance(value, dict):
        return [dict(v, name=v.get("metadata", {}).get("name", k)) for k, v in value.items()]
    return [dict(v) for v in value]


def read_upload(file: dict, max_bytes: int = MAX_BYTES, max_side: int | None = MAX_SIDE) -> torch.Tensor:
    """One ``FileUpload`` entry (``{"name", "size", "content", ...}``) as a (1,3,H,W) image in [0,1].

    Raises :class:`UploadError` saying what is wrong: too large (over ``max_bytes``), not an image
    (by its signature bytes), or not decodable (corrupt, truncated, over 100 Mpx).
    """
    name = str(file.get("name") or "the file")
    content = file.get("content", b"")
    size = int(file.get("size") or len(content))
    if size > max_bytes:
        raise UploadError(f"{name} is {_mb(size)}; the limit is {_mb(max_bytes)}. "
                          f"Please upload a smaller photo (a JPEG or PNG of a few MB).")
    data = bytes(content)  # memoryview in ipywidgets 8
    if not data:
        raise UploadError(f"{name} is empty")
    if len(data) > max_bytes:
        raise UploadError(f"{name} is {_mb(len(data))}; the limit is {_mb(max_bytes)}")
    if _kind(data) is None:
        raise UploadError(f"{name} is not an image (JPEG, PNG, GIF, BMP, WebP or TIFF); "
                          f"please upload a photo")
    try:
        return load_image(data, max_side=max_side)
    except ImageError as e:
        raise UploadError(f"{name} could not be read as an image: {e}") from None
    except Exception as e:  # a decoder bug must not reach the kernel either
        raise UploadError(f"{name} could not be read as an image ({type(e).__name__}: {e})") from None


class ImageUpload:
    """An upload button and a message line; valid images go to ``on_image(tensor)``.

    ``ImageUpload(on_image, description="your photo", max_bytes=MAX_BYTES)``; ``box`` is the widget
    to show, ``message`` the HTML line (red for a refused file), ``last`` the last accepted image.
    Every failure, including one inside ``on_image``, becomes a message: an upload never raises.
    """

    def __init__(self, on_image: Callable[[torch.Tensor], None], description: str = "your photo",
                 max_bytes: int = MAX_BYTES, max_side: int | None = MAX_SIDE):
        self.on_image, self.max_bytes, self.max_side = on_image, max_bytes, max_side
        self.last: torch.Tensor | None = None
        self.button = mark(W.FileUpload(accept="image/*", multiple=False, description=description), "nm-upload")
        self.message = mark(W.HTML(), "nm-upload-message")
        self.button.observe(lambda ch: self.receive(ch["new"]), names="value")
        hint = W.HTML(f"<span style='color:#666;font-size:12px'>JPEG or PNG, up to "
                      f"{_mb(max_bytes)}</span>")
        self.box = W.HBox([self.button, hint, self.message])

    def receive(self, value) -> bool:
        """Check the file(s) in a ``FileUpload`` value and pass the image on; True when accepted."""
        files = _files(value)
        if not files:
            return False
        try:
            img = read_upload(files[0], self.max_bytes, self.max_side)
            t = time.perf_counter()
            self.on_image(img)
        except Exception as e:  # noqa: BLE001: a reader's file must never crash the kernel
            self.say(str(e), error=True)
            return False
        self.last = img
        h, w = img.shape[-2:]
        self.say(f"{html.escape(str(files[0].get('name', 'photo')))}: {w}×{h} px "
                 f"({1000 * (time.perf_counter() - t):.0f} ms)", error=False)
        return True

    def say(self, text: str, error: bool = True) -> None:
        color = "#b00" if error else "#060"
        self.message.value = f"<span style='color:{color}'>{html.escape(text) if error else text}</span>"

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


# -------------------------------------------------------------------------------------------------
# wiring into the widgets (they keep their own upload buttons for notebooks; the apps use these)
# -------------------------------------------------------------------------------------------------


def _hide(widget: W.Widget) -> None:
    widget.layout.display = "none"


def _style(widget, which: str) -> Callable:
    from .style import _UPLOAD

    def feed(img):
        widget._uploads[which] = img
        picker = widget.content_picker if which == "content" else widget.style_picker
        if picker.value == _UPLOAD:
            widget._show_inputs()
        else:
            picker.value = _UPLOAD
        if which == "content":
            widget.output.show(img)
    return feed


def _hints(widget) -> Callable:
    from .colorize import _UPLOAD

    def feed(img):
        widget._uploads[_UPLOAD] = img
        if widget.photo.value == _UPLOAD:
            widget._set_photo()
        else:
            widget.photo.value = _UPLOAD
    return feed


def _dream(widget, size: int) -> Callable:
    def feed(img):
        widget.image = resize(img, size)
        widget.view.show(widget.image)
    return feed


def attach(widget, size: int | None = None, max_bytes: int = MAX_BYTES) -> W.Widget:
    """Checked uploads for ``widget``; returns a box to show under it (its own buttons are hidden).

    StyleTransferWidget: two uploads (content photo, style image); HintEditor: one photo;
    DeepDreamWidget: one photo, shrunk to ``size`` (default: the widget's image size).
    """
    from .attribution import DeepDreamWidget
    from .colorize import HintEditor
    from .style import StyleTransferWidget

    if isinstance(widget, StyleTransferWidget):
        _hide(widget.content_upload)
        _hide(widget.style_upload)
        ups = [ImageUpload(_style(widget, "content"), "your photo", max_bytes),
               ImageUpload(_style(widget, "style"), "your painting", max_bytes)]
    elif isinstance(widget, HintEditor):
        _hide(widget.upload)
        ups = [ImageUpload(_hints(widget), "your photo", max_bytes)]
    elif isinstance(widget, DeepDreamWidget):
        ups = [ImageUpload(_dream(widget, size or max(widget.image.shape[-2:])), "your photo", max_bytes)]
    else:
        raise TypeError(f"attach: no upload wiring for {type(widget).__name__}")
    widget.uploads = ups
    return W.VBox([u.box for u in ups])


class UploadFastStylizer(FastStylizer):
    """:class:`FastStylizer` whose photo menu has a "(your photo)" entry fed by a checked upload.

    ``upload`` is the :class:`ImageUpload`; show ``box`` (it contains the upload row).
    """

    YOURS = "(your photo)"

    def __init__(self, *args, max_bytes: int = MAX_BYTES, **kw):
        self._yours: torch.Tensor | None = None
        super().__init__(*args, **kw)
        self.upload = ImageUpload(self._feed, "your photo", max_bytes)
        self.box.children = (*self.box.children, self.upload.box)

    def _feed(self, img: torch.Tensor) -> None:
        self._yours = img
        if self.YOURS not in self.image_picker.options:
            self.image_picker.options = (*self.image_picker.options, self.YOURS)
        if self.image_picker.value == self.YOURS:
            self.update()
        else:
            self.image_picker.value = self.YOURS

    def content_image(self):
        if getattr(self, "_yours", None) is None or self.image_picker.value != self.YOURS:
            return super().content_image()
        img = self._yours
        if max(img.shape[-2:]) > self.size_slider.value:  # shrink, never enlarge (as sample_image)
            img = resize(img, self.size_slider.value)
        return img
