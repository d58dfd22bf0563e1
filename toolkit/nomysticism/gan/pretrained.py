"""Shipped weights: the digits judge and the small demo generators of notebooks 09 and 10.

Both live in ``nomysticism/assets/gan`` (:data:`JUDGE_DIR`, found with :func:`nomysticism.assets.asset`):

- ``digits_judge.safetensors``: the classifier that scores digit GANs (:func:`digits_judge`),
  made by ``scripts/train_gan_digits_judge.py``;
- ``dcgan_digits`` (Radford 2015), ``cgan_digits``, ``cgan_shapes`` (Mirza 2014): G's weights in
  float16 with their settings as metadata (:func:`save_generator`, :func:`pretrained`), made by
  ``scripts/train_gan_demos.py``; their measured quality is in the ``.json`` beside each.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..assets import asset, asset_path, atomic_write
from ..checkpoint import load_weights
from .cgan import ConditionalGAN
from .cyclegan import CycleGAN
from .dcgan import DCGAN
from .evaluate import _small_cnn

__all__ = ["JUDGE_DIR", "digits_judge", "save_generator", "pretrained"]

JUDGE_DIR = asset("gan")  # the shipped GAN weights (a Path in an ordinary or editable install)
_MODELS = {"DCGAN": DCGAN, "ConditionalGAN": ConditionalGAN, "CycleGAN": CycleGAN}


def _digits_net():
    return _small_cnn(1, (16, 32, 64), [str(i) for i in range(10)], mean=(0.3,), std=(0.4,),
                      name="digits_judge")


def digits_judge(pretrained: bool = True):
    """A small CNN (3 conv-BN-ReLU-pool blocks, ~24k parameters) that reads scikit-learn digits at 32 px,
    1 channel: the judge for digit GANs' class accuracy and Fréchet distance (Heusel 2017). Weights:
    ``assets/gan/digits_judge.safetensors`` from ``scripts/train_gan_digits_judge.py``."""
    from ..models import WeightsUnavailableError

    net = _digits_net()
    if pretrained:
        if not asset("gan/digits_judge.safetensors").is_file():
            raise WeightsUnavailableError("digits_judge weights are missing; run "
                                          "`python scripts/train_gan_digits_judge.py`")
        with asset_path("gan/digits_judge.safetensors") as path:
            load_weights(net.layers, path)
    net.eval().requires_grad_(False)
    return net


def save_generator(model: DCGAN, path, settings: dict) -> Path:
    """Save G's weights (float16 safetensors) with ``settings`` ({"class", "kwargs", …}) as metadata."""
    from safetensors.torch import save_file

    sd = {k: (v.half() if v.is_floating_point() else v).detach().contiguous().cpu()
          for k, v in model.G.state_dict().items()}
    sd["fixed_z"] = model.fixed_z.detach().cpu().half().contiguous()
    meta = {"settings": json.dumps(settings)}
    return atomic_write(Path(path), lambda tmp: save_file(sd, tmp, metadata=meta))


def pretrained(name: str) -> DCGAN:
    """A shipped demo GAN with its trained generator (D is not shipped): ``"dcgan_digits"`` (Radford
    2015), ``"cgan_digits"`` (Mirza 2014; 32 px scikit-learn digits, 1 channel) or ``"cgan_shapes"``
    (32 px shapes, 5 classes). Made by ``scripts/train_gan_demos.py``; scores in the ``.json`` beside each."""
    from safetensors import safe_open

    from ..models import WeightsUnavailableError

    rel = f"gan/{name}.safetensors"
    if not asset(rel).is_file():
        raise WeightsUnavailableError(f"{name}: no shipped weights; run `python scripts/train_gan_demos.py {name}`")
    with asset_path(rel) as path, safe_open(str(path), "pt") as f:
        settings = json.loads(f.metadata()["settings"])
        sd = {k: f.get_tensor(k) for k in f.keys()}
    model = _MODELS[settings["class"]](**settings["kwargs"])
    model.fixed_z = sd.pop("fixed_z").float()
    model.G.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
    model.train_mode(False)
    return model
