"""Widgets for notebooks 01–04: unit explorer, saliency overlay, class models, method comparison,
DeepDream. They hold no algorithm: every picture comes from :mod:`nomysticism.attribution`."""

from __future__ import annotations

import ipywidgets as W
import torch

from .. import attribution as A
from ..images import grid, resize
from ..runtime import module_device
from .base import ImageView, Runner, figure_png, mark

__all__ = ["UnitExplorer", "SaliencyExplorer", "ClassModelViewer", "MethodComparison",
           "DeepDreamWidget", "methods_figure"]


class _Widget:
    box: W.Widget

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


def _as_dict(images, prefix="image") -> dict[str, torch.Tensor]:
    if isinstance(images, dict):
        return {k: (v if v.ndim == 4 else v.unsqueeze(0)) for k, v in images.items()}
    if isinstance(images, torch.Tensor) and images.ndim == 4:
        return {f"{prefix} {i}": images[i : i + 1] for i in range(len(images))}
    return {f"{prefix} {i}": (v if v.ndim == 4 else v.unsqueeze(0)) for i, v in enumerate(images)}


def _class_options(model, image, k=5):
    with torch.no_grad():
        p = model(image).softmax(-1)[0]
    top = p.topk(min(k, p.numel()))
    names = getattr(model, "classes", None) or [str(i) for i in range(p.numel())]
    return [(f"{names[i]} ({i}), p={float(v):.2f}", int(i)) for v, i in zip(top.values, top.indices)]


# ------------------------------------------------------------------------------------------------
# 01 Zeiler & Fergus
# ------------------------------------------------------------------------------------------------


