"""The losses of pix2pix (Isola et al. 2017): the vanilla conditional GAN loss plus λ·L1.

    D minimizes  ½·[BCE(D(A, B), 1) + BCE(D(A, G(A)), 0)]     (the ½ slows D relative to G, as in the paper)
    G minimizes  BCE(D(A, G(A)), 1) + λ·mean|G(A) − B|         (λ = 100)

G uses the "non-saturating" form, log D(A, G(A)) maximized rather than log(1 − D(A, G(A))) minimized:
early on D rejects G's images easily, and the latter's gradient would vanish exactly then. Every BCE is
a mean over all the patch logits of the batch, and takes logits (sigmoid inside, numerically stable).

Example:
    >>> d_fake = torch.zeros(2, 1, 6, 6)  # D undecided: p = 0.5 everywhere
    >>> total, adv, l1 = pix2pix_generator_loss(d_fake, torch.zeros(2, 3, 8, 8), torch.ones(2, 3, 8, 8))
    >>> round(adv.item(), 4), l1.item(), round(total.item(), 4)  # ln 2, mean |0 − 1|, ln 2 + 100
    (0.6931, 1.0, 100.6931)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gan_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Mean binary cross-entropy of `logits` (any shape, e.g. a (B, 1, H', W') patch map) against all
    ones (`real=True`) or all zeros: −mean log σ(x) or −mean log(1 − σ(x))."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 if real else 0.0))


def pix2pix_generator_loss(d_fake_logits: torch.Tensor, fake: torch.Tensor, target: torch.Tensor, *,
                           l1_weight: float = 100.0,
                           gan_weight: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The generator's loss and its two parts.

    Args:
        d_fake_logits: D's logits for concat(A, G(A)), *not* detached: G learns through D.
        fake: G(A), (B, C, H, W). target: the real B, same shape.
        l1_weight: λ, weight of the L1 term (default 100, the paper's).
        gan_weight: weight of the adversarial term (default 1; 0 gives the paper's L1-only ablation).

    Returns:
        (total, adversarial, l1) with total = gan_weight·adversarial + l1_weight·l1; `adversarial` and
        `l1` are unweighted (the reference code logs G_L1 already multiplied by λ; we keep the parts in
        their own units so that curves of runs with different λ compare).
    """
    if fake.shape != target.shape:
        raise ValueError(f"generated images {tuple(fake.shape)} and targets {tuple(target.shape)} differ in shape")
    adversarial = gan_loss(d_fake_logits, True)
    l1 = F.l1_loss(fake, target)
    return gan_weight * adversarial + l1_weight * l1, adversarial, l1


def discriminator_loss(d_real_logits: torch.Tensor,
                       d_fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The discriminator's loss ½·(real_part + fake_part) and its two parts.

    Args:
        d_real_logits: D's logits for concat(A, B).
        d_fake_logits: D's logits for concat(A, G(A).detach()): the D step must not reach G's weights.

    Returns:
        (total, real_part, fake_part), real_part = gan_loss(d_real_logits, True),
        fake_part = gan_loss(d_fake_logits, False).
    """
    real_part = gan_loss(d_real_logits, True)
    fake_part = gan_loss(d_fake_logits, False)
    return 0.5 * (real_part + fake_part), real_part, fake_part
