"""Feed-forward stylisation: Ulyanov et al. 2016 (texture networks, instance norm) and
Johnson et al. 2016 (perceptual losses, ``TransformerNet``), with training, inference and video.

Gatys et al. optimise the *pixels* of one image for minutes. These papers train a *network* once
to minimise the same losses over many content images; stylising is then a single forward pass.

>>> model = load_pretrained("mosaic")                 # shipped, trained by scripts/train_fast_style.py
>>> out = stylize(model, nm.sample_image("chelsea"))  # (1,3,H,W) in [0,1]

Pieces (names follow the papers):

- :class:`InstanceNorm2d` (Ulyanov, Vedaldi & Lempitsky 2016, eq. 2), with ``norm="batch"`` as the
  comparison everywhere a norm is chosen;
- :class:`TextureNetwork` (Ulyanov et al. 2016, fig. 2): a noise pyramid, conv blocks, join blocks;
- :class:`TransformerNet` (Johnson et al. 2016, table 1 / pytorch/examples): reflection padding,
  strided convs down, 5 residual blocks, nearest-upsample + conv up, instance norm;
- :class:`PerceptualLoss` (Johnson et al. 2016, eqs. 2–5): VGG-16 relu1_2/2_2/3_3/4_3 with content at
  relu2_2, or the offline ``efficientnet_lite0`` layers, plus total variation;
- :func:`train` (atomic checkpoints, bit-for-bit resume, bf16/channels_last on GPU), :func:`export`,
  :func:`load_model`, :func:`list_pretrained`, :func:`load_pretrained`;
- :func:`stylize`, :func:`stylize_video` (optional Farneback-flow temporal blending),
  :func:`flicker`, :func:`read_video`, :func:`write_video`, :func:`synthetic_clip`.

Training data: any image folder (COCO train2014 for real use: ``train(..., data="coco/train2014")``
at 256 px, batch 4, 2 epochs ≈ 40k steps as in the paper), or offline the bundled photos
(:func:`nomysticism.data.random_crops`).
"""

from __future__ import annotations

import copy
import json
import math
import time
import warnings
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import checkpoint as ckpt
from .data import ImageFolder, random_crops
from .images import load_image, resize, sample_image
from .models import LayeredNet, WeightsUnavailableError
from .models import load as load_net
from .style import content_loss, gram_matrix, tv_loss

__all__ = [
    "InstanceNorm2d",
    "make_norm",
    "ConvLayer",
    "ResidualBlock",
    "UpsampleConvLayer",
    "TransformerNet",
    "ConvBlock",
    "JoinBlock",
    "TextureNetwork",
    "LOSS_LAYERS",
    "PerceptualLoss",
    "feature_reconstruction_loss",
    "style_reconstruction_loss",
    "loss_network",
    "train",
    "export",
    "load_model",
    "list_pretrained",
    "pretrained_info",
    "load_pretrained",
    "stylize",
    "read_video",
    "write_video",
    "synthetic_clip",
    "farneback_flow",
    "warp",
    "stylize_frames",
    "stylize_video",
    "flicker",
]


# ------------------------------------------------------------------------------------------------
# Normalisation
# ------------------------------------------------------------------------------------------------


