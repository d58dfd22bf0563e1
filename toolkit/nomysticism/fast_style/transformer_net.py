"""Johnson, Alahi & Fei-Fei 2016, *Perceptual Losses for Real-Time Style Transfer*: the image
transformation network ŷ = f_W(x).

Table 1 of the paper: c9s1-32, d64, d128, 5 × R128, u64, u32, c9s1-3 — a 9×9 convolution, two
strided 3×3 convolutions down (×¼), five residual blocks (He et al. 2016), two ×2 upsamplings and a
9×9 convolution to RGB. As in pytorch/examples (and Ulyanov et al. 2016's advice) the norms are
instance norms and the upsampling is nearest-neighbour then a convolution (Odena et al. 2016), which
avoids the checkerboard of the paper's fractionally strided convolutions.

- :class:`UpsampleConvLayer`: nearest ×2 + conv, or ``mode="transpose"`` (the paper's);
- :class:`TransformerNet`: the network (``width`` scales every layer);
- :class:`~nomysticism.blocks.ConvLayer` and :class:`~nomysticism.blocks.ResidualBlock` come from
  :mod:`nomysticism.blocks`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import ConvLayer, ResidualBlock, make_norm

__all__ = ["UpsampleConvLayer", "TransformerNet"]


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

    takes_content = True

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4  # two stride-2 stages: pad to a multiple of 4, crop back after
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
