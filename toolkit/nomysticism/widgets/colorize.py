"""Levin et al. 2004 / Zhang et al. 2017: the hint editor. Click the grey photo, pick a colour, watch it spread.

Holds no algorithm: every change of the hints (or of the method) calls
:func:`nomysticism.colorize.from_hints` in a background thread (:class:`~.base.Runner`), so the
kernel never freezes; clicks that arrive during a solve are merged, and only the newest hints are
solved next. The pieces:

- :func:`draw_hints`: an image with each hint drawn as a dot of its colour (black and white rings);
- :func:`parse_color`: ``"#e03c28"``, ``"red"`` or ``(r, g, b)`` in [0, 1] → an RGB triple;
- :class:`HintEditor`: the widget (photo picker or upload, method, colour picker and swatches,
  undo, clear, save / load as JSON, the list of hints).
"""

from __future__ import annotations

import html
import threading
import time
from collections import OrderedDict
from pathlib import Path

import ipywidgets as W
import torch

from .. import colorize as C
from ..images import PHOTO_SAMPLES, load_image, resize, sample_image
from .base import ImageView, LatestWins, Runner, mark

__all__ = ["HintEditor", "draw_hints", "parse_color", "SWATCHES"]

#: the swatch buttons under the colour picker: name -> hex
SWATCHES = {"red": "#d7301f", "orange": "#f08c28", "yellow": "#f2d22e", "green": "#3c9a3c",
            "sky": "#5aa0dc", "blue": "#2846b4", "purple": "#8c3cb4", "skin": "#e8b496",
            "brown": "#8c5a32", "grey": "#808080"}
_UPLOAD = "(uploaded)"
_GIVEN = "(given image)"
_CACHE = 32  # solved results kept, so that undo is instant


def parse_color(color) -> tuple[float, float, float]:
    """A colour as an RGB triple in [0, 1]: ``"#rrggbb"``, a CSS name (``"red"``) or three floats."""
    if isinstance(color, str):
        from PIL import ImageColor

        try:
            r, g, b = ImageColor.getrgb(color)[:3]
        except ValueError:
            raise C.HintError(f"not a colour: {color!r} (use #rrggbb or a name such as 'red')") from None
        return (r / 255, g / 255, b / 255)
    return C.check_hints([(0, 0, color)])[0].rgb


def draw_hints(image: torch.Tensor, hints, radius: float = 3.0) -> torch.Tensor:
    """``image`` (1,3,H,W) with each hint as a dot of its colour in a white and a black ring.

    The markers are for display only; what a colouriser reads is :func:`~nomysticism.colorize.hint_maps`.
    """
    out = image.detach().float().clone().expand(1, 3, *image.shape[-2:]).clone()
    H, W = out.shape[-2:]
    hints = C.check_hints(hints, (H, W))
    r = int(radius) + 2
    for h in hints:
        y0, y1, x0, x1 = max(0, h.y - r), min(H, h.y + r + 1), max(0, h.x - r), min(W, h.x + r + 1)
        yy, xx = torch.meshgrid(torch.arange(y0, y1), torch.arange(x0, x1), indexing="ij")
        d = ((yy - h.y) ** 2 + (xx - h.x) ** 2).float().sqrt()
        patch = out[0, :, y0:y1, x0:x1]
        patch[:, d <= radius + 2] = 0.0                                       # black ring
        patch[:, d <= radius + 1] = 1.0                                       # white ring
        patch[:, d <= radius] = torch.tensor(h.rgb, dtype=out.dtype)[:, None]  # the colour
    return out


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb)


def _methods() -> list[str]:
    known = [m for m in ("levin", "nearest", "network") if m in C.METHODS]
    return known + sorted(m for m in C.METHODS if m not in known)


