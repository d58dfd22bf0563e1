"""nm.images: a corpus of bad and odd files, generated here; each gives ImageError or a correct tensor."""

import io
import struct
import zlib

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism.images import ImageError, load_image
from PIL import Image


def _save(tmp_path, name, img, **kw):
    p = tmp_path / name
    img.save(p, **kw)
    return p


def test_rgb_png_exact(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    x = load_image(_save(tmp_path, "a.png", Image.fromarray(a)))
    assert x.shape == (1, 3, 7, 9) and x.dtype == torch.float32
    np.testing.assert_allclose(x[0].permute(1, 2, 0).numpy(), a / 255.0, atol=1e-7)


def test_grayscale_replicated(tmp_path):
    a = np.arange(0, 250, 10, dtype=np.uint8).reshape(5, 5)
    x = load_image(_save(tmp_path, "g.png", Image.fromarray(a, "L")))
    for c in range(3):
        np.testing.assert_allclose(x[0, c].numpy(), a / 255.0, atol=1e-7)


def test_rgba_composited_on_white(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (6, 6, 4), dtype=np.uint8)
    x = load_image(_save(tmp_path, "a.png", Image.fromarray(a, "RGBA")))
    rgb, al = a[..., :3] / 255.0, a[..., 3:] / 255.0
    expected = rgb * al + 1.0 * (1 - al)
    np.testing.assert_allclose(x[0].permute(1, 2, 0).numpy(), expected, atol=1e-6)


def test_la_and_palette_transparency(tmp_path):
    la = Image.fromarray(np.stack([np.full((4, 4), 0, np.uint8), np.full((4, 4), 0, np.uint8)], -1), "LA")
    assert torch.allclose(load_image(_save(tmp_path, "la.png", la)), torch.ones(1, 3, 4, 4))
    p = Image.new("P", (4, 4), 0)
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.putpixel((0, 0), 1)
    path = _save(tmp_path, "p.png", p, transparency=0)
    x = load_image(path)
    assert torch.allclose(x[0, :, 0, 0], torch.tensor([0.0, 0.0, 1.0]))  # opaque blue
    assert torch.allclose(x[0, :, 1, 1], torch.ones(3))  # transparent red -> white


def test_cmyk_tiff(tmp_path):
    img = Image.new("CMYK", (3, 3), (255, 0, 0, 0))  # pure cyan ink
    x = load_image(_save(tmp_path, "c.tif", img))
    assert torch.allclose(x[0, :, 1, 1], torch.tensor([0.0, 1.0, 1.0]), atol=1e-6)


def test_16bit_grayscale(tmp_path):
    a = np.array([[0, 1000, 65535], [30000, 40000, 50000]], dtype=np.uint16)
    img = Image.fromarray(a)
    assert img.mode.startswith("I;16")
    x = load_image(_save(tmp_path, "d.png", img))
    np.testing.assert_allclose(x[0, 0].numpy(), a / 65535.0, atol=1e-6)


def test_exif_orientation(tmp_path):
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, 20:] = 255  # left black, right white
    img = Image.fromarray(a)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    p = _save(tmp_path, "r.jpg", img, exif=exif, quality=95)
    x = load_image(p)
    expected = np.rot90(a, k=-1) / 255.0
    assert x.shape == (1, 3, 40, 20)
    assert np.abs(x[0].permute(1, 2, 0).numpy() - expected).mean() < 0.02


def test_max_side_shrinks_with_antialias_never_enlarges(tmp_path):
    a = np.zeros((200, 400, 3), np.uint8)
    a[:, ::2] = 255  # 1-px stripes: antialiasing must average them to grey
    p = _save(tmp_path, "s.png", Image.fromarray(a))
    x = load_image(p, max_side=100)
    assert x.shape == (1, 3, 50, 100)
    assert abs(x.mean().item() - 0.5) < 0.02 and x.std().item() < 0.05
    assert load_image(p, max_side=1000).shape == (1, 3, 200, 400)


