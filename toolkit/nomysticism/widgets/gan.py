"""GAN widgets: a live training monitor, a latent-interpolation slider, condition toggle buttons and an
A↔B viewer. They hold no algorithm: training is :func:`nomysticism.gan.train` in a Runner thread.
"""

from __future__ import annotations

import ipywidgets as W
import torch

from .. import gan
from ..images import grid
from .base import ImageView, Runner, figure_png, mark

__all__ = ["html_table", "loss_figure", "TrainingMonitor", "LatentInterpolator", "ConditionToggle", "CycleViewer"]


def html_table(rows: dict, columns=None, fmt: str = "{:.3f}"):
    """A small table for notebooks (no pandas needed): ``rows`` maps a row name to a dict or a list of
    numbers; returns an ``IPython.display.HTML``."""
    from IPython.display import HTML

    first = next(iter(rows.values()))
    columns = list(columns or (first.keys() if isinstance(first, dict) else range(len(first))))
    head = "".join(f"<th>{c}</th>" for c in columns)
    body = ""
    for name, vals in rows.items():
        vals = [vals[c] for c in columns] if isinstance(vals, dict) else list(vals)
        body += f"<tr><th style='text-align:left'>{name}</th>" + "".join(
            f"<td>{fmt.format(v)}</td>" for v in vals) + "</tr>"
    return HTML(f"<table><tr><th></th>{head}</tr>{body}</table>")


