"""Generative and super-resolution model code, written as the public PyTorch examples write it
(pytorch/examples ``dcgan/main.py`` and ``super_resolution/model.py`` + ``main.py``), runs on
TorchsorFlow with only its imports changed, and computes what PyTorch computes: outputs, losses,
gradients and the parameters after an Adam step.

Each example is one source text. It runs twice: as written (``import torch ...``) and with its
import lines replaced (``import torchsorflow as torch ...``); the test asserts that nothing but
those lines differs. The two models then get the same weights (TorchsorFlow loads PyTorch's
``state_dict``) and the same batch.

In float32 a pre-activation within rounding of zero can fall on different sides of a ReLU in the
two libraries, which moves the gradients of the layers below by a fraction of a percent; so
float32 runs compare outputs and losses, and float64 runs (the models cast with ``.double()``
after the example built them) compare gradients and Adam steps as well, tightly.
"""
import re
from math import log10

import numpy as np
import pytest

torch = pytest.importorskip("torch")

IMPORTS = [("import torch\n", "import torchsorflow as torch\n"),
           ("import torch.nn as nn\n", "import torchsorflow.nn as nn\n"),
           ("import torch.nn.init as init\n", "import torchsorflow.nn.init as init\n"),
           ("import torch.optim as optim\n", "import torchsorflow.optim as optim\n")]


def _both(source):
    """The example's namespace under PyTorch and under TorchsorFlow (imports changed only)."""
    ours = source
    for theirs_line, our_line in IMPORTS:
        ours = ours.replace(theirs_line, our_line)
    changed = [(a, b) for a, b in zip(source.splitlines(), ours.splitlines()) if a != b]
    assert changed and all(re.fullmatch(r"import torch(\.\w+)*( as \w+)?", a) for a, _ in changed)
    namespaces = {}
    for name, text in (("torch", source), ("tsf", ours)):
        namespace = {"__name__": f"example_{name}"}
        exec(compile(text, f"<example under {name}>", "exec"), namespace)  # noqa: S102
        namespaces[name] = namespace
    return namespaces["torch"], namespaces["tsf"]


