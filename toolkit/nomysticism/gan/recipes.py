"""Training recipes for ``nomysticism train-gan`` (and scripts): THE one place its defaults live.

The DCGAN recipe of Radford et al. 2015 (Adam lr 2e-4, β1 0.5, N(0, 0.02) init) at the sizes the
shipped demos use (``scripts/train_gan_demos.py``: 32 px, ngf = ndf = 32, batch 64, seed 0), and
CycleGAN (Zhu et al. 2017: LSGAN, λ_cycle 10, λ_id 0.5, a pool of 50) with a small ResNet
translator that trains on a CPU. ``batch_size`` is the global batch: under ``torchrun`` it is split
over the processes (:mod:`nomysticism.distributed`), so a recipe means the same on 1 or 8 GPUs.
"""

from __future__ import annotations

from types import MappingProxyType

from ..recipes import pick

__all__ = ["RECIPES", "recipe"]

_COMMON = {"steps": 1500, "batch_size": 64, "size": 32, "lr": 2e-4, "seed": 0, "gan_mode": None,
           "checkpoint_every": 250, "sample_every": 250, "n_images": 4000}

RECIPES = MappingProxyType({
    "dcgan": {**_COMMON, "ngf": 32, "ndf": 32},
    "cgan": {**_COMMON, "ngf": 32, "ndf": 32},
    "cyclegan": {**_COMMON, "ngf": 16, "ndf": 16, "n_blocks": 3, "batch_size": 4, "steps": 2000,
                 "n_images": 512},
})


def recipe(name: str, **overrides) -> dict:
    """A copy of ``RECIPES[name]`` (``"dcgan"``, ``"cgan"``, ``"cyclegan"``) with ``overrides``."""
    return pick(RECIPES, name, **overrides)