class InstanceNorm2d(nn.Module):
    """Ulyanov, Vedaldi & Lempitsky 2016, eq. 2: y_tijk = (x_tijk − μ_ti) / √(σ²_ti + ε), then γ·y + β.

    μ_ti and σ²_ti are the mean and (biased) variance of image t, channel i over its H×W positions.
    Unlike batch norm there are no running statistics: training and test behave the same, and
    every image is normalised on its own (its contrast is removed), which is what makes
    stylisation networks work.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        self.num_features, self.eps, self.affine = num_features, eps, affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        xf = x.float()  # statistics in float32 also under bf16 autocast
        mu = xf.mean(dim=(2, 3), keepdim=True)
        var = xf.var(dim=(2, 3), keepdim=True, unbiased=False)
        y = (xf - mu) * torch.rsqrt(var + self.eps)
        if self.affine:
            y = y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return y.to(dtype)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, affine={self.affine}"


def make_norm(norm: str, channels: int) -> nn.Module:
    """``"instance"`` (Ulyanov 2016), ``"batch"`` (the paper's comparison) or ``"none"``."""
    if norm == "instance":
        return InstanceNorm2d(channels, affine=True)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'instance', 'batch' or 'none', not {norm!r}")


# ------------------------------------------------------------------------------------------------
# Johnson et al. 2016: the image transformation network
# ------------------------------------------------------------------------------------------------


class ConvLayer(nn.Sequential):
    """Johnson et al. 2016, table 1: reflection padding then a (possibly strided) convolution."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride)


class ResidualBlock(nn.Module):
    """Johnson et al. 2016, supplement fig. 1 (He et al. 2016): x + norm(conv(relu(norm(conv(x)))))."""

    def __init__(self, channels: int, norm: str = "instance"):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3)
        self.in1 = make_norm(norm, channels)
        self.conv2 = ConvLayer(channels, channels, 3)
        self.in2 = make_norm(norm, channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(self.in1(self.conv1(x)))
        return x + self.in2(self.conv2(y))


class UpsampleConvLayer(nn.Module):
    """Johnson et al. 2016 (pytorch/examples; Odena et al. 2016): nearest ×2 upsampling then conv.

    ``mode="transpose"`` uses the paper's fractionally strided convolution instead, which shows
    checkerboard artefacts (kept for the comparison).
    """

    def __init__(self, cin: int, cout: int, kernel: int = 3, upsample: int = 2, mode: str = "nearest"):
        super().__init__()
        self.upsample, self.mode = upsample, mode
        if mode == "transpose":
            self.conv = nn.ConvTranspose2d(cin, cout, kernel, stride=upsample, padding=kernel // 2,
                                           output_padding=upsample - 1)
        elif mode == "nearest":
            self.pad = nn.ReflectionPad2d(kernel // 2)
            self.conv = nn.Conv2d(cin, cout, kernel)
        else:
            raise ValueError(f"mode must be 'nearest' or 'transpose', not {mode!r}")

    def forward(self, x):
        if self.mode == "transpose":
            return self.conv(x)
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return self.conv(self.pad(x))


class TransformerNet(nn.Module):
    """Johnson et al. 2016, table 1: c9s1-w, d2w, d4w, 5 × R4w, u2w, uw, c9s1-3 (w = 32 in the paper).

    ``width`` scales every layer (16 gives a network 4× cheaper; the shipped CPU-trained models use
    it). ``norm`` is ``"instance"`` (Ulyanov 2016) or ``"batch"`` (the original paper).
    ``upsample`` is ``"nearest"`` (+ conv) or ``"transpose"``. Input and output are images in
    [0, 1]; the output passes through a sigmoid. Any H and W work (the input is reflection-padded to
    a multiple of 4 and the output cropped back).
    """

    def __init__(self, width: int = 32, norm: str = "instance", upsample: str = "nearest",
                 n_residual: int = 5):
        super().__init__()
        self.config = {"arch": "TransformerNet", "width": width, "norm": norm, "upsample": upsample,
                       "n_residual": n_residual}
        w = width
        self.conv1 = ConvLayer(3, w, 9, 1)
        self.in1 = make_norm(norm, w)
        self.conv2 = ConvLayer(w, 2 * w, 3, 2)
        self.in2 = make_norm(norm, 2 * w)
        self.conv3 = ConvLayer(2 * w, 4 * w, 3, 2)
        self.in3 = make_norm(norm, 4 * w)
        self.res = nn.Sequential(*[ResidualBlock(4 * w, norm) for _ in range(n_residual)])
        self.deconv1 = UpsampleConvLayer(4 * w, 2 * w, 3, 2, upsample)
        self.in4 = make_norm(norm, 2 * w)
        self.deconv2 = UpsampleConvLayer(2 * w, w, 3, 2, upsample)
        self.in5 = make_norm(norm, w)
        self.deconv3 = ConvLayer(w, 3, 9, 1)
        self.relu = nn.ReLU()

    takes_content = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        y = self.relu(self.in1(self.conv1(x)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        y = torch.sigmoid(self.deconv3(y))
        return y[..., :h, :w]


# ------------------------------------------------------------------------------------------------
# Ulyanov et al. 2016: texture networks
# ------------------------------------------------------------------------------------------------


class ConvBlock(nn.Sequential):
    """Ulyanov et al. 2016, fig. 2 "conv block": 3×3, 3×3 and 1×1 convolutions, each followed by a
    norm and LeakyReLU(0.01); circular padding as in the paper's tileable textures."""

    def __init__(self, cin: int, cout: int, norm: str = "batch"):
        layers = []
        for k, (a, b) in zip((3, 3, 1), ((cin, cout), (cout, cout), (cout, cout))):
            layers += [nn.Conv2d(a, b, k, padding=k // 2, padding_mode="circular"),
                       make_norm(norm, b), nn.LeakyReLU(0.01)]
        super().__init__(*layers)


class JoinBlock(nn.Module):
    """Ulyanov et al. 2016, fig. 2 "join": upsample the coarser stream ×2 (nearest), normalise both
    streams, concatenate along channels."""

    def __init__(self, c_coarse: int, c_fine: int, norm: str = "batch"):
        super().__init__()
        self.norm_coarse = make_norm(norm, c_coarse)
        self.norm_fine = make_norm(norm, c_fine)

    def forward(self, coarse, fine):
        coarse = F.interpolate(coarse, size=fine.shape[-2:], mode="nearest")
        return torch.cat([self.norm_coarse(coarse), self.norm_fine(fine)], 1)


class TextureNetwork(nn.Module):
    """Ulyanov et al. 2016, fig. 2: g(z) from a noise pyramid z_1 … z_K (z_k at 1/2^(k−1) of the size).

    Each scale passes its noise (plus, for stylisation, the content image downsampled to that
    scale) through a :class:`ConvBlock`; from the coarsest scale up, :class:`JoinBlock` upsamples
    and concatenates, and another conv block follows; a final 1×1 conv gives RGB (sigmoid). Channels
    grow by ``channels`` per scale (8 in the paper). ``norm="batch"`` is the paper, ``"instance"`` its
    sequel. ``content=False``: a texture generator, called as ``net(n=4, size=(256, 256))``;
    ``content=True``: a stylisation network, called as ``net(image)``.
    """

    def __init__(self, scales: int = 5, channels: int = 8, noise_channels: int = 3, norm: str = "batch",
                 content: bool = False):
        super().__init__()
        self.config = {"arch": "TextureNetwork", "scales": scales, "channels": channels,
                       "noise_channels": noise_channels, "norm": norm, "content": content}
        self.scales, self.noise_channels, self.takes_content = scales, noise_channels, content
        cin = noise_channels + (3 if content else 0)
        self.blocks = nn.ModuleList([ConvBlock(cin, channels, norm) for _ in range(scales)])
        self.joins = nn.ModuleList()
        self.after = nn.ModuleList()
        c = channels
        for _ in range(scales - 1):  # from the coarsest upward
            self.joins.append(JoinBlock(c, channels, norm))
            c = c + channels
            self.after.append(ConvBlock(c, c, norm))
        self.to_rgb = nn.Conv2d(c, 3, 1)

    def noise(self, n: int, size, generator: torch.Generator | None = None, device=None) -> list:
        """The noise pyramid: K tensors U(0,1) of shape (n, noise_channels, H/2^k, W/2^k)."""
        h, w = (size, size) if isinstance(size, int) else size
        dev = device or self.to_rgb.weight.device
        out = []
        for k in range(self.scales):
            s = 2**k
            z = torch.rand(n, self.noise_channels, max(1, math.ceil(h / s)), max(1, math.ceil(w / s)),
                           generator=generator)
            out.append(z.to(dev))
        return out

    def forward(self, x: torch.Tensor | None = None, *, n: int = 1, size=None, noise: list | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        if self.takes_content:
            if x is None:
                raise ValueError("this texture network stylises: call it with a content image")
            n, size = x.shape[0], x.shape[-2:]
        elif size is None and x is not None:
            n, size = x.shape[0], x.shape[-2:]
        elif size is None:
            raise ValueError("a texture network needs size=(H, W) (or an image to copy the size of)")
        if noise is None:
            noise = self.noise(n, size, generator, device=self.to_rgb.weight.device)
        inputs = []
        for k, z in enumerate(noise):
            if self.takes_content:
                xs = x if k == 0 else F.interpolate(x, size=z.shape[-2:], mode="bilinear",
                                                   align_corners=False, antialias=True)
                z = torch.cat([z.to(xs.dtype), xs], 1)
            inputs.append(self.blocks[k](z))
        y = inputs[-1]
        for j, k in enumerate(range(self.scales - 2, -1, -1)):
            y = self.after[j](self.joins[j](y, inputs[k]))
        h, w = (size, size) if isinstance(size, int) else size
        return torch.sigmoid(self.to_rgb(y))[..., :h, :w]


# ------------------------------------------------------------------------------------------------
# Perceptual loss (Johnson et al. 2016, eqs. 2–5)
# ------------------------------------------------------------------------------------------------

#: Loss-network layers. VGG-16 is the paper's. For the offline EfficientNet-Lite0 the style layers
#: are the stem and the first three stages (strides 2–8, like relu1_2…relu4_3 at strides 1–8);
#: content is block2 (stride 4, where edges and parts still sit in place — like relu2_2).
LOSS_LAYERS = {
    "vgg16": {"style": ["relu1_2", "relu2_2", "relu3_3", "relu4_3"], "content": ["relu2_2"]},
    "vgg19": {"style": ["relu1_2", "relu2_2", "relu3_4", "relu4_4"], "content": ["relu2_2"]},
    "efficientnet_lite0": {"style": ["stem", "block1", "block2", "block3"], "content": ["block2"]},
}


def loss_network(name: str = "auto", device=None) -> LayeredNet:
    """The frozen loss network: ``"vgg16"``, ``"efficientnet_lite0"``, or ``"auto"`` (VGG-16 when its
    weights are available, else EfficientNet-Lite0, which needs no download)."""
    if name == "auto":
        try:
            return load_net("vgg16", device=device)
        except WeightsUnavailableError:
            warnings.warn("VGG-16 weights are unavailable; using efficientnet_lite0 as the loss network",
                          stacklevel=2)
            return load_net("efficientnet_lite0", device=device)
    return load_net(name, device=device)


def feature_reconstruction_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Johnson et al. 2016, eq. 2: ℓ_feat = 1/(C_j H_j W_j) ‖φ_j(ŷ) − φ_j(y)‖²₂, averaged over the batch.

    Written with Gatys' ``content_loss`` (½ Σ (F − P)²): ℓ_feat = 2·content_loss / numel.
    """
    return 2.0 * content_loss(features.float(), target.float()) / features.numel()


def style_reconstruction_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Johnson et al. 2016, eqs. 3–4: ℓ_style = ‖G_j(ŷ) − G_j(y)‖²_F with G_j = φφᵀ / (C_j H_j W_j),
    averaged over the batch. ``target_gram`` is (1 or N, C, C)."""
    g = gram_matrix(features.float(), "chw")
    return (g - target_gram.float()).pow(2).sum((1, 2)).mean()


class PerceptualLoss(nn.Module):
    """Johnson et al. 2016, eq. 5: λ_c Σ_j ℓ_feat^j(ŷ, y_c) + λ_s Σ_j ℓ_style^j(ŷ, y_s) + λ_TV ℓ_TV(ŷ).

    ``net`` is a name (``"vgg16"``, ``"efficientnet_lite0"``, ``"auto"``) or a :class:`LayeredNet`;
    the layers default to :data:`LOSS_LAYERS`. ``set_style(image)`` fixes the target Grams;
    calling the loss returns ``(total, parts)`` with ``parts = {"content", "style", "tv"}`` (unweighted
    sums over layers, as floats-in-tensors). ``content=None`` skips the content term (textures).
    The TV term is tv_loss (sum of squared neighbour differences) per image.

    ``relative_style``: divide each layer's ℓ_style^j by ‖G_j(y_s)‖²_F (a relative Gram error), so
    that layers whose activations differ in scale count alike. Off for VGG (the paper), on by default
    for EfficientNet-Lite0, whose stem Gram is ~100× smaller than block1's.
    """

    def __init__(self, net: str | LayeredNet = "auto", style_layers=None, content_layers=None,
                 content_weight: float = 1.0, style_weight: float = 1.0, tv_weight: float = 0.0,
                 style_image: torch.Tensor | None = None, style_size: int | None = None,
                 relative_style: bool | None = None):
        super().__init__()
        self.net = loss_network(net) if isinstance(net, str) else net
        self.net.requires_grad_(False).eval()
        layers = LOSS_LAYERS.get(self.net.name, {})
        self.style_layers = list(style_layers or layers.get("style") or self.net.default_layers["style"])
        self.content_layers = list(content_layers or layers.get("content")
                                   or self.net.default_layers["content"])
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        self.style_size = style_size
        self.relative_style = (not self.net.name.startswith("vgg")) if relative_style is None else relative_style
        self.target_grams: dict[str, torch.Tensor] = {}
        self.layer_scale: dict[str, float] = {}
        if style_image is not None:
            self.set_style(style_image)

    @property
    def layers(self) -> list[str]:
        return list(dict.fromkeys(self.style_layers + self.content_layers))

    @torch.no_grad()
    def set_style(self, style_image: torch.Tensor) -> None:
        dev = next(self.net.parameters()).device
        s = style_image.to(dev, torch.float32)
        if self.style_size is not None:
            s = resize(s, self.style_size)
        feats = self.net.features(s, self.style_layers)
        self.target_grams = {k: gram_matrix(feats[k].float(), "chw").mean(0, keepdim=True)
                             for k in self.style_layers}
        self.layer_scale = {k: (1.0 / float(g.pow(2).sum()) if self.relative_style else 1.0)
                            for k, g in self.target_grams.items()}

    def forward(self, output: torch.Tensor, content: torch.Tensor | None = None):
        if not self.target_grams:
            raise RuntimeError("call set_style(style_image) first")
        feats = self.net.features(output, self.layers)
        style = sum(self.layer_scale.get(k, 1.0) * style_reconstruction_loss(feats[k], self.target_grams[k])
                    for k in self.style_layers)
        if content is not None and self.content_weight:
            with torch.no_grad():
                target = self.net.features(content, self.content_layers)
            cont = sum(feature_reconstruction_loss(feats[k], target[k]) for k in self.content_layers)
        else:
            cont = output.new_zeros((), dtype=torch.float32)
        tv = tv_loss(output.float()) / output.shape[0]
        total = self.content_weight * cont + self.style_weight * style + self.tv_weight * tv
        return total, {"content": cont, "style": style, "tv": tv}


# ------------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------------


def _as_style_image(style) -> torch.Tensor:
    if isinstance(style, torch.Tensor):
        return style if style.ndim == 4 else style.unsqueeze(0)
    if isinstance(style, str) and not Path(style).exists():
        return sample_image(style)
    return load_image(style)


class _Batches:
    """Deterministic batches: step s always gets the same images (seeded by (seed, epoch)), so a
    resumed run sees exactly the batches an uninterrupted one would."""

    def __init__(self, data, image_size: int, batch_size: int, seed: int, workers: int = 0):
        if data is None:
            data = 512
        if isinstance(data, int):  # offline: random crops of the bundled photos
            data = random_crops(data, image_size, seed=seed)
        if isinstance(data, (str, Path)):
            data = ImageFolder(data, image_size)
        self.data, self.bs, self.seed, self.workers = data, batch_size, seed, workers
        self.n = len(data)
        if self.n < 1:
            raise ValueError("no training images")

    def _order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(self.n, generator=g)

    def indices(self, step: int) -> list[int]:
        out, pos = [], step * self.bs
        while len(out) < self.bs:
            epoch, i = divmod(pos, self.n)
            out.append(int(self._order(epoch)[i]))
            pos += 1
        return out

    def iterate(self, start: int):
        if isinstance(self.data, torch.Tensor):
            step = start
            while True:
                yield self.data[self.indices(step)]
                step += 1
        else:
            ds = self.data

            class _Sampler(torch.utils.data.Sampler):
                def __iter__(it):
                    step = start
                    while True:
                        yield self.indices(step)
                        step += 1

            loader = torch.utils.data.DataLoader(ds, batch_sampler=_Sampler(), num_workers=self.workers,
                                                 persistent_workers=False)
            yield from loader


def train(
    model: nn.Module,
    style,
    data=None,
    *,
    steps: int = 1000,
    batch_size: int = 4,
    image_size: int = 256,
    lr: float = 1e-3,
    loss: PerceptualLoss | None = None,
    loss_net: str | LayeredNet = "auto",
    content_weight: float = 1.0,
    style_weight: float = 1e5,
    tv_weight: float = 1e-6,
    style_size: int | None = None,
    seed: int = 0,
    device=None,
    amp: bool | None = None,
    channels_last: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 100,
    resume: bool = True,
    log_every: int = 10,
    workers: int = 0,
    progress: bool = True,
    callback: Callable | None = None,
    stop=None,
) -> dict:
    """Johnson et al. 2016, §3 / Ulyanov et al. 2016, §3: train a feed-forward network with Adam to
    minimise the perceptual loss (eq. 5) over ``data``; returns the history.

    ``model``: a :class:`TransformerNet` or :class:`TextureNetwork` (a texture-only network gets no
    content term). ``style``: an image tensor, a path, or a sample name (``"mosaic"``).
    ``data``: a folder of images (COCO), a tensor (N,3,S,S), an ``ImageFolder``, or an int ``n``
    / None (``n`` random crops of the bundled photos, 512 by default).

    ``checkpoint``: a path written atomically every ``checkpoint_every`` steps, on ``stop`` and at
    the end (model, Adam state, step, history, RNG). With ``resume=True`` an existing checkpoint is
    loaded and training continues at its step with the same optimiser state; batches and noise are
    seeded by the step, so the resumed run matches an uninterrupted one bit for bit on CPU.

    On CUDA, ``amp`` (default on) runs the forward passes in bf16 autocast and ``channels_last``
    (default on) changes the memory layout; on CPU both default off.
    ``callback(step, output, history)`` runs every ``log_every`` steps (and may return True to stop).
    Returns ``{"step", "loss", "content", "style", "tv", "steps_logged", "seconds"}``.
    """
    from tqdm.auto import tqdm

    dev = torch.device(device) if device is not None else (
        torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu"))
    cuda = dev.type == "cuda"
    amp = cuda if amp is None else amp
    channels_last = cuda if channels_last is None else channels_last
    mf = torch.channels_last if channels_last else torch.contiguous_format

    if loss is None:
        loss = PerceptualLoss(loss_net, content_weight=content_weight, style_weight=style_weight,
                              tv_weight=tv_weight, style_size=style_size)
    loss.net.to(dev, memory_format=mf)
    if not loss.target_grams and style is None:
        raise ValueError("give a style image (or a PerceptualLoss whose set_style() was called)")
    if not loss.target_grams:
        loss.set_style(_as_style_image(style))
    else:
        loss.target_grams = {k: v.to(dev) for k, v in loss.target_grams.items()}
    model.to(dev, memory_format=mf).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    hist = {"step": [], "loss": [], "content": [], "style": [], "tv": [], "seconds": 0.0}
    start = 0
    if checkpoint is not None and resume and Path(checkpoint).exists():
        st = ckpt.load_checkpoint(checkpoint, map_location=dev)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        start = int(st["step"])
        hist = {k: (list(v) if isinstance(v, list) else v) for k, v in st["history"].items()}
        ckpt.set_rng_state(st["rng"])

    def save(step):
        if checkpoint is None:
            return
        ckpt.save_checkpoint(checkpoint, {
            "model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
            "history": hist, "rng": ckpt.rng_state(),
            "config": json.dumps({**getattr(model, "config", {}), "lr": lr, "batch_size": batch_size,
                                  "image_size": image_size, "seed": seed}),
        })

    batches = _Batches(data, image_size, batch_size, seed, workers) if model.takes_content else None
    it = batches.iterate(start) if batches is not None else None
    bar = tqdm(total=steps, initial=start, disable=not progress, desc="train", leave=False)
    t0 = time.perf_counter()
    step = start
    out = None
    acc = {"loss": 0.0, "content": 0.0, "style": 0.0, "tv": 0.0}
    nacc = 0
    try:
        while step < steps:
            if stop is not None and stop.is_set():
                break
            if it is not None:
                x = next(it).to(dev, non_blocking=True).contiguous(memory_format=mf)
            else:
                x = None
            g = torch.Generator().manual_seed(seed * 1_000_003 + step)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
                if model.takes_content:
                    out = model(x, generator=g) if isinstance(model, TextureNetwork) else model(x)
                else:
                    out = model(n=batch_size, size=(image_size, image_size), generator=g)
                total, parts = loss(out, x)
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            step += 1
            acc["loss"] += float(total.detach())
            for k in ("content", "style", "tv"):
                acc[k] += float(parts[k].detach())
            nacc += 1
            bar.update(1)
            if step % log_every == 0 or step == steps:
                hist["step"].append(step)
                for k in acc:
                    hist[k].append(acc[k] / nacc)
                acc = dict.fromkeys(acc, 0.0)
                nacc = 0
                bar.set_postfix(loss=f"{hist['loss'][-1]:.4g}")
                if callback is not None and callback(step, out.detach().float(), hist):
                    break
            if checkpoint is not None and step % checkpoint_every == 0:
                hist["seconds"] = hist["seconds"] + time.perf_counter() - t0
                t0 = time.perf_counter()
                save(step)
    finally:
        bar.close()
    hist["seconds"] = hist["seconds"] + time.perf_counter() - t0
    save(step)
    model.eval()
    return hist


# ------------------------------------------------------------------------------------------------
# Export and shipped models
# ------------------------------------------------------------------------------------------------


def _build(config: dict) -> nn.Module:
    config = dict(config)
    arch = config.pop("arch")
    if arch == "TransformerNet":
        return TransformerNet(**config)
    if arch == "TextureNetwork":
        return TextureNetwork(**config)
    raise ValueError(f"unknown architecture {arch!r}")


def export(model: nn.Module, path, metadata: dict | None = None) -> Path:
    """Save a trained network as safetensors, with its architecture (and ``metadata``) in the header,
    so :func:`load_model` can rebuild it."""
    meta = {"config": json.dumps(model.config)}
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()})
    # a float32 CPU copy: the caller's model stays where it is (e.g. on the GPU, in bf16)
    return ckpt.save_weights(copy.deepcopy(model).float().cpu(), path, metadata=meta)


def load_model(path, device=None) -> nn.Module:
    """Rebuild a network written by :func:`export` (eval mode)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    if "config" not in meta:
        raise ValueError(f"{path}: no 'config' in the safetensors header (not written by export())")
    model = _build(json.loads(meta["config"]))
    ckpt.load_weights(model, path)
    model.metadata = meta
    model.eval()
    return model.to(device) if device is not None else model


def _assets():
    return resources.files("nomysticism").joinpath("assets/fast_style")


def list_pretrained(kind: str | None = None) -> list[str]:
    """Names of the shipped trained models (``assets/fast_style/<name>.safetensors``).

    ``kind``: None (all), ``"style"`` (networks that stylise a photo) or ``"texture"`` (texture
    generators, which ignore the photo and only copy its size)."""
    from safetensors import safe_open

    if kind not in (None, "style", "texture"):
        raise ValueError(f"kind must be None, 'style' or 'texture', not {kind!r}")
    d = _assets()
    if not d.is_dir():
        return []
    names = []
    for p in d.iterdir():
        if not p.name.endswith(".safetensors"):
            continue
        if kind is not None:
            with resources.as_file(p) as f, safe_open(str(f), "pt") as st:
                cfg = json.loads((st.metadata() or {}).get("config", "{}"))
            takes_content = cfg.get("arch") == "TransformerNet" or cfg.get("content", False)
            if takes_content != (kind == "style"):
                continue
        names.append(p.name[: -len(".safetensors")])
    return sorted(names)


def pretrained_info(name: str) -> dict:
    """The recipe, environment and training curve of a shipped model (``assets/fast_style/<name>.json``)."""
    f = _assets().joinpath(f"{name}.json")
    if not f.is_file():
        raise ValueError(f"no record for {name!r}; shipped models: {', '.join(list_pretrained()) or 'none'}")
    return json.loads(f.read_text("utf-8"))


def load_pretrained(name: str, device=None) -> nn.Module:
    """A shipped model by name (see :func:`list_pretrained`), or any path written by :func:`export`."""
    if Path(name).suffix == ".safetensors" and Path(name).exists():
        return load_model(name, device)
    names = list_pretrained()
    if name not in names:
        raise ValueError(f"no shipped model {name!r}; available: {', '.join(names) or 'none'} "
                         "(or pass the path of a .safetensors file written by export())")
    with resources.as_file(_assets().joinpath(f"{name}.safetensors")) as p:
        return load_model(p, device)


# ------------------------------------------------------------------------------------------------
# Inference
# ------------------------------------------------------------------------------------------------


@torch.no_grad()
def stylize(model: nn.Module, image: torch.Tensor, *, device=None, max_side: int | None = None,
            amp: bool | None = None, channels_last: bool | None = None, batch_size: int = 8) -> torch.Tensor:
    """Johnson et al. 2016: one forward pass ŷ = f_W(x). ``image`` is (3,H,W) or (N,3,H,W) in [0,1]
    (or a path / sample name); returns (N,3,H,W) float32 on the CPU.

    Runs on ``device`` (default: the model's). On CUDA, ``amp`` (bf16 autocast) and
    ``channels_last`` default on. ``max_side`` shrinks large inputs first.
    """
    if not isinstance(image, torch.Tensor):
        image = _as_style_image(image)
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if max_side is not None and max(image.shape[-2:]) > max_side:
        image = resize(image, max_side)
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    cuda = dev.type == "cuda"
    amp = cuda if amp is None else amp
    channels_last = cuda if channels_last is None else channels_last
    mf = torch.channels_last if channels_last else torch.contiguous_format
    was_training = model.training
    model.eval().to(dev, memory_format=mf)
    outs = []
    for i in range(0, image.shape[0], batch_size):
        x = image[i : i + batch_size].to(dev, torch.float32).contiguous(memory_format=mf)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            y = model(x)
        outs.append(y.float().clamp(0, 1).cpu().contiguous())
    model.train(was_training)
    return torch.cat(outs)


# ------------------------------------------------------------------------------------------------
# Video
# ------------------------------------------------------------------------------------------------


def read_video(path, max_side: int | None = None, max_frames: int | None = None) -> tuple[torch.Tensor, float]:
    """Frames (T,3,H,W) in [0,1] and the frame rate, decoded with PyAV (what imageio's pyav plugin
    uses; called directly because that plugin runs a full ``gc.collect()`` on every close)."""
    import av

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    if path.suffix.lower() == ".gif":
        import imageio.v3 as iio

        arrs, fps = iio.imread(path, index=None), 10.0
        arrs = arrs[..., :3] if arrs.ndim == 4 else np.repeat(arrs[..., None], 3, -1)
        iterator = iter(arrs)
    else:
        iterator = None
    frames = []
    with (av.open(str(path)) if iterator is None else _nullcontext()) as container:
        if iterator is None:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 25.0
            iterator = (f.to_ndarray(format="rgb24") for f in container.decode(stream))
        for k, fr in enumerate(iterator):
            if max_frames is not None and k >= max_frames:
                break
            x = torch.from_numpy(np.ascontiguousarray(fr)).permute(2, 0, 1).unsqueeze(0).float() / 255.0
            frames.append(resize(x, max_side) if max_side and max(x.shape[-2:]) > max_side else x)
    if not frames:
        raise ValueError(f"{path}: no frames")
    return torch.cat(frames), fps


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def write_video(frames: torch.Tensor | Iterable[torch.Tensor], path, fps: float = 25.0,
                codec: str | None = None) -> Path:
    """Write frames ((T,3,H,W) or an iterable of (1|3,…)) with PyAV (``.gif`` with imageio).

    ``.mp4``/``.mkv``/``.mov`` default to H.264 (yuv420p; odd sizes are padded by one pixel, since
    H.264 needs even sides), ``.webm`` to VP9. Written to a temp file then renamed.
    """
    import os
    from fractions import Fraction

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrs = []
    for fr in frames:
        fr = fr[0] if fr.ndim == 4 else fr
        a = (fr.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
        arrs.append(a)
    if not arrs:
        raise ValueError("no frames to write")
    suffix = path.suffix.lower()
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        if suffix == ".gif":
            import imageio.v3 as iio

            iio.imwrite(tmp, np.stack(arrs), duration=1000.0 / fps, loop=0)
        else:
            import av

            h, w = arrs[0].shape[:2]
            if h % 2 or w % 2:
                arrs = [np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") for a in arrs]
            codec = codec or ("libvpx-vp9" if suffix == ".webm" else "libx264")
            with av.open(str(tmp), "w") as container:
                stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
                stream.width, stream.height = arrs[0].shape[1], arrs[0].shape[0]
                stream.pix_fmt = "yuv420p"
                for a in arrs:
                    for packet in stream.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                        container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def synthetic_clip(n: int = 16, size=(96, 128), source: str = "astronaut", speed: float = 2.0,
                   zoom: float = 0.004, seed: int = 0) -> torch.Tensor:
    """An offline test clip (T,3,H,W): a camera panning (``speed`` px/frame) and slowly zooming over a
    bundled photo, with a little sensor noise (σ = 1/255, seeded)."""
    h, w = (size, size) if isinstance(size, int) else size
    img = sample_image(source)
    H, W = img.shape[-2:]
    base = min(H / (h * 1.6), W / (w * 1.6))  # window scale: the crop is 1.6× the output at frame 0
    g = torch.Generator().manual_seed(seed)
    frames = []
    for t in range(n):
        s = base * (1 - zoom * t)
        ch, cw = h * s, w * s
        cy = H / 2 - ch / 2 + 0.3 * speed * t * s
        cx = W / 4 + speed * t * s
        cx = min(max(cx, 0), W - cw)
        cy = min(max(cy, 0), H - ch)
        theta = torch.tensor([[cw / W, 0, (2 * cx + cw) / W - 1], [0, ch / H, (2 * cy + ch) / H - 1]],
                             dtype=torch.float32).unsqueeze(0)
        grid = F.affine_grid(theta, (1, 3, h, w), align_corners=False)
        fr = F.grid_sample(img, grid, mode="bilinear", align_corners=False)
        fr = fr + torch.randn(fr.shape, generator=g) / 255.0
        frames.append(fr.clamp(0, 1))
    return torch.cat(frames)


def _gray_u8(x: torch.Tensor) -> np.ndarray:
    x = x[0] if x.ndim == 4 else x
    g = 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    return (g.clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def farneback_flow(frame_from: torch.Tensor, frame_to: torch.Tensor) -> np.ndarray:
    """Dense optical flow (Farnebäck 2003, OpenCV) from ``frame_from`` to ``frame_to``: (H,W,2) float32,
    with flow[y, x] = (dx, dy) such that frame_from[y, x] ≈ frame_to[y + dy, x + dx]."""
    import cv2

    return cv2.calcOpticalFlowFarneback(_gray_u8(frame_from), _gray_u8(frame_to), None,
                                        pyr_scale=0.5, levels=3, winsize=15, iterations=3,
                                        poly_n=5, poly_sigma=1.2, flags=0)


def warp(image: torch.Tensor, flow: np.ndarray) -> torch.Tensor:
    """Backward warp: out[y, x] = image[y + flow_y, x + flow_x] (bilinear, borders replicated)."""
    import cv2

    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = gx + flow[..., 0], gy + flow[..., 1]
    a = (image[0] if image.ndim == 4 else image).permute(1, 2, 0).cpu().numpy().astype(np.float32)
    out = cv2.remap(np.ascontiguousarray(a), mx, my, interpolation=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return torch.from_numpy(out).permute(2, 0, 1).unsqueeze(0)


def stylize_frames(model: nn.Module, frames, *, temporal: float = 0.0, occlusion_threshold: float = 0.05,
                   device=None, progress: bool = True, callback: Callable | None = None,
                   stop=None) -> torch.Tensor:
    """Stylise frames one by one. With ``temporal = α > 0``, blend each stylised frame with the
    previous *stylised* frame warped into place by Farnebäck flow (a cheap form of Ruder et al. 2016's
    temporal consistency): ŷ_t ← (1 − α·m)·ŷ_t + α·m·warp(ŷ_{t−1}), where the mask m is 0 where the
    warped previous *content* frame differs from the current one by more than
    ``occlusion_threshold`` (occlusions, disocclusions, flow errors) and 1 elsewhere.

    ``frames``: (T,3,H,W) or an iterable of (1|3,H,W) frames. Returns (T,3,H,W).
    """
    from tqdm.auto import tqdm

    if not 0.0 <= temporal < 1.0:
        raise ValueError("temporal must be in [0, 1)")
    total = len(frames) if hasattr(frames, "__len__") else None
    outs = []
    prev_c = prev_s = None
    for t, fr in enumerate(tqdm(frames, total=total, disable=not progress, desc="frames", leave=False)):
        if stop is not None and stop.is_set():
            break
        fr = fr if fr.ndim == 4 else fr.unsqueeze(0)
        y = stylize(model, fr, device=device)
        if temporal > 0 and prev_s is not None:
            flow = farneback_flow(fr, prev_c)  # current -> previous: warp(prev, flow) aligns to now
            warped_s = warp(prev_s, flow)
            warped_c = warp(prev_c, flow)
            m = ((warped_c - fr.cpu()).abs().mean(1, keepdim=True) < occlusion_threshold).float()
            y = (1 - temporal * m) * y + temporal * m * warped_s
        outs.append(y)
        prev_c, prev_s = fr.cpu(), y
        if callback is not None:
            callback(t, y)
    if not outs:
        raise ValueError("no frames")
    return torch.cat(outs)


def flicker(stylized: torch.Tensor, content: torch.Tensor) -> float:
    """Flicker: the mean absolute change between consecutive stylised frames, relative to the mean
    absolute change between the content frames, (Σ_t mean|ŷ_t − ŷ_{t−1}|) / (Σ_t mean|x_t − x_{t−1}|).

    1 means the stylised video changes as much as the input does; a network that flickers
    (independent per-frame decisions) scores well above 1.
    """
    if stylized.shape[0] != content.shape[0] or stylized.shape[0] < 2:
        raise ValueError("flicker needs two sequences of the same length (≥ 2 frames)")
    if stylized.shape[-2:] != content.shape[-2:]:
        content = F.interpolate(content, size=stylized.shape[-2:], mode="bilinear", align_corners=False)
    ds = (stylized[1:].float() - stylized[:-1].float()).abs().mean()
    dc = (content[1:].float() - content[:-1].float()).abs().mean()
    return float(ds / dc.clamp_min(1e-12))


def stylize_video(model: nn.Module, src, dst=None, *, temporal: float = 0.0, max_side: int | None = None,
                  max_frames: int | None = None, fps: float | None = None, device=None,
                  progress: bool = True, callback: Callable | None = None, stop=None) -> dict:
    """Stylise a video file (or a (T,3,H,W) tensor) frame by frame and write ``dst`` if given.

    Returns ``{"frames": (T,3,H,W) stylised, "content": (T,3,H,W), "fps", "flicker", "seconds", "path"}``.
    """
    if isinstance(src, torch.Tensor):
        content, in_fps = src, 25.0
        if max_side and max(content.shape[-2:]) > max_side:
            content = resize(content, max_side)
        if max_frames is not None:
            content = content[:max_frames]
    else:
        content, in_fps = read_video(src, max_side=max_side, max_frames=max_frames)
    t0 = time.perf_counter()
    out = stylize_frames(model, content, temporal=temporal, device=device, progress=progress,
                         callback=callback, stop=stop)
    secs = time.perf_counter() - t0
    content = content[: out.shape[0]]
    res = {"frames": out, "content": content, "fps": fps or in_fps, "seconds": secs,
           "flicker": flicker(out, content) if out.shape[0] > 1 else float("nan"), "path": None}
    if dst is not None:
        res["path"] = write_video(out, dst, fps=fps or in_fps)
    return res
