"""The tour's first widget: pick a sample image and a model, see the top-5 predictions."""

from __future__ import annotations

import ipywidgets as W

from .. import models
from ..images import list_samples, sample_image
from .base import ImageView, figure_png, mark

__all__ = ["TopKExplorer", "topk_figure"]


def topk_figure(preds, title: str = ""):
    """A horizontal bar chart of ``[(index, name, probability), ...]`` (matplotlib figure)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 2.6))
    names = [f"{n} ({i})" for i, n, _ in preds][::-1]
    probs = [p for _, _, p in preds][::-1]
    ax.barh(names, probs, color="#4c72b0")
    for y, p in enumerate(probs):
        ax.text(min(p + 0.01, 0.9), y, f"{p:.2f}", va="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


class TopKExplorer:
    """Dropdowns for a sample image and a model; shows the image and a top-k bar chart.

    Models that need a download (VGG) are listed but report a clear message when unavailable.
    """

    def __init__(self, image: str = "chelsea", model: str = "efficientnet_lite0", k: int = 5,
                 size: int = 224, model_names=None):
        self.k, self.size = k, size
        self._cache: dict[str, models.LayeredNet] = {}
        names = model_names or ["efficientnet_lite0", "vgg16", "vgg19", "shapesnet"]
        self.image_picker = mark(W.Dropdown(options=list_samples(), value=image, description="image"),
                                 "nm-primary")
        self.model_picker = W.Dropdown(options=names, value=model, description="model")
        self.picture = ImageView(width=260)
        self.chart = mark(W.Image(format="png", layout=W.Layout(width="420px")), "nm-output")
        self.message = W.HTML()
        self.image_picker.observe(lambda _: self.update(), names="value")
        self.model_picker.observe(lambda _: self.update(), names="value")
        self.box = mark(
            W.VBox([W.HBox([self.image_picker, self.model_picker]),
                    W.HBox([self.picture, self.chart]), self.message]),
            "nm-widget",
        )
        self.update()

    def _model(self, name: str) -> models.LayeredNet:
        if name not in self._cache:
            self._cache[name] = models.load(name)
        return self._cache[name]

    def update(self) -> None:
        img = sample_image(self.image_picker.value, max_side=self.size)
        self.picture.show(img)
        try:
            net = self._model(self.model_picker.value)
        except models.WeightsUnavailableError as e:
            self.message.value = f"<pre style='color:#b00'>{e}</pre>"
            return
        self.message.value = ""
        self.preds = models.top_k(net, img, self.k)
        self.chart.value = figure_png(topk_figure(self.preds, f"{net.name} on {self.image_picker.value}"))

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)
