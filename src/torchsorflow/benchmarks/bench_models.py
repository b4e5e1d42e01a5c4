"""Model zoo benchmarks: building VGG11 (132.9 M float32 parameters with torchvision's
initialisation) and the inference forward pass of VGG11 / ResNet-18 at 1x3x224x224, beside the
same architectures built in torch.nn (torchvision is not needed) with the same thread count.

Run: ``tsf bench models`` or ``python -m torchsorflow.benchmarks.bench_models [--quick] [--json
out.json]``. Target: building within 1.5× PyTorch's time; the forward passes are reported
without a target (they measure the convolution kernels).
"""
from __future__ import annotations

import gc
import sys

import numpy as np

import torchsorflow as tsf
from torchsorflow.models import resnet18, vgg11
from torchsorflow.nn.summary import summary

from .harness import best_time, import_torch, peak_memory_mb, row, script_main
from .torch_models import torch_resnet18, torch_vgg


def torch_vgg11(torch):
    """torchvision's vgg11 build: layers with their default init, then torchvision's re-init."""
    tnn = torch.nn
    model = torch_vgg(torch)
    for module in model.modules():
        if isinstance(module, tnn.Conv2d):
            tnn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            tnn.init.zeros_(module.bias)
        elif isinstance(module, tnn.Linear):
            tnn.init.normal_(module.weight, 0, 0.01)
            tnn.init.zeros_(module.bias)
    return model


def torch_copy(torch, ours):
    """The same architecture in torch.nn holding our weights (so both compute the same thing)."""
    build = torch_vgg if type(ours).__name__ == "VGG" else torch_resnet18
    model = build(torch)
    model.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    return model.eval()


def _timed(fn, repeat):
    """Best of ``repeat`` single calls (each call is long: no inner loop needed)."""
    gc.collect()
    return best_time(fn, repeat=repeat, number=1)


def run(quick=False):
    """Rows for ``tsf bench``: the build (target ≤ 1.5× PyTorch), the two forward passes, and
    summary()'s cost relative to the plain forward pass."""
    torch = import_torch()
    incumbent = "PyTorch" if torch else None
    repeat = 1 if quick else 3

    ours_s = _timed(vgg11, repeat)
    theirs_s = _timed(lambda: torch_vgg11(torch), repeat) if torch else None
    ours_mb = None if quick else peak_memory_mb(vgg11)
    theirs_mb = None if quick or not torch else peak_memory_mb(lambda: torch_vgg11(torch))
    rows = [row("build vgg11 (132.9 M params, torchvision init)", ours_s, theirs_s, incumbent,
                tsf_mb=ours_mb, ref_mb=theirs_mb, target=1.5, note="530 MB of float32")]

    x = np.zeros((1, 3, 224, 224), dtype=np.float32)
    for name, factory in [("vgg11", vgg11), ("resnet18", resnet18)]:
        ours = factory().eval()

        def forward(model=ours):
            with tsf.no_grad():
                return model(tsf.tensor(x))
        forward()
        ours_s, theirs_s = _timed(forward, repeat + 1), None
        if torch:
            theirs, xt = torch_copy(torch, ours), torch.from_numpy(x)

            def torch_forward(model=theirs, xt=xt):
                with torch.no_grad():
                    return model(xt)
            torch_forward()  # warm-up (oneDNN picks its kernels on the first call)
            theirs_s = _timed(torch_forward, repeat + 1)
            del theirs
        macs = summary(ours, input_size=x.shape).total_macs
        rows.append(row(f"{name} forward 1x3x224x224 (eval, no grad)", ours_s, theirs_s,
                        incumbent, note=f"{macs / 1e9:.2f} GMACs, "
                                        f"{macs / ours_s / 1e9:.1f} GMAC/s here"))
        if name == "vgg11":
            summary_s = _timed(lambda model=ours: summary(model, input_size=x.shape), repeat)
            rows.append(row("summary(vgg11, input_size=(1, 3, 224, 224))", summary_s, ours_s,
                            "TorchsorFlow forward", note="one hooked forward + bookkeeping"))
        del ours
    return rows


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.split("\n")[0]))
