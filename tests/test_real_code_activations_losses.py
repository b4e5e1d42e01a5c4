"""Model code in the style of public PyTorch examples, run unmodified with TorchsorFlow: only
``import torch`` changes. Each program builds a model, one training step (loss, backward,
gradient clipping where the example has it, an optimizer step) is run in both libraries from the
same weights and data, and the losses, gradients and updated weights must agree.

The models use what issue 18 added: SELU with AlphaDropout (a self-normalising network),
spectral normalisation with LeakyReLU and the hinge loss (an SN-GAN discriminator), a GELU
acoustic head trained with CTC, and a weight-normalised Mish/Hardswish embedding net trained with
the triplet loss.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torchsorflow  # noqa: E402

SNN = '''
import torch
from torch import nn
import torch.nn.functional as F

class SelfNormalizingNet(nn.Module):
    def __init__(self, n_in, n_hidden, n_out, depth=3, dropout=0.05):
        super().__init__()
        layers = []
        for i in range(depth):
            layers += [nn.Linear(n_in if i == 0 else n_hidden, n_hidden), nn.SELU(),
                       nn.AlphaDropout(dropout)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(n_hidden, n_out)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="linear")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return F.log_softmax(self.head(self.body(x)), dim=1)

model = SelfNormalizingNet(8, 16, 3)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

def step(x, y):
    model.eval()   # dropout off: the two libraries draw different masks
    optimizer.zero_grad()
    loss = F.nll_loss(model(x), y)
    loss.backward()
    optimizer.step()
    return loss
'''

SNGAN = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

class Discriminator(nn.Module):
    def __init__(self, channels=3, width=8):
        super().__init__()
        self.main = nn.Sequential(
            spectral_norm(nn.Conv2d(channels, width, 3, 1, 1)), nn.LeakyReLU(0.1, inplace=True),
            spectral_norm(nn.Conv2d(width, width * 2, 4, 2, 1)), nn.LeakyReLU(0.1, inplace=True),
        )
        self.fc = spectral_norm(nn.Linear(width * 2 * 4 * 4, 1))

    def forward(self, x):
        return self.fc(self.main(x).view(x.size(0), -1))

model = Discriminator()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.0, 0.9))

def step(real, fake):
    optimizer.zero_grad()
    loss = F.relu(1.0 - model(real)).mean() + F.relu(1.0 + model(fake)).mean()
    loss.backward()
    optimizer.step()
    return loss
'''

CTC = '''
import torch
import torch.nn as nn

class AcousticModel(nn.Module):
    def __init__(self, n_features, n_hidden, n_classes):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_features, n_hidden), nn.GELU(), nn.Dropout(0.1),
                                 nn.Linear(n_hidden, n_hidden), nn.Hardtanh(0, 20),
                                 nn.Linear(n_hidden, n_classes))

    def forward(self, x):                     # x: (T, N, features)
        return self.net(x).log_softmax(2)

model = AcousticModel(6, 12, 5)
criterion = nn.CTCLoss(blank=0, zero_infinity=True)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

def step(x, targets, input_lengths, target_lengths):
    model.eval()
    optimizer.zero_grad()
    loss = criterion(model(x), targets, input_lengths, target_lengths)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    optimizer.step()
    return loss
'''

TRIPLET = '''
import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

class EmbeddingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(weight_norm(nn.Linear(10, 16)), nn.Mish(),
                                weight_norm(nn.Linear(16, 16)), nn.Hardswish(),
                                nn.Linear(16, 4))

    def forward(self, x):
        return self.fc(x)

model = EmbeddingNet()
criterion = nn.TripletMarginLoss(margin=1.0, p=2, swap=True)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)

def step(anchor, positive, negative):
    optimizer.zero_grad()
    loss = criterion(model(anchor), model(positive), model(negative))
    loss.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), 0.1)
    optimizer.step()
    return loss
'''


def _run(source, library):
    namespace = {}
    code = source.replace("import torch\n", f"import {library} as torch\n")
    code = code.replace("import torch.nn", f"import {library}.nn")
    code = code.replace("from torch", f"from {library}")
    exec(compile(code, f"<example for {library}>", "exec"), namespace)
    return namespace


def _same_weights(ours, theirs):
    ours["model"].load_state_dict({k: v.detach().numpy()
                                   for k, v in theirs["model"].state_dict().items()})


def _compare(ours, theirs, inputs, rtol=1e-5, atol=1e-6):
    """One step in each library on the same data: loss, gradients, updated weights."""
    loss = ours["step"](*[torchsorflow.tensor(a) if isinstance(a, np.ndarray) else a
                          for a in inputs])
    expected = theirs["step"](*[torch.tensor(a) if isinstance(a, np.ndarray) else a
                                for a in inputs])
    np.testing.assert_allclose(float(loss), float(expected), rtol=rtol, atol=atol)
    their_params = dict(theirs["model"].named_parameters())
    names = [name for name, _ in ours["model"].named_parameters()]
    assert names == list(their_params)
    for name, p in ours["model"].named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), their_params[name].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=f"gradient of {name}")
    theirs_after = theirs["model"].state_dict()
    for name, value in ours["model"].state_dict().items():
        np.testing.assert_allclose(value.numpy(), theirs_after[name].numpy(), rtol=rtol,
                                   atol=atol, err_msg=f"{name} after the step")


def test_self_normalising_network():
    ours, theirs = _run(SNN, "torchsorflow"), _run(SNN, "torch")
    _same_weights(ours, theirs)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 8)).astype(np.float32), rng.integers(0, 3, 16)
    for _ in range(2):
        _compare(ours, theirs, [x, y])


def test_spectral_norm_gan_discriminator():
    ours, theirs = _run(SNGAN, "torchsorflow"), _run(SNGAN, "torch")
    _same_weights(ours, theirs)   # the power-iteration vectors u, v are in the state_dict
    rng = np.random.default_rng(1)
    real, fake = (rng.standard_normal((4, 3, 8, 8)).astype(np.float32) for _ in range(2))
    for _ in range(2):
        _compare(ours, theirs, [real, fake])


def test_ctc_acoustic_model():
    ours, theirs = _run(CTC, "torchsorflow"), _run(CTC, "torch")
    _same_weights(ours, theirs)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((12, 3, 6)).astype(np.float32)
    targets = np.array([1, 2, 2, 3, 4, 4, 1], dtype=np.int64)        # concatenated: 3 + 4 + 0
    for _ in range(2):
        _compare(ours, theirs, [x, targets, (12, 10, 7), (3, 4, 0)])


def test_weight_normalised_triplet_embedding():
    ours, theirs = _run(TRIPLET, "torchsorflow"), _run(TRIPLET, "torch")
    _same_weights(ours, theirs)
    rng = np.random.default_rng(3)
    batch = [rng.standard_normal((8, 10)).astype(np.float32) for _ in range(3)]
    for _ in range(2):
        _compare(ours, theirs, batch)
