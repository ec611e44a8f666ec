"""Autoencoders: encode/decode shapes, transposed-conv decoder, options, and that they learn (PCA reference)."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from torch import nn

from idealfit.errors import UserError
from idealfit.models.autoencoder import ConvAutoencoder, DenseAutoencoder
from idealfit.models.summary import count_params, summarize


@pytest.mark.parametrize("shape", [(10,), (1, 40), (1, 8, 8), (3, 5, 7)])
def test_dense_encode_decode_shapes(shape):
    ae = DenseAutoencoder(shape, latent=6, hidden=(32, 16))
    x = torch.randn(4, *shape)
    z = ae.encode(x)
    assert z.shape == (4, 6)
    assert ae.decode(z).shape == x.shape
    torch.testing.assert_close(ae(x), ae.decode(z))


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 37, 45), (2, 1, 1), (1, 40), (4, 7)])
@pytest.mark.parametrize("widths", [(16,), (16, 32), (4, 4, 4)])
def test_conv_round_trips_odd_and_even_sizes_exactly(shape, widths):
    ae = ConvAutoencoder(shape, latent=5, widths=widths)
    x = torch.randn(3, *shape)
    assert ae.encode(x).shape == (3, 5)
    assert ae(x).shape == x.shape


@pytest.mark.parametrize("shape, up", [((1, 28, 28), nn.ConvTranspose2d), ((1, 40), nn.ConvTranspose1d)])
def test_conv_decoder_upsamples_with_transposed_convolutions(shape, up):
    ae = ConvAutoencoder(shape, widths=(8, 16))
    ups = [m for m in ae.decoder if isinstance(m, up)]
    assert len(ups) == 2 and all(m.stride == (2,) * (len(shape) - 1) for m in ups)
    assert ae.decoder[-1] is ups[-1]  # linear output: the last transposed conv, no activation after it
    seen = []
    for m in ups:
        m.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[2:])))
    ae(torch.randn(2, *shape))
    assert seen == ([(14, 14), (28, 28)] if len(shape) == 3 else [(20,), (40,)])


def test_output_is_linear_not_squashed():
    ae = DenseAutoencoder((6,), latent=2, hidden=(8,))
    assert isinstance(ae.decoder[-2], nn.Linear)  # then only Unflatten
    out = ae.decode(torch.full((64, 2), 100.0)) - ae.decode(torch.full((64, 2), -100.0))
    assert out.abs().max() > 1  # a sigmoid or tanh output could not move this far


def _low_rank(n=128, d=20, k=3, noise=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, k, generator=g) @ torch.randn(k, d, generator=g) + noise * torch.randn(n, d, generator=g)
    return (x - x.mean(0)) / x.std(0)


def _fit(ae, x, steps, lr=1e-2):
    torch.manual_seed(0)
    opt = torch.optim.Adam(ae.parameters(), lr=lr)
    for _ in range(steps):
        loss = ((ae(x) - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    ae.eval()
    with torch.no_grad():
        return ((ae(x) - x) ** 2).mean().item()


def test_linear_dense_autoencoder_matches_pca():
    # A linear autoencoder with a k-wide code learns PCA's k-dimensional subspace (Baldi & Hornik 1989),
    # so its reconstruction error should come down to scikit-learn's.
    x = _low_rank()
    pca = PCA(3).fit(x.numpy())
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(x.numpy())) - x.numpy()) ** 2))
    torch.manual_seed(0)
    mse = _fit(DenseAutoencoder((20,), latent=3, hidden=()), x, steps=400)
    mean_mse = ((x - x.mean(0)) ** 2).mean().item()  # = 1: predicting the mean
    assert pca_mse < mse < 1.5 * pca_mse + 1e-3
    assert mse < 0.05 * mean_mse


def test_dense_autoencoder_learns_identity_far_better_than_the_mean():
    x = _low_rank()
    torch.manual_seed(0)
    mse = _fit(DenseAutoencoder((20,), latent=3, hidden=(32,)), x, steps=300)
    assert mse < 0.1 * ((x - x.mean(0)) ** 2).mean().item()


def test_conv_autoencoder_learns_images_far_better_than_the_mean():
    # 32 8×8 images of one bright square at a random place: a 2-number family the code can hold.
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(32, 1, 8, 8)
    for img, (r, c) in zip(x, torch.randint(0, 6, (32, 2), generator=g), strict=True):
        img[0, r:r + 3, c:c + 3] = 1.0
    x = (x - x.mean()) / x.std()
    torch.manual_seed(0)
    mse = _fit(ConvAutoencoder((1, 8, 8), latent=8, widths=(8, 16)), x, steps=200)
    assert mse < 0.2 * ((x - x.mean(0)) ** 2).mean().item()


def test_dense_batchnorm_and_dropout_options():
    plain = DenseAutoencoder((10,), hidden=(8,))
    bn = DenseAutoencoder((10,), hidden=(8,), batchnorm=True)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in bn.modules()) == 2  # one per hidden layer, each half
    assert count_params(bn) == count_params(plain) + 2 * 2 * 8
    x = torch.randn(4, 10)
    torch.manual_seed(0)
    drop = DenseAutoencoder((10,), hidden=(8,), dropout=0.5)
    assert not torch.equal(drop(x), drop(x))
    drop.eval()
    assert torch.equal(drop(x), drop(x))
    assert torch.equal(plain(x), plain(x))


def test_conv_batchnorm_option():
    with_bn, without = ConvAutoencoder((1, 8, 8)), ConvAutoencoder((1, 8, 8), batchnorm=False)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules()) == 3  # 2 encoder + 1 decoder
    assert not any(isinstance(m, nn.BatchNorm2d) for m in without.modules())


@pytest.mark.parametrize("make", [
    lambda: DenseAutoencoder((10,), latent=0),
    lambda: DenseAutoencoder((0, 4)),
    lambda: DenseAutoencoder((10,), hidden=(8, 0)),
    lambda: DenseAutoencoder((10,), dropout=1.0),
    lambda: ConvAutoencoder((10,)),
    lambda: ConvAutoencoder((1, 2, 3, 4)),
    lambda: ConvAutoencoder((1, 8, 8), widths=()),
])
def test_bad_options_raise_user_error(make):
    with pytest.raises(UserError):
        make()


@pytest.mark.parametrize("ae, shape", [(DenseAutoencoder((1, 8, 8), latent=4), (1, 8, 8)),
                                       (ConvAutoencoder((1, 28, 28), latent=4), (1, 28, 28))])
def test_summary_works_and_ends_on_the_input_shape(ae, shape):
    text = summarize(ae, shape)
    assert f"total params: {count_params(ae):,}" in text
    rows = text.splitlines()
    assert str(shape) in [line for line in rows if line.startswith("output")][0]
    assert any(line.split()[1] == "Linear" and "(4,)" in line for line in rows[2:])  # the code layer
