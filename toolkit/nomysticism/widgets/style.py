"""Gatys et al. 2015: the layer-weight widget. One log-scale slider per style layer, run, watch, compare.

Holds no algorithm: it gathers the settings and calls :func:`nomysticism.style.transfer` in a
background thread (:class:`~nomysticism.widgets.base.Runner`), showing the image every few steps.
Each finished run goes into a strip of earlier results, with its settings, for side-by-side comparison.
"""

from __future__ import annotations

import html

import ipywidgets as W
import torch

from .. import style as S
from ..images import PHOTO_SAMPLES, STYLE_SAMPLES, load_image, sample_image
from .base import ImageView, Runner, mark, png_bytes

__all__ = ["StyleTransferWidget", "STYLE_LAYER_CHOICES"]

#: The layers offered as sliders per network (the defaults first; extra ones start switched off).
STYLE_LAYER_CHOICES = {
    "efficientnet_lite0": ["stem", "block1", "block2", "block3", "block4", "block5"],
    "vgg19": ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
    "vgg16": ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
    "shapesnet": ["relu1_1", "relu2_1", "relu3_1", "relu4_1"],
}
CONTENT_LAYER_CHOICES = {
    "efficientnet_lite0": ["stem", "block1", "block2", "block3", "block4", "block5", "block6"],
    "vgg19": ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1", "relu5_2"],
    "vgg16": ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1", "relu5_2"],
    "shapesnet": ["relu1_1", "relu2_1", "relu3_1", "relu3_2", "relu4_2"],
}
_UPLOAD = "(uploaded)"


def _log_slider(name: str, value: float, lo: int, hi: int, width: str = "330px") -> W.FloatLogSlider:
    value = min(max(value, 10.0**lo), 10.0**hi)
    return W.FloatLogSlider(value=value, base=10, min=lo, max=hi, step=0.25, description=name,
                            readout_format=".2g", continuous_update=False,
                            style={"description_width": "80px"}, layout=W.Layout(width=width))


