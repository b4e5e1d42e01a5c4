"""Neural-network benchmarks: the Conv2d layer's forward+backward through the autodiff on VGG-like
shapes, and one full train step (forward, cross-entropy, backward, SGD-with-momentum update) of a
digits CNN with BatchNorm, each beside PyTorch CPU at the same thread count (2 on the reference
machine). Target: at most 1.5× PyTorch's time. Also, without a target, one training step of a
DCGAN generator (pytorch/examples' architecture: five transposed convolutions, 100 → 3×64×64),
which runs on the transposed convolution (conv2d_input_grad on the tuned engines).

Run alone: ``python -m torchsorflow.benchmarks.bench_nn [--quick] [--json out.json]``; or with
every other benchmark in one table: ``tsf bench nn``.
"""
from __future__ import annotations

import sys

import numpy as np


from .harness import rows_beside_torch, script_main

TARGET = 1.5
CONV_SHAPES = [  # (batch, in_channels, out_channels, size): VGG stages at CIFAR scale
    (16, 3, 64, 32), (16, 64, 64, 32), (16, 128, 128, 16), (16, 256, 256, 8), (16, 512, 512, 4)]
DIGITS_BATCH = 64
DCGAN_BATCH = 16


def conv_step(lib, batch, cin, cout, size):
    """One forward+backward of a 3×3 'same' Conv2d with bias, input gradient included."""
    x = np.random.default_rng(0).standard_normal((batch, cin, size, size)).astype(np.float32)
    layer = lib.nn.Conv2d(cin, cout, 3, padding=1)
    xt = lib.tensor(x, requires_grad=True)

    def step():
        layer.zero_grad()
        xt.grad = None
        layer(xt).sum().backward()
    return step


def digits_cnn(nn):
    """A small CNN for the 8×8 digits: two conv-BN-ReLU-pool stages and a two-layer head."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, 10))


def digits_step(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((DIGITS_BATCH, 1, 8, 8)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, DIGITS_BATCH))
    model = digits_cnn(lib.nn)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        optimizer.zero_grad()
        lib.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return step


def dcgan_generator(nn, nz=100, ngf=64, nc=3):
    """pytorch/examples' DCGAN generator: (N, nz, 1, 1) noise to (N, nc, 64, 64) images."""
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())


def dcgan_generator_step(lib, batch=DCGAN_BATCH):
    """Forward the generator, a mean-squared loss against fixed images, backward, Adam step."""
    rng = np.random.default_rng(0)
    noise = lib.tensor(rng.standard_normal((batch, 100, 1, 1)).astype(np.float32))
    target = lib.tensor(rng.uniform(-1, 1, (batch, 3, 64, 64)).astype(np.float32))
    model = dcgan_generator(lib.nn)
    optimizer = lib.optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step():
        optimizer.zero_grad()
        lib.nn.functional.mse_loss(model(noise), target).backward()
        optimizer.step()
    return step


def run(quick=False):
    """Rows for ``tsf bench``."""
    workloads = [(f"Conv2d 3×3 fwd+bwd, N={b} {ci}→{co} ch, {s}×{s}",
                  lambda lib, shape=(b, ci, co, s): conv_step(lib, *shape))
                 for b, ci, co, s in (CONV_SHAPES[1:4:2] if quick else CONV_SHAPES)]
    workloads.append((f"digits CNN+BN train step, batch {DIGITS_BATCH}", digits_step))
    rows = rows_beside_torch(workloads, quick, TARGET)
    dcgan = [(f"DCGAN generator train step (Adam), batch {DCGAN_BATCH}, 100 → 3×64×64",
              dcgan_generator_step)]
    return rows + rows_beside_torch(dcgan, quick, target=None)


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.split("\n")[0]))
