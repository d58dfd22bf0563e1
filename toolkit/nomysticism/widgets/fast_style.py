"""Widgets for feed-forward stylisation (notebooks 06–08). No algorithm here: they call
:mod:`nomysticism.fast_style`.

- :class:`FastStylizer`: pick a photo and a shipped model, see the one-pass result and its time;
- :class:`ToggleCompare`: a toggle between precomputed images (instance vs batch norm, …);
- :class:`TrainingMonitor`: Run/Stop a short training run with a live loss plot and sample;
- :class:`FrameCompare`: a frame slider over a clip stylised with and without temporal consistency.
"""

from __future__ import annotations

import time

import ipywidgets as W
import torch

from .. import fast_style as fs
from ..images import grid, list_samples, sample_image
from ..runtime import module_device
from .base import ImageView, Runner, figure_png, mark

__all__ = ["FastStylizer", "ToggleCompare", "TrainingMonitor", "FrameCompare", "loss_figure"]


def loss_figure(hist: dict, title: str = "training loss"):
    """The training curve: total loss and its weighted parts against the step (log scale)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 2.8))
    if hist.get("step"):
        mk = "o" if len(hist["step"]) < 10 else None  # a line of one point is invisible
        ax.plot(hist["step"], hist["loss"], label="total", color="k", marker=mk)
        for key, c in (("content", "#4c72b0"), ("style", "#dd8452")):
            w = hist.get(f"{key}_weight", 1.0)
            vals = [w * v for v in hist.get(key, [])]
            if any(v > 0 for v in vals):  # a texture run has no content term
                ax.plot(hist["step"], vals, label=key, color=c, alpha=0.8, marker=mk)
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax.set_xlabel("step")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


class FastStylizer:
    """A photo dropdown (``nm-primary``) and a model dropdown; shows photo | stylised (``nm-output``)."""

    def __init__(self, image: str = "chelsea", model: str | None = None, size: int = 384, models=None):
        self.size = size
        names = list(models or fs.list_pretrained("style"))
        if not names:
            raise ValueError("no style models: train one with scripts/train_fast_style.py")
        self._models: dict = {}
        self.image_picker = mark(W.Dropdown(options=list_samples("photo"), value=image, description="photo"),
                                 "nm-primary")
        self.model_picker = W.Dropdown(options=names, value=model or names[0], description="model")
        self.size_slider = W.IntSlider(value=size, min=128, max=1024, step=64, description="size",
                                       continuous_update=False)
        self.content = ImageView(width=300)
        self.output = mark(ImageView(width=300), "nm-output")
        self.info = W.HTML()
        for w in (self.image_picker, self.model_picker, self.size_slider):
            w.observe(lambda _: self.update(), names="value")
        self.box = mark(W.VBox([W.HBox([self.image_picker, self.model_picker, self.size_slider]),
                                W.HBox([self.content, self.output]), self.info]), "nm-widget")
        self.update()

    def model(self, name: str):
        if name not in self._models:
            self._models[name] = fs.load_pretrained(name)
        return self._models[name]

    def content_image(self):
        """The photo the controls pick now, at most ``size`` px on its longer side."""
        return sample_image(self.image_picker.value, max_side=self.size_slider.value)

    def update(self) -> None:
        img = self.content_image()
        m = self.model(self.model_picker.value)
        t = time.perf_counter()
        self.result = fs.stylize(m, img)
        ms = 1000 * (time.perf_counter() - t)
        self.content.show(img)
        self.output.show(self.result)
        h, w = img.shape[-2:]
        self.info.value = f"one forward pass: {w}×{h} px in <b>{ms:.0f} ms</b> on {module_device(m)}"

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


class ToggleCompare:
    """Toggle buttons (``nm-primary``) switching one image view (``nm-output``) between images.

    ``images``: ``{label: tensor}``, e.g. ``{"instance norm": a, "batch norm": b}``.
    """

    def __init__(self, images: dict, width: int = 420, caption: dict | None = None):
        self.images, self.caption = dict(images), dict(caption or {})
        labels = list(self.images)
        self.toggle = mark(W.ToggleButtons(options=labels, value=labels[0]), "nm-primary")
        self.view = mark(ImageView(width=width), "nm-output")
        self.text = W.HTML()
        self.toggle.observe(lambda _: self.update(), names="value")
        self.box = mark(W.VBox([self.toggle, self.view, self.text]), "nm-widget")
        self.update()

    def update(self) -> None:
        self.view.show(self.images[self.toggle.value])
        self.text.value = self.caption.get(self.toggle.value, "")

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


class TrainingMonitor:
    """Run/Stop a :func:`~nomysticism.fast_style.train` run; shows the live loss curve (``nm-output``)
    and the current network applied to a probe photo. ``train_kwargs`` go to ``fs.train``."""

    def __init__(self, model, style, data=None, probe: torch.Tensor | None = None, every: int = 10,
                 **train_kwargs):
        self.model, self.style, self.data = model, style, data
        self.probe = probe if probe is not None else sample_image("chelsea", 192)
        self.kw = {"log_every": every, **train_kwargs}
        self.history: dict = {}
        self.plot = mark(W.Image(format="png", layout=W.Layout(width="420px")), "nm-output")
        self.sample = ImageView(width=260)
        self.runner = Runner(self._job, run_label="Train")
        mark(self.runner.run_button, "nm-primary")
        self.box = mark(W.VBox([self.runner.box, W.HBox([self.plot, self.sample])]), "nm-widget")

    def _job(self, stop, report):
        steps = self.kw.get("steps", fs.RECIPES["default"]["steps"])
        loss = self.kw.get("loss")

        def cb(step, out, hist):  # every `every` steps, and once more after Stop
            self.history = hist
            if loss is not None:
                hist["content_weight"], hist["style_weight"] = loss.content_weight, loss.style_weight
            self.plot.value = figure_png(loss_figure(hist))
            self.sample.show(fs.stylize(self.model, self.probe))
            self.model.train()
            last = f": loss {hist['loss'][-1]:.4g}" if hist.get("loss") else ""
            report(step / steps, f"step {step}{last}")

        kw = {k: v for k, v in self.kw.items() if k != "callback"}
        self.history = fs.train(self.model, self.style, self.data, progress=False, callback=cb, stop=stop, **kw)
        self.sample.show(fs.stylize(self.model, self.probe))
        return self.history

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


class FrameCompare:
    """A frame slider (``nm-primary``) over content | per-frame | temporally blended (``nm-output``),
    with the flicker of each version."""

    def __init__(self, content: torch.Tensor, plain: torch.Tensor, smooth: torch.Tensor | None = None,
                 width: int = 720):
        self.content, self.plain, self.smooth = content, plain, smooth
        n = content.shape[0]
        self.slider = mark(W.IntSlider(value=0, min=0, max=n - 1, description="frame",
                                       continuous_update=True), "nm-primary")
        self.view = mark(ImageView(width=width), "nm-output")
        parts = [f"flicker per-frame: <b>{fs.flicker(plain, content):.2f}</b>"]
        if smooth is not None:
            parts.append(f"with temporal consistency: <b>{fs.flicker(smooth, content):.2f}</b>")
        self.text = W.HTML(" · ".join(parts) + " (1 = changes as much as the input)")
        self.slider.observe(lambda _: self.update(), names="value")
        self.box = mark(W.VBox([self.slider, self.view, self.text]), "nm-widget")
        self.update()

    def update(self) -> None:
        t = self.slider.value
        ims = [self.content[t : t + 1], self.plain[t : t + 1]]
        if self.smooth is not None:
            ims.append(self.smooth[t : t + 1])
        self.view.show(grid(ims, ncols=len(ims)))

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)