class HintEditor(LatestWins):
    """Levin et al. 2004 (or Zhang et al. 2017's network): colour a grey photo from the points you click.

    - click the grey photo (left, ``nm-primary``) to put the picked colour there; the result (right,
      ``nm-output``) is recomputed in a thread with :func:`~nomysticism.colorize.from_hints`;
    - colour picker and swatches; method ``levin`` / ``nearest`` (/ ``network`` when registered);
    - undo, clear, save / load the hints as JSON at the path in the text box, the list of hints;
    - a photo picker (the bundled photos, or upload your own).

    ``HintEditor(image="astronaut", size=256, method="levin", hints=None, path="hints.json")``;
    ``image`` is a sample name or a (1,3,H,W) tensor, shrunk so its longer side is ``size``.
    From code: :meth:`click` (what a click does), :meth:`add_hint`, :meth:`undo`, :meth:`clear`,
    :meth:`save`, :meth:`load`, :meth:`wait`; :attr:`hints` and :attr:`result` (the last output).
    """

    def __init__(self, image="astronaut", size: int = 256, method: str = "levin", hints=None,
                 path: str = "hints.json", color: str = SWATCHES["red"]):
        self.size = int(size)
        self.result: torch.Tensor | None = None
        self.seconds: list[float] = []            # the time of every solve, for benchmarks
        self._hints: list[C.Hint] = []
        self._undo: list[list[C.Hint]] = []
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._busy = self._pending = False
        self._version = 0                          # bumped when the photo changes
        self._uploads: dict[str, torch.Tensor] = {}

        given = isinstance(image, torch.Tensor)
        if given:
            self._uploads[_GIVEN] = image
        photos = list(PHOTO_SAMPLES) + ([_GIVEN] if given else []) + [_UPLOAD]
        self.photo = W.Dropdown(options=photos, value=_GIVEN if given else image, description="photo",
                                layout=W.Layout(width="220px"))
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="your photo")
        methods = _methods()
        if method not in methods:
            raise ValueError(f"unknown colourisation method {method!r}; available: {', '.join(methods)}")
        self.method = W.Dropdown(options=methods, value=method, description="method",
                                 layout=W.Layout(width="220px"))
        self.color = W.ColorPicker(value=color, description="colour", concise=False,
                                   layout=W.Layout(width="220px"))
        self.swatches = [self._swatch(name, hx) for name, hx in SWATCHES.items()]
        self.undo_button = W.Button(description="undo", icon="undo", layout=W.Layout(width="90px"))
        self.clear_button = W.Button(description="clear", icon="trash", layout=W.Layout(width="90px"))
        self.path = W.Text(value=str(path), description="hints file", layout=W.Layout(width="330px"))
        self.save_button = W.Button(description="save", icon="save", layout=W.Layout(width="80px"))
        self.load_button = W.Button(description="load", icon="folder-open", layout=W.Layout(width="80px"))
        self.message = W.HTML()
        self.info = W.HTML()
        self.hint_list = W.HTML(layout=W.Layout(max_height="180px", overflow="auto", width="330px"))

        self.view = mark(ImageView(width=self.size), "nm-primary")     # the grey photo you click
        self.output = mark(ImageView(width=self.size), "nm-output")    # the coloured result
        self.events = self._events(self.view)
        self.runner = Runner(self._job, description="click the grey photo to add a hint")

        self.undo_button.on_click(lambda _: self.undo())
        self.clear_button.on_click(lambda _: self.clear())
        self.save_button.on_click(lambda _: self.save())
        self.load_button.on_click(lambda _: self.load())
        self.method.observe(lambda _: self._changed(), names="value")
        self.photo.observe(lambda _: self._set_photo(), names="value")
        self.upload.observe(self._on_upload, names="value")

        controls = W.VBox([
            self.photo, self.upload, self.method, self.color,
            W.HBox(self.swatches, layout=W.Layout(flex_flow="row wrap", width="330px")),
            W.HBox([self.undo_button, self.clear_button]),
            W.HBox([self.path]), W.HBox([self.save_button, self.load_button]),
            self.message, W.HTML("<b>hints</b> (y, x: colour)"), self.hint_list,
        ])
        pictures = W.VBox([
            W.HBox([W.VBox([W.HTML("<b>click</b> to add a hint"), self.view], layout=W.Layout(margin="0 14px 0 0")),
                    W.VBox([W.HTML("<b>colourised</b>"), self.output], layout=W.Layout(margin="0 14px 0 0"))]),
            W.HBox([self.runner.progress, self.runner.status]), self.info,
        ])
        self.box = mark(W.HBox([pictures, controls]), "nm-widget")
        self._set_photo()
        if hints:
            self._hints = C.check_hints(hints, self.shape)
            self._redraw()
            self._changed()

    # -- set-up ---------------------------------------------------------------------------------
    def _swatch(self, name: str, hx: str) -> W.Button:
        b = W.Button(description="", tooltip=name, layout=W.Layout(width="28px", height="24px"),
                     style=W.ButtonStyle(button_color=hx))
        b.on_click(lambda _: setattr(self.color, "value", hx))
        return b

    def _events(self, view: W.Image):
        """ipyevents on the photo: a click arrives as a dict with ``dataX``, ``dataY`` in image pixels."""
        try:
            from ipyevents import Event
        except ImportError:  # no clicks without it; the programmatic API still works
            self.message.value = ("<span style='color:#b00'>ipyevents is not installed, so clicks are "
                                  "not seen: pip install ipyevents (or nomysticism[lab])</span>")
            return None
        ev = Event(source=view, watched_events=["click"])
        ev.on_dom_event(self._on_event)
        return ev

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the working image, the coordinates hints use."""
        return tuple(self.image.shape[-2:])

    @property
    def hints(self) -> list[C.Hint]:
        """The current hints, oldest first."""
        return list(self._hints)

    def _set_photo(self) -> None:
        name = self.photo.value
        if name in self._uploads:
            img = self._uploads[name]
        elif name == _UPLOAD:
            self._say("upload a photo with the button below the menu", error=False)
            return
        else:
            img = sample_image(name)
        img = img.detach().float().cpu()
        img = img.unsqueeze(0) if img.ndim == 3 else img
        if img.shape[1] == 1:
            img = img.expand(1, 3, *img.shape[-2:])
        if max(img.shape[-2:]) > self.size:
            img = resize(img, self.size)
        with self._lock:
            self._version += 1
            self.image = img
            self._hints, self._undo = [], []
            self._cache.clear()
        self.grey = C.from_hints(img, [])                     # L only: what every method sees
        self.result = self.grey
        self.output.show(self.grey)
        self._redraw()
        self.info.value = f"{img.shape[-1]}×{img.shape[-2]} px"

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        try:
            self._uploads[_UPLOAD] = load_image(bytes(f["content"]), max_side=4 * self.size)
        except Exception as e:  # a bad file: say so, keep the widget alive
            self._say(str(e))
            return
        self._say("")
        if self.photo.value == _UPLOAD:
            self._set_photo()
        else:
            self.photo.value = _UPLOAD

    # -- what a reader does ---------------------------------------------------------------------
    def _on_event(self, event: dict) -> None:
        if event.get("type", "click") != "click":
            return
        if "dataX" not in event or "dataY" not in event:
            self._say(f"a click without dataX/dataY (is ipyevents >= 2 installed?): {sorted(event)}")
            return
        try:
            H, W_ = self.shape
            x = min(max(int(event["dataX"]), 0), W_ - 1)  # a click on the border is on the image
            y = min(max(int(event["dataY"]), 0), H - 1)
            self.click(y, x)
        except Exception as e:  # never let an event handler raise in the kernel
            self._say(f"{type(e).__name__}: {e}")

    def click(self, y: int, x: int) -> C.Hint:
        """What a click at pixel (y, x) does: a hint there with the picker's colour."""
        return self.add_hint(y, x, self.color.value)

    def add_hint(self, y: int, x: int, rgb=None) -> C.Hint:
        """Add a hint at (y, x) of colour ``rgb`` (three floats in [0, 1], ``"#rrggbb"`` or a name;
        default: the picker's) and recolour. Raises :class:`~nomysticism.colorize.HintError`."""
        rgb = parse_color(self.color.value if rgb is None else rgb)
        h = C.check_hints([(y, x, rgb)], self.shape)[0]
        self._edit(self._hints + [h])
        self._say("")
        return h

    def undo(self) -> None:
        """Go back to the hints before the last change (a click, clear or load)."""
        if not self._undo:
            self._say("nothing to undo", error=False)
            return
        with self._lock:
            self._hints = self._undo.pop()
        self._say("")
        self._after_edit()

    def clear(self) -> None:
        """Remove every hint (undo brings them back)."""
        self._edit([])

    def save(self, path=None) -> Path | None:
        """Write the hints to ``path`` (default: the text box) as JSON; a failure is shown, not raised."""
        path = Path(path or self.path.value).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            out = C.save_hints(self._hints, path, self.shape)
        except (C.HintError, OSError) as e:
            self._say(f"could not save: {e}")
            return None
        self._say(f"saved {len(self._hints)} hints to {path}", error=False)
        return out

    def load(self, path=None) -> bool:
        """Replace the hints with those in ``path`` (default: the text box); a bad file is shown, not raised."""
        path = Path(path or self.path.value).expanduser()
        try:
            hints = C.load_hints(path, self.shape)
        except C.HintError as e:
            self._say(f"could not load: {e}")
            return False
        except OSError as e:
            self._say(f"could not load {path}: {e.strerror or e}")
            return False
        self._edit(hints)
        self._say(f"loaded {len(hints)} hints from {path}", error=False)
        return True

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until the output shows the current hints (tests and notebooks use this)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            with self._lock:
                busy = self._busy
            if not busy:
                return self.runner.join(max(0.0, timeout - (time.monotonic() - t0)))
            self.runner.join(0.05)
        return False

    # -- recolouring ------------------------------------------------------------------------------
    def _edit(self, hints: list[C.Hint]) -> None:
        with self._lock:
            self._undo.append(self._hints)
            self._hints = list(hints)
        self._after_edit()

    def _after_edit(self) -> None:
        self._redraw()
        self._changed()

    def _redraw(self) -> None:
        self.view.show(draw_hints(self.grey, self._hints))
        rows = [f"<div><span style='display:inline-block;width:12px;height:12px;background:{_hex(h.rgb)};"
                f"border:1px solid #333;vertical-align:middle'></span> {i + 1}. ({h.y}, {h.x}): "
                f"{_hex(h.rgb)}</div>" for i, h in enumerate(self._hints)]
        self.hint_list.value = ("".join(reversed(rows)) if rows else
                                "<i>none yet: click the grey photo</i>")

    def _job(self, stop, report):
        try:
            while True:
                with self._lock:
                    self._pending = False
                    hints, method = tuple(self._hints), self.method.value
                    image, version = self.image, self._version
                key = (version, method, hints)
                report(0.2, f"{method}: {len(hints)} hints…")
                t = time.perf_counter()
                out = self._cache.get(key)
                if out is None:
                    out = C.from_hints(image, list(hints), method=method)
                    self._cache[key] = out
                    while len(self._cache) > _CACHE:
                        self._cache.popitem(last=False)
                    self.seconds.append(time.perf_counter() - t)
                took = time.perf_counter() - t
                with self._lock:
                    current = version == self._version
                if current:
                    self.result = out
                    self.output.show(out)
                    self.info.value = (f"{len(hints)} hints · {html.escape(method)} · {took:.2f} s · "
                                       f"{image.shape[-1]}×{image.shape[-2]} px")
                report(1.0, "done")
                with self._lock:
                    if not self._pending or stop.is_set():
                        self._busy = False
                        return out
        except BaseException:
            with self._lock:
                self._busy = self._pending = False
            raise

    def _say(self, text: str, error: bool = True) -> None:
        style = "color:#b00" if error else "color:#333"
        self.message.value = f"<span style='{style}'>{html.escape(text)}</span>" if text else ""

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)
