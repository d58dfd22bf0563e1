"""nm.color against scikit-image's float64 conversions and the BT.601 formula."""

import math

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import color
from skimage import color as skc


def rgb_batch(n=3, h=17, w=23, seed=0) -> torch.Tensor:
    """Random colours plus the corners of the RGB cube and a grey ramp."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, h, w, generator=g, dtype=torch.float64)
    corners = torch.tensor([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], dtype=torch.float64)
    x[0, :, 0, :8] = corners.T
    x[0, :, 1, :] = torch.linspace(0, 1, w, dtype=torch.float64)  # greys
    return x


def hwc(x: torch.Tensor) -> np.ndarray:
    return x.detach().permute(0, 2, 3, 1).double().numpy()


def test_rgb_to_lab_matches_skimage():
    x = rgb_batch()
    for dtype, tol in ((torch.float64, 1e-3), (torch.float32, 2e-3)):
        lab = color.rgb_to_lab(x.to(dtype))
        assert lab.shape == x.shape and lab.dtype == dtype
        ref = np.stack([skc.rgb2lab(im) for im in hwc(x)])  # D65, 2° observer
        err = np.abs(hwc(lab) - ref)
        assert err[..., 0].max() < tol * 10  # L in [0, 100]
        assert err.max() < tol * 10 and err.mean() < tol
    lab = color.rgb_to_lab(x)
    L = lab[:, 0]
    assert float(L.min()) >= -1e-6 and float(L.max()) <= 100 + 1e-6
    assert torch.allclose(lab[0, :, 0, 7], torch.tensor([100.0, 0, 0], dtype=torch.float64), atol=1e-2)  # white


def test_lab_to_rgb_matches_skimage_and_inverts():
    x = rgb_batch(seed=1)
    lab_np = np.stack([skc.rgb2lab(im) for im in hwc(x)])
    lab = torch.from_numpy(lab_np).permute(0, 3, 1, 2).contiguous()
    back = color.lab_to_rgb(lab)
    ref = np.stack([skc.lab2rgb(im) for im in lab_np])
    assert np.abs(hwc(back) - ref).max() < 1e-4
    assert torch.allclose(back, x, atol=1e-4)
    # out of gamut: clip=True clamps, clip=False does not
    wild = torch.tensor([50.0, 120.0, -120.0], dtype=torch.float64).view(1, 3, 1, 1)
    assert float(color.lab_to_rgb(wild).max()) <= 1 and float(color.lab_to_rgb(wild).min()) >= 0
    raw = color.lab_to_rgb(wild, clip=False)
    assert float(raw.max()) > 1 or float(raw.min()) < 0


def test_yuv_is_bt601():
    x = rgb_batch(seed=2)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 0.492 * (b - y)  # BT.601 analogue: U = 0.492 (B − Y), V = 0.877 (R − Y)
    v = 0.877 * (r - y)
    yuv = color.rgb_to_yuv(x)
    assert torch.allclose(yuv[:, 0], y, atol=1e-3)
    assert torch.allclose(yuv[:, 1], u, atol=2e-3)
    assert torch.allclose(yuv[:, 2], v, atol=2e-3)
    assert torch.allclose(color.yuv_to_rgb(yuv), x, atol=1e-3)
    assert float(yuv[:, 1].abs().max()) <= 0.437 and float(yuv[:, 2].abs().max()) <= 0.616
    assert torch.allclose(color.luminance(x)[:, 0], y, atol=1e-3)
    assert color.luminance(x).shape == (3, 1, 17, 23)
    gray = color.to_gray(x)
    assert gray.shape == x.shape and torch.equal(gray[:, 0], gray[:, 2])
    assert torch.allclose(gray[:, 1], y, atol=1e-3)


def test_hsv_matches_skimage_with_hue_in_turns():
    x = rgb_batch(seed=3)
    hsv = color.rgb_to_hsv(x)
    ref = np.stack([skc.rgb2hsv(im) for im in hwc(x)])  # hue in [0, 1)
    got = hwc(hsv)
    s_ok = ref[..., 1] > 1e-3  # hue is undefined for greys
    dh = np.abs(got[..., 0] - ref[..., 0])
    dh = np.minimum(dh, 1 - dh)  # hue is circular
    assert dh[s_ok].max() < 1e-4
    assert np.abs(got[..., 1:] - ref[..., 1:]).max() < 1e-4
    assert float(hsv[:, 0].min()) >= 0 and float(hsv[:, 0].max()) < 1 + 1e-9
    back = color.hsv_to_rgb(hsv)
    assert torch.allclose(back, x, atol=1e-5)
    ref_rgb = np.stack([skc.hsv2rgb(im) for im in ref])
    assert np.abs(hwc(color.hsv_to_rgb(torch.from_numpy(ref).permute(0, 3, 1, 2))) - ref_rgb).max() < 1e-5
    pure = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]]).T.reshape(1, 3, 1, 3)
    assert torch.allclose(color.rgb_to_hsv(pure)[0, 0, 0], torch.tensor([0, 1 / 3, 2 / 3]), atol=1e-6)


def test_hue_shift():
    x = rgb_batch(seed=4)
    twice = color.hue_shift(color.hue_shift(x, 0.5), 0.5)
    assert torch.allclose(twice, x, atol=1e-5)
    assert torch.allclose(color.hue_shift(x, 1.0), x, atol=1e-5)
    assert torch.allclose(color.hue_shift(x, 0.0), x, atol=1e-6)
    # a third of a turn sends red to green, green to blue
    pure = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]]).T.reshape(1, 3, 1, 3)
    assert torch.allclose(color.hue_shift(pure, 1 / 3), pure.roll(-1, dims=-1), atol=1e-5)
    # opposite colour: hue + 180°, same saturation and value (skimage's hsv as reference)
    h = hwc(color.hue_shift(x, 0.5))
    ref = np.stack([skc.rgb2hsv(im) for im in hwc(x)])
    ref[..., 0] = (ref[..., 0] + 0.5) % 1
    assert np.abs(h - np.stack([skc.hsv2rgb(im) for im in ref])).max() < 1e-4
    grey = torch.linspace(0, 1, 11).view(1, 1, 1, 11).expand(2, 3, 4, 11)
    for s in (0.1, 0.5, 0.77):
        assert torch.allclose(color.hue_shift(grey, s), grey, atol=1e-6)  # greys stay grey
    # per-image shifts as a tensor
    shifts = torch.tensor([0.0, 0.5, 0.25]).view(3, 1, 1, 1).double()
    per = color.hue_shift(x, shifts)
    assert torch.allclose(per[1], color.hue_shift(x[1:2], 0.5)[0], atol=1e-6)
    assert torch.allclose(per[0], x[0], atol=1e-5)


@pytest.mark.parametrize("fn", [color.rgb_to_lab, color.rgb_to_yuv, color.rgb_to_hsv, color.luminance,
                                lambda t: color.hue_shift(t, 0.3), color.to_gray])
def test_gradients_flow(fn):
    x = (torch.rand(2, 3, 8, 9) * 0.8 + 0.1).requires_grad_()
    out = fn(x)
    out.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_gradient_of_lab_matches_finite_differences():
    x = (torch.rand(1, 3, 3, 3, dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: color.rgb_to_lab(t), (x,), eps=1e-6, atol=1e-4)


def test_batches_and_single_images_agree_and_bad_shapes_raise():
    x = rgb_batch(n=4)
    whole = color.rgb_to_lab(x)
    for i in range(4):
        assert torch.allclose(color.rgb_to_lab(x[i:i + 1]), whole[i:i + 1])
        assert torch.allclose(color.rgb_to_lab(x[i]), whole[i])  # (3,H,W) too
    for fn in (color.rgb_to_lab, color.rgb_to_yuv, color.rgb_to_hsv, color.lab_to_rgb):
        with pytest.raises(ValueError):
            fn(torch.rand(2, 4, 5, 5))
        with pytest.raises(ValueError):
            fn(torch.rand(5, 5))


def test_sample_photo_round_trip():
    img = nm.images.sample_image("coffee", max_side=64)
    assert torch.allclose(color.lab_to_rgb(color.rgb_to_lab(img)), img, atol=1e-4)
    assert torch.allclose(color.yuv_to_rgb(color.rgb_to_yuv(img)), img, atol=1e-5)
    assert torch.allclose(color.hsv_to_rgb(color.rgb_to_hsv(img)), img, atol=1e-5)
    assert math.isclose(float(color.rgb_to_hsv(img)[:, 1:].max()), 1.0, abs_tol=0.2)