@pytest.mark.parametrize(
    "maker, reason",
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("hello, I am not a picture"), "not an image"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50), "corrupt"),
    ],
    ids=["empty", "text", "garbage-png"],
)
def test_bad_files_raise_imageerror_naming_file(tmp_path, maker, reason):
    p = tmp_path / "bad.png"
    maker(p)
    with pytest.raises(ImageError, match=reason) as e:
        load_image(p)
    assert str(p) in str(e.value)
    assert isinstance(e.value, ValueError)


def test_truncated_jpeg(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG")
    p = tmp_path / "t.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match="truncated"):
        load_image(p)


def _png_with_size(w, h):
    """A tiny valid PNG whose header claims w x h pixels."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = data[12:29]  # b"IHDR" + 13 bytes
    ihdr[4:12] = struct.pack(">II", w, h)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


def test_decompression_bomb(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_with_size(20000, 20000))
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(p)
    # allowed on request: the header passes, then the broken data is reported as corrupt
    with pytest.raises(ImageError, match="corrupt|truncated"):
        load_image(p, allow_huge=True)


def test_too_small_and_missing(tmp_path):
    p = _save(tmp_path, "line.png", Image.new("RGB", (1, 50)))
    with pytest.raises(ImageError, match="too small"):
        load_image(p)
    assert load_image(p, min_side=1).shape == (1, 3, 50, 1)
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="directory"):
        load_image(tmp_path)


def test_arrays_and_tensors():
    a = np.random.default_rng(0).random((5, 6, 3)).astype(np.float32)
    assert torch.allclose(load_image(a)[0].permute(1, 2, 0), torch.from_numpy(a))
    assert load_image(np.zeros((3, 5, 6), np.uint8)).shape == (1, 3, 5, 6)  # CHW
    assert load_image(torch.rand(1, 1, 4, 4)).shape == (1, 3, 4, 4)
    with pytest.raises(ImageError, match=r"\[0, 1\]"):
        load_image(np.full((4, 4, 3), 2.0))
    with pytest.raises(ImageError, match="NaN"):
        load_image(np.full((4, 4, 3), np.nan))
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((5, 5, 7)))


def test_save_roundtrip_and_normalise(tmp_path):
    x = torch.rand(1, 3, 8, 8)
    p = nm.save_image(x, tmp_path / "sub" / "x.png")
    y = load_image(p)
    assert (x - y).abs().max() <= 0.5 / 255 + 1e-6
    m = torch.tensor(nm.images.IMAGENET_MEAN).view(1, 3, 1, 1)
    s = torch.tensor(nm.images.IMAGENET_STD).view(1, 3, 1, 1)
    assert torch.allclose(nm.images.normalize(x), (x - m) / s)
    assert torch.allclose(nm.images.denormalize(nm.images.normalize(x)), x, atol=1e-6)


def test_samples_and_grid():
    names = nm.images.list_samples()
    for required in ["astronaut", "chelsea", "coffee", "rocket", "hubble", "brick", "mosaic", "stripes",
                     "dots", "swirl"]:
        assert required in names
    for n in names:
        x = nm.sample_image(n, max_side=64)
        assert x.ndim == 4 and x.shape[1] == 3 and max(x.shape[-2:]) <= 64
        assert 0 <= x.min() and x.max() <= 1 and x.std() > 0.02, n
    # deterministic procedural styles
    assert torch.equal(nm.images._style.__wrapped__("mosaic"), nm.sample_image("mosaic"))
    with pytest.raises(ValueError, match="unknown sample"):
        nm.sample_image("mona_lisa")
    g = nm.images.grid([torch.zeros(1, 3, 4, 4)] * 3, ncols=2, pad=1)
    assert g.shape == (1, 3, 9, 9)


def test_show_returns_figure():
    fig = nm.show(torch.rand(1, 3, 8, 8), torch.rand(2, 3, 8, 8), titles=["a", "b", "c"])
    assert len([a for a in fig.axes if a.images]) == 3
