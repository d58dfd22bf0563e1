"""Gatys, Ecker & Bethge 2015: style = Gram matrices of CNN features; content = the features.

Image synthesis by optimising the *pixels* of an image x so that a fixed network sees in it the
content of one image (its feature maps F^l) and the style of another (the correlations between
feature maps, the Gram matrices G^l):

    L_total(x) = α Σ_l c_l L_content^l(x) + β Σ_l w_l E_l(x) + γ L_TV(x)        (eq. 7, plus TV)

The pieces:

- :func:`gram_matrix` (eq. 3), :func:`content_loss` (eq. 1), :func:`style_loss` (eq. 4),
  :func:`tv_loss` (Mahendran & Vedaldi 2015, the β exponent of the 2015 Lasagne code);
- :func:`transfer`: the whole method (content + style, L-BFGS or Adam), with colour preservation,
  palette reduction, several styles with blend weights and coarse-to-fine sizes;
- :func:`synthesize_texture` (Gatys et al. 2015a, texture synthesis: style only, from noise) and
  :func:`reconstruct_content` (content only, from noise: what a layer remembers of an image);
- colour helpers :func:`rgb_to_yuv`, :func:`yuv_to_rgb`, :func:`original_colors`,
  :func:`quantize_colors`.

Normalisations of the Gram matrix. The Gram matrix of layer l with N_l filters and M_l = H·W
positions is G^l = F^l F^lᵀ (eq. 3). In use:

- ``"paper"``: raw G in the Gram, and the loss E_l = 1/(4 N_l² M_l²) Σ (G − A)² (eq. 4). E_l does not
  change with the image size (G grows like M, and the loss divides by M²). The default.
- ``"chw"``: G / (N_l·M_l) (the PyTorch tutorial, Johnson et al. 2016), loss = mean (G − A)²
  over the N_l² entries, i.e. 4 E_l / N_l².
- ``"none"``: raw G.

The content loss of the paper is a *sum*, ½ Σ (F − P)², so it grows with the image. :func:`transfer`
uses the mean, ½ mean (F − P)² (``content_loss(..., reduction="mean")``), so that one set of weights
works at every size: the paper's α equals our ``content_weight / (N_l M_l)``.

Which layers: the paper names VGG layers after Caffe blobs, and Caffe's ReLUs work in place, so
"conv4_2" in the paper *is* the rectified response, our ``relu4_2``. The VGG defaults therefore use
``relu4_2`` for content and ``relu1_1 … relu5_1`` for style (as jcjohnson's neural-style does).
See :data:`DEFAULTS` for every network's layers and weights, and how they were chosen.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .images import resize
from .models import LayeredNet
from .models import device as best_device
from .models import load as load_model

__all__ = [
    "gram_matrix",
    "channel_means",
    "content_loss",
    "style_loss",
    "mean_loss",
    "tv_loss",
    "transfer",
    "synthesize_texture",
    "reconstruct_content",
    "StyleResult",
    "DEFAULTS",
    "defaults",
    "get_network",
    "rgb_to_yuv",
    "yuv_to_rgb",
    "original_colors",
    "match_luminance",
    "quantize_colors",
]


# ------------------------------------------------------------------------------------------------
# Losses
# ------------------------------------------------------------------------------------------------


def _hi(x: torch.Tensor) -> torch.Tensor:
    """float16/bfloat16 -> float32 (losses and Grams are summed in at least float32)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def gram_matrix(features: torch.Tensor, normalize: str = "none") -> torch.Tensor:
    """Gatys et al. 2015, eq. 3: G_ij = Σ_k F_ik F_jk for features (N, C, H, W) -> (N, C, C).

    ``normalize``: ``"none"``/``"paper"`` (raw sum; the paper puts 1/(4N²M²) in the loss),
    ``"chw"`` (divide by C·H·W, as in the PyTorch tutorial and Johnson et al.).
    The product runs in float32 even under bf16 autocast (sums of M products lose precision).
    """
    n, c, h, w = features.shape
    f = _hi(features).reshape(n, c, h * w)
    g = torch.bmm(f, f.transpose(1, 2))
    if normalize in ("none", "paper"):
        return g
    if normalize == "chw":
        return g / (c * h * w)
    raise ValueError(f"normalize must be 'none', 'paper' or 'chw', not {normalize!r}")


