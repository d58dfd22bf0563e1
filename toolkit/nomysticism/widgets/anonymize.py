"""DeepAnon (the seed's hackathon system): the anonymiser widget. Pick what to hide, see the photo change.

Holds no algorithm: it calls :func:`nomysticism.anonymize.detect_faces` once per photo and
:func:`nomysticism.anonymize.anonymize` (with those detections) on every change, in a background
thread (:class:`~.base.Runner`); changes made while one runs are merged, and only the newest
settings are computed next. The pieces:

- a photo menu: astronaut, the face grid (``nm.data.face_grid``), or your upload (checked by
  :class:`~.upload.ImageUpload`: size cap, images only, a message instead of an exception);
- a level selector (``nm-primary``) from :data:`nomysticism.anonymize.LEVELS`, which sets the
  check boxes; check boxes for faces, background and clothes, the face method, a colour seed;
- the photo with the detector's boxes and landmarks, and the anonymised result (``nm-output``).
"""

from __future__ import annotations

import html
import threading
import time
import warnings

import ipywidgets as W
import torch

from .. import anonymize as A
from ..images import resize, sample_image
from .base import ImageView, LatestWins, Runner, mark
from .upload import MAX_BYTES, ImageUpload

__all__ = ["Anonymizer", "FACE_METHODS"]

#: the face methods the dropdown offers, in this order (``faces=`` of :func:`~nomysticism.anonymize.anonymize`)
FACE_METHODS = ("replace", "blur", "pixelate")
CUSTOM = "(custom)"
ASTRONAUT, GRID, GIVEN, YOURS = "astronaut", "face grid", "(given image)", "(your photo)"
_CACHE = 16  # results kept per photo, so that going back to a setting is instant


def _settings_of(kwargs: dict) -> tuple[bool, str | None, bool, bool]:
    """A LEVELS entry as (faces on, face method, background on, clothes on)."""
    faces = kwargs.get("faces", "none")
    return (faces != "none", faces if faces != "none" else None,
            kwargs.get("background", "none") != "none", kwargs.get("clothes", "none") != "none")


