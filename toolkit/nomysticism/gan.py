"""Generative adversarial networks: one training loop; DCGAN, conditional GAN, CycleGAN; losses; metrics.

Goodfellow et al. 2014 set two networks against each other: a generator G(z) that paints images from
noise and a discriminator D(x) that tells real from painted. This module has

- the losses: ``gan_loss`` with ``mode`` in vanilla (BCE with logits), lsgan (least squares, Mao 2017)
  and wgangp (Wasserstein critic, Gulrajani 2017) and the public :func:`gradient_penalty`;
- three models that share one loop (:func:`train`): :class:`DCGAN` (Radford 2015),
  :class:`ConditionalGAN` (Mirza & Osindero 2014, shaped like the seed's poster GAN: z of 100 joined
  to a one-hot label, then a linear layer) and :class:`CycleGAN` (Zhu 2017: ResNet generator, 70×70
  PatchGAN, instance norm, image pool, linear LR decay);
- measured quality: :func:`class_accuracy` (ask for a triangle, get a triangle?), :func:`fid`
  (Fréchet distance on a classifier's features), :func:`cycle_error` and a domain classifier's
  :func:`acceptance`.

Images are (N,C,H,W) in [0,1] at the API, as everywhere in the toolkit. Inside, the networks work in
[-1,1] as the papers do (G ends in tanh); the model classes convert at the boundary.

Data for :func:`train` is held in memory or indexed: a tensor of images (DCGAN), a pair
``(images, labels)`` (cGAN), or two image sets ``(A, B)`` (CycleGAN, unpaired). Any
``torch.utils.data.Dataset`` that returns image tensors works in place of a tensor, e.g. a folder of
your own pictures: ``nm.data.ImageFolder("my_photos/", size=64)``.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state

__all__ = [
    "GAN_MODES",
    "gan_loss",
    "d_loss",
    "g_loss",
    "gradient_penalty",
    "ImagePool",
    "linear_decay",
    "weights_init",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "ConditionalGenerator",
    "ConditionalDiscriminator",
    "ResnetGenerator",
    "PatchDiscriminator",
    "DCGAN",
    "ConditionalGAN",
    "CycleGAN",
    "Run",
    "train",
    "slerp",
    "interpolate",
    "features",
    "class_accuracy",
    "frechet_distance",
    "fid",
    "cycle_error",
    "DomainClassifier",
    "train_domain_classifier",
    "acceptance",
    "digits_judge",
    "save_generator",
    "pretrained",
    "JUDGE_DIR",
]

GAN_MODES = ("vanilla", "lsgan", "wgangp")
JUDGE_DIR = Path(__file__).parent / "assets" / "gan"


# ------------------------------------------------------------------------------------------------
# Losses
# ------------------------------------------------------------------------------------------------


def _check_mode(mode: str) -> str:
    if mode not in GAN_MODES:
        raise ValueError(f"gan_mode must be one of {', '.join(GAN_MODES)}, not {mode!r}")
    return mode


def gan_loss(pred: torch.Tensor, target_is_real: bool, mode: str = "vanilla") -> torch.Tensor:
    """Goodfellow 2014 eq. 1 / Mao 2017 eq. 2 / Arjovsky 2017: the adversarial loss of D's output.

    - vanilla: binary cross-entropy with logits against 1 (real) or 0 (fake);
    - lsgan: mean squared error against 1 or 0 (no sigmoid);
    - wgangp: the critic's score, ``-mean(pred)`` for real and ``+mean(pred)`` for fake.

    ``pred`` may be a patch map (PatchGAN); the mean runs over every element.
    """
    _check_mode(mode)
    pred = pred.float()
    if mode == "wgangp":
        return -pred.mean() if target_is_real else pred.mean()
    target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(pred, target)
    return F.mse_loss(pred, target)


def d_loss(d_real: torch.Tensor, d_fake: torch.Tensor, mode: str = "vanilla") -> torch.Tensor:
    """Goodfellow 2014 eq. 1 (D's side): loss on real images as real plus fakes as fake.

    For wgangp this is the Wasserstein critic loss ``mean D(fake) - mean D(real)``; add
    :func:`gradient_penalty` yourself.
    """
    return gan_loss(d_real, True, mode) + gan_loss(d_fake, False, mode)


def g_loss(d_fake: torch.Tensor, mode: str = "vanilla") -> torch.Tensor:
    """Goodfellow 2014 §3, the non-saturating generator loss: make D call the fakes real."""
    return gan_loss(d_fake, True, mode)


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, *args, eps: torch.Tensor | None = None,
                     weight: float = 10.0) -> torch.Tensor:
    """Gulrajani et al. 2017, eq. 3: λ·E[(‖∇_x̂ D(x̂)‖₂ − 1)²] at x̂ = ε·real + (1−ε)·fake, ε ~ U[0,1].

    ``critic(x̂, *args)`` is called with any extra arguments (the labels of a conditional critic).
    ``eps`` (N,) may be given (tests do); otherwise it is drawn per sample. The graph is kept
    (``create_graph=True``) so the penalty trains the critic.
    """
    n = real.shape[0]
    if eps is None:
        eps = torch.rand(n, device=real.device)
    eps = eps.to(real.dtype).view(n, *([1] * (real.ndim - 1)))
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(x_hat, *args)
    (grad,) = torch.autograd.grad(out.float().sum(), x_hat, create_graph=True)
    norms = grad.float().flatten(1).norm(2, dim=1)
    return weight * ((norms - 1) ** 2).mean()


class ImagePool:
    """Shrivastava et al. 2017 §2.3 (used by Zhu 2017 §4): a buffer of past fakes for D.

    ``query(images)`` returns a batch of the same size. While the pool holds fewer than ``size``
    images, each new image is stored and returned as is. Once full, each image is, with probability
    1/2, swapped for a random stored one (which is returned; the new one takes its place), or else
    returned as is. ``size=0`` turns the pool off. Randomness comes from torch's global generator,
    so a checkpoint's RNG state restores it; ``state_dict`` holds the images.
    """

    def __init__(self, size: int = 50):
        self.size = int(size)
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for im in images.detach():
            im = im.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(im.clone())
                out.append(im)
            elif float(torch.rand(())) > 0.5:
                k = int(torch.randint(0, self.size, ()))
                out.append(self.images[k].clone())
                self.images[k] = im.clone()
            else:
                out.append(im)
        return torch.cat(out, 0)

    def state_dict(self) -> dict:
        return {"size": self.size, "images": [im.cpu() for im in self.images]}

    def load_state_dict(self, st: dict, device=None) -> None:
        self.size = int(st["size"])
        self.images = [im.to(device) if device is not None else im for im in st["images"]]


def linear_decay(step: int, n_steps: int, n_decay: int | None = None) -> float:
    """Zhu 2017 §7.1: the LR factor, 1 for the first ``n_steps - n_decay`` steps, then linearly to 0.

    ``n_decay`` defaults to half of ``n_steps`` (the paper: 100 epochs constant, 100 decaying). As in
    junyanz's code the factor is ``1 - max(0, step - n_const) / (n_decay + 1)``.
    """
    n_decay = n_steps // 2 if n_decay is None else n_decay
    n_const = n_steps - n_decay
    return 1.0 - max(0, step - n_const) / float(n_decay + 1)


def weights_init(m: nn.Module, std: float = 0.02) -> None:
    """Radford 2015 §4: weights from N(0, 0.02); norm layers' scales from N(1, 0.02), biases 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, std)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.InstanceNorm2d, nn.GroupNorm)):
        if m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


# ------------------------------------------------------------------------------------------------
# DCGAN networks (Radford 2015; PyTorch's DCGAN tutorial sizes) and the conditional variants
# ------------------------------------------------------------------------------------------------


def _n_up(size: int) -> int:
    n = int(round(math.log2(size))) - 2
    if size < 16 or 2 ** (n + 2) != size:
        raise ValueError(f"DCGAN sizes are powers of two >= 16, not {size}")
    return n


def _d_norm(c: int, kind: str) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "layer":  # the WGAN-GP paper's advice: no batch norm in the critic
        return nn.GroupNorm(1, c)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be batch, layer or none, not {kind!r}")


def _up_blocks(cin: int, n: int, channels: int) -> OrderedDict:
    layers = OrderedDict()
    for i in range(1, n):
        layers[f"up{i}"] = nn.Sequential(
            nn.ConvTranspose2d(cin, cin // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(cin // 2), nn.ReLU(True))
        cin //= 2
    layers[f"up{n}"] = nn.ConvTranspose2d(cin, channels, 4, 2, 1, bias=False)
    layers["tanh"] = nn.Tanh()
    return layers


def _down_blocks(channels: int, ndf: int, n: int, norm: str) -> tuple[OrderedDict, int]:
    layers = OrderedDict()
    layers["down1"] = nn.Sequential(nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True))
    c = ndf
    for i in range(2, n + 1):
        layers[f"down{i}"] = nn.Sequential(
            nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), _d_norm(c * 2, norm), nn.LeakyReLU(0.2, True))
        c *= 2
    return layers, c


class DCGANGenerator(nn.Module):
    """Radford 2015 fig. 1: z (N,nz) → 4×4 by a transposed conv, then ×2 per block (BN, ReLU) to
    ``size``; tanh. Output in [-1, 1]. Named layers: ``project``, ``up1`` … ``tanh``."""

    def __init__(self, nz: int = 100, ngf: int = 64, size: int = 64, channels: int = 3):
        super().__init__()
        n = _n_up(size)
        c = ngf * 2 ** (n - 1)
        self.nz = nz
        layers = OrderedDict(project=nn.Sequential(
            nn.ConvTranspose2d(nz, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)))
        layers.update(_up_blocks(c, n, channels))
        self.layers = nn.Sequential(layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Radford 2015 §3: strided convs, LeakyReLU 0.2, BN (not on the first layer), no pooling or
    fully connected layers; one logit per image. ``norm='layer'`` for a WGAN-GP critic."""

    def __init__(self, ndf: int = 64, size: int = 64, channels: int = 3, norm: str = "batch"):
        super().__init__()
        layers, c = _down_blocks(channels, ndf, _n_up(size), norm)
        layers["logit"] = nn.Conv2d(c, 1, 4, 1, 0, bias=False)
        self.layers = nn.Sequential(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).flatten()


class ConditionalGenerator(nn.Module):
    """Mirza & Osindero 2014 §3.2, in the seed's poster-GAN shape: [z ; onehot(y)] (nz + n_classes
    inputs, 100 + 20 = 120 for posters) → a linear layer to a 4×4 map, then DCGAN up-blocks."""

    def __init__(self, n_classes: int, nz: int = 100, ngf: int = 64, size: int = 64, channels: int = 3):
        super().__init__()
        n = _n_up(size)
        c = ngf * 2 ** (n - 1)
        self.nz, self.n_classes, self.c0 = nz, n_classes, c
        self.linear = nn.Linear(nz + n_classes, c * 16, bias=False)
        layers = OrderedDict(project=nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(True)))
        layers.update(_up_blocks(c, n, channels))
        self.layers = nn.Sequential(layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.cat([z.flatten(1), F.one_hot(y, self.n_classes).to(z.dtype)], 1)
        return self.layers(self.linear(h).view(-1, self.c0, 4, 4))


class ConditionalDiscriminator(nn.Module):
    """Mirza & Osindero 2014 §3.2: D sees the condition too. The one-hot label is joined to the
    image as ``n_classes`` constant maps (x ; onehot(y)), then DCGAN down-blocks; one logit."""

    def __init__(self, n_classes: int, ndf: int = 64, size: int = 64, channels: int = 3, norm: str = "batch"):
        super().__init__()
        self.n_classes = n_classes
        layers, c = _down_blocks(channels + n_classes, ndf, _n_up(size), norm)
        layers["logit"] = nn.Conv2d(c, 1, 4, 1, 0, bias=False)
        self.layers = nn.Sequential(layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        maps = F.one_hot(y, self.n_classes).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return self.layers(torch.cat([x, maps], 1)).flatten()


# ------------------------------------------------------------------------------------------------
# CycleGAN networks (Zhu 2017, appendix 7.2; junyanz/pytorch-CycleGAN-and-pix2pix)
# ------------------------------------------------------------------------------------------------


def _norm2d(c: int, kind: str) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(c, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be instance, batch or none, not {kind!r}")


class ResnetBlock(nn.Module):
    """Zhu 2017 / Johnson 2016: x + [reflect-pad, conv3, norm, ReLU, reflect-pad, conv3, norm](x)."""

    def __init__(self, c: int, norm: str = "instance"):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=norm == "none"), _norm2d(c, norm), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=norm == "none"), _norm2d(c, norm))

    def forward(self, x):
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """Zhu 2017 §7.2: c7s1-64, d128, d256, R256 × n_blocks (6 for 128 px, 9 for 256 px), u128, u64,
    c7s1-3; instance norm; tanh. Named layers ``stem``, ``down1``, ``down2``, ``res1`` …, ``up1``,
    ``up2``, ``head``. Input and output in [-1, 1]."""

    def __init__(self, channels: int = 3, ngf: int = 64, n_blocks: int = 9, norm: str = "instance"):
        super().__init__()
        b = norm == "none"
        layers = OrderedDict(stem=nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7, bias=b), _norm2d(ngf, norm), nn.ReLU(True)))
        c = ngf
        for i in (1, 2):
            layers[f"down{i}"] = nn.Sequential(
                nn.Conv2d(c, c * 2, 3, 2, 1, bias=b), _norm2d(c * 2, norm), nn.ReLU(True))
            c *= 2
        for i in range(1, n_blocks + 1):
            layers[f"res{i}"] = ResnetBlock(c, norm)
        for i in (1, 2):
            layers[f"up{i}"] = nn.Sequential(
                nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=b), _norm2d(c // 2, norm),
                nn.ReLU(True))
            c //= 2
        layers["head"] = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(c, channels, 7), nn.Tanh())
        self.layers = nn.Sequential(layers)

    def forward(self, x):
        return self.layers(x)


class PatchDiscriminator(nn.Module):
    """Isola 2017 / Zhu 2017 §7.2: the 70×70 PatchGAN, C64-C128-C256-C512 (4×4 convs, LeakyReLU 0.2,
    instance norm from the second layer, strides 2,2,2,1), then a 4×4 conv to one logit per
    overlapping 70×70 patch. ``n_layers=3`` gives the 70 px receptive field."""

    def __init__(self, channels: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance"):
        super().__init__()
        layers = OrderedDict(c1=nn.Sequential(nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)))
        c = ndf
        for i in range(1, n_layers + 1):
            c2 = ndf * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers[f"c{i + 1}"] = nn.Sequential(
                nn.Conv2d(c, c2, 4, stride, 1, bias=norm == "none"), _norm2d(c2, norm), nn.LeakyReLU(0.2, True))
            c = c2
        layers["patch"] = nn.Conv2d(c, 1, 4, 1, 1)
        self.layers = nn.Sequential(layers)

    def forward(self, x):
        return self.layers(x)


# ------------------------------------------------------------------------------------------------
# Models: networks + optimisers + one train_step each. The loop (train) is shared.
# ------------------------------------------------------------------------------------------------


def _to_pm1(x):
    return x * 2 - 1


def _to_01(x):
    return ((x.float() + 1) / 2).clamp(0, 1)


def _adam(params, lr, betas):
    return torch.optim.Adam(params, lr=lr, betas=betas)


class _Model:
    """What :func:`train` needs from a model: ``nets`` and ``opts`` (dicts), ``draw(data, n)``,
    ``train_step(batch, step, n_steps) -> dict of floats``, ``samples()``, extra state."""

    nets: dict[str, nn.Module]
    opts: dict[str, torch.optim.Optimizer]
    device = torch.device("cpu")
    amp = False
    clip_grad: float | None = None
    _cpu_tensors: tuple[str, ...] = ()  # tensor attributes that stay on the CPU (display images)

    def to(self, device) -> _Model:
        self.device = torch.device(device)
        for n in self.nets.values():
            n.to(self.device)
            if self.device.type == "cuda":
                n.to(memory_format=torch.channels_last)
        for k, v in list(vars(self).items()):
            if isinstance(v, torch.Tensor) and k not in self._cpu_tensors:
                setattr(self, k, v.to(self.device))
        for opt in self.opts.values():  # moved optimiser state (after a resume on another device)
            for st in opt.state.values():
                for k, v in st.items():
                    if isinstance(v, torch.Tensor) and v.ndim > 0:
                        st[k] = v.to(self.device)
        return self

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16,
                              enabled=bool(self.amp) and self.device.type in ("cuda", "cpu"))

    def _input(self, x):
        x = x.to(self.device, non_blocking=True).float()
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _clip(self, net):
        if self.clip_grad:
            nn.utils.clip_grad_norm_(net.parameters(), self.clip_grad)

    def train_mode(self, on: bool = True):
        for n in self.nets.values():
            n.train(on)

    @contextmanager
    def _sampling(self, *nets: nn.Module):
        """Eval mode (batch norm uses, and does not update, its running statistics) and no grad
        for ``nets`` while sampling; each net's previous mode is restored afterwards."""
        was = [n.training for n in nets]
        try:
            for n in nets:
                n.eval()
            with torch.no_grad(), self._autocast():
                yield
        finally:
            for n, w in zip(nets, was):
                n.train(w)

    @staticmethod
    def _net_device(net: nn.Module) -> torch.device:
        """Where ``net``'s weights are (inputs are moved there)."""
        p = next(net.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    def extra_state(self) -> dict:
        """Plain settings a callback may change during training; saved so that they survive a resume."""
        return {"clip_grad": self.clip_grad}

    def load_extra_state(self, st: dict) -> None:
        self.clip_grad = st.get("clip_grad", self.clip_grad)  # older checkpoints lack it

    def state_dict(self) -> dict:
        return {"nets": {k: n.state_dict() for k, n in self.nets.items()},
                "opts": {k: o.state_dict() for k, o in self.opts.items()},
                "extra": self.extra_state()}

    def load_state_dict(self, st: dict) -> None:
        for k, n in self.nets.items():
            n.load_state_dict(st["nets"][k])
        for k, o in self.opts.items():
            o.load_state_dict(st["opts"][k])
        self.load_extra_state(st["extra"])
        self.to(self.device)


def _take(src, idx: torch.Tensor) -> torch.Tensor:
    """Rows ``idx`` of a tensor, or items of a Dataset stacked."""
    if isinstance(src, torch.Tensor):
        return src[idx]
    items = [src[int(i)] for i in idx]
    items = [it[0] if isinstance(it, (tuple, list)) else it for it in items]
    return torch.stack(items)


class DCGAN(_Model):
    """Radford et al. 2015: DCGAN with the paper's recipe: N(0, 0.02) init, BatchNorm, LeakyReLU 0.2
    in D, Adam lr 2e-4 β1 0.5, nz 100. ``gan_mode`` vanilla / lsgan / wgangp (then the critic uses
    layer norm, a gradient penalty of weight ``lambda_gp`` and G steps every ``n_critic`` steps).

    ``size`` 16/32/64…, ``channels`` 3 (or 1 for digits). Data: a tensor (N,C,H,W) in [0,1].
    """

    def __init__(self, size: int = 64, channels: int = 3, nz: int = 100, ngf: int = 64, ndf: int = 64,
                 gan_mode: str = "vanilla", lr: float = 2e-4, betas=(0.5, 0.999), n_critic: int | None = None,
                 lambda_gp: float = 10.0, clip_grad: float | None = None, n_samples: int = 64, amp: bool = False):
        self.gan_mode = _check_mode(gan_mode)
        self.size, self.channels, self.nz = size, channels, nz
        self.n_critic = n_critic or (5 if gan_mode == "wgangp" else 1)
        self.lambda_gp, self.clip_grad, self.amp = lambda_gp, clip_grad, amp
        if gan_mode == "wgangp":
            betas = (0.0, 0.9) if betas == (0.5, 0.999) else betas  # Gulrajani 2017, alg. 1
        self.nets = self._build(size, channels, nz, ngf, ndf)
        for n in self.nets.values():
            n.apply(weights_init)
        self.opts = {"G": _adam(self.nets["G"].parameters(), lr, betas),
                     "D": _adam(self.nets["D"].parameters(), lr, betas)}
        self.fixed_z = torch.randn(n_samples, nz)
        # G's last losses, logged on critic-only steps too (NaN, a gap in plots, before G's first step)
        self.last_g: dict[str, float] = {"loss_G": math.nan}

    def _build(self, size, channels, nz, ngf, ndf):
        norm = "layer" if self.gan_mode == "wgangp" else "batch"
        return {"G": DCGANGenerator(nz, ngf, size, channels), "D": DCGANDiscriminator(ndf, size, channels, norm)}

    @property
    def G(self):
        return self.nets["G"]

    @property
    def D(self):
        return self.nets["D"]

    # data ---------------------------------------------------------------------------------------
    def draw(self, data, n: int):
        idx = torch.randint(0, len(data), (n,))
        return (_take(data, idx),)

    def _cond(self, batch) -> tuple:
        return ()

    def _rand_cond(self, n) -> tuple:
        return ()

    # one step -----------------------------------------------------------------------------------
    def train_step(self, batch, step: int, n_steps: int) -> dict[str, float]:
        """One D update (and one G update every ``n_critic`` steps); returns the losses."""
        real = _to_pm1(self._input(batch[0]))
        cond = tuple(c.to(self.device) for c in self._cond(batch))
        n = real.shape[0]
        G, D = self.G, self.D
        z = torch.randn(n, self.nz, device=self.device)
        with self._autocast():
            fake = G(z, *cond)
            d_real, d_fake = D(real, *cond), D(fake.detach(), *cond)
            loss_d = d_loss(d_real, d_fake, self.gan_mode)
            if self.gan_mode == "wgangp":
                loss_d = loss_d + gradient_penalty(D, real, fake, *cond, weight=self.lambda_gp)
        self.opts["D"].zero_grad(set_to_none=True)
        loss_d.backward()
        self._clip(D)
        self.opts["D"].step()
        out = {"loss_D": loss_d.item(), **_d_stats(d_real, d_fake, self.gan_mode)}
        if step % self.n_critic == 0:
            with self._autocast():
                d_fake_g = D(fake, *cond)
                loss_g = g_loss(d_fake_g, self.gan_mode)
            self.opts["G"].zero_grad(set_to_none=True)
            loss_g.backward()
            self._clip(G)
            self.opts["G"].step()
            self.last_g = {"loss_G": loss_g.item()}
        out.update(self.last_g)
        return out

    # sampling -----------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, z: torch.Tensor | None = None, n: int = 16, *cond) -> torch.Tensor:
        """Images (N,C,H,W) in [0,1], on the CPU, from noise ``z`` (drawn if None). G runs in eval
        mode (its previous mode is restored), on the device its weights are on."""
        G = self.G
        dev = self._net_device(G)
        z = torch.randn(n, self.nz) if z is None else z
        cond = tuple(c.to(dev) for c in cond)
        with self._sampling(G):
            x = G(z.to(dev), *cond)
        return _to_01(x).cpu()

    def samples(self) -> torch.Tensor:
        """The fixed-noise sample batch (the same z all run long, so the grid shows progress)."""
        return self.generate(self.fixed_z)

    def extra_state(self):
        return {**super().extra_state(), "fixed_z": self.fixed_z.cpu(), "last_g": dict(self.last_g)}

    def load_extra_state(self, st):
        super().load_extra_state(st)
        self.fixed_z = st["fixed_z"].to(self.device)
        self.last_g = dict(st["last_g"])


def _d_stats(d_real, d_fake, mode) -> dict[str, float]:
    """D's accuracy on this batch (real scored above the threshold, fakes below)."""
    thr = 0.0 if mode == "vanilla" else 0.5
    if mode == "wgangp":
        return {"D_real": d_real.float().mean().item(), "D_fake": d_fake.float().mean().item()}
    acc = torch.cat([(d_real.float() > thr), (d_fake.float() <= thr)]).float().mean().item()
    return {"D_acc": acc}


class ConditionalGAN(DCGAN):
    """Mirza & Osindero 2014: a DCGAN whose G and D both see the class. G takes [z ; onehot(y)]
    (100 + ``n_classes`` inputs) into a linear layer (the seed's poster GAN: 100 + 20 = 120);
    D sees the one-hot as extra input maps. Data: a pair ``(images, labels)``.

    ``n_classes``: 5 for shapes, 10 for digits, 20 for the posters' genres.
    """

    def __init__(self, n_classes: int, size: int = 64, channels: int = 3, **kw):
        self.n_classes = n_classes
        super().__init__(size, channels, **kw)
        n = self.fixed_z.shape[0]
        self.fixed_y = torch.arange(n) % n_classes  # each row of the sample grid: one class per column

    def _build(self, size, channels, nz, ngf, ndf):
        norm = "layer" if self.gan_mode == "wgangp" else "batch"
        return {"G": ConditionalGenerator(self.n_classes, nz, ngf, size, channels),
                "D": ConditionalDiscriminator(self.n_classes, ndf, size, channels, norm)}

    def draw(self, data, n):
        images, labels = data
        idx = torch.randint(0, len(labels), (n,))
        return _take(images, idx), labels[idx]

    def _cond(self, batch):
        return (batch[1].long(),)

    @torch.no_grad()
    def generate(self, z=None, n: int = 16, y=None) -> torch.Tensor:
        """Images for labels ``y`` (N,) (random if None) from noise ``z``, in [0,1]."""
        n = len(z) if z is not None else (len(y) if y is not None else n)
        y = torch.randint(0, self.n_classes, (n,)) if y is None else torch.as_tensor(y).long()
        return super().generate(z, n, y)

    def samples(self):
        return self.generate(self.fixed_z, y=self.fixed_y)

    def extra_state(self):
        return {**super().extra_state(), "fixed_y": self.fixed_y.cpu()}

    def load_extra_state(self, st):
        super().load_extra_state(st)
        self.fixed_y = st["fixed_y"]


class CycleGAN(_Model):
    """Zhu et al. 2017: two translators G_AB: A→B and G_BA: B→A, two PatchGAN judges D_A, D_B.

    Eq. 3 + identity (§5.2): L = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A)
    + λ_cycle·(‖G_BA(G_AB(a)) − a‖₁ + ‖G_AB(G_BA(b)) − b‖₁) + λ_id·λ_cycle·(‖G_AB(b) − b‖₁ + ‖G_BA(a) − a‖₁),
    λ_cycle 10, λ_id 0.5. D is trained on a pool of 50 past fakes, D's loss is halved; Adam 2e-4,
    β1 0.5; LR constant for the first half of the run, then linearly to zero (:func:`linear_decay`).
    ``gan_mode`` lsgan (the paper's) / vanilla / wgangp (the seed's later choice). With wgangp the
    judges are critics as in :class:`DCGAN`'s WGAN-GP: a gradient penalty of weight ``lambda_gp``
    instead of the halving, Adam betas (0.0, 0.9) unless you pass others (Gulrajani 2017, alg. 1),
    and the translators step only every ``n_critic`` steps (default 5 for wgangp, else 1), so
    there are ``n_critic`` critic updates per generator update. ``n_blocks`` 6 (128 px) or 9
    (256 px); ``norm`` instance (the paper's) or batch. Data: a pair ``(A, B)`` of unpaired image
    sets in [0,1].

    The seed project lowered λ_cycle, λ_id and gradient clipping over training: they are plain
    attributes (``lambda_cycle``, ``lambda_id``, ``clip_grad``) a callback may change; they are
    saved in checkpoints, so the changed values survive a resume.

    ``sample_images=(A, B)`` fixes the 4 + 4 images of :meth:`samples` (else the first batch's);
    they stay on the CPU whatever device the model is on.
    """

    _cpu_tensors = ("sample_A", "sample_B")

    def __init__(self, channels: int = 3, ngf: int = 64, ndf: int = 64, n_blocks: int = 9,
                 gan_mode: str = "lsgan", lambda_cycle: float = 10.0, lambda_id: float = 0.5,
                 pool_size: int = 50, lr: float = 2e-4, betas=(0.5, 0.999), n_decay: int | None = None,
                 lambda_gp: float = 10.0, n_critic: int | None = None, clip_grad: float | None = None,
                 amp: bool = False, norm: str = "instance", sample_images: tuple | None = None):
        self.gan_mode = _check_mode(gan_mode)
        self.lambda_cycle, self.lambda_id, self.lambda_gp = lambda_cycle, lambda_id, lambda_gp
        self.clip_grad, self.amp, self.lr, self.n_decay = clip_grad, amp, lr, n_decay
        self.n_critic = n_critic or (5 if gan_mode == "wgangp" else 1)
        if gan_mode == "wgangp":
            betas = (0.0, 0.9) if tuple(betas) == (0.5, 0.999) else betas  # Gulrajani 2017, alg. 1
        self.nets = {"G_AB": ResnetGenerator(channels, ngf, n_blocks, norm),
                     "G_BA": ResnetGenerator(channels, ngf, n_blocks, norm),
                     "D_A": PatchDiscriminator(channels, ndf, 3, norm),
                     "D_B": PatchDiscriminator(channels, ndf, 3, norm)}
        for n in self.nets.values():
            n.apply(weights_init)
        G = list(self.nets["G_AB"].parameters()) + list(self.nets["G_BA"].parameters())
        D = list(self.nets["D_A"].parameters()) + list(self.nets["D_B"].parameters())
        self.opts = {"G": _adam(G, lr, betas), "D": _adam(D, lr, betas)}
        self.pool_A, self.pool_B = ImagePool(pool_size), ImagePool(pool_size)
        self.last_g: dict[str, float] = dict.fromkeys(("loss_G", "loss_cycle", "loss_idt"), math.nan)
        self.sample_A = self.sample_B = None
        if sample_images is not None:
            self.sample_A, self.sample_B = (s[:4].detach().cpu().clone() for s in sample_images)

    def draw(self, data, n):
        A, B = data
        ia = torch.randint(0, len(A), (n,))
        ib = torch.randint(0, len(B), (n,))
        return _take(A, ia), _take(B, ib)

    def _set_lr(self, step, n_steps):
        f = linear_decay(step, n_steps, self.n_decay)
        for opt in self.opts.values():
            for g in opt.param_groups:
                g["lr"] = self.lr * f

    def train_step(self, batch, step: int, n_steps: int) -> dict[str, float]:
        """One G update (both translators; with wgangp only every ``n_critic`` steps) and one D
        update (both judges), as in junyanz's ``optimize_parameters``; returns the losses."""
        self._set_lr(step, n_steps)
        if self.sample_A is None:
            self.sample_A, self.sample_B = (b[:4].detach().cpu().clone() for b in batch)
        real_A, real_B = (_to_pm1(self._input(b)) for b in batch)
        G_AB, G_BA, D_A, D_B = (self.nets[k] for k in ("G_AB", "G_BA", "D_A", "D_B"))
        mode, lc, li = self.gan_mode, self.lambda_cycle, self.lambda_id
        if step % self.n_critic == 0:
            # G step (judges frozen)
            D_A.requires_grad_(False)
            D_B.requires_grad_(False)
            with self._autocast():
                fake_B, fake_A = G_AB(real_A), G_BA(real_B)
                rec_A, rec_B = G_BA(fake_B), G_AB(fake_A)
                loss_gan = g_loss(D_B(fake_B), mode) + g_loss(D_A(fake_A), mode)
                loss_cyc = (F.l1_loss(rec_A.float(), real_A) + F.l1_loss(rec_B.float(), real_B)) * lc
                loss_idt = torch.zeros((), device=self.device)
                if li > 0:
                    loss_idt = (F.l1_loss(G_AB(real_B).float(), real_B)
                                + F.l1_loss(G_BA(real_A).float(), real_A)) * lc * li
                loss_g = loss_gan + loss_cyc + loss_idt
            self.opts["G"].zero_grad(set_to_none=True)
            loss_g.backward()
            self._clip(G_AB)
            self._clip(G_BA)
            self.opts["G"].step()
            D_A.requires_grad_(True)
            D_B.requires_grad_(True)
            self.last_g = {"loss_G": loss_gan.item(), "loss_cycle": loss_cyc.item(), "loss_idt": loss_idt.item()}
        else:
            # a critic-only step: fresh fakes from the current translators, no G update
            with torch.no_grad(), self._autocast():
                fake_B, fake_A = G_AB(real_A), G_BA(real_B)
        # D step on pooled fakes
        fb, fa = self.pool_B.query(fake_B.detach()), self.pool_A.query(fake_A.detach())
        with self._autocast():
            losses = []
            for D, real, fake in ((D_B, real_B, fb), (D_A, real_A, fa)):
                ld = d_loss(D(real), D(fake), mode)
                if mode == "wgangp":
                    ld = ld + gradient_penalty(D, real, fake, weight=self.lambda_gp)
                else:
                    ld = ld * 0.5
                losses.append(ld)
            loss_d = losses[0] + losses[1]
        self.opts["D"].zero_grad(set_to_none=True)
        loss_d.backward()
        self._clip(D_A)
        self._clip(D_B)
        self.opts["D"].step()
        return {**self.last_g, "loss_D_B": losses[0].item(), "loss_D_A": losses[1].item(),
                "lr": self.opts["G"].param_groups[0]["lr"]}

    def translate(self, x: torch.Tensor, direction: str = "AB") -> torch.Tensor:
        """Images (N,C,H,W) in [0,1] through G_AB (``"AB"``) or G_BA (``"BA"``): the same shape, a
        float tensor on the CPU, whatever device ``x`` and the model are on (``x`` is moved to the
        generator's device). The generator runs in eval mode (its previous mode is restored, so a
        batch-norm translator's running statistics stay as they were), in batches of 16."""
        G = self.nets["G_" + direction]
        dev = self._net_device(G)
        outs = []
        with self._sampling(G):
            for i in range(0, len(x), 16):
                xi = x[i:i + 16].to(dev, non_blocking=True).float()
                if dev.type == "cuda":
                    xi = xi.contiguous(memory_format=torch.channels_last)
                outs.append(_to_01(G(_to_pm1(xi))).cpu().contiguous())
        return torch.cat(outs)

    def samples(self) -> torch.Tensor:
        """Rows: A, G_AB(A), G_BA(G_AB(A)), B, G_BA(B), G_AB(G_BA(B)) for 4 fixed images each (CPU)."""
        if self.sample_A is None:
            return torch.zeros(1, 3, 8, 8)
        a, b = self.sample_A.cpu().float(), self.sample_B.cpu().float()
        ab, ba = self.translate(a, "AB"), self.translate(b, "BA")
        return torch.cat([a, ab, self.translate(ab, "BA"), b, ba, self.translate(ba, "AB")])

    def extra_state(self):
        st = {**super().extra_state(), "pool_A": self.pool_A.state_dict(), "pool_B": self.pool_B.state_dict(),
              "lambda_cycle": self.lambda_cycle, "lambda_id": self.lambda_id, "last_g": dict(self.last_g)}
        if self.sample_A is not None:
            st["sample_A"], st["sample_B"] = self.sample_A.cpu(), self.sample_B.cpu()
        return st

    def load_extra_state(self, st):
        super().load_extra_state(st)
        self.pool_A.load_state_dict(st["pool_A"], self.device)
        self.pool_B.load_state_dict(st["pool_B"], self.device)
        self.lambda_cycle, self.lambda_id = st["lambda_cycle"], st["lambda_id"]
        self.last_g = dict(st.get("last_g", {}))
        if "sample_A" in st:
            self.sample_A, self.sample_B = st["sample_A"].cpu(), st["sample_B"].cpu()


# ------------------------------------------------------------------------------------------------
# The one training loop
# ------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """What :func:`train` returns and hands to callbacks: the step reached, the loss history
    (``history["step"]`` and one list per loss), sample grids ``[(step, images)]`` taken with the
    fixed noise, whether it was stopped, and seconds spent."""

    model: object
    step: int = 0
    history: dict = field(default_factory=dict)
    samples: list = field(default_factory=list)
    stopped: bool = False
    seconds: float = 0.0
    steps_per_s: float = 0.0

    @property
    def last_samples(self):
        return self.samples[-1][1] if self.samples else None


def train(model, data, steps: int, *, batch_size: int = 64, device=None, seed: int | None = None,
          sample_every: int = 100, checkpoint=None, checkpoint_every: int = 200, resume: bool = True,
          progress: bool = True, callback=None, callback_every: int = 10, stop=None,
          run: Run | None = None) -> Run:
    """Goodfellow 2014, alg. 1: alternate D and G updates for ``steps`` steps (one loop for every model).

    Each step draws a random batch of ``data`` (with replacement, from torch's generator), calls
    ``model.train_step`` and logs its losses. Every ``sample_every`` steps it keeps a grid from
    the fixed noise; every ``callback_every`` steps it calls ``callback(run)``; every
    ``checkpoint_every`` steps (and at the end or on stop) it writes ``checkpoint`` atomically with
    the networks, optimisers, pools, loss history and all random states. With ``resume=True`` an
    existing checkpoint is loaded first and the run goes on from its step, so a killed run that is
    restarted continues exactly (bit for bit on CPU) as if it had never stopped. ``steps`` is the
    total, not the number still to do. ``seed`` seeds torch on a fresh start. Set ``stop`` (a
    ``threading.Event``) to end early; pass the returned ``run`` back in to go on in memory (a
    widget's Start after Stop). Set ``model.amp = True`` for bf16 autocast on a GPU.
    """
    from tqdm.auto import tqdm

    from .models import device as pick_device

    dev = pick_device(device) if not isinstance(device, torch.device) else device
    model.to(dev)
    run = Run(model) if run is None else run
    run.stopped = False
    if checkpoint is not None and resume and Path(checkpoint).exists():
        st = load_checkpoint(checkpoint)
        model.load_state_dict(st["model"])
        run.step, run.history = int(st["step"]), {k: list(v) for k, v in st["history"].items()}
        set_rng_state(st["rng"])
    elif seed is not None and run.step == 0:
        torch.manual_seed(seed)

    def save():
        if checkpoint is not None:
            save_checkpoint(checkpoint, {"model": model.state_dict(), "step": run.step,
                                         "history": run.history, "rng": rng_state()})

    model.train_mode(True)
    bar = tqdm(total=steps, initial=run.step, disable=not progress, desc=type(model).__name__)
    t0, s0 = time.perf_counter(), run.step
    try:
        while run.step < steps:
            if stop is not None and stop.is_set():
                run.stopped = True
                break
            run.step += 1
            losses = model.train_step(model.draw(data, batch_size), run.step, steps)
            run.history.setdefault("step", []).append(run.step)
            for k, v in losses.items():
                run.history.setdefault(k, []).append(float(v))
            if run.step % sample_every == 0 or run.step == steps:
                run.samples.append((run.step, model.samples()))
            if checkpoint is not None and run.step % checkpoint_every == 0:
                save()
            if callback is not None and (run.step % callback_every == 0 or run.step == steps):
                callback(run)
            bar.update(1)
            if run.step % 10 == 0:
                bar.set_postfix({k: f"{v:.3f}" for k, v in list(losses.items())[:3]})
    finally:
        bar.close()
        model.train_mode(False)
        run.seconds = time.perf_counter() - t0
        run.steps_per_s = (run.step - s0) / max(run.seconds, 1e-9)
    save()
    if callback is not None and run.stopped:
        callback(run)
    return run


def slerp(z0: torch.Tensor, z1: torch.Tensor, t, spherical: bool = True) -> torch.Tensor:
    """White 2016, "Sampling generative networks": points (T, D) on the great circle from ``z0`` to
    ``z1`` at ``t`` (a float or list in [0,1]): sin((1−t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1, with
    cos Ω = ẑ0·ẑ1. ``spherical=False`` gives the straight line (1−t)·z0 + t·z1."""
    ts = torch.as_tensor([t] if isinstance(t, (int, float)) else list(t), dtype=torch.float32)
    z0, z1 = z0.flatten().float(), z1.flatten().float()
    if spherical:
        omega = torch.arccos((z0 / z0.norm() @ (z1 / z1.norm())).clamp(-1, 1))
        so = torch.sin(omega)
        if so.abs() > 1e-6:
            return (torch.sin((1 - ts) * omega) / so)[:, None] * z0 + (torch.sin(ts * omega) / so)[:, None] * z1
    return (1 - ts)[:, None] * z0 + ts[:, None] * z1


@torch.no_grad()
def interpolate(model: DCGAN, z0: torch.Tensor, z1: torch.Tensor, t, y=None, spherical: bool = True):
    """Radford 2015 §6.1: images along the path from ``z0`` to ``z1`` at ``t`` (a float or a list in
    [0,1]), by :func:`slerp` (keeps |z| typical of N(0, I)). A conditional model draws class ``y``."""
    z = slerp(z0, z1, t, spherical)
    if isinstance(model, ConditionalGAN):
        y = torch.zeros(len(z), dtype=torch.long) if y is None else torch.as_tensor(y).long().expand(len(z))
        return model.generate(z, y=y)
    return model.generate(z)


# ------------------------------------------------------------------------------------------------
# Measured quality
# ------------------------------------------------------------------------------------------------


def _judge_input(judge, x: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is not None and x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    cin = judge.normalize.mean.shape[1]
    if x.shape[1] != cin:
        x = x.mean(1, keepdim=True).expand(-1, cin, -1, -1) if cin in (1, 3) else x
        x = x[:, :cin]
    return x


@torch.no_grad()
def class_accuracy(judge, images: torch.Tensor, labels: torch.Tensor, size: int | None = None,
                   per_class: bool = False):
    """Mirza 2014's promise, measured: the fraction of generated ``images`` that the classifier
    ``judge`` puts in the class they were asked for. ``size`` resizes first (shapesnet: 64).
    ``per_class=True`` also returns a list of per-class accuracies."""
    dev = next(judge.parameters()).device
    pred = torch.cat([judge(_judge_input(judge, images[i:i + 256], size).to(dev)).argmax(1).cpu()
                      for i in range(0, len(images), 256)])
    ok = (pred == labels.cpu()).float()
    if not per_class:
        return ok.mean().item()
    n = int(labels.max()) + 1
    return ok.mean().item(), [ok[labels == c].mean().item() if (labels == c).any() else float("nan")
                              for c in range(n)]


def frechet_distance(feats1: torch.Tensor, feats2: torch.Tensor) -> float:
    """Heusel et al. 2017, eq. (FID): ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), in float64.

    Tr((Σ₁Σ₂)^½) is the sum of the square roots of the eigenvalues of Σ₁^½ Σ₂ Σ₁^½ (symmetric,
    positive semi-definite), which avoids a non-symmetric matrix square root.
    """
    a, b = feats1.double().flatten(1), feats2.double().flatten(1)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    w, v = torch.linalg.eigh(s1)
    r1 = (v * w.clamp_min(0).sqrt()) @ v.T
    m = r1 @ s2 @ r1
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * tr_sqrt)


@torch.no_grad()
def features(judge, images: torch.Tensor, layer: str | None = None, size: int | None = None) -> torch.Tensor:
    """The judge's (N, D) features at ``layer`` (default: the layer before the last linear one),
    spatially averaged if it is a map."""
    layer = layer or judge.layer_names[-2]
    dev = next(judge.parameters()).device
    out = []
    for i in range(0, len(images), 256):
        f = judge.features(_judge_input(judge, images[i:i + 256], size).to(dev), [layer])[layer]
        out.append((f.mean((2, 3)) if f.ndim == 4 else f.flatten(1)).cpu())
    return torch.cat(out)


def fid(judge, real: torch.Tensor, fake: torch.Tensor, layer: str | None = None, size: int | None = None) -> float:
    """Heusel 2017: the Fréchet distance between real and generated images on ``judge``'s features
    (our small classifiers, not Inception: compare numbers only within one judge and sample size)."""
    return frechet_distance(features(judge, real, layer, size), features(judge, fake, layer, size))


@torch.no_grad()
def cycle_error(model: CycleGAN, A: torch.Tensor, B: torch.Tensor) -> dict[str, float]:
    """Zhu 2017 eq. 2, measured: mean |G_BA(G_AB(a)) − a| and |G_AB(G_BA(b)) − b| in [0,1] pixel units,
    and for scale the identity baseline mean |a − G_AB(a)| (how much the translation changes)."""
    ab, ba = model.translate(A, "AB"), model.translate(B, "BA")
    return {"A→B→A": (model.translate(ab, "BA") - A).abs().mean().item(),
            "B→A→B": (model.translate(ba, "AB") - B).abs().mean().item(),
            "change A→B": (ab - A).abs().mean().item(),
            "change B→A": (ba - B).abs().mean().item()}


def DomainClassifier(channels: int = 3, width: int = 16):
    """A tiny CNN (3 conv-BN-ReLU-pool blocks, global average, linear) that tells domain A from B;
    a :class:`~nomysticism.models.LayeredNet` with classes ``["A", "B"]``."""
    return _small_cnn(channels, (width, width * 2, width * 4), ["A", "B"], mean=(0.5,) * channels,
                      std=(0.25,) * channels, name="domain_classifier")


def _small_cnn(channels, widths, classes, mean, std, name):
    """conv-BN-ReLU-pool blocks, global average, linear: a named-layer judge network."""
    from .models import LayeredNet

    layers = OrderedDict()
    c = channels
    for i, w in enumerate(widths, start=1):
        layers[f"conv{i}"] = nn.Conv2d(c, w, 3, padding=1, bias=False)
        layers[f"bn{i}"] = nn.BatchNorm2d(w)
        layers[f"relu{i}"] = nn.ReLU()
        layers[f"pool{i}"] = nn.MaxPool2d(2)
        c = w
    layers["gap"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten(1)
    layers["fc"] = nn.Linear(c, len(classes))
    return LayeredNet(layers, mean=mean, std=std, classes=classes, name=name)


def train_domain_classifier(A: torch.Tensor, B: torch.Tensor, steps: int = 150, batch_size: int = 32,
                            seed: int = 0, progress: bool = False):
    """Train :func:`DomainClassifier` on real A (class 0) against real B (class 1); eval mode, frozen.
    Uses its own generator (seeded), so it does not disturb a GAN run's random state."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = DomainClassifier(A.shape[1])
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    net.train()
    from tqdm.auto import tqdm

    for _ in tqdm(range(steps), disable=not progress, desc="domain classifier"):
        ia = torch.randint(0, len(A), (batch_size // 2,), generator=g)
        ib = torch.randint(0, len(B), (batch_size // 2,), generator=g)
        x = torch.cat([A[ia], B[ib]])
        y = torch.cat([torch.zeros(len(ia)), torch.ones(len(ib))]).long()
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval().requires_grad_(False)
    return net


@torch.no_grad()
def acceptance(classifier, images: torch.Tensor, domain: str) -> float:
    """The fraction of ``images`` that the domain classifier assigns to ``domain`` ("A" or "B")."""
    k = classifier.classes.index(domain)
    return (classifier(images).argmax(1) == k).float().mean().item()


# ------------------------------------------------------------------------------------------------
# A shipped judge for digits (scripts/train_gan_digits_judge.py makes it)
# ------------------------------------------------------------------------------------------------


def _digits_net():
    return _small_cnn(1, (16, 32, 64), [str(i) for i in range(10)], mean=(0.3,), std=(0.4,),
                      name="digits_judge")


def digits_judge(pretrained: bool = True):
    """A small CNN (3 conv-BN-ReLU-pool blocks, ~24k parameters) that reads scikit-learn digits at 32 px,
    1 channel: the judge for digit GANs' class accuracy and Fréchet distance. Weights:
    ``assets/gan/digits_judge.safetensors`` from ``scripts/train_gan_digits_judge.py``."""
    from .models import WeightsUnavailableError

    net = _digits_net()
    if pretrained:
        from safetensors.torch import load_file

        path = JUDGE_DIR / "digits_judge.safetensors"
        if not path.is_file():
            raise WeightsUnavailableError("digits_judge weights are missing; run "
                                          "`python scripts/train_gan_digits_judge.py`")
        net.layers.load_state_dict(load_file(str(path)))
    net.eval().requires_grad_(False)
    return net


# ------------------------------------------------------------------------------------------------
# Shipped demo generators (scripts/train_gan_demos.py makes them)
# ------------------------------------------------------------------------------------------------


def save_generator(model: DCGAN, path, settings: dict) -> Path:
    """Save G's weights (float16 safetensors) with ``settings`` ({"class", "kwargs", …}) as metadata."""
    import json

    from safetensors.torch import save_file

    from .checkpoint import _atomic_write

    sd = {k: (v.half() if v.is_floating_point() else v).detach().contiguous().cpu()
          for k, v in model.G.state_dict().items()}
    sd["fixed_z"] = model.fixed_z.detach().cpu().half().contiguous()
    meta = {"settings": json.dumps(settings)}
    return _atomic_write(Path(path), lambda tmp: save_file(sd, tmp, metadata=meta))


def pretrained(name: str) -> DCGAN:
    """A shipped demo GAN with its trained generator (D is not shipped): ``"dcgan_digits"``,
    ``"cgan_digits"`` (32 px scikit-learn digits, 1 channel) or ``"cgan_shapes"`` (32 px shapes,
    5 classes). Made by ``scripts/train_gan_demos.py``; scores in the ``.json`` beside each."""
    import json

    from safetensors import safe_open

    from .models import WeightsUnavailableError

    path = JUDGE_DIR / f"{name}.safetensors"
    if not path.is_file():
        raise WeightsUnavailableError(f"{name}: no shipped weights; run `python scripts/train_gan_demos.py {name}`")
    with safe_open(str(path), "pt") as f:
        settings = json.loads(f.metadata()["settings"])
        sd = {k: f.get_tensor(k) for k in f.keys()}
    model = globals()[settings["class"]](**settings["kwargs"])
    model.fixed_z = sd.pop("fixed_z").float()
    model.G.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
    model.train_mode(False)
    return model
