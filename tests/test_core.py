"""The small core pieces: shipped assets, the atomic writer, the shared blocks, the device picker."""

import os
from pathlib import Path

import nomysticism as nm
import pytest
import torch
from nomysticism import assets, blocks, runtime

PKG = Path(nm.__file__).resolve().parent


# --- assets ---------------------------------------------------------------------------------------

def test_asset_finds_shipped_files():
    t = assets.asset("imagenet_classes.txt")
    assert t.is_file()
    lines = t.read_text().splitlines()
    assert len(lines) == 1000 and lines[0] == "tench"
    assert t.read_bytes() == (PKG / "assets" / "imagenet_classes.txt").read_bytes()
    assert assets.asset().is_dir() and assets.asset("fast_style").is_dir()
    assert assets.asset("fast_style/mosaic.safetensors").is_file()


def test_asset_path_gives_a_real_path():
    with assets.asset_path("fast_style/mosaic.safetensors") as p:
        assert isinstance(p, Path) and p.is_file()
        from safetensors.torch import load_file

        sd = load_file(str(p))
        assert sd and all(isinstance(v, torch.Tensor) for v in sd.values())
    with assets.asset_path("fast_style") as d:
        assert d.is_dir()


def test_list_assets():
    names = assets.list_assets("fast_style", ".safetensors")
    on_disk = sorted(p.stem for p in (PKG / "assets" / "fast_style").glob("*.safetensors"))
    assert names == on_disk and "mosaic" in names
    assert "README.md" in assets.list_assets("fast_style")
    assert assets.list_assets("no_such_folder") == []


def test_missing_asset_raises_filenotfound():
    assert not assets.asset("no/such.file").is_file()
    with pytest.raises(FileNotFoundError, match="no_such.txt"):
        with assets.asset_path("no_such.txt"):
            pass


def test_atomic_write_and_atomic_path(tmp_path):
    p = assets.atomic_write(tmp_path / "sub" / "a.txt", lambda tmp: Path(tmp).write_text("one"))
    assert p.read_text() == "one"

    def bad(tmp):
        Path(tmp).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        assets.atomic_write(p, bad)
    assert p.read_text() == "one" and os.listdir(p.parent) == ["a.txt"]

    with assets.atomic_path(p) as tmp:
        assert tmp != p and tmp.parent == p.parent and tmp.name.endswith(".txt")
        tmp.write_text("two")
        assert p.read_text() == "one"  # not yet
    assert p.read_text() == "two" and os.listdir(p.parent) == ["a.txt"]
    with pytest.raises(RuntimeError):
        with assets.atomic_path(p) as tmp:
            tmp.write_text("three")
            raise RuntimeError
    assert p.read_text() == "two" and os.listdir(p.parent) == ["a.txt"]


# --- blocks ---------------------------------------------------------------------------------------

def instance_norm_ref(x: torch.Tensor, w, b, eps=1e-5) -> torch.Tensor:
    """Ulyanov et al. 2016, eq. 2 in float64: per image and channel, biased variance."""
    x = x.double()
    mu = x.mean(dim=(2, 3), keepdim=True)
    var = ((x - mu) ** 2).mean(dim=(2, 3), keepdim=True)
    y = (x - mu) / torch.sqrt(var + eps)
    return y * w.double().view(1, -1, 1, 1) + b.double().view(1, -1, 1, 1)


def test_instance_norm_matches_the_formula():
    torch.manual_seed(0)
    m = blocks.InstanceNorm2d(5)
    assert isinstance(m, torch.nn.InstanceNorm2d) and not m.track_running_stats and m.affine
    with torch.no_grad():
        m.weight.uniform_(0.5, 2)
        m.bias.uniform_(-1, 1)
    x = torch.randn(3, 5, 7, 9) * 4 + 2
    out = m(x)
    assert out.dtype == torch.float32
    assert torch.allclose(out.double(), instance_norm_ref(x, m.weight, m.bias), atol=1e-5)
    ref = torch.nn.functional.instance_norm(x, weight=m.weight, bias=m.bias, eps=1e-5)
    assert torch.allclose(out, ref, atol=1e-5)
    m.eval()
    assert torch.allclose(m(x), out)  # no running statistics: eval == train
    plain = blocks.InstanceNorm2d(5, affine=False)
    assert plain.weight is None and not list(plain.parameters())
    assert torch.allclose(plain(x).double(), instance_norm_ref(x, torch.ones(5), torch.zeros(5)), atol=1e-5)


