"""nm.models: offline ImageNet predictions, shapesnet accuracy, VGG against torchvision, clear errors."""

import socket
import urllib.error

import nomysticism as nm
import pytest
import torch
import torchvision
from nomysticism.models import WeightsUnavailableError


def test_device_is_cpu_here():
    assert nm.device().type in ("cpu", "cuda", "mps")
    assert nm.device("cpu") == torch.device("cpu")


def test_lite0_chelsea_is_a_cat_and_coffee_is_espresso(lite0):
    top5 = [i for i, _, _ in nm.models.top_k(lite0, nm.sample_image("chelsea", 224), 5)]
    assert any(281 <= i <= 285 for i in top5), top5
    top1 = nm.models.top_k(lite0, nm.sample_image("coffee", 224), 1)[0]
    assert top1[0] == 967 and top1[1] == "espresso"


def test_imagenet_class_names_match_torchvision():
    assert nm.models.imagenet_classes() == torchvision.models.VGG16_Weights.IMAGENET1K_V1.meta["categories"]


def test_shapesnet_accuracy_on_unseen_seed(shapesnet):
    data = nm.data.shapes(600, 64, seed=777)
    with torch.no_grad():
        acc = (shapesnet(data.images).argmax(1) == data.labels).float().mean().item()
    assert acc >= 0.95, acc


def test_shapesnet_weights_are_small():
    from importlib import resources

    p = resources.files("nomysticism").joinpath("assets/shapesnet.safetensors")
    assert p.is_file() and p.stat().st_size < 2_000_000


@pytest.mark.parametrize("name", ["vgg16", "vgg19"])
def test_vgg_matches_torchvision(name, monkeypatch):
    """Our named-layer VGG, fed torchvision's state dict, computes what torchvision's VGG computes."""
    tv = getattr(torchvision.models, name)(weights=None).eval()
    monkeypatch.setattr(nm.models, "download_weights", lambda n, progress=True: tv.state_dict())
    ours = nm.models.load(name)
    # names and shapes, conv by conv
    tv_convs = [m for m in tv.features if isinstance(m, torch.nn.Conv2d)]
    our_convs = [(n, m) for n, m in ours.layers.named_children() if isinstance(m, torch.nn.Conv2d)]
    assert len(tv_convs) == len(our_convs) == {"vgg16": 13, "vgg19": 16}[name]
    per_block = {"vgg16": [2, 2, 3, 3, 3], "vgg19": [2, 2, 4, 4, 4]}[name]
    expected_names = [f"conv{b}_{i}" for b, n in enumerate(per_block, 1) for i in range(1, n + 1)]
    assert [n for n, _ in our_convs] == expected_names
    for t, (_, o) in zip(tv_convs, our_convs):
        assert t.weight.shape == o.weight.shape
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ref_in = nm.images.normalize(x)
        ref_pool5 = tv.features(ref_in)
        ref_logits = tv(ref_in)
        f = ours.features(x, ["pool5", f"conv5_{per_block[-1]}"])
        assert torch.allclose(f["pool5"], ref_pool5, rtol=1e-4, atol=1e-5)
        assert torch.allclose(ours(x), ref_logits, rtol=1e-4, atol=1e-5)


def test_vgg_avg_pooling_and_layer_names():
    net = nm.models.load("vgg19", pretrained=False, pooling="avg")
    assert isinstance(net.layers.pool1, torch.nn.AvgPool2d)
    assert net.layer_names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert "conv5_4" in net.layer_names and "fc8" in net.layer_names
    with pytest.raises(ValueError, match="pooling"):
        nm.models.load("vgg19", pretrained=False, pooling="median")


def test_features_stop_at_deepest_layer():
    net = nm.models.load("vgg16", pretrained=False)
    ran = []
    for name in ("conv3_1", "conv4_1", "fc8"):
        getattr(net.layers, name).register_forward_hook(lambda m, i, o, n=name: ran.append(n))
    f = net.features(torch.rand(1, 3, 32, 32), ["relu2_2", "conv3_1"])
    assert set(f) == {"relu2_2", "conv3_1"} and ran == ["conv3_1"]
    with pytest.raises(ValueError, match="no layer 'conv9_9'"):
        net.features(torch.rand(1, 3, 32, 32), ["conv9_9"])


def test_no_inplace_relus_and_frozen(lite0):
    for net in (lite0, nm.models.load("vgg16", pretrained=False)):
        acts = [m for m in net.modules() if isinstance(m, (torch.nn.ReLU, torch.nn.ReLU6))]
        assert acts and not any(m.inplace for m in acts)
        assert not any(p.requires_grad for p in net.parameters())
        assert not net.training


def test_vgg_without_network_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(*a, **k):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(WeightsUnavailableError) as e:
        nm.models.load("vgg19")
    msg = str(e.value)
    assert "vgg19-dcbb9e9d.pth" in msg and str(tmp_path) in msg and "efficientnet_lite0" in msg
    assert e.value.__suppress_context__  # no bare socket traceback chained under it


def test_unknown_model():
    with pytest.raises(ValueError, match="available"):
        nm.models.load("alexnet")


def test_googlenet_matches_torchvision_with_transform_input(monkeypatch):
    """DeepDream's network: our named-layer GoogLeNet (normalised to [-1,1]) computes what
    torchvision's GoogLeNet computes with ``transform_input=True`` on ImageNet-normalised input."""
    tv = torchvision.models.googlenet(weights=None, aux_logits=True, transform_input=True,
                                      init_weights=True).eval()
    for m in tv.modules():  # non-trivial BN statistics, so the normalisation is really tested
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    monkeypatch.setattr(nm.models, "download_weights", lambda n, progress=True: tv.state_dict())
    ours = nm.models.load("googlenet")
    assert "inception4c" in ours.layer_names and ours.default_layers["dream"] == "inception4c"
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        ref = tv(nm.images.normalize(x))
        ref = ref.logits if hasattr(ref, "logits") else ref
        assert torch.allclose(ours(x), ref, rtol=1e-4, atol=1e-5)
        mid = ours.features(x, ["inception4c"])["inception4c"]
    assert mid.shape == (2, 512, 6, 6)