class StyleTransferWidget:
    """Interactive Gatys style transfer: tweak the per-layer style weights and watch the painting change.

    - one log-scale slider per style layer (leftmost position = layer off), content weight, TV weight;
    - content layer, size and steps; content and style pickers (samples or a file upload);
    - Run / Stop (the work runs in a thread; the image updates every ``update_every`` steps);
    - a strip of earlier results with their settings.

    ``StyleTransferWidget(network="efficientnet_lite0", size=160, steps=150)``; display it in a
    notebook. ``settings()`` returns the keyword arguments the next run will pass to ``transfer``;
    ``result`` is the last :class:`~nomysticism.style.StyleResult`.
    """

    OFF_EXP = -4  # log10 of the leftmost slider value, which means "layer off"

    def __init__(self, content: str = "chelsea", style: str = "mosaic", network: str = "efficientnet_lite0",
                 size: int = 160, steps: int = 150, update_every: int = 10, optimizer: str = "lbfgs",
                 history_len: int = 8):
        self.network_name = network
        self.update_every = update_every
        self.history_len = history_len
        self.result: S.StyleResult | None = None
        self._uploads: dict[str, torch.Tensor] = {}
        d = S.defaults(network)
        layers = STYLE_LAYER_CHOICES.get(network) or list(d["style_weights"])
        self.sliders: dict[str, W.FloatLogSlider] = {}
        for name in layers:
            w = d["style_weights"].get(name, 0.0)
            self.sliders[name] = _log_slider(name, w if w > 0 else 10.0**self.OFF_EXP, self.OFF_EXP, 4)
        self.content_weight = _log_slider("content α", d["content_weight"], -3, 3)
        self.tv_weight = _log_slider("TV γ", d["tv_weight"] or 1e-3, -3, 4)
        c_choices = CONTENT_LAYER_CHOICES.get(network) or [next(iter(d["content_layers"]))]
        c_default = next(iter(d["content_layers"]))
        self.content_layer = W.Dropdown(options=c_choices, value=c_default if c_default in c_choices else c_choices[0],
                                        description="content layer", style={"description_width": "90px"})
        self.size = W.IntSlider(value=size, min=32, max=512, step=16, description="size",
                                continuous_update=False)
        self.steps = W.IntSlider(value=steps, min=5, max=1000, step=5, description="steps",
                                 continuous_update=False)
        self.optimizer = W.ToggleButtons(options=["lbfgs", "adam"], value=optimizer, description="optimizer",
                                         style={"button_width": "60px"})
        photos = list(PHOTO_SAMPLES)
        self.content_picker = W.Dropdown(options=photos + [_UPLOAD], value=content, description="content")
        self.style_picker = W.Dropdown(options=list(STYLE_SAMPLES) + photos + [_UPLOAD], value=style,
                                       description="style")
        self.content_upload = W.FileUpload(accept="image/*", multiple=False, description="content file")
        self.style_upload = W.FileUpload(accept="image/*", multiple=False, description="style file")
        self.content_upload.observe(lambda ch: self._on_upload("content", ch), names="value")
        self.style_upload.observe(lambda ch: self._on_upload("style", ch), names="value")

        self.content_view = ImageView(width=150)
        self.style_view = ImageView(width=150)
        self.output = mark(ImageView(width=360), "nm-output")
        self.content_picker.observe(lambda _: self._show_inputs(), names="value")
        self.style_picker.observe(lambda _: self._show_inputs(), names="value")
        self.message = W.HTML()
        self.strip = W.HBox(layout=W.Layout(overflow="auto", width="100%"))
        self.runner = Runner(self._job, on_done=self._on_done, description="set the weights, then Run")
        mark(self.runner.run_button, "nm-primary")

        sliders = W.VBox([W.HTML("<b>style weights w<sub>l</sub></b> (leftmost = off)"),
                          *self.sliders.values(),
                          W.HTML("<b>content and smoothness</b>"), self.content_weight, self.tv_weight])
        setup = W.VBox([self.content_picker, self.content_upload, self.style_picker, self.style_upload,
                        self.content_layer, self.size, self.steps, self.optimizer])
        self.box = mark(
            W.VBox([
                W.HBox([sliders, setup]),
                self.runner.box,
                W.HBox([W.VBox([self.content_view, self.style_view]), self.output]),
                self.message,
                W.HTML("<b>earlier results</b> (newest first)"),
                self.strip,
            ]),
            "nm-widget",
        )
        self._show_inputs()

    # -------------------------------------------------------------------------------------------
    def _image(self, which: str) -> torch.Tensor:
        picker = self.content_picker if which == "content" else self.style_picker
        if picker.value == _UPLOAD:
            if which not in self._uploads:
                raise ValueError(f"no {which} file uploaded yet")
            return self._uploads[which]
        return sample_image(picker.value)

    def _on_upload(self, which: str, change) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        try:
            self._uploads[which] = load_image(bytes(f["content"]), max_side=1024)
        except Exception as e:  # a bad file: say so, keep the widget alive
            self.message.value = f"<span style='color:#b00'>{html.escape(str(e))}</span>"
            return
        self.message.value = ""
        (self.content_picker if which == "content" else self.style_picker).value = _UPLOAD
        self._show_inputs()

    def _show_inputs(self) -> None:
        for which, view in (("content", self.content_view), ("style", self.style_view)):
            try:
                view.show(self._image(which))
            except ValueError:
                pass
        if not self.output.value:
            try:
                self.output.show(self._image("content"))
            except ValueError:
                pass

    def style_weights(self) -> dict[str, float]:
        """The slider values; a slider at its leftmost position switches the layer off."""
        off = 10.0 ** self.OFF_EXP
        return {k: float(s.value) for k, s in self.sliders.items() if s.value > off * 1.0001}

    def settings(self) -> dict:
        """The keyword arguments the next run passes to :func:`nomysticism.style.transfer`."""
        return {
            "size": int(self.size.value),
            "steps": int(self.steps.value),
            "content_layers": {self.content_layer.value: 1.0},
            "style_weights": self.style_weights(),
            "content_weight": float(self.content_weight.value),
            "tv_weight": float(self.tv_weight.value),
            "optimizer": self.optimizer.value,
            "network": self.network_name,
        }

    # -------------------------------------------------------------------------------------------
    def _job(self, stop, report):
        kw = self.settings()
        content, style = self._image("content"), self._image("style")
        total = kw["steps"]

        def callback(step, image, losses):
            self.output.show(image)
            report(step / total, f"step {step}/{total} · loss {losses['total']:.4g}")

        return S.transfer(content, style, callback=callback, callback_every=self.update_every, stop=stop,
                          progress=False, **kw)

    def _on_done(self, result: S.StyleResult) -> None:
        self.result = result
        self.output.show(result.image)
        st = result.settings
        ws = ", ".join(f"{k} {v:.2g}" for k, v in st["style_weights"].items())
        steps = len([h for h in result.history if not h.get("final")])
        caption = (f"<div style='font-size:11px;line-height:1.25'>{html.escape(self.content_picker.value)} × {html.escape(self.style_picker.value)}"
                   f"<br>{st['size'][-1]} px, {steps} steps {st['optimizer']}, {result.seconds:.1f} s"
                   f"<br>content {html.escape(next(iter(st['content_layers']), '-'))} α {st['content_weight']:.2g}"
                   f", TV {st['tv_weight']:.2g}<br>style: {html.escape(ws)}"
                   f"<br>loss {result.history[-1]['total']:.4g}</div>")
        thumb = W.Image(value=png_bytes(result.image, 160), format="png", layout=W.Layout(width="160px"))
        card = W.VBox([thumb, W.HTML(caption, layout=W.Layout(width="170px"))])
        self.strip.children = (card, *self.strip.children)[: self.history_len]

    # -------------------------------------------------------------------------------------------
    def run(self) -> None:
        """Start a run (the Run button does the same)."""
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)