def test_instance_norm_in_bf16_keeps_float32_statistics():
    m = blocks.InstanceNorm2d(4, affine=False)
    x = (torch.randn(2, 4, 16, 16) * 50 + 300).bfloat16()  # a large mean: bf16 statistics would fail
    out = m(x)
    assert out.dtype == torch.bfloat16
    ref = instance_norm_ref(x.float(), torch.ones(4), torch.zeros(4))
    assert (out.double() - ref).abs().max() < 0.05


def test_state_dict_keys_match_nn_instancenorm():
    a = blocks.InstanceNorm2d(3)
    b = torch.nn.InstanceNorm2d(3, affine=True)
    assert set(a.state_dict()) == set(b.state_dict()) == {"weight", "bias"}


@pytest.mark.parametrize("name,cls", [("instance", blocks.InstanceNorm2d), ("batch", torch.nn.BatchNorm2d),
                                      ("layer", torch.nn.GroupNorm), ("none", torch.nn.Identity)])
def test_make_norm(name, cls):
    m = blocks.make_norm(name, 6)
    assert isinstance(m, cls)
    x = torch.randn(2, 6, 5, 5)
    assert m(x).shape == x.shape
    if name == "layer":
        assert m.num_groups == 1
        ref = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / torch.sqrt(
            x.var(dim=(1, 2, 3), unbiased=False, keepdim=True) + 1e-5)
        assert torch.allclose(m(x), ref, atol=1e-5)


def test_make_norm_rejects_unknown_names():
    with pytest.raises(ValueError, match="group"):
        blocks.make_norm("group", 4)
    with pytest.raises(ValueError):
        blocks.make_norm("Instance", 4)
    assert not list(blocks.make_norm("instance", 4, affine=False).parameters())


def test_conv_layer_and_residual_block():
    c = blocks.ConvLayer(3, 8, 9, stride=2)
    x = torch.rand(1, 3, 32, 32)
    assert c(x).shape == (1, 8, 16, 16)
    assert torch.allclose(c(x), torch.nn.functional.conv2d(
        torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect"), c.conv.weight, c.conv.bias, stride=2), atol=1e-6)
    r = blocks.ResidualBlock(8)
    keys = set(r.state_dict())
    assert {"conv1.conv.weight", "conv1.conv.bias", "in1.weight", "in1.bias", "conv2.conv.weight",
            "in2.bias"} <= keys
    y = torch.rand(2, 8, 10, 10)
    with torch.no_grad():
        manual = y + r.in2(r.conv2(torch.relu(r.in1(r.conv1(y)))))
        assert torch.allclose(r(y), manual)
    cyc = blocks.ResidualBlock(8, affine=False, bias=False)
    assert cyc.conv1.conv.bias is None and "in1.weight" not in cyc.state_dict()


# --- runtime --------------------------------------------------------------------------------------

def test_device_picker_and_module_device(monkeypatch):
    assert runtime.device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert runtime.device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.device() == torch.device("cuda")
    assert nm.device is runtime.device
    assert runtime.module_device(torch.nn.Linear(2, 2)) == torch.device("cpu")
    assert runtime.module_device(torch.nn.ReLU(), default="meta") == torch.device("meta")
    bn = torch.nn.BatchNorm2d(2, affine=False)  # buffers only
    assert runtime.module_device(bn) == torch.device("cpu")


def test_autocast_and_memory_format():
    with runtime.autocast("cpu", enabled=True):
        y = torch.nn.Linear(4, 4)(torch.rand(2, 4))
    assert y.dtype == torch.bfloat16
    with runtime.autocast("cpu", enabled=False):
        y = torch.nn.Linear(4, 4)(torch.rand(2, 4))
    assert y.dtype == torch.float32
    assert runtime.memory_format("cpu") == torch.contiguous_format
    assert runtime.memory_format("cuda") == torch.channels_last
    assert runtime.memory_format("cuda", channels_last=False) == torch.contiguous_format
    assert runtime.memory_format("cpu", channels_last=True) == torch.channels_last
