"""nm.metrics.psnr/ssim against scikit-image; colorfulness against Hasler & Süsstrunk 2003 in numpy."""

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import metrics
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def pair(seed=0, n=2, h=40, w=52, noise=0.08):
    g = torch.Generator().manual_seed(seed)
    x = nm.images.resize(nm.images.sample_image("astronaut"), (h, w)).expand(n, -1, -1, -1).clone()
    x[1:] = torch.rand(n - 1, 3, h, w, generator=g)
    y = (x + noise * torch.randn(x.shape, generator=g)).clamp(0, 1)
    return x, y


def np_img(t: torch.Tensor) -> np.ndarray:
    return t.double().permute(1, 2, 0).numpy()


def test_psnr_matches_skimage():
    x, y = pair()
    got = metrics.psnr(x, y)
    assert got.shape == (2,) and got.dtype == torch.float64
    for i in range(2):
        ref = peak_signal_noise_ratio(np_img(x[i]), np_img(y[i]), data_range=1.0)
        assert float(got[i]) == pytest.approx(ref, rel=1e-9)
    ref255 = peak_signal_noise_ratio(np_img(x[0]) * 255, np_img(y[0]) * 255, data_range=255)
    assert float(metrics.psnr(x[0].double() * 255, y[0].double() * 255, data_range=255)[0]) == pytest.approx(ref255, rel=1e-9)
    assert torch.isinf(metrics.psnr(x, x)).all()
    with pytest.raises(ValueError):
        metrics.psnr(x, y[..., :-1])


@pytest.mark.parametrize("noise", [0.02, 0.1, 0.4])
def test_ssim_matches_skimage_gaussian(noise):
    x, y = pair(noise=noise)
    got = metrics.ssim(x, y)
    assert got.shape == (2,) and got.dtype == torch.float64
    for i in range(2):
        ref = structural_similarity(np_img(x[i]), np_img(y[i]), gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=1.0, channel_axis=-1)
        assert float(got[i]) == pytest.approx(ref, abs=1e-6)


def test_ssim_grey_single_channel_and_identity():
    x, y = pair(seed=1)
    gx, gy = x[:, :1], y[:, :1]
    ref = structural_similarity(gx[0, 0].double().numpy(), gy[0, 0].double().numpy(), gaussian_weights=True,
                                sigma=1.5, use_sample_covariance=False, data_range=1.0)
    assert float(metrics.ssim(gx, gy)[0]) == pytest.approx(ref, abs=1e-6)
    assert torch.allclose(metrics.ssim(x, x), torch.ones(2, dtype=torch.float64))
    assert float(metrics.ssim(x[0], y[0])[0]) == pytest.approx(float(metrics.ssim(x, y)[0]))  # (3,H,W)
    with pytest.raises(ValueError):
        metrics.ssim(x[..., :8, :8], y[..., :8, :8])  # smaller than the 11 px window
    with pytest.raises(ValueError):
        metrics.ssim(x, y[:1])


def hasler_susstrunk(img: np.ndarray) -> float:
    """Hasler & Süsstrunk 2003, eq. 3 on an (H,W,3) picture in 0–255 (float64)."""
    r, g, b = (img[..., k].astype(np.float64).ravel() for k in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b
    sigma = np.sqrt(np.std(rg) ** 2 + np.std(yb) ** 2)
    mu = np.sqrt(np.mean(rg) ** 2 + np.mean(yb) ** 2)
    return sigma + 0.3 * mu


def test_colorfulness_matches_the_paper():
    names = ["astronaut", "coffee", "chelsea", "mosaic"]
    imgs = [nm.images.resize(nm.images.sample_image(n), (64, 64)) for n in names]
    batch = torch.cat(imgs)
    got = metrics.colorfulness(batch)
    assert got.shape == (4,)
    for i, im in enumerate(imgs):
        ref = hasler_susstrunk(im[0].permute(1, 2, 0).double().numpy() * 255)
        assert float(got[i]) == pytest.approx(ref, rel=1e-9)
    # pure red: rg = 255, yb = 127.5, no spread: M = 0.3 * sqrt(255² + 127.5²)
    red = torch.zeros(1, 3, 8, 8)
    red[:, 0] = 1
    assert float(metrics.colorfulness(red)[0]) == pytest.approx(0.3 * np.hypot(255, 127.5))
    assert float(metrics.colorfulness(nm.color.to_gray(batch)).abs().max()) < 1e-9  # grey gives 0
    grey = torch.rand(2, 1, 9, 9).expand(-1, 3, -1, -1)
    assert float(metrics.colorfulness(grey).abs().max()) < 1e-9
    with pytest.raises(ValueError):
        metrics.colorfulness(torch.rand(1, 1, 8, 8))


def test_colorfulness_orders_vivid_over_dull():
    img = nm.images.resize(nm.images.sample_image("coffee"), (48, 48))
    dull = 0.5 * img + 0.5 * nm.color.to_gray(img)
    assert float(metrics.colorfulness(dull)[0]) < float(metrics.colorfulness(img)[0])