def _numpy(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _same_weights(ours, theirs):
    ours.load_state_dict(theirs.state_dict())
    for (name, p), (_, q) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_array_equal(_numpy(p), _numpy(q), err_msg=name)


PRECISION = {"float32": dict(rtol=1e-4, atol=2e-5, steps=1),
             "float64": dict(rtol=1e-8, atol=1e-11, steps=2)}


def _assert_parameters_close(ours, theirs, what, lr, steps, rtol, atol):
    """Parameters after ``steps`` Adam steps. Adam moves each weight by about ``lr·g/|g|``
    whatever the gradient's size, so where a gradient is within float32 rounding of zero its
    direction is noise in both libraries: there the weights agree to ``2·lr`` per step, elsewhere
    closely."""
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        g = np.abs(_numpy(q.grad))
        settled = g > 1e-3 * g.max()
        a, b = _numpy(p), _numpy(q)
        np.testing.assert_allclose(a[settled], b[settled], rtol=rtol, atol=atol,
                                   err_msg=f"{what}: {name}")
        assert np.abs(a - b).max() <= 2 * lr * steps, f"{what}: {name}"


def _assert_gradients_close(ours, theirs, what, rtol, atol):
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        g, h = _numpy(p.grad), _numpy(q.grad)
        scale = max(float(np.abs(h).max()), 1e-12)
        np.testing.assert_allclose(g, h, rtol=rtol, atol=atol * scale,
                                   err_msg=f"{what}: gradient of {name}")


# --- DCGAN ------------------------------------------------------------------------------------
DCGAN = '''
import torch
import torch.nn as nn
import torch.optim as optim

ngpu = 1
nz = 16   # size of the latent z vector (the example's default is 100)
ngf = 8   # generator width (64)
ndf = 8   # discriminator width (64)
nc = 3
device = torch.device("cuda:0" if (torch.cuda.is_available() and ngpu > 0) else "cpu")


# custom weights initialization called on netG and netD
def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, ngpu):
        super(Generator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(     nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d( ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d( ngf * 2,     ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(    ngf,      nc, 4, 2, 1, bias=False),
            nn.Tanh()
            # state size. (nc) x 64 x 64
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output


class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super(Discriminator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is (nc) x 64 x 64
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 32 x 32
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 16 x 16
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*4) x 8 x 8
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*8) x 4 x 4
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)

        return output.view(-1, 1).squeeze(1)


def build(lr=0.0002, beta1=0.5):
    netG = Generator(ngpu).to(device)
    netG.apply(weights_init)
    netD = Discriminator(ngpu).to(device)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    optimizerD = optim.Adam(netD.parameters(), lr=lr, betas=(beta1, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=lr, betas=(beta1, 0.999))
    return netG, netD, criterion, optimizerD, optimizerG


def train_batch(netG, netD, criterion, optimizerD, optimizerG, real_cpu, noise):
    """One iteration of main.py's training loop, with the batch and the noise given."""
    real_label = 1
    fake_label = 0
    ############################
    # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
    ###########################
    # train with real
    netD.zero_grad()
    real_cpu = real_cpu.to(device)
    batch_size = real_cpu.size(0)
    label = torch.full((batch_size,), real_label,
                       dtype=real_cpu.dtype, device=device)

    output = netD(real_cpu)
    errD_real = criterion(output, label)
    errD_real.backward()
    D_x = output.mean().item()

    # train with fake
    fake = netG(noise)
    label.fill_(fake_label)
    output = netD(fake.detach())
    errD_fake = criterion(output, label)
    errD_fake.backward()
    D_G_z1 = output.mean().item()
    errD = errD_real + errD_fake
    optimizerD.step()

    ############################
    # (2) Update G network: maximize log(D(G(z)))
    ###########################
    netG.zero_grad()
    label.fill_(real_label)  # fake labels are real for generator cost
    output = netD(fake)
    errG = criterion(output, label)
    errG.backward()
    D_G_z2 = output.mean().item()
    optimizerG.step()
    return fake, errD.item(), errG.item(), D_x, D_G_z1, D_G_z2
'''


@pytest.mark.parametrize("dtype", sorted(PRECISION))
def test_dcgan_trains_like_pytorch_with_only_the_imports_changed(dtype):
    import torchsorflow as tsf
    tol = PRECISION[dtype]
    torch.manual_seed(0)
    theirs, ours = _both(DCGAN)
    their_parts, our_parts = theirs["build"](), ours["build"]()
    for our_net, their_net in zip(our_parts[:2], their_parts[:2]):
        _same_weights(our_net, their_net)
        our_net.to(dtype)
        their_net.to(getattr(torch, dtype))
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (4, 3, 64, 64)).astype(dtype)
    noise = rng.standard_normal((4, 16, 1, 1)).astype(dtype)
    for step in range(tol["steps"]):  # the second sees Adam's moments, BN's running statistics
        our_out = ours["train_batch"](*our_parts, tsf.tensor(real), tsf.tensor(noise))
        their_out = theirs["train_batch"](*their_parts, torch.tensor(real), torch.tensor(noise))
        np.testing.assert_allclose(_numpy(our_out[0]), _numpy(their_out[0]), rtol=tol["rtol"],
                                   atol=tol["atol"], err_msg=f"generated images, step {step}")
        np.testing.assert_allclose(our_out[1:], their_out[1:], rtol=tol["rtol"],
                                   err_msg=f"errD, errG, D(x), D(G(z)) at step {step}")
        if dtype == "float32":
            continue
        for name, our_net, their_net in (("netG", our_parts[0], their_parts[0]),
                                         ("netD", our_parts[1], their_parts[1])):
            _assert_gradients_close(our_net, their_net, f"{name} step {step}", tol["rtol"],
                                    tol["atol"])
            _assert_parameters_close(our_net, their_net, f"{name} after Adam step {step}",
                                     0.0002, step + 1, tol["rtol"], tol["atol"])
    for (name, value), (_, ref) in zip(our_parts[0].state_dict().items(),
                                       their_parts[0].state_dict().items()):
        if "running" in name or "num_batches" in name:  # BatchNorm's statistics
            np.testing.assert_allclose(_numpy(value), _numpy(ref), rtol=tol["rtol"],
                                       atol=tol["atol"], err_msg=f"netG state {name}")


# --- ESPCN super-resolution -------------------------------------------------------------------
ESPCN = '''
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim
from math import log10


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(32, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


def build(upscale_factor=3, lr=0.01):
    model = Net(upscale_factor=upscale_factor)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    return model, criterion, optimizer


def train_batch(model, criterion, optimizer, batch):
    input, target = batch[0], batch[1]

    optimizer.zero_grad()
    loss = criterion(model(input), target)
    loss.backward()
    optimizer.step()
    return loss.item()


def test(model, criterion, batch):
    with torch.no_grad():
        input, target = batch[0], batch[1]

        prediction = model(input)
        mse = criterion(prediction, target)
        psnr = 10 * log10(1 / mse.item())
    return prediction, psnr
'''


