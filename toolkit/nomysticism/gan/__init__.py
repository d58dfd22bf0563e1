"""Generative adversarial networks: one training loop; DCGAN, conditional GAN, CycleGAN; losses; metrics.

Goodfellow et al. 2014 set two networks against each other: a generator G(z) that paints images from
noise and a discriminator D(x) that tells real from painted,

    min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))]                        (Goodfellow 2014, eq. 1)

This package has, one file per paper or concern:

- ``losses``: ``gan_loss`` with ``mode`` in vanilla (BCE with logits), lsgan (least squares, Mao 2017)
  and wgangp (Wasserstein critic, Gulrajani 2017), :func:`d_loss`, :func:`g_loss` and the public
  :func:`gradient_penalty`;
- three models that share one loop (``loop``: :func:`train`, :class:`Run`): ``dcgan``:
  :class:`DCGAN` (Radford 2015), ``cgan``: :class:`ConditionalGAN` (Mirza & Osindero 2014, shaped
  like the seed's poster GAN: z of 100 joined to a one-hot label, then a linear layer) and
  ``cyclegan``: :class:`CycleGAN` (Zhu 2017: ResNet generator, 70×70 PatchGAN, instance norm,
  image pool, linear LR decay); ``base`` holds what the three share;
- ``latent``: :func:`slerp` and :func:`interpolate` (Radford 2015 §6.1, White 2016);
- ``evaluate``, measured quality: :func:`class_accuracy` (ask for a triangle, get a triangle?),
  :func:`fid` (Fréchet distance on a classifier's features), :func:`cycle_error` and a domain
  classifier's :func:`acceptance`;
- ``recipes``: :data:`RECIPES`, the defaults of ``nomysticism train-gan`` (global batch sizes);
- ``pretrained``: the shipped digits judge (:func:`digits_judge`) and demo generators
  (:func:`pretrained`, :func:`save_generator`).

Images are (N,C,H,W) in [0,1] at the API, as everywhere in the toolkit. Inside, the networks work in
[-1,1] as the papers do (G ends in tanh); the model classes convert at the boundary.

Data for :func:`train` is held in memory or indexed: a tensor of images (DCGAN), a pair
``(images, labels)`` (cGAN), or two image sets ``(A, B)`` (CycleGAN, unpaired). Any
``torch.utils.data.Dataset`` that returns image tensors works in place of a tensor, e.g. a folder of
your own pictures: ``nm.data.ImageFolder("my_photos/", size=64)``.
"""

from __future__ import annotations

from .base import _Model
from .cgan import ConditionalDiscriminator, ConditionalGAN, ConditionalGenerator
from .cyclegan import (
    CycleGAN,
    ImagePool,
    PatchDiscriminator,
    ResnetBlock,
    ResnetGenerator,
    linear_decay,
)
from .dcgan import DCGAN, DCGANDiscriminator, DCGANGenerator, weights_init
from .evaluate import (
    DomainClassifier,
    _small_cnn,
    acceptance,
    class_accuracy,
    cycle_error,
    features,
    fid,
    frechet_distance,
    train_domain_classifier,
)
from .latent import interpolate, slerp
from .loop import Run, train
from .losses import GAN_MODES, _check_mode, d_loss, g_loss, gan_loss, gradient_penalty
from .pretrained import JUDGE_DIR, _digits_net, digits_judge, pretrained, save_generator
from .recipes import RECIPES, recipe

__all__ = [
    "GAN_MODES",
    "gan_loss",
    "d_loss",
    "g_loss",
    "gradient_penalty",
    "ImagePool",
    "linear_decay",
    "weights_init",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "ConditionalGenerator",
    "ConditionalDiscriminator",
    "ResnetGenerator",
    "PatchDiscriminator",
    "DCGAN",
    "ConditionalGAN",
    "CycleGAN",
    "Run",
    "train",
    "slerp",
    "interpolate",
    "features",
    "class_accuracy",
    "frechet_distance",
    "fid",
    "cycle_error",
    "DomainClassifier",
    "train_domain_classifier",
    "acceptance",
    "digits_judge",
    "save_generator",
    "pretrained",
    "JUDGE_DIR",
    "RECIPES",
    "recipe",
]

# reachable as gan._name (scripts/train_gan_digits_judge.py uses _digits_net), and the CycleGAN block
_PRIVATE = (_Model, _check_mode, _small_cnn, _digits_net, ResnetBlock)
