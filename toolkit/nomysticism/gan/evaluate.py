"""Measured quality: does the GAN draw what it is asked for, how close are its images to real ones,
and does a CycleGAN translation keep its content and land in the other domain?

- :func:`class_accuracy`: Mirza 2014's promise measured: the fraction of images a separately
  trained classifier (the "judge") puts in the class that was asked for;
- :func:`features` and :func:`fid`: Heusel et al. 2017, the Fréchet distance
  ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) between Gaussians fitted to the judge's features of real and
  generated images (:func:`nomysticism.metrics.frechet_distance`; small judges, not Inception);
- :func:`cycle_error`: Zhu 2017 eq. 2 measured, mean |F(G(a)) − a| and |G(F(b)) − b|;
- :func:`DomainClassifier`, :func:`train_domain_classifier`, :func:`acceptance`: a small CNN
  trained on real A vs real B, and how often it takes translations for the target domain.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from ..metrics import frechet_distance
from ..runtime import module_device
from .cyclegan import CycleGAN

__all__ = ["features", "class_accuracy", "frechet_distance", "fid", "cycle_error", "DomainClassifier",
           "train_domain_classifier", "acceptance"]


def _judge_input(judge, x: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is not None and x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    cin = judge.normalize.mean.shape[1]
    if x.shape[1] != cin:
        x = x.mean(1, keepdim=True).expand(-1, cin, -1, -1) if cin in (1, 3) else x
        x = x[:, :cin]
    return x


@torch.no_grad()
def class_accuracy(judge, images: torch.Tensor, labels: torch.Tensor, size: int | None = None,
                   per_class: bool = False):
    """Mirza 2014's promise, measured: the fraction of generated ``images`` that the classifier
    ``judge`` puts in the class they were asked for. ``size`` resizes first (shapesnet: 64).
    ``per_class=True`` also returns a list of per-class accuracies."""
    dev = module_device(judge)
    pred = torch.cat([judge(_judge_input(judge, images[i:i + 256], size).to(dev)).argmax(1).cpu()
                      for i in range(0, len(images), 256)])
    ok = (pred == labels.cpu()).float()
    if not per_class:
        return ok.mean().item()
    n = int(labels.max()) + 1
    return ok.mean().item(), [ok[labels == c].mean().item() if (labels == c).any() else float("nan")
                              for c in range(n)]


@torch.no_grad()
def features(judge, images: torch.Tensor, layer: str | None = None, size: int | None = None) -> torch.Tensor:
    """Heusel 2017's feature map φ(x), from a small judge: its (N, D) features at ``layer`` (default:
    the layer before the last linear one), spatially averaged if it is a map."""
    layer = layer or judge.layer_names[-2]
    dev = module_device(judge)
    out = []
    for i in range(0, len(images), 256):
        f = judge.features(_judge_input(judge, images[i:i + 256], size).to(dev), [layer])[layer]
        out.append((f.mean((2, 3)) if f.ndim == 4 else f.flatten(1)).cpu())
    return torch.cat(out)


def fid(judge, real: torch.Tensor, fake: torch.Tensor, layer: str | None = None, size: int | None = None) -> float:
    """Heusel 2017: the Fréchet distance between real and generated images on ``judge``'s features
    (our small classifiers, not Inception: compare numbers only within one judge and sample size)."""
    return frechet_distance(features(judge, real, layer, size), features(judge, fake, layer, size))


@torch.no_grad()
def cycle_error(model: CycleGAN, A: torch.Tensor, B: torch.Tensor) -> dict[str, float]:
    """Zhu 2017 eq. 2, measured: mean |G_BA(G_AB(a)) − a| and |G_AB(G_BA(b)) − b| in [0,1] pixel units,
    and for scale the identity baseline mean |a − G_AB(a)| (how much the translation changes)."""
    ab, ba = model.translate(A, "AB"), model.translate(B, "BA")
    return {"A→B→A": (model.translate(ab, "BA") - A).abs().mean().item(),
            "B→A→B": (model.translate(ba, "AB") - B).abs().mean().item(),
            "change A→B": (ab - A).abs().mean().item(),
            "change B→A": (ba - B).abs().mean().item()}


def _small_cnn(channels, widths, classes, mean, std, name):
    """conv-BN-ReLU-pool blocks, global average, linear: a named-layer judge network."""
    from ..models import LayeredNet

    layers = OrderedDict()
    c = channels
    for i, w in enumerate(widths, start=1):
        layers[f"conv{i}"] = nn.Conv2d(c, w, 3, padding=1, bias=False)
        layers[f"bn{i}"] = nn.BatchNorm2d(w)
        layers[f"relu{i}"] = nn.ReLU()
        layers[f"pool{i}"] = nn.MaxPool2d(2)
        c = w
    layers["gap"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten(1)
    layers["fc"] = nn.Linear(c, len(classes))
    return LayeredNet(layers, mean=mean, std=std, classes=classes, name=name)


def DomainClassifier(channels: int = 3, width: int = 16):
    """A tiny CNN (3 conv-BN-ReLU-pool blocks, global average, linear) that tells domain A from B;
    a :class:`~nomysticism.models.LayeredNet` with classes ``["A", "B"]``."""
    return _small_cnn(channels, (width, width * 2, width * 4), ["A", "B"], mean=(0.5,) * channels,
                      std=(0.25,) * channels, name="domain_classifier")


def train_domain_classifier(A: torch.Tensor, B: torch.Tensor, steps: int = 150, batch_size: int = 32,
                            seed: int = 0, progress: bool = False):
    """Train :func:`DomainClassifier` on real A (class 0) against real B (class 1); eval mode, frozen.
    Uses its own generator (seeded), so it does not disturb a GAN run's random state."""
    from tqdm.auto import tqdm

    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = DomainClassifier(A.shape[1])
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    net.train()
    for _ in tqdm(range(steps), disable=not progress, desc="domain classifier"):
        ia = torch.randint(0, len(A), (batch_size // 2,), generator=g)
        ib = torch.randint(0, len(B), (batch_size // 2,), generator=g)
        x = torch.cat([A[ia], B[ib]])
        y = torch.cat([torch.zeros(len(ia)), torch.ones(len(ib))]).long()
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval().requires_grad_(False)
    return net


@torch.no_grad()
def acceptance(classifier, images: torch.Tensor, domain: str) -> float:
    """The fraction of ``images`` that the domain classifier assigns to ``domain`` ("A" or "B")."""
    k = classifier.classes.index(domain)
    return (classifier(images).argmax(1) == k).float().mean().item()
