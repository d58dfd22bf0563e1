"""The adversarial losses: Goodfellow et al. 2014, Mao et al. 2017 (LSGAN), Gulrajani et al. 2017 (WGAN-GP).

Goodfellow 2014, eq. 1: min_G max_D E_x[log D(x)] + E_z[log(1 − D(G(z)))]. Every model of the
package scores D's output with one :func:`gan_loss`, chosen by ``mode``:

- ``"vanilla"``: binary cross-entropy with logits (eq. 1; G uses the non-saturating form, §3);
- ``"lsgan"``: least squares against 1 / 0 (Mao 2017, eq. 2 with a=0, b=c=1);
- ``"wgangp"``: the Wasserstein critic's score (Arjovsky 2017) plus :func:`gradient_penalty`
  (Gulrajani 2017, eq. 3).

:func:`d_loss` and :func:`g_loss` are D's and G's sides of eq. 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["GAN_MODES", "gan_loss", "d_loss", "g_loss", "gradient_penalty"]

GAN_MODES = ("vanilla", "lsgan", "wgangp")


def _check_mode(mode: str) -> str:
    if mode not in GAN_MODES:
        raise ValueError(f"gan_mode must be one of {', '.join(GAN_MODES)}, not {mode!r}")
    return mode


def gan_loss(pred: torch.Tensor, target_is_real: bool, mode: str = "vanilla") -> torch.Tensor:
    """Goodfellow 2014 eq. 1 / Mao 2017 eq. 2 / Arjovsky 2017: the adversarial loss of D's output.

    - vanilla: binary cross-entropy with logits against 1 (real) or 0 (fake);
    - lsgan: mean squared error against 1 or 0 (no sigmoid);
    - wgangp: the critic's score, ``-mean(pred)`` for real and ``+mean(pred)`` for fake.

    ``pred`` may be a patch map (PatchGAN); the mean runs over every element.
    """
    _check_mode(mode)
    pred = pred.float()
    if mode == "wgangp":
        return -pred.mean() if target_is_real else pred.mean()
    target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(pred, target)
    return F.mse_loss(pred, target)


def d_loss(d_real: torch.Tensor, d_fake: torch.Tensor, mode: str = "vanilla") -> torch.Tensor:
    """Goodfellow 2014 eq. 1 (D's side): loss on real images as real plus fakes as fake.

    For wgangp this is the Wasserstein critic loss ``mean D(fake) - mean D(real)``; add
    :func:`gradient_penalty` yourself.
    """
    return gan_loss(d_real, True, mode) + gan_loss(d_fake, False, mode)


def g_loss(d_fake: torch.Tensor, mode: str = "vanilla") -> torch.Tensor:
    """Goodfellow 2014 §3, the non-saturating generator loss: make D call the fakes real."""
    return gan_loss(d_fake, True, mode)


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, *args, eps: torch.Tensor | None = None,
                     weight: float = 10.0) -> torch.Tensor:
    """Gulrajani et al. 2017, eq. 3: λ·E[(‖∇_x̂ D(x̂)‖₂ − 1)²] at x̂ = ε·real + (1−ε)·fake, ε ~ U[0,1].

    ``critic(x̂, *args)`` is called with any extra arguments (the labels of a conditional critic).
    ``eps`` (N,) may be given (tests do); otherwise it is drawn per sample. The graph is kept
    (``create_graph=True``) so the penalty trains the critic.
    """
    n = real.shape[0]
    if eps is None:
        eps = torch.rand(n, device=real.device)
    eps = eps.to(real.dtype).view(n, *([1] * (real.ndim - 1)))
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(x_hat, *args)
    (grad,) = torch.autograd.grad(out.float().sum(), x_hat, create_graph=True)
    norms = grad.float().flatten(1).norm(2, dim=1)
    return weight * ((norms - 1) ** 2).mean()
