"""nm.data: the shapes world is deterministic, balanced, and its masks are the drawn objects."""

import nomysticism as nm
import numpy as np
import pytest
import torch
from PIL import Image


def test_shapes_deterministic_and_balanced():
    a, b = nm.data.shapes(50, 48, seed=3), nm.data.shapes(50, 48, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert not torch.equal(a.images, nm.data.shapes(50, 48, seed=4).images)
    assert a.images.shape == (50, 3, 48, 48) and a.masks.shape == (50, 1, 48, 48)
    assert a.masks.dtype == torch.bool
    counts = torch.bincount(a.labels, minlength=5)
    assert counts.min() == counts.max() == 10


def test_shape_masks_have_plausible_areas():
    d = nm.data.shapes(200, 64, seed=5)
    area = d.masks.float().mean((1, 2, 3))
    assert (area > 0.01).all() and (area < 0.5).all()
    # a square's mask fills its bounding box far more than a star's or a cross's does
    def fill(i):
        ys, xs = torch.nonzero(d.masks[i, 0], as_tuple=True)
        return d.masks[i, 0].sum().item() / ((ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)).item()
    circles = [fill(i) for i in range(200) if d.labels[i] == 0]
    assert abs(np.mean(circles) - np.pi / 4) < 0.05  # a disc fills π/4 of its bounding square


def test_object_pixels_differ_from_background():
    d = nm.data.shapes(100, 64, seed=6)
    for i in range(100):
        m = d.masks[i, 0]
        inside = d.images[i][:, m].mean(1)
        ring = torch.nn.functional.max_pool2d(m[None, None].float(), 5, 1, 2)[0, 0].bool() & ~m
        outside = d.images[i][:, ring].mean(1)
        assert (inside - outside).abs().sum() > 0.15


def test_random_crops_and_digits():
    c = nm.data.random_crops(6, 32, seed=1)
    assert c.shape == (6, 3, 32, 32) and torch.equal(c, nm.data.random_crops(6, 32, seed=1))
    x, y = nm.data.digits(16)
    assert x.shape == (1797, 1, 16, 16) and y.max() == 9 and 0 <= x.min() and x.max() <= 1


def test_image_folder_skips_broken_files(tmp_path):
    Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "a.png")
    (tmp_path / "b.jpg").write_bytes(b"broken")
    ds = nm.data.ImageFolder(tmp_path, size=16)
    assert len(ds) == 2
    x = ds[0]
    assert x.shape == (3, 16, 16) and torch.allclose(x[0], torch.ones(16, 16))
    with pytest.warns(UserWarning, match="b.jpg"):
        assert ds[1].shape == (3, 16, 16)
    with pytest.raises(FileNotFoundError):
        nm.data.ImageFolder(tmp_path / "nothing")