@pytest.mark.parametrize("dtype", sorted(PRECISION))
def test_espcn_super_resolution_trains_like_pytorch_with_only_the_imports_changed(dtype):
    import torchsorflow as tsf
    tol = PRECISION[dtype]
    torch.manual_seed(0)
    theirs, ours = _both(ESPCN)
    (their_model, their_loss, their_opt), (our_model, our_loss, our_opt) = \
        theirs["build"](), ours["build"]()
    _same_weights(our_model, their_model)
    our_model.to(dtype)
    their_model.to(getattr(torch, dtype))
    rng = np.random.default_rng(1)
    low = rng.uniform(0, 1, (2, 1, 12, 10)).astype(dtype)
    high = rng.uniform(0, 1, (2, 1, 36, 30)).astype(dtype)
    our_prediction, our_psnr = ours["test"](our_model, our_loss, (tsf.tensor(low),
                                                                  tsf.tensor(high)))
    their_prediction, their_psnr = theirs["test"](their_model, their_loss, (torch.tensor(low),
                                                                            torch.tensor(high)))
    assert our_prediction.shape == (2, 1, 36, 30)
    np.testing.assert_allclose(_numpy(our_prediction), _numpy(their_prediction),
                               rtol=tol["rtol"], atol=tol["atol"])
    assert our_psnr == pytest.approx(their_psnr, rel=tol["rtol"])
    assert our_psnr == pytest.approx(10 * log10(1 / float(np.mean(
        (_numpy(our_prediction) - high) ** 2))), rel=1e-5)
    for step in range(tol["steps"]):
        our_value = ours["train_batch"](our_model, our_loss, our_opt,
                                        (tsf.tensor(low), tsf.tensor(high)))
        their_value = theirs["train_batch"](their_model, their_loss, their_opt,
                                            (torch.tensor(low), torch.tensor(high)))
        assert our_value == pytest.approx(their_value, rel=tol["rtol"])
        if dtype == "float64":
            _assert_gradients_close(our_model, their_model, f"ESPCN step {step}", tol["rtol"],
                                    tol["atol"])
            _assert_parameters_close(our_model, their_model, f"ESPCN after Adam step {step}",
                                     0.01, step + 1, tol["rtol"], tol["atol"])


# --- fast neural style's padding and upsampling layers ----------------------------------------
STYLE = '''
import torch


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super(ConvLayer, self).__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class UpsampleConvLayer(torch.nn.Module):
    """UpsampleConvLayer
    Upsamples the input and then does a convolution. This method gives better results
    compared to ConvTranspose2d.
    ref: http://distill.pub/2016/deconv-checkerboard/
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super(UpsampleConvLayer, self).__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = torch.nn.functional.interpolate(x_in, mode='nearest', scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


class SmallTransformerNet(torch.nn.Module):
    """The encoder / decoder of fast_neural_style's TransformerNet, narrower and without its
    instance normalisation and residual blocks."""

    def __init__(self):
        super(SmallTransformerNet, self).__init__()
        self.conv1 = ConvLayer(3, 8, kernel_size=9, stride=1)
        self.conv2 = ConvLayer(8, 16, kernel_size=3, stride=2)
        self.deconv1 = UpsampleConvLayer(16, 8, kernel_size=3, stride=1, upsample=2)
        self.deconv2 = ConvLayer(8, 3, kernel_size=9, stride=1)
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.conv1(X))
        y = self.relu(self.conv2(y))
        y = self.relu(self.deconv1(y))
        y = self.deconv2(y)
        return y
'''


def test_fast_neural_style_layers_match_pytorch_with_only_the_imports_changed():
    import torchsorflow as tsf
    torch.manual_seed(0)
    theirs, ours = _both(STYLE)
    their_net, our_net = theirs["SmallTransformerNet"]().double(), ours["SmallTransformerNet"]()
    _same_weights(our_net, their_net)
    our_net.double()
    x = np.random.default_rng(2).uniform(0, 255, (2, 3, 16, 20))
    our_y, their_y = our_net(tsf.tensor(x)), their_net(torch.tensor(x))
    assert our_y.shape == (2, 3, 16, 20)
    np.testing.assert_allclose(_numpy(our_y), _numpy(their_y), rtol=1e-9, atol=1e-9)
    (our_y ** 2).mean().backward()
    (their_y ** 2).mean().backward()
    _assert_gradients_close(our_net, their_net, "style net", rtol=1e-8, atol=1e-11)
