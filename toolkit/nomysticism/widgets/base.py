"""Building blocks shared by every widget: image display, and a background runner with Run/Stop.

A widget holds no algorithm: it gathers settings, calls a toolkit method in a thread (so the
kernel stays responsive), and shows results as they arrive.

Conventions the browser tests rely on (``tests/test_browser.py``):
- the widget's root box has the CSS class ``nm-widget``;
- its main control (a slider, dropdown or button a reader would touch first) has ``nm-primary``;
- the image or plot that control changes has ``nm-output``.
"""

from __future__ import annotations

import io
import threading
import traceback
from collections.abc import Callable

import ipywidgets as W
import torch

from ..images import to_pil

__all__ = ["png_bytes", "ImageView", "Runner", "mark", "figure_png"]


def png_bytes(x: torch.Tensor, max_side: int | None = None) -> bytes:
    """A (1,3,H,W)/(3,H,W) tensor in [0,1] as PNG bytes (optionally shrunk)."""
    from ..images import resize

    x = x.detach().float().cpu()
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if max_side and max(x.shape[-2:]) > max_side:
        x = resize(x, max_side)
    buf = io.BytesIO()
    to_pil(x).save(buf, format="PNG")
    return buf.getvalue()


def figure_png(fig) -> bytes:
    """A matplotlib figure as PNG bytes (and closes it, so notebooks do not show it twice)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=90)
    plt.close(fig)
    return buf.getvalue()


class ImageView(W.Image):
    """An ``ipywidgets.Image`` that takes tensors: ``view.show(img)``."""

    def __init__(self, image: torch.Tensor | None = None, width: int = 320, max_side: int = 768, **kw):
        super().__init__(format="png", layout=W.Layout(width=f"{width}px", height="auto"), **kw)
        self.max_side = max_side
        if image is not None:
            self.show(image)

    def show(self, image: torch.Tensor) -> None:
        self.value = png_bytes(image, self.max_side)


def mark(widget: W.Widget, *classes: str) -> W.Widget:
    """Add CSS classes (``nm-widget``, ``nm-primary``, ``nm-output``) and return the widget."""
    for c in classes:
        widget.add_class(c)
    return widget


class Runner:
    """Run a long job in a background thread with Run and Stop buttons, a progress bar and a status line.

    ``job(stop: threading.Event, progress: Callable[[float, str], None]) -> result`` must check
    ``stop.is_set()`` regularly. ``on_done(result)`` runs in the thread when the job ends.
    """

    def __init__(self, job: Callable, on_done: Callable | None = None, run_label: str = "Run",
                 description: str = ""):
        self.job = job
        self.on_done = on_done
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.result = None
        self.error: BaseException | None = None
        self.run_button = W.Button(description=run_label, button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop",
                                    disabled=True)
        self.progress = W.FloatProgress(value=0, min=0, max=1, layout=W.Layout(width="200px"))
        self.status = W.HTML(value=description)
        self.run_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.box = W.HBox([self.run_button, self.stop_button, self.progress, self.status])

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def report(self, fraction: float, text: str = "") -> None:
        self.progress.value = max(0.0, min(1.0, float(fraction)))
        if text:
            self.status.value = text

    def start(self) -> None:
        if self.running:
            return
        self.stop_event.clear()
        self.error = None
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.progress.value = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.job(self.stop_event, self.report)
            if self.on_done is not None:
                self.on_done(self.result)
            self.status.value = "stopped" if self.stop_event.is_set() else "done"
        except Exception as e:  # show it in the widget; never kill the kernel
            self.error = e
            self.status.value = f"<span class='nm-error' style='color:#b00'>error: {type(e).__name__}: {e}</span>"
            traceback.print_exc()
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True

    def stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job (tests use this). True if it has finished."""
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.running


class LatestWins:
    """For a widget whose every change asks for a new result (a click, a check box): while one
    job runs, more changes only set ``_pending``, and the job loops until none is pending, so the
    last change always wins and jobs never pile up. Needs ``self.runner`` (a :class:`Runner`),
    ``self._lock`` (a ``threading.Lock``) and ``self._busy = self._pending = False``; the job
    clears ``_pending`` when it reads the settings, and ``_busy`` when it returns."""

    def _changed(self) -> None:
        with self._lock:
            self._pending = True
            if self._busy:
                return
            self._busy = True
        if self.runner.thread is not None:
            self.runner.thread.join(10)  # its job has returned; only the status update is left
        self.runner.start()
