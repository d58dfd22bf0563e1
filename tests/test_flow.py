"""nm.flow against OpenCV and a float64 numpy reference: warp = cv2.remap, dis/farneback recover a
known translation, consistency_mask = Sundaram et al. 2010's inequality."""

import cv2
import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import flow


def remap_ref(img: np.ndarray, f: np.ndarray) -> np.ndarray:
    """out[y, x] = img[y + fy, x + fx], bilinear, borders replicated (OpenCV, float64 in, float32 out)."""
    h, w = f.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img.astype(np.float32), xs + f[..., 0], ys + f[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def test_warp_equals_cv2_remap_on_random_flow():
    rng = np.random.default_rng(0)
    h, w = 37, 52
    img = rng.random((h, w, 3)).astype(np.float32)
    f = (rng.standard_normal((h, w, 2)) * 4).astype(np.float32)  # reaches past the borders too
    ref = remap_ref(img, f)
    x = torch.from_numpy(img).permute(2, 0, 1)[None]
    out = flow.warp(x, f)
    assert out.shape == (1, 3, h, w) and out.dtype == torch.float32
    got = out[0].permute(1, 2, 0).numpy()
    # OpenCV quantises the sub-pixel weights to 1/32 px (INTER_BITS = 5): up to ~1/64 of a step
    assert np.abs(got - ref).max() < 0.04 and np.abs(got - ref).mean() < 5e-3
    # the same with integer flow is exact (no interpolation weights involved)
    fi = np.round(f)
    assert np.allclose(flow.warp(x, fi)[0].permute(1, 2, 0).numpy(), remap_ref(img, fi), atol=1e-6)


def test_warp_tensor_flow_batches_and_3d_images():
    rng = np.random.default_rng(1)
    img = rng.random((2, 3, 20, 24)).astype(np.float32)
    f = (rng.standard_normal((2, 20, 24, 2)) * 2).astype(np.float32)
    ft = torch.from_numpy(f).permute(0, 3, 1, 2)  # (N,2,H,W)
    out = flow.warp(torch.from_numpy(img), ft)
    for n in range(2):
        ref = remap_ref(img[n].transpose(1, 2, 0), f[n])
        assert np.abs(out[n].permute(1, 2, 0).numpy() - ref).max() < 0.04
    one = flow.warp(torch.from_numpy(img[0]), f[0])  # (C,H,W) image, (H,W,2) numpy flow
    assert one.shape == (1, 3, 20, 24) and torch.allclose(one[0], out[0])


def test_warp_is_differentiable_in_image_and_flow():
    x = torch.rand(1, 3, 12, 14, requires_grad=True)
    f = (torch.rand(1, 2, 12, 14) * 3 - 1.5).requires_grad_()
    flow.warp(x, f).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert f.grad is not None and f.grad.abs().sum() > 0


def test_zero_flow_is_identity_and_integer_shift_moves_pixels():
    x = torch.rand(1, 3, 10, 11)
    assert torch.allclose(flow.warp(x, np.zeros((10, 11, 2), np.float32)), x, atol=1e-6)
    f = np.zeros((10, 11, 2), np.float32)
    f[..., 0] = 2  # out[y, x] = x[y, x + 2]
    out = flow.warp(x, f)
    assert torch.allclose(out[..., :-2], x[..., 2:], atol=1e-6)
    assert torch.allclose(out[..., -2:], x[..., -1:].expand(-1, -1, -1, 2), atol=1e-6)  # replicated


@pytest.mark.parametrize("bad", [np.zeros((10, 11, 3)), np.zeros((10, 11)), torch.zeros(1, 3, 10, 11),
                                 np.zeros((9, 11, 2)), torch.zeros(1, 2, 10, 12)])
def test_flow_of_the_wrong_shape_raises(bad):
    with pytest.raises(ValueError, match="flow"):
        flow.warp(torch.rand(1, 3, 10, 11), bad)


def shifted_pair(dx: int, dy: int, h: int = 160, w: int = 200):
    """Two crops of one photo such that a[y, x] = b[y + dy, x + dx]."""
    img = nm.images.sample_image("astronaut", max_side=256)
    y0, x0 = 40, 30
    a = img[..., y0:y0 + h, x0:x0 + w]
    b = img[..., y0 - dy:y0 - dy + h, x0 - dx:x0 - dx + w]
    assert torch.equal(a[..., 10:20, 10:20], b[..., 10 + dy:20 + dy, 10 + dx:20 + dx])
    return a, b


@pytest.mark.parametrize("method", ["dis", "farneback"])
@pytest.mark.parametrize("dx,dy", [(3, -2), (-4, 1)])
def test_methods_recover_a_known_translation(method, dx, dy):
    a, b = shifted_pair(dx, dy)
    f = flow.optical_flow(a, b, method=method)
    assert f.shape == (160, 200, 2) and f.dtype == np.float32
    inner = f[24:-24, 24:-24]
    err = np.abs(inner - np.array([dx, dy], np.float32)).max(-1)
    assert np.median(inner[..., 0]) == pytest.approx(dx, abs=0.05)
    assert np.median(inner[..., 1]) == pytest.approx(dy, abs=0.05)
    assert (err < 0.5).mean() > 0.85
    # and warping b by the flow brings it onto a
    assert (flow.warp(b, f) - a)[..., 24:-24, 24:-24].abs().mean() < 0.01
    direct = getattr(flow, method)(a, b)
    assert np.array_equal(direct, f)


def test_flow_accepts_uint8_arrays_and_rejects_unknown_methods():
    a, b = shifted_pair(2, 0)
    ua = (a[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    ub = (b[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    g = flow.gray_u8(ua)
    ref = cv2.cvtColor(ua, cv2.COLOR_RGB2GRAY)  # OpenCV's BT.601 grey
    assert g.shape == ua.shape[:2] and np.abs(g.astype(int) - ref).max() <= 1
    assert np.array_equal(flow.gray_u8(g), g)
    f = flow.dis(ua, ub)
    assert np.median(f[20:-20, 20:-20, 0]) == pytest.approx(2, abs=0.05)
    with pytest.raises(ValueError, match="method"):
        flow.optical_flow(a, b, method="horn-schunck")
    with pytest.raises(ValueError, match="preset"):
        flow.dis(a, b, preset="slow")


def sundaram_ref(fw: np.ndarray, bw: np.ndarray, a1=0.01, a2=0.5) -> np.ndarray:
    """Sundaram, Brox & Keutzer 2010 in float64 numpy: bw bilinearly sampled at x + fw (edge-clamped),
    |fw + bw~|² <= a1 (|fw|² + |bw~|²) + a2."""
    fw, bw = fw.astype(np.float64), bw.astype(np.float64)
    h, w = fw.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    px = np.clip(xs + fw[..., 0], 0, w - 1)
    py = np.clip(ys + fw[..., 1], 0, h - 1)
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    tx, ty = (px - x0)[..., None], (py - y0)[..., None]
    bwt = ((1 - ty) * ((1 - tx) * bw[y0, x0] + tx * bw[y0, x1])
           + ty * ((1 - tx) * bw[y1, x0] + tx * bw[y1, x1]))
    lhs = ((fw + bwt) ** 2).sum(-1)
    rhs = a1 * ((fw**2).sum(-1) + (bwt**2).sum(-1)) + a2
    return lhs, rhs


def test_consistency_mask_matches_sundarams_inequality():
    rng = np.random.default_rng(3)
    h, w = 30, 40
    ys, xs = np.mgrid[0:h, 0:w] / 6.0
    fw = np.stack([3 * np.sin(xs + ys), 2 * np.cos(xs - 0.5 * ys)], -1).astype(np.float32)  # smooth
    bw = (-fw + rng.standard_normal((h, w, 2)) * 0.6).astype(np.float32)  # roughly consistent
    got = flow.consistency_mask(fw, bw)
    lhs, rhs = sundaram_ref(fw, bw)
    ref = lhs <= rhs
    assert got.shape == (h, w) and got.dtype == bool
    assert 0.05 < ref.mean() < 0.95  # both outcomes occur
    clear = np.abs(lhs - rhs) > 1e-3 * (1 + rhs)  # away from float32's rounding at the boundary
    assert np.array_equal(got[clear], ref[clear])
    assert (got == ref).mean() > 0.99
    # other alphas
    lhs2, rhs2 = sundaram_ref(fw, bw, 0.05, 0.1)
    got2 = flow.consistency_mask(fw, bw, alpha1=0.05, alpha2=0.1)
    clear2 = np.abs(lhs2 - rhs2) > 1e-3 * (1 + rhs2)
    assert np.array_equal(got2[clear2], (lhs2 <= rhs2)[clear2])


def test_consistency_mask_on_a_real_translation_flags_the_disoccluded_border():
    a, b = shifted_pair(5, 0)
    fw, bw = flow.dis(a, b), flow.dis(b, a)
    m = flow.consistency_mask(fw, bw)
    assert m[20:-20, 20:-20].mean() > 0.95  # the interior is trusted
    opposite = flow.consistency_mask(fw, fw)  # going forward twice never returns
    assert opposite[20:-20, 20:-20].mean() < 0.05
    with pytest.raises(ValueError):
        flow.consistency_mask(fw, np.zeros((3, 3, 3)))
