"""The pix2pix step: the discriminator's update, then the generator's, each with its own optimizer.

As in the reference code (junyanz/pytorch-CycleGAN-and-pix2pix, models/pix2pix_model.py): D learns to
tell (input, target) pairs from (input, generated) ones, loss_D = ½ (BCE(D(a, b), 1) + BCE(D(a, G(a)), 0));
then G learns to fool it while staying near the target, loss_G = gan_weight · BCE(D(a, G(a)), 1) +
l1_weight · |G(a) − b|. Each optimizer holds only its own network's parameters, so neither update
touches the other network's weights. It runs through the same loop as every other step.
"""

from __future__ import annotations

from typing import Any

import torch

from idealfit.models.gan_losses import discriminator_loss, pix2pix_generator_loss
from idealfit.train.step import SupervisedStep


class Pix2PixStep(SupervisedStep):
    """Args as SupervisedStep, with optimizers (and schedulers) named "discriminator" and "generator", and:

    l1_weight: λ of the L1 term (the paper's 100). gan_weight: weight of the adversarial term (1; 0 would
        be the L1-only ablation, which trains with the plain supervised step instead).
    """

    def __init__(self, model: torch.nn.Module, optimizers: dict, schedulers: dict, *, l1_weight: float = 100.0,
                 gan_weight: float = 1.0, **kw: Any):
        super().__init__(model, optimizers, schedulers, **kw)
        self.l1_weight, self.gan_weight = l1_weight, gan_weight
        self.pre, self.core = model[:-1], model[-1]  # the input normalization, then the Pix2Pix pair

    def train(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        a, b = batch
        if self.augment is not None:  # paired flips and crops: A and B move together
            a, b = self.augment(a, mask=b)
        g, d = self.core.generator, self.core.discriminator
        a = self.pre(a)
        fake = g(a)  # (B, C_B, H, W)
        opt_d, opt_g = self.optimizers["discriminator"], self.optimizers["generator"]
        loss_d, _, _ = discriminator_loss(d(torch.cat([a, b], 1)), d(torch.cat([a, fake.detach()], 1)))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g, adv, l1 = pix2pix_generator_loss(d(torch.cat([a, fake], 1)), fake, b, l1_weight=self.l1_weight,
                                                 gan_weight=self.gan_weight)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        if self.clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(g.parameters(), self.clip_grad)
        opt_g.step()
        self.step_schedules()
        stats = self.task.stats(fake.detach(), b, l1.detach())  # "loss" is the L1 part: comparable to L1-only
        stats["g_adv"] = adv.detach() * stats["n"]
        stats["d_loss"] = loss_d.detach() * stats["n"]
        return stats