class Anonymizer(LatestWins):
    """DeepAnon's choice of levels: replace / blur / pixelate faces, cartoonise the background, recolour clothes.

    ``Anonymizer(image="astronaut", size=384, level=None, seed=0)``; ``image`` is ``"astronaut"``,
    ``"face grid"`` or a (1,3,H,W) tensor, shrunk so its longer side is ``size``. The level menu
    (``nm-primary``) sets the check boxes; touching a check box by hand makes the level "(custom)".
    From code: set the widgets' values, then :meth:`wait`; :attr:`result` is the last output,
    :attr:`image` the working photo, :attr:`faces` its detections, :attr:`settings` the
    ``anonymize`` keyword arguments now chosen.
    """

    def __init__(self, image="astronaut", size: int = 384, level: str | None = None, seed: int = 0,
                 max_bytes: int = MAX_BYTES):
        self.size = int(size)
        self.result: torch.Tensor | None = None
        self.image: torch.Tensor | None = None
        self.faces = None
        self.seconds: list[float] = []            # the time of every anonymisation, for benchmarks
        self._lock = threading.Lock()
        self._busy = self._pending = False
        self._syncing = False
        self._version = 0                          # bumped when the photo changes
        self._cache: dict = {}
        self._images: dict[str, torch.Tensor] = {}
        self._prepared: dict[str, tuple] = {}      # photo name -> (image, faces, detection s)

        given = isinstance(image, torch.Tensor)
        if given:
            self._images[GIVEN] = image
        elif image not in (ASTRONAUT, GRID):
            raise ValueError(f"image must be {ASTRONAUT!r}, {GRID!r} or a (1,3,H,W) tensor, not {image!r}")
        self.photo = W.Dropdown(options=[ASTRONAUT, GRID] + ([GIVEN] if given else []),
                                value=GIVEN if given else image, description="photo",
                                layout=W.Layout(width="240px"))
        self.upload = ImageUpload(self._feed, "your photo", max_bytes)
        levels = list(A.LEVELS)
        if level is not None and level not in A.LEVELS:
            raise ValueError(f"unknown level {level!r}; the levels are {', '.join(levels)}")
        default = next((n for n, kw in A.LEVELS.items() if _settings_of(kw) == (True, "replace", False, False)),
                       levels[-1])
        self.level = mark(W.Dropdown(options=levels + [CUSTOM], value=level or default,
                                     description="level", layout=W.Layout(width="240px")), "nm-primary")
        self.faces_box = W.Checkbox(value=True, description="faces", indent=False)
        self.method = W.Dropdown(options=list(FACE_METHODS), value="replace", description="method",
                                 layout=W.Layout(width="240px"))
        self.background_box = W.Checkbox(value=False, description="background (cartoon)", indent=False)
        self.clothes_box = W.Checkbox(value=False, description="clothes (hue shift)", indent=False)
        self.seed = W.IntText(value=int(seed), description="colour seed", layout=W.Layout(width="240px"))
        self.show_boxes = W.Checkbox(value=True, description="draw the detections", indent=False)
        self.message = W.HTML()
        self.info = W.HTML()
        self.view = ImageView(width=320)                         # the photo, detections drawn
        self.output = mark(ImageView(width=320), "nm-output")    # the anonymised photo
        self.runner = Runner(self._job, description="")

        self._apply_level()
        self.level.observe(lambda _: self._on_level(), names="value")
        for w in (self.faces_box, self.method, self.background_box, self.clothes_box):
            w.observe(lambda _: self._on_setting(), names="value")
        self.seed.observe(lambda _: self._changed(), names="value")
        self.photo.observe(lambda _: self._set_photo(), names="value")
        self.show_boxes.observe(lambda _: self._redraw(), names="value")

        controls = W.VBox([self.photo, self.upload.box, self.level, self.faces_box, self.method,
                           self.background_box, self.clothes_box, self.seed, self.show_boxes,
                           self.message], layout=W.Layout(width="340px"))
        pictures = W.VBox([
            W.HBox([W.VBox([W.HTML("<b>photo</b> and detected faces"), self.view],
                           layout=W.Layout(margin="0 14px 0 0")),
                    W.VBox([W.HTML("<b>anonymised</b>"), self.output])]),
            W.HBox([self.runner.stop_button, self.runner.progress, self.runner.status]), self.info,
        ])
        self.box = mark(W.HBox([pictures, controls]), "nm-widget")
        self._set_photo()

    # -- the settings -------------------------------------------------------------------------------
    @property
    def settings(self) -> dict:
        """The keyword arguments of :func:`~nomysticism.anonymize.anonymize` the controls now choose."""
        return {"faces": self.method.value if self.faces_box.value else "none",
                "background": "cartoon" if self.background_box.value else "none",
                "clothes": "hue" if self.clothes_box.value else "none",
                "seed": int(self.seed.value)}

    def _apply_level(self) -> None:
        """Set the check boxes (and the face method) from the chosen level."""
        if self.level.value == CUSTOM:
            return
        faces, method, background, clothes = _settings_of(A.LEVELS[self.level.value])
        self._syncing = True
        try:
            self.faces_box.value = faces
            if method is not None:
                self.method.value = method
            self.background_box.value = background
            self.clothes_box.value = clothes
        finally:
            self._syncing = False
        self.method.disabled = not self.faces_box.value

    def _matching_level(self) -> str:
        s = self.settings
        mine = (s["faces"], s["background"], s["clothes"])
        for name, kw in A.LEVELS.items():
            if (kw.get("faces", "none"), kw.get("background", "none"), kw.get("clothes", "none")) == mine:
                return name
        return CUSTOM

    def _on_level(self) -> None:
        if self._syncing:
            return
        self._apply_level()
        self._changed()

    def _on_setting(self) -> None:
        if self._syncing:
            return
        self.method.disabled = not self.faces_box.value
        self._syncing = True
        try:
            self.level.value = self._matching_level()
        finally:
            self._syncing = False
        self._changed()

    # -- the photo ----------------------------------------------------------------------------------
    def _load(self, name: str) -> torch.Tensor:
        if name in self._images:
            return self._images[name]
        if name == ASTRONAUT:
            return sample_image("astronaut")
        from ..data import face_grid

        img, _ = face_grid(n=16, size=112, cols=4, seed=0)
        return img

    def _prepare(self, img: torch.Tensor):
        """The working copy of a photo (RGB, longer side at most ``size``) and its detections.

        Raises (a clear error from the toolkit) for what cannot be anonymised; nothing changes then.
        """
        img = img.detach().float().cpu()
        img = img.unsqueeze(0) if img.ndim == 3 else img
        if img.ndim != 4 or img.shape[0] != 1 or img.shape[1] not in (1, 3, 4):
            raise ValueError(f"expected a (1,3,H,W) image, got shape {tuple(img.shape)}")
        if img.shape[1] == 1:
            img = img.expand(1, 3, *img.shape[-2:])
        img = img[:, :3].contiguous()
        if max(img.shape[-2:]) > self.size:
            img = resize(img, self.size)
        t = time.perf_counter()
        faces = A.detect_faces(img)
        return img, faces, time.perf_counter() - t

    def _set_photo(self, prepared=None) -> None:
        name = self.photo.value
        if prepared is None:
            prepared = self._prepared.get(name)
        if prepared is None:
            prepared = self._prepare(self._load(name))
        self._prepared[name] = prepared
        img, faces, took = prepared
        with self._lock:
            self._version += 1
            self.image, self.faces = img, faces
            self._cache.clear()
        self._redraw()
        h, w = img.shape[-2:]
        n = len(faces)
        note = html.escape(getattr(faces, "note", "") or "no faces found")
        self.info.value = (f"{w}×{h} px · {n} face{'s' if n != 1 else ''} found in {took:.2f} s"
                           + (f" · <b>{note}</b>: only background and clothes can change" if n == 0 else ""))
        self._changed()

    def _feed(self, img: torch.Tensor) -> None:
        """An accepted upload (ImageUpload has checked the file): make it the photo.

        Detection runs first, so a photo the toolkit refuses raises here (ImageUpload shows the
        message) and leaves the widget as it was.
        """
        prepared = self._prepare(img)
        self._prepared[YOURS] = prepared
        if YOURS not in self.photo.options:
            self.photo.options = (*self.photo.options, YOURS)
        if self.photo.value == YOURS:
            self._set_photo(prepared)
        else:
            self.photo.value = YOURS

    def _redraw(self) -> None:
        if self.image is None:
            return
        shown = self.faces.draw(self.image) if (self.show_boxes.value and len(self.faces)) else self.image
        self.view.show(shown)

    # -- anonymising ----------------------------------------------------------------------------------
    def _job(self, stop, report):
        try:
            while True:
                with self._lock:
                    self._pending = False
                    settings, image, faces, version = self.settings, self.image, self.faces, self._version
                key = (version, tuple(sorted(settings.items())))
                parts = [k for k in ("faces", "background", "clothes") if settings[k] != "none"]
                report(0.2, f"{', '.join(parts) or 'nothing'}…")
                t = time.perf_counter()
                out = self._cache.get(key)
                if out is None and not stop.is_set():
                    with warnings.catch_warnings():  # no face: the info line already says so
                        warnings.simplefilter("ignore", A.NoFacesWarning)
                        out = A.anonymize(image, detections=faces, **settings)
                    self._cache[key] = out
                    while len(self._cache) > _CACHE:
                        self._cache.pop(next(iter(self._cache)))
                    self.seconds.append(time.perf_counter() - t)
                took = time.perf_counter() - t
                with self._lock:
                    current = version == self._version
                if current and out is not None:
                    self.result = out
                    self.output.show(out)
                    self.message.value = (f"<span style='color:#333'>{html.escape(self._summary(settings))}"
                                          f" · {took:.2f} s</span>")
                report(1.0, "done")
                with self._lock:
                    if not self._pending or stop.is_set():
                        self._busy = False
                        return out
        except BaseException:
            with self._lock:
                self._busy = self._pending = False
            raise

    @staticmethod
    def _summary(s: dict) -> str:
        bits = [f"faces: {s['faces']}" if s["faces"] != "none" else "faces kept",
                "background: cartoon" if s["background"] != "none" else "background kept",
                f"clothes: hue (seed {s['seed']})" if s["clothes"] != "none" else "clothes kept"]
        return " · ".join(bits)

    def wait(self, timeout: float = 120.0) -> bool:
        """Block until the output shows the current settings (tests and notebooks use this)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            with self._lock:
                busy = self._busy
            if not busy:
                return self.runner.join(max(0.0, timeout - (time.monotonic() - t0)))
            self.runner.join(0.05)
        return False

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)