def loss_figure(history: dict, title: str = "", smooth: int = 5):
    """Loss curves from a :class:`~nomysticism.gan.Run` history (matplotlib figure; moving average)."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(4.8, 2.8))
    steps = np.asarray(history.get("step", []))
    for k, v in history.items():
        if k in ("step", "lr") or not len(v):
            continue
        v = np.asarray(v, dtype=float)
        if smooth > 1 and len(v) >= smooth:
            v = np.convolve(v, np.ones(smooth) / smooth, mode="valid")
        ax.plot(steps[len(steps) - len(v):], v, label=k, lw=1.2, marker="o" if len(v) < 10 else None)
    ax.set_xlabel("step")
    ax.set_title(title, fontsize=10)
    if len(steps):
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def _rgb(x: torch.Tensor) -> torch.Tensor:
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class TrainingMonitor:
    """Start/Stop training of a GAN model with live loss curves and the fixed-noise sample grid.

    Each Start trains ``steps`` more steps (the box's value); Start after Stop, or after a finished
    run, goes on from where it stopped (same model, same run, same loss history).
    ``train_kw`` go to :func:`~nomysticism.gan.train` (batch_size, checkpoint, …).
    """

    def __init__(self, model, data, steps: int = 500, update_every: int = 10, ncols: int = 8, **train_kw):
        self.model, self.data, self.ncols = model, data, ncols
        self.update_every = update_every
        self.train_kw = {"sample_every": update_every, **train_kw}
        self.run: gan.Run | None = None
        self.target = 0
        self.steps = W.IntText(value=steps, description="steps", layout=W.Layout(width="170px"))
        self.runner = Runner(self._job, run_label="Start", description="ready")
        mark(self.runner.run_button, "nm-primary")
        self.samples = mark(ImageView(width=300), "nm-output")
        self.curves = W.Image(format="png", layout=W.Layout(width="430px"))
        self.box = mark(W.VBox([W.HBox([self.runner.box, self.steps]), W.HBox([self.samples, self.curves])]),
                        "nm-widget")
        self.show_samples(model.samples())

    def show_samples(self, x: torch.Tensor) -> None:
        self.samples.show(grid(_rgb(x), self.ncols, pad=1))

    def _update(self, run: gan.Run) -> None:
        self.run = run
        start = self.target - int(self.steps.value)
        self.runner.report((run.step - start) / max(1, int(self.steps.value)),
                           f"step {run.step} · {run.steps_per_s or 0:.1f} it/s" if run.steps_per_s
                           else f"step {run.step}")
        if run.last_samples is not None:
            self.show_samples(run.last_samples)
        self.curves.value = figure_png(loss_figure(run.history, type(self.model).__name__))

    def _job(self, stop, report):
        self.target = (self.run.step if self.run is not None else 0) + int(self.steps.value)
        self.run = gan.train(self.model, self.data, self.target, progress=False, stop=stop,
                             callback=self._update, callback_every=self.update_every, run=self.run,
                             **self.train_kw)
        self._update(self.run)
        return self.run

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


class LatentInterpolator:
    """A slider t ∈ [0,1] that walks from z0 to z1 (spherical interpolation) through G, with the whole
    path as a strip below; "new endpoints" draws two fresh z. A class picker for conditional GANs."""

    def __init__(self, model, n: int = 9, seed: int = 0, classes=None, width: int = 160):
        self.model, self.n = model, n
        self.g = torch.Generator().manual_seed(seed)
        self.conditional = isinstance(model, gan.ConditionalGAN)
        self.slider = mark(W.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="t",
                                         continuous_update=True), "nm-primary")
        self.image = mark(ImageView(width=width), "nm-output")
        self.strip = ImageView(width=560)
        self.button = W.Button(description="new endpoints", icon="refresh")
        ctrls = [self.slider, self.button]
        if self.conditional:
            names = list(classes) if classes is not None else [str(i) for i in range(model.n_classes)]
            self.cls = W.Dropdown(options=[(c, i) for i, c in enumerate(names)], value=0, description="class")
            self.cls.observe(lambda _: self.update(strip=True), names="value")
            ctrls.append(self.cls)
        self.slider.observe(lambda _: self.update(), names="value")
        self.button.on_click(lambda _: self.new_endpoints())
        self.box = mark(W.VBox([W.HBox(ctrls), self.image, self.strip]), "nm-widget")
        self.new_endpoints()

    def new_endpoints(self) -> None:
        self.z0, self.z1 = torch.randn(2, self.model.nz, generator=self.g)
        self.update(strip=True)

    def _images(self, t):
        y = self.cls.value if self.conditional else None
        return _rgb(gan.interpolate(self.model, self.z0, self.z1, t, y=y))

    def update(self, strip: bool = False) -> None:
        self.current = self._images(float(self.slider.value))
        self.image.show(self.current)
        if strip:
            self.strip.show(grid(self._images(torch.linspace(0, 1, self.n).tolist()), self.n, pad=1))

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


class ConditionToggle:
    """Toggle buttons for the condition (like the seed's genres): the grid shows ``n`` samples of the
    chosen class; with a ``judge`` it also says how many of them the judge reads as that class."""

    def __init__(self, model, classes=None, n: int = 16, judge=None, judge_size: int | None = None,
                 seed: int = 0):
        self.model, self.n, self.judge, self.judge_size = model, n, judge, judge_size
        self.classes = list(classes) if classes is not None else [str(i) for i in range(model.n_classes)]
        self.z = torch.randn(n, model.nz, generator=torch.Generator().manual_seed(seed))
        self.toggle = mark(W.ToggleButtons(options=[(c, i) for i, c in enumerate(self.classes)], value=0,
                                           style={"button_width": "64px"}), "nm-primary")
        self.image = mark(ImageView(width=320), "nm-output")
        self.verdict = W.HTML()
        self.toggle.observe(lambda _: self.update(), names="value")
        self.box = mark(W.VBox([self.toggle, W.HBox([self.image, self.verdict])]), "nm-widget")
        self.update()

    def update(self) -> None:
        k = int(self.toggle.value)
        y = torch.full((self.n,), k, dtype=torch.long)
        self.current = self.model.generate(self.z, y=y)
        self.image.show(grid(_rgb(self.current), 8 if self.n > 8 else self.n, pad=1))
        if self.judge is not None:
            acc = gan.class_accuracy(self.judge, self.current, y, size=self.judge_size)
            self.accuracy = acc
            self.verdict.value = (f"<p>asked for <b>{self.classes[k]}</b>:<br>the judge ({self.judge.name}) "
                                  f"agrees on <b>{acc:.0%}</b> of {self.n}</p>")

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


class CycleViewer:
    """The A↔B viewer: pick an image and a direction; see it, its translation and its reconstruction
    (the cycle), and, with a domain ``classifier``, which domain the translation is taken for."""

    def __init__(self, model: gan.CycleGAN, A: torch.Tensor, B: torch.Tensor, classifier=None, width: int = 150):
        self.model, self.A, self.B, self.classifier = model, A, B, classifier
        self.index = mark(W.IntSlider(value=0, min=0, max=min(len(A), len(B)) - 1, description="image"),
                          "nm-primary")
        self.direction = W.ToggleButtons(options=["A→B", "B→A"], value="A→B")
        self.views = [ImageView(width=width) for _ in range(3)]
        mark(self.views[1], "nm-output")
        self.caption = W.HTML()
        self.index.observe(lambda _: self.update(), names="value")
        self.direction.observe(lambda _: self.update(), names="value")
        labels = [W.HTML(f"<center>{t}</center>", layout=W.Layout(width=f"{width}px"))
                  for t in ("input", "translated", "back again")]
        cols = [W.VBox([lab, v]) for lab, v in zip(labels, self.views)]
        self.box = mark(W.VBox([W.HBox([self.index, self.direction]), W.HBox(cols), self.caption]),
                        "nm-widget")
        self.update()

    def update(self) -> None:
        i, fwd = int(self.index.value), self.direction.value == "A→B"
        x = (self.A if fwd else self.B)[i:i + 1]
        t = self.model.translate(x, "AB" if fwd else "BA")
        r = self.model.translate(t, "BA" if fwd else "AB")
        self.current = (x, t, r)
        for v, im in zip(self.views, self.current):
            v.show(im)
        text = f"cycle error |back − input| = {(r - x).abs().mean().item():.3f}"
        if self.classifier is not None:
            target = "B" if fwd else "A"
            p = self.classifier(t).softmax(1)[0, self.classifier.classes.index(target)].item()
            text += f" · domain classifier: P({target}) = {p:.2f}"
        self.caption.value = text

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)