def channel_means(features: torch.Tensor) -> torch.Tensor:
    """The seed's alternative style statistic: the mean of each feature map, (N, C, H, W) -> (N, C)."""
    return _hi(features).mean(dim=(2, 3))


def content_loss(features: torch.Tensor, target: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Gatys et al. 2015, eq. 1: L_content = ½ Σ (F − P)².

    ``reduction="mean"`` gives ½ mean (F − P)², which does not grow with the image size
    (what :func:`transfer` uses).
    """
    d = (_hi(features) - _hi(target)).pow(2)
    if reduction == "sum":
        return 0.5 * d.sum()
    if reduction == "mean":
        return 0.5 * d.mean()
    raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")


def style_loss(features: torch.Tensor, target_gram: torch.Tensor, normalize: str = "paper") -> torch.Tensor:
    """Gatys et al. 2015, eq. 4: E_l = 1/(4 N_l² M_l²) Σ_ij (G_ij − A_ij)².

    ``target_gram`` is A, computed with the same ``normalize``. With ``"chw"`` the loss is the mean
    squared Gram difference (tutorial convention). Sums over the batch.
    """
    n, c, h, w = features.shape
    g = gram_matrix(features, normalize)
    if normalize in ("paper", "none"):
        return (g - target_gram).pow(2).sum() / (4.0 * c**2 * (h * w) ** 2)
    return (g - target_gram).pow(2).mean()


def mean_loss(features: torch.Tensor, target_means: torch.Tensor) -> torch.Tensor:
    """The seed's "channel means instead of Gram" style loss: Σ_i (μ_i − m_i)² / (4 N_l).

    μ_i is the spatial mean of feature map i (:func:`channel_means`). The 1/(4N) mirrors eq. 4's
    1/(4N²) for a statistic with N entries instead of N²; the magnitudes still differ from the Gram
    loss, so :func:`transfer` scales this loss by ``MEAN_STAT_SCALE``.
    """
    mu = channel_means(features)
    return (mu - target_means).pow(2).sum() / (4.0 * features.shape[1])


def tv_loss(image: torch.Tensor, exponent: float = 1.0) -> torch.Tensor:
    """Total variation (Mahendran & Vedaldi 2015): Σ ((x_{i,j+1} − x_ij)² + (x_{i+1,j} − x_ij)²)^{β/2}.

    ``exponent`` is β/2. The 2015 Lasagne notebook used 1.25 (β = 2.5); 1.0 is the plain sum of
    squared differences.
    """
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    s = dx.pow(2) + dy.pow(2)
    if exponent == 1.0:
        return s.sum()
    if exponent < 1.0:
        s = s + 1e-8  # keep the gradient finite at flat regions
    return s.pow(exponent).sum()


# ------------------------------------------------------------------------------------------------
# Colour
# ------------------------------------------------------------------------------------------------

# BT.601 YUV, the matrix of torch7's image.rgb2yuv that jcjohnson's original_colors uses.
_RGB2YUV = torch.tensor([[0.299, 0.587, 0.114],
                         [-0.14713, -0.28886, 0.436],
                         [0.615, -0.51499, -0.10001]])


def rgb_to_yuv(x: torch.Tensor) -> torch.Tensor:
    """RGB (N,3,H,W) -> YUV (BT.601; Y in [0,1], U in ±0.436, V in ±0.615)."""
    m = _RGB2YUV.to(x.device, x.dtype)
    return torch.einsum("ij,njhw->nihw", m, x)


def yuv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """YUV -> RGB, the exact inverse of :func:`rgb_to_yuv` (not clamped)."""
    m = torch.linalg.inv(_RGB2YUV.double()).to(x.device, x.dtype)
    return torch.einsum("ij,njhw->nihw", m, x)


def original_colors(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """jcjohnson's ``-original_colors 1``: the luminance (Y) of ``result`` with the chroma (U, V) of ``content``.

    ``content`` is resized to the result's size. The output is clamped to [0, 1].
    """
    content = resize(content.to(result.device, result.dtype), tuple(result.shape[-2:]))
    y = rgb_to_yuv(result)[:, :1]
    uv = rgb_to_yuv(content)[:, 1:]
    return yuv_to_rgb(torch.cat([y, uv], 1)).clamp(0, 1)


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Gatys et al. 2016 ("Preserving colour…"), eq. 1: the style's luminance, grey, with the content's mean and std.

    L_s' = σ_c/σ_s (L_s − μ_s) + μ_c. Returns a grey RGB image (the luminance in all channels).
    """
    ls = rgb_to_yuv(style)[:, :1]
    lc = rgb_to_yuv(content.to(style.device))[:, :1]
    ls = (ls - ls.mean()) * (lc.std() / ls.std().clamp_min(1e-6)) + lc.mean()
    return ls.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def quantize_colors(image: torch.Tensor, k: int, iters: int = 15, seed: int = 0,
                    max_samples: int = 20000) -> torch.Tensor:
    """The seed's palette reduction: replace every pixel by the nearest of ``k`` colours (k-means in RGB).

    k-means++ seeding on up to ``max_samples`` pixels, then Lloyd iterations; deterministic for a
    given ``seed``. Returns an image of the same shape with at most ``k`` distinct colours.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    x = image.detach().float()
    n, c, h, w = x.shape
    pix = x.permute(0, 2, 3, 1).reshape(-1, c)
    g = torch.Generator(device="cpu").manual_seed(seed)
    sample = pix
    if pix.shape[0] > max_samples:
        idx = torch.randperm(pix.shape[0], generator=g)[:max_samples].to(pix.device)
        sample = pix[idx]
    # k-means++ seeding
    centers = [sample[torch.randint(sample.shape[0], (1,), generator=g).item()]]
    d2 = (sample - centers[0]).pow(2).sum(1)
    for _ in range(1, k):
        if float(d2.sum()) <= 0:
            break
        probs = (d2 / d2.sum()).cpu()
        centers.append(sample[torch.multinomial(probs, 1, generator=g).item()])
        d2 = torch.minimum(d2, (sample - centers[-1]).pow(2).sum(1))
    cent = torch.stack(centers)
    for _ in range(iters):
        lab = torch.cdist(sample, cent).argmin(1)
        new = torch.zeros_like(cent).index_add_(0, lab, sample)
        cnt = torch.bincount(lab, minlength=cent.shape[0]).clamp_min(1).unsqueeze(1).to(new.dtype)
        cent = torch.where(torch.bincount(lab, minlength=cent.shape[0]).unsqueeze(1) > 0, new / cnt, cent)
    lab = torch.cdist(pix, cent).argmin(1)
    out = cent[lab].reshape(n, h, w, c).permute(0, 3, 1, 2).contiguous()
    return out.to(image.dtype)


# ------------------------------------------------------------------------------------------------
# Networks and defaults
# ------------------------------------------------------------------------------------------------

_VGG_STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]

#: Good layers and weights per network, for :func:`transfer` (mean content loss, paper E_l).
#:
#: - ``efficientnet_lite0`` (offline, real ImageNet weights): chosen by looking at results on
#:   chelsea × mosaic/swirl at 160–256 px (notebook 05 shows them). Style on stem … block4, each
#:   w_l set so that every layer's E_l starts at about the same value (≈ 100 from the content
#:   image; the raw E_l differ by 400× between stem and block2); block4 brings the cells and dark
#:   borders. Content at ``block4`` keeps the cat and lets the cells through (``block3`` is more
#:   photographic). TV 100 (per pixel) removes most of the checkerboard the strided convolutions
#:   leave. Mosaic on chelsea at 160 px, 150 L-BFGS steps: about 5–8 s on one CPU core.
#: - ``vgg19`` / ``vgg16`` (the paper's network, ``pooling="avg"``): content relu4_2, style
#:   relu1_1 … relu5_1 with the paper's w_l = 1/5 folded into one scale; the style scale is
#:   derived from the PyTorch tutorial's working weights (its loss is 4E_l/N_l² with weight 1e6),
#:   re-weighted per layer as 1e6·4/N_l². These weights are untested here: no VGG weights can be
#:   downloaded on the machines this was written on.
#: - ``shapesnet``: our small net; only useful for tests and toy textures.
DEFAULTS: dict[str, dict] = {
    "efficientnet_lite0": {
        "content_layers": {"block4": 1.0},
        "style_weights": {"stem": 10.0, "block1": 0.1, "block2": 0.03, "block3": 0.06, "block4": 0.1},
        "content_weight": 1.0,
        "tv_weight": 100.0,
    },
    "vgg19": {
        "content_layers": {"relu4_2": 1.0},
        "style_weights": {"relu1_1": 500.0, "relu2_1": 120.0, "relu3_1": 30.0, "relu4_1": 8.0,
                          "relu5_1": 8.0},
        "content_weight": 1.0,
        "tv_weight": 10.0,
    },
    "shapesnet": {
        "content_layers": {"relu3_2": 1.0},
        "style_weights": {"relu1_1": 1.0, "relu2_1": 1.0, "relu3_1": 1.0},
        "content_weight": 1.0,
        "tv_weight": 10.0,
    },
}
DEFAULTS["vgg16"] = dict(DEFAULTS["vgg19"])

#: Scale applied to :func:`mean_loss` so that its weights are comparable with the Gram loss's.
MEAN_STAT_SCALE = 100.0


def defaults(network: str | LayeredNet) -> dict:
    """A copy of :data:`DEFAULTS` for ``network`` (a name or a LayeredNet). Unknown nets: model defaults."""
    name = network if isinstance(network, str) else network.name
    if name in DEFAULTS:
        d = DEFAULTS[name]
        return {k: dict(v) if isinstance(v, dict) else v for k, v in d.items()}
    if isinstance(network, str):
        network = load_model(network, pretrained=False)
    dl = network.default_layers
    return {
        "content_layers": {dl["content"][0]: 1.0},
        "style_weights": {n: 1e3 for n in dl["style"]},
        "content_weight": 1.0,
        "tv_weight": 1e-4,
    }


_NETS: dict[tuple, LayeredNet] = {}
_NETS_LOCK = threading.Lock()


def get_network(network: str | LayeredNet = "efficientnet_lite0", device=None,
                pretrained: bool = True) -> LayeredNet:
    """The network for style transfer: a LayeredNet as given, or a cached ``models.load(name)``.

    VGG is built with ``pooling="avg"`` as in the paper. Frozen, eval mode.
    """
    if isinstance(network, LayeredNet):
        return network
    dev = torch.device(device) if device is not None else best_device()
    kw = {"pooling": "avg"} if network.lower().startswith("vgg") else {}
    key = (network.lower(), str(dev), pretrained)
    with _NETS_LOCK:
        if key not in _NETS:
            _NETS[key] = load_model(network, pretrained=pretrained, device=dev, **kw)
        return _NETS[key]


# ------------------------------------------------------------------------------------------------
# The optimisation
# ------------------------------------------------------------------------------------------------


@dataclass
class StyleResult:
    """What :func:`transfer` returns: ``.image`` (1,3,H,W) on the CPU, in [0,1]; ``.history``.

    ``history`` is a list of dicts, one per step plus one for the final image: ``step``, ``total``,
    ``content``, ``style``, ``tv`` (weighted terms) and ``style_layers`` / ``content_layers`` (each
    layer's *weighted* term), ``size``. ``settings`` records the arguments used (layer weights
    included). Unpacks as ``image, history = transfer(...)``.
    """

    image: torch.Tensor
    history: list[dict]
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0
    stopped: bool = False

    def __iter__(self):
        return iter((self.image, self.history))

    @property
    def losses(self) -> list[float]:
        return [h["total"] for h in self.history]


def _as_weights(layers, known: Mapping[str, float] | None = None, default_weight: float = 1.0) -> dict[str, float]:
    """Names or ``{name: weight}`` -> ``{name: weight}``; bare names take their weight from ``known``."""
    known = known or {}
    if known:
        default_weight = sorted(known.values())[len(known) // 2]
    if layers is None:
        return {}
    if isinstance(layers, str):
        layers = [layers]
    if isinstance(layers, Mapping):
        return {str(k): float(v) for k, v in layers.items()}
    return {str(k): float(known.get(k, default_weight)) for k in layers}


def _sizes(size) -> list[int]:
    if isinstance(size, (int, float)):
        return [int(size)]
    return [int(s) for s in size]


def _shape_for(content: torch.Tensor | None, style: torch.Tensor, size: int) -> tuple[int, int]:
    ref = content if content is not None else style
    h, w = ref.shape[-2:]
    s = size / max(h, w)
    return max(8, round(h * s)), max(8, round(w * s))


class _Objective:
    """Target statistics computed once (no graph kept) and the loss of eq. 7 for a given x."""

    def __init__(self, net, content, styles, blend, content_layers, style_weights, content_weight,
                 tv_weight, tv_exponent, statistic, normalize, autocast, range_weight=0.0,
                 memory_format=torch.contiguous_format):
        self.net = net
        self.content_weight = content_weight
        self.tv_weight = tv_weight
        self.tv_exponent = tv_exponent
        self.range_weight = range_weight
        self.memory_format = memory_format
        self.statistic = statistic
        self.normalize = normalize
        self.autocast = autocast
        # layers with weight 0 are not computed at all (the network may then stop earlier)
        content_layers = {k: w for k, w in content_layers.items() if w}
        style_weights = {k: w for k, w in style_weights.items() if w}
        self.content_layers, self.style_weights = content_layers, style_weights
        self.layers = list(dict.fromkeys([*content_layers, *style_weights]))
        net.check_layers(self.layers)
        self.content_targets: dict[str, torch.Tensor] = {}
        self.style_targets: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            if content is not None and content_layers:
                feats = self._features(content, list(content_layers))
                self.content_targets = {k: v.float().detach() for k, v in feats.items()}
            if styles and style_weights:
                for s, b in zip(styles, blend):
                    feats = self._features(s, list(style_weights))
                    for k, f in feats.items():
                        stat = self._stat(f).detach() * b
                        self.style_targets[k] = self.style_targets[k] + stat if k in self.style_targets else stat

    def _features(self, x, layers):
        with self.autocast():
            return self.net.features(x.contiguous(memory_format=self.memory_format), layers)

    def _stat(self, f):
        return channel_means(f) if self.statistic == "mean" else gram_matrix(f, self.normalize)

    def __call__(self, x) -> tuple[torch.Tensor, dict]:
        feats = self._features(x, self.layers)
        total = x.new_zeros(())
        c_terms, s_terms = {}, {}
        for k, w in self.content_layers.items():
            if k in self.content_targets and w:
                t = self.content_weight * w * content_loss(feats[k], self.content_targets[k], "mean")
                c_terms[k] = t
                total = total + t
        for k, w in self.style_weights.items():
            if k in self.style_targets and w:
                if self.statistic == "mean":
                    e = MEAN_STAT_SCALE * mean_loss(feats[k], self.style_targets[k])
                else:
                    e = style_loss(feats[k], self.style_targets[k], self.normalize)
                s_terms[k] = w * e
                total = total + s_terms[k]
        tv = self.tv_weight * tv_loss(x, self.tv_exponent) / x[0, 0].numel() if self.tv_weight else None
        if tv is not None:
            total = total + tv
        if self.range_weight:
            total = total + self.range_weight * (x - x.clamp(0, 1)).pow(2).mean()
        return total, {"content_layers": c_terms, "style_layers": s_terms, "tv": tv}


def _record(step, total, parts, size) -> dict:
    ck, sk = list(parts["content_layers"]), list(parts["style_layers"])
    tv = parts["tv"] if parts["tv"] is not None else torch.zeros((), device=total.device)
    vals = torch.stack([total.detach().float(), tv.detach().float(),
                        *[parts["content_layers"][k].detach().float() for k in ck],
                        *[parts["style_layers"][k].detach().float() for k in sk]]).tolist()  # one sync
    c = dict(zip(ck, vals[2:2 + len(ck)]))
    s = dict(zip(sk, vals[2 + len(ck):]))
    return {"step": step, "total": vals[0], "content": sum(c.values()), "style": sum(s.values()),
            "tv": vals[1], "content_layers": c, "style_layers": s, "size": size}


def transfer(
    content: torch.Tensor | None,
    style: torch.Tensor | Sequence[torch.Tensor] | None,
    *,
    size: int | Sequence[int] = 256,
    steps: int | Sequence[int] = 200,
    content_layers: str | Iterable[str] | Mapping[str, float] | None = None,
    style_weights: Mapping[str, float] | Iterable[str] | None = None,
    content_weight: float | None = None,
    tv_weight: float | None = None,
    tv_exponent: float = 1.0,
    range_weight: float = 1e5,
    style_blend: Sequence[float] | None = None,
    style_scale: float = 1.0,
    init: str | torch.Tensor = "content",
    optimizer: str = "lbfgs",
    lr: float | None = None,
    network: str | LayeredNet = "efficientnet_lite0",
    statistic: str = "gram",
    normalize: str = "paper",
    preserve_colors: str | None = None,
    palette: int | None = None,
    seed: int = 0,
    device=None,
    precision: str = "fp32",
    channels_last: bool | None = None,
    callback: Callable | None = None,
    callback_every: int = 10,
    stop: threading.Event | None = None,
    progress: bool = True,
) -> StyleResult:
    """Gatys et al. 2015, eq. 7: L = α L_content + β L_style (+ γ TV), minimised over the pixels.

    Arguments (all images (1,3,H,W) in [0,1]):

    - ``content``: the photo, or None (texture synthesis: style only).
    - ``style``: one image, a list of images (blended with ``style_blend`` weights, normalised to
      sum 1: the target Gram is Σ_s b_s A_s as in jcjohnson's ``-style_blend_weights``), or None
      (content reconstruction).
    - ``size``: the longer side of the result; a list (e.g. ``[128, 256]``) runs coarse to fine,
      each stage starting from the previous result upsampled. ``steps`` is an int per stage or a list.
      The style is resized to ``style_scale × size``.
    - ``content_layers``: names (weight 1 each), or ``{layer: weight}``; ``style_weights``:
      ``{layer: w_l}``, or names (each with its :data:`DEFAULTS` weight, else the median default
      weight). None takes :data:`DEFAULTS` for the network. A weight of 0 drops the layer. ``content_weight`` (α)
      and ``tv_weight`` (γ; TV is divided by H·W) likewise. β is folded into the w_l.
      ``range_weight``: L-BFGS optimises unconstrained pixels; this penalty, range_weight·mean
      (x − clamp(x, 0, 1))², keeps them in [0, 1] so that the final clamp changes little (Adam
      clamps after each step instead and ignores it).
    - ``init``: ``"content"``, ``"noise"`` (uniform, ``seed``) or a tensor.
    - ``optimizer``: ``"lbfgs"`` (the paper's choice; one *step* = one L-BFGS iteration, one forward
      and backward pass) or ``"adam"`` (``lr`` defaults to 0.02).
    - ``network``: a name (``"efficientnet_lite0"`` offline; ``"vgg19"`` the paper's, loaded with
      average pooling) or a LayeredNet. It runs only up to the deepest layer used.
    - ``statistic``: ``"gram"`` (eq. 3) or ``"mean"`` (channel means: the seed's experiment).
      ``normalize``: Gram normalisation, ``"paper"`` or ``"chw"`` (see the module docstring).
    - ``preserve_colors``: None; ``"original_colors"`` (jcjohnson: the result's luminance with the
      content's chroma, after the optimisation); ``"luminance"`` (Gatys et al. 2016: transfer on
      luminance only, style luminance matched to the content's mean/std, then the content's chroma).
    - ``palette``: reduce the style image(s), at the working size, to this many colours
      (:func:`quantize_colors`) before extracting their features.
    - ``precision``: ``"fp32"``, ``"tf32"`` (cuda matmul/conv in TF32) or ``"bf16"`` (autocast for
      the network; Grams and losses stay float32). ``channels_last`` (default: on cuda) feeds the
      network NHWC tensors (the optimised image itself stays NCHW for L-BFGS).
    - ``callback(step, image, losses)`` every ``callback_every`` steps and at the end (``image`` a
      detached CPU copy, ``losses`` the history entry); ``stop`` (a threading.Event) ends the loop
      early and returns the current image; ``progress`` shows a tqdm bar.

    Returns a :class:`StyleResult` (``.image``, ``.history``, ``.settings``, ``.seconds``); it also
    unpacks as ``image, history``.
    """
    import time

    from tqdm.auto import tqdm

    if content is None and style is None:
        raise ValueError("give a content image, a style image, or both")
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', not {optimizer!r}")
    if statistic not in ("gram", "mean"):
        raise ValueError(f"statistic must be 'gram' or 'mean', not {statistic!r}")
    if preserve_colors not in (None, "original_colors", "luminance"):
        raise ValueError(f"preserve_colors must be None, 'original_colors' or 'luminance', not {preserve_colors!r}")
    if precision not in ("fp32", "tf32", "bf16"):
        raise ValueError(f"precision must be 'fp32', 'tf32' or 'bf16', not {precision!r}")

    net = get_network(network, device)
    dev = next(net.parameters()).device
    d = defaults(net)
    if content_layers is None:
        content_layers = d["content_layers"] if content is not None else {}
    if style_weights is None:
        style_weights = d["style_weights"] if style is not None else {}
    content_layers = _as_weights(content_layers) if content is not None else {}
    style_weights = _as_weights(style_weights, d["style_weights"]) if style is not None else {}
    content_weight = d["content_weight"] if content_weight is None else float(content_weight)
    tv_weight = d["tv_weight"] if tv_weight is None else float(tv_weight)

    styles = [] if style is None else ([style] if isinstance(style, torch.Tensor) else list(style))
    if style_blend is None:
        style_blend = [1.0] * len(styles)
    if len(style_blend) != len(styles):
        raise ValueError(f"{len(styles)} style images but {len(style_blend)} blend weights")
    bsum = float(sum(style_blend)) or 1.0
    blend = [float(b) / bsum for b in style_blend]
    content_in = content
    if preserve_colors == "luminance":
        if content is not None:
            styles = [match_luminance(s, content) for s in styles]
            y = rgb_to_yuv(content)[:, :1]
            content = y.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()
        else:
            styles = [rgb_to_yuv(s)[:, :1].clamp(0, 1).expand(-1, 3, -1, -1).contiguous() for s in styles]

    sizes = _sizes(size)
    steps_list = [int(steps)] * len(sizes) if isinstance(steps, (int, float)) else [int(s) for s in steps]
    if len(steps_list) != len(sizes):
        raise ValueError(f"{len(sizes)} sizes but {len(steps_list)} step counts")

    cuda = dev.type == "cuda"
    old_tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) if cuda else None
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = precision in ("tf32", "bf16")
        torch.backends.cudnn.allow_tf32 = precision in ("tf32", "bf16")
    use_cl = cuda if channels_last is None else bool(channels_last)
    fmt = torch.channels_last if use_cl else torch.contiguous_format
    if use_cl:
        net.to(memory_format=torch.channels_last)

    def autocast():
        if precision == "bf16":  # cuda (fast) or cpu (slow, but the same code path, for tests)
            return torch.autocast(dev.type, dtype=torch.bfloat16)
        return torch.autocast(dev.type, enabled=False)

    settings = {
        "network": net.name, "size": sizes, "steps": steps_list, "content_layers": dict(content_layers),
        "style_weights": dict(style_weights), "content_weight": content_weight, "tv_weight": tv_weight,
        "tv_exponent": tv_exponent, "range_weight": range_weight, "style_blend": blend, "style_scale": style_scale, "init": init
        if isinstance(init, str) else "tensor", "optimizer": optimizer, "statistic": statistic,
        "normalize": normalize, "preserve_colors": preserve_colors, "palette": palette, "precision": precision,
    }
    history: list[dict] = []
    t0 = time.perf_counter()
    total_steps = sum(steps_list)
    bar = tqdm(total=total_steps, disable=not progress, desc="style transfer", leave=False)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x_prev: torch.Tensor | None = None
    done = 0
    stopped = False

    def finish(img):
        img = img.detach().float().clamp(0, 1).cpu()
        if preserve_colors is not None and content_in is not None:
            img = original_colors(img, content_in.detach().float().cpu())
        return img.contiguous()

    try:
        for sz, n_steps in zip(sizes, steps_list):
            hw = _shape_for(content, styles[0] if styles else None, sz)
            c_img = resize(content.float(), hw).to(dev) if content is not None else None
            s_imgs = [resize(s.float(), max(8, round(style_scale * sz))) for s in styles]
            if palette:  # after resizing, so that no blended colours come back
                s_imgs = [quantize_colors(s, int(palette), seed=seed) for s in s_imgs]
            s_imgs = [s.to(dev) for s in s_imgs]
            obj = _Objective(net, c_img, s_imgs, blend, content_layers, style_weights, content_weight,
                             tv_weight, tv_exponent, statistic, normalize, autocast,
                             range_weight if optimizer == "lbfgs" else 0.0, fmt)
            if x_prev is not None:
                x0 = F.interpolate(x_prev, size=hw, mode="bilinear", align_corners=False)
            elif isinstance(init, torch.Tensor):
                x0 = resize(init.float(), hw)
            elif init == "content" and c_img is not None:
                x0 = c_img.clone()
            elif init in ("noise", "content"):
                x0 = torch.rand((1, 3, *hw), generator=gen)
            else:
                raise ValueError(f"init must be 'content', 'noise' or a tensor, not {init!r}")
            # x stays NCHW-contiguous (L-BFGS flattens it); the network sees a channels_last copy
            x = x0.detach().to(dev).float().contiguous().requires_grad_(True)
            if optimizer == "lbfgs":
                opt = torch.optim.LBFGS([x], lr=lr or 1.0, max_iter=1, history_size=100,
                                        tolerance_grad=0.0, tolerance_change=0.0)
            else:
                opt = torch.optim.Adam([x], lr=lr or 0.02)
            last: dict = {}

            def closure(opt=opt, obj=obj, x=x, last=last):
                opt.zero_grad(set_to_none=True)
                loss, parts = obj(x)
                loss.backward()
                last["loss"], last["parts"] = loss.detach(), parts
                return loss

            for i in range(n_steps):
                if stop is not None and stop.is_set():
                    stopped = True
                    break
                opt.step(closure)
                if optimizer == "adam":
                    with torch.no_grad():
                        x.clamp_(0, 1)
                rec = _record(done, last["loss"], last["parts"], sz)
                history.append(rec)
                done += 1
                bar.update(1)
                if i % max(1, callback_every) == 0 or i == n_steps - 1:
                    bar.set_postfix(loss=f"{rec['total']:.4g}", refresh=False)
                    if callback is not None:
                        callback(done, finish(x), rec)
                if not math.isfinite(rec["total"]):
                    raise FloatingPointError(f"the loss became {rec['total']} at step {done}; lower the weights or lr")
            x_prev = x.detach().clamp(0, 1)
            with torch.no_grad():
                loss, parts = obj(x_prev)
            history.append(_record(done, loss, parts, sz) | {"final": True})
            if stopped:
                break
    finally:
        bar.close()
        if cuda:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old_tf32

    image = finish(x_prev)
    if callback is not None and stopped:
        callback(done, image, history[-1])
    return StyleResult(image=image, history=history, settings=settings,
                       seconds=time.perf_counter() - t0, stopped=stopped)


def synthesize_texture(style: torch.Tensor | Sequence[torch.Tensor], *, size: int | Sequence[int] = 128,
                       steps: int | Sequence[int] = 200, style_weights: Mapping[str, float] | Iterable[str] | None = None,
                       **kw) -> StyleResult:
    """Gatys, Ecker & Bethge 2015a (texture synthesis), eq. 5: match the Gram matrices only, from noise.

    ``style_weights`` as in :func:`transfer` (a single layer gives the "reconstruction from layer l"
    of the paper's figure). The result has the style image's aspect ratio. Other keywords go to
    :func:`transfer`.
    """
    kw.setdefault("init", "noise")
    return transfer(None, style, size=size, steps=steps, style_weights=style_weights, **kw)


def reconstruct_content(image: torch.Tensor, layers: str | Iterable[str] | Mapping[str, float], *,
                        size: int = 128, steps: int = 200, **kw) -> StyleResult:
    """Gatys et al. 2015, Fig. 1 (content reconstructions): an image from noise whose features at ``layers`` match.

    One deep layer keeps the layout and loses the exact pixels (and colours); adding early layers
    brings them back. ``tv_weight`` defaults to 30: a deep layer is blind to much of the starting
    noise (its null space), and a little TV, as in Mahendran & Vedaldi 2015, lets that noise go.
    Other keywords go to :func:`transfer`.
    """
    kw.setdefault("init", "noise")
    kw.setdefault("tv_weight", 30.0)
    return transfer(image, None, size=size, steps=steps, content_layers=layers, **kw)