class UnitExplorer(_Widget):
    """Zeiler & Fergus 2013, fig. 2: pick a layer and a channel; see the top-k patches over a set
    of images (top row) and their deconvnet projections (bottom row)."""

    def __init__(self, model, images: torch.Tensor, layers=None, k: int = 9, auto: bool = True):
        self.model, self.images, self.k = model, images, k
        layers = layers or [n for n in model.layer_names if n.startswith(("relu", "pool", "block"))]
        self.layer = W.Dropdown(options=layers, value=layers[len(layers) // 2], description="layer")
        self.channel = mark(W.IntSlider(value=0, min=0, max=self._channels() - 1,
                                        description="channel", continuous_update=False),
                            "nm-primary")
        self.rule = W.ToggleButtons(options=["deconvnet", "guided"], value="deconvnet",
                                    tooltips=["Zeiler & Fergus: relu(g)", "Springenberg: g·[x>0]·[g>0]"])
        self.view = mark(ImageView(width=min(90 * k, 720)), "nm-output")
        self.info = W.HTML()
        self.runner = Runner(self._job, self._done, run_label="Find top patches")
        self.layer.observe(self._layer_changed, names="value")
        self.channel.observe(lambda _: self._auto(), names="value")
        self.rule.observe(lambda _: self._auto(), names="value")
        self.auto = auto
        self.box = mark(W.VBox([W.HBox([self.layer, self.channel, self.rule]), self.runner.box, self.view,
                                self.info]), "nm-widget")
        self.result = None
        self._auto()

    def _channels(self) -> int:
        with torch.no_grad():
            a = self.model.features(self.images[:1].to(module_device(self.model)), [self.layer.value])
        return a[self.layer.value].shape[1]

    def _layer_changed(self, _):
        self.channel.max = self._channels() - 1
        self._auto()

    def _auto(self):
        if self.auto:
            self.runner.start()

    def _settings(self):
        return self.layer.value, self.channel.value, self.rule.value

    def _job(self, stop, report):
        while True:  # settings changed while it ran (start() is ignored then): run again
            layer, channel, rule = todo = self._settings()
            report(0.1, f"{layer}[{channel}]: scanning {len(self.images)} images")
            tp = A.top_patches(self.model, self.images, layer, channel, self.k, rule=rule)
            if stop.is_set() or self._settings() == todo:
                report(1.0, f"{layer}[{channel}]")
                return tp

    def _done(self, tp):
        self.result = tp
        big = torch.nn.functional.interpolate(torch.cat([tp.patches, tp.projections]), size=72,
                                              mode="nearest")
        self.view.show(grid(big, ncols=len(tp.patches)))
        acts = ", ".join(f"{v:.1f}" for v in tp.activations.tolist())
        self.info.value = (f"receptive field {tp.patches.shape[-1]} px; activations: {acts}"
                           f"<br>top: image patches; bottom: {self.rule.value} projections")


# ------------------------------------------------------------------------------------------------
# 02 Simonyan: saliency and class models
# ------------------------------------------------------------------------------------------------


class SaliencyExplorer(_Widget):
    """Simonyan et al. 2014, sec. 3: image and class pickers → |∂S_c/∂I| (max over channels),
    laid over the image with an opacity slider."""

    def __init__(self, model, images, smooth: bool = False, width: int = 320):
        self.model, self.images = model, _as_dict(images)
        names = list(self.images)
        self.image = W.Dropdown(options=names, value=names[0], description="image")
        self.cls = W.Dropdown(description="class", layout=W.Layout(width="360px"))
        self.method = W.ToggleButtons(options=["saliency", "smoothgrad"],
                                      value="smoothgrad" if smooth else "saliency")
        self.opacity = mark(W.FloatSlider(value=0.6, min=0.0, max=1.0, step=0.05,
                                          description="opacity"), "nm-primary")
        self.view = mark(ImageView(width=width), "nm-output")
        self.heat_view = ImageView(width=width)
        self._heat, self._quiet = None, False
        self.image.observe(lambda _: self._new_image(), names="value")
        self.cls.observe(lambda _: self._compute(), names="value")
        self.method.observe(lambda _: self._compute(), names="value")
        self.opacity.observe(lambda _: self._draw(), names="value")
        self.box = mark(W.VBox([W.HBox([self.image, self.cls]), W.HBox([self.method, self.opacity]),
                                W.HBox([self.view, self.heat_view])]), "nm-widget")
        self._new_image()

    @property
    def x(self):
        return self.images[self.image.value]

    def _new_image(self):
        opts = _class_options(self.model, self.x.to(module_device(self.model)))
        self._quiet = True
        try:
            self.cls.options, self.cls.value = opts, opts[0][1]
        finally:
            self._quiet = False
        self._compute()

    def _compute(self):
        if self._quiet or self.cls.value is None:
            return
        fn = A.smoothgrad if self.method.value == "smoothgrad" else A.saliency
        kw = {"n": 8} if fn is A.smoothgrad else {}
        self._heat = A.heatmap(fn(self.model, self.x, self.cls.value, **kw), reduce="max")
        self.heat_view.show(A.overlay(self.x, self._heat, alpha=1.0, cmap="gray", weighted=False))
        self._draw()

    def _draw(self):
        self.view.show(A.overlay(self.x, self._heat, alpha=self.opacity.value))


class ClassModelViewer(_Widget):
    """Simonyan et al. 2014, sec. 2: the class model argmax_I S_c(I) − λ‖I‖², drawn while it grows."""

    def __init__(self, model, classes=None, size: int = 160, steps: int = 150, width: int = 320):
        self.model, self.size = model, size
        names = model.classes
        classes = classes if classes is not None else range(len(names))
        opts = [(f"{names[c]} ({c})", int(c)) for c in classes]
        self.cls = W.Dropdown(options=opts, value=opts[0][1], description="class")
        self.l2 = W.FloatLogSlider(value=1e-3, base=10, min=-5, max=0, step=0.25,
                                   description="λ (L2)", continuous_update=False)
        self.steps = W.IntSlider(value=steps, min=10, max=1000, step=10, description="steps")
        self.jitter = W.Checkbox(value=True, description="jitter + blur (Yosinski 2015)")
        self.view = mark(ImageView(width=width), "nm-output")
        self.score = W.HTML()
        self.runner = Runner(self._job, self._done, run_label="Grow class model")
        mark(self.runner.run_button, "nm-primary")
        self.box = mark(W.VBox([W.HBox([self.cls, self.l2]), W.HBox([self.steps, self.jitter]),
                                self.runner.box, self.view, self.score]), "nm-widget")
        self.result = None

    def _job(self, stop, report):
        n = self.steps.value
        jit = self.jitter.value

        def cb(step, img):
            self.view.show(img)
            report(step / n, f"step {step}/{n}")

        return A.class_model(self.model, self.cls.value, size=self.size, steps=n, l2=self.l2.value,
                             jitter=8 if jit else 0, blur_every=4 if jit else 0, progress=False,
                             callback=cb, callback_every=5, stop=stop)

    def _done(self, img):
        self.result = img
        self.view.show(img)
        with torch.no_grad():
            s = self.model(img.to(module_device(self.model)))
        self.score.value = (f"score S_c = {float(s[0, self.cls.value]):.2f}; "
                            f"p = {float(s.softmax(-1)[0, self.cls.value]):.3f}")


# ------------------------------------------------------------------------------------------------
# 03 Springenberg: methods side by side
# ------------------------------------------------------------------------------------------------


def methods_figure(model, image, target=None, layer=None, mask=None, size: float = 2.2):
    """Image, gradient, deconvnet, guided backprop, Grad-CAM, guided Grad-CAM side by side
    (matplotlib figure). Signed maps are shown grey-centred; Grad-CAM as an overlay."""
    import matplotlib.pyplot as plt

    x = image if image.ndim == 4 else image.unsqueeze(0)
    if target is None:
        with torch.no_grad():
            target = int(model(x.to(module_device(model))).argmax())
    cam = A.grad_cam(model, x, target, layer)
    pics = [
        ("image", x),
        ("gradient |∂S/∂x|", A.heatmap(A.saliency(model, x, target))),
        ("deconvnet", A.to_rgb(A.deconvnet(model, x, target))),
        ("guided backprop", A.to_rgb(A.guided_backprop(model, x, target))),
        ("Grad-CAM", A.overlay(x, cam, weighted=False, alpha=0.5)),
        ("guided Grad-CAM", A.to_rgb(A.guided_grad_cam(model, x, target, layer))),
    ]
    fig, axes = plt.subplots(1, len(pics), figsize=(size * len(pics), size * 1.1))
    for ax, (title, p) in zip(axes, pics):
        p = p[0].detach().float().cpu()
        ax.imshow(p[0].numpy() if p.shape[0] == 1 else p.permute(1, 2, 0).clamp(0, 1).numpy(),
                  cmap="gray" if p.shape[0] == 1 else None)
        if mask is not None:
            ax.contour(mask.reshape(mask.shape[-2:]).float().numpy(), levels=[0.5],
                       colors="lime", linewidths=0.8)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    names = getattr(model, "classes", None)
    fig.suptitle(f"class: {names[target] if names else target} ({target})", fontsize=10)
    fig.tight_layout()
    return fig


class MethodComparison(_Widget):
    """Springenberg et al. 2015, fig. 6: gradient, deconvnet and guided backprop (plus Grad-CAM)
    for the chosen image and class, side by side. ``masks`` (optional) draws the object outline."""

    def __init__(self, model, images, masks=None, layer=None):
        self.model, self.images, self.layer = model, _as_dict(images), layer
        self.masks = _as_dict(masks) if masks is not None else None
        names = list(self.images)
        self.image = mark(W.Dropdown(options=names, value=names[0], description="image"),
                          "nm-primary")
        self.cls = W.Dropdown(description="class", layout=W.Layout(width="360px"))
        self.view = mark(W.Image(format="png", layout=W.Layout(width="900px")), "nm-output")
        self._quiet = False
        self.image.observe(lambda _: self._new_image(), names="value")
        self.cls.observe(lambda _: self.update(), names="value")
        self.box = mark(W.VBox([W.HBox([self.image, self.cls]), self.view]), "nm-widget")
        self._new_image()

    def _new_image(self):
        x = self.images[self.image.value]
        opts = _class_options(self.model, x.to(module_device(self.model)))
        self._quiet = True
        try:
            self.cls.options, self.cls.value = opts, opts[0][1]
        finally:
            self._quiet = False
        self.update()

    def update(self):
        if self._quiet:
            return
        names = list(self.images)
        mask = None
        if self.masks is not None:
            mask = list(self.masks.values())[names.index(self.image.value)]
        fig = methods_figure(self.model, self.images[self.image.value], self.cls.value,
                             self.layer, mask=mask)
        self.view.value = figure_png(fig)


# ------------------------------------------------------------------------------------------------
# 04 Mordvintsev: DeepDream
# ------------------------------------------------------------------------------------------------


class DeepDreamWidget(_Widget):
    """Mordvintsev et al. 2015: layer, octaves, step size and iterations, with Run and Stop; the
    image updates while it dreams."""

    def __init__(self, model, image: torch.Tensor, layers=None, size: int = 224, width: int = 420):
        self.model = model
        self.image = resize(image if image.ndim == 4 else image.unsqueeze(0), size)
        layers = layers or [n for n in model.layer_names if n.startswith(("relu", "block", "inception"))]
        default = model.default_layers.get("dream", layers[len(layers) // 2])
        self.layer = W.Dropdown(options=layers, value=default if default in layers else layers[0],
                                description="layer")
        self.channel = W.IntText(value=-1, description="channel", layout=W.Layout(width="160px"))
        self.octaves = W.IntSlider(value=3, min=1, max=6, description="octaves")
        self.step = W.FloatLogSlider(value=0.01, base=10, min=-3, max=-1, step=0.1,
                                     description="step")
        self.iterations = W.IntSlider(value=10, min=1, max=50, description="iterations")
        self.random_class = W.Checkbox(value=False, description="random class each step")
        self.view = mark(ImageView(self.image, width=width), "nm-output")
        self.runner = Runner(self._job, self._done, run_label="Dream")
        mark(self.runner.run_button, "nm-primary")
        self.runs = 0
        self.box = mark(W.VBox([
            W.HBox([self.layer, self.channel, self.random_class]),
            W.HBox([self.octaves, self.step, self.iterations]),
            self.runner.box, self.view]), "nm-widget")
        self.result = None

    def _job(self, stop, report):
        total = self.octaves.value * self.iterations.value

        def cb(i, img):
            self.view.show(img)
            report(i / total, f"step {i}/{total}")

        ch = self.channel.value
        self.runs += 1  # a new jitter sequence each run, so Run again gives a new dream
        return A.deepdream(self.model, self.image, self.layer.value,
                           channel=None if ch is None or ch < 0 else ch,
                           octaves=self.octaves.value, steps=self.iterations.value,
                           step_size=self.step.value, random_class=self.random_class.value,
                           seed=self.runs, progress=False, callback=cb, stop=stop)

    def _done(self, img):
        self.result = img
        self.view.show(img)
