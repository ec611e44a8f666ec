"""pix2pix losses against hand computations: −log σ(x), −log(1 − σ(x)), λ·mean|G(A) − B| and D's ½."""

import math

import pytest
import torch

from idealfit.models.gan_losses import discriminator_loss, gan_loss, pix2pix_generator_loss


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_gan_loss_real_and_fake_by_hand():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 3.0]])
    xs = [0.0, 2.0, -1.0, 3.0]
    real = sum(-math.log(_sigmoid(x)) for x in xs) / 4
    fake = sum(-math.log(1 - _sigmoid(x)) for x in xs) / 4
    assert gan_loss(logits, True).item() == pytest.approx(real, rel=1e-6)
    assert gan_loss(logits, False).item() == pytest.approx(fake, rel=1e-6)


def test_gan_loss_is_stable_for_confident_logits():
    # σ(−200) underflows to 0 in float32: a naive −log σ(x) would be inf; the true value is 200
    assert gan_loss(torch.tensor([-200.0]), True).item() == pytest.approx(200.0)
    assert gan_loss(torch.tensor([200.0]), False).item() == pytest.approx(200.0)


def test_generator_loss_by_hand():
    d_fake = torch.tensor([[[[1.0, -1.0]]]])  # (1, 1, 1, 2) patch map
    fake = torch.tensor([[[[0.2, 0.5], [0.9, 0.0]]]])
    target = torch.tensor([[[[0.0, 0.5], [1.0, 0.4]]]])
    adv_hand = (-math.log(_sigmoid(1.0)) - math.log(_sigmoid(-1.0))) / 2
    l1_hand = (0.2 + 0.0 + 0.1 + 0.4) / 4
    total, adv, l1 = pix2pix_generator_loss(d_fake, fake, target)
    assert adv.item() == pytest.approx(adv_hand, rel=1e-6)
    assert l1.item() == pytest.approx(l1_hand, rel=1e-6)
    assert total.item() == pytest.approx(adv_hand + 100.0 * l1_hand, rel=1e-6)  # λ = 100 by default


def test_generator_loss_weights():
    torch.manual_seed(0)
    d_fake, fake, target = torch.randn(2, 1, 3, 3), torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    _, adv, l1 = pix2pix_generator_loss(d_fake, fake, target)
    total, adv10, l1_10 = pix2pix_generator_loss(d_fake, fake, target, l1_weight=10.0)
    assert total.item() == pytest.approx(adv.item() + 10 * l1.item(), rel=1e-6)
    assert (adv10, l1_10) == (adv, l1)  # the parts are unweighted
    total, _, _ = pix2pix_generator_loss(d_fake, fake, target, gan_weight=0.0)
    assert total.item() == pytest.approx(100 * l1.item(), rel=1e-6)  # L1-only ablation
    total, _, _ = pix2pix_generator_loss(d_fake, fake, target, gan_weight=2.0, l1_weight=0.0)
    assert total.item() == pytest.approx(2 * adv.item(), rel=1e-6)


def test_generator_loss_reaches_generator_through_the_discriminator_logits():
    d_fake = torch.zeros(1, 1, 2, 2, requires_grad=True)
    fake = torch.zeros(1, 1, 2, 2, requires_grad=True)
    total, _, _ = pix2pix_generator_loss(d_fake, fake, torch.ones(1, 1, 2, 2))
    total.backward()
    # d/dx of −log σ(x) at 0 is −½, over a mean of 4 logits; d/dfake of 100·mean|fake − 1| is −100/4
    torch.testing.assert_close(d_fake.grad, torch.full((1, 1, 2, 2), -0.125))
    torch.testing.assert_close(fake.grad, torch.full((1, 1, 2, 2), -25.0))


def test_generator_loss_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        pix2pix_generator_loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 3, 8, 8), torch.zeros(1, 1, 8, 8))


def test_discriminator_loss_by_hand_with_the_half():
    d_real = torch.tensor([2.0, 0.5])
    d_fake = torch.tensor([-1.0, 1.5, 0.0])
    real_hand = (-math.log(_sigmoid(2.0)) - math.log(_sigmoid(0.5))) / 2
    fake_hand = sum(-math.log(1 - _sigmoid(x)) for x in (-1.0, 1.5, 0.0)) / 3
    total, real, fake = discriminator_loss(d_real, d_fake)
    assert real.item() == pytest.approx(real_hand, rel=1e-6)
    assert fake.item() == pytest.approx(fake_hand, rel=1e-6)
    assert total.item() == pytest.approx(0.5 * (real_hand + fake_hand), rel=1e-6)


def test_undecided_discriminator_scores_ln2():
    # D(x) = ½ everywhere: every part is ln 2, the value a D that has "given up" sits at
    total, real, fake = discriminator_loss(torch.zeros(4, 1, 6, 6), torch.zeros(4, 1, 6, 6))
    for v in (total, real, fake):
        assert v.item() == pytest.approx(math.log(2), rel=1e-6)
