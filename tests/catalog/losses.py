"""Fused loss primitives (torchsorflow/ops/losses.py): Huber and CTC."""
import numpy as np

import torchsorflow as tsf
import torchsorflow.nn.functional as F
from torchsorflow.ops import losses

from . import row


def _differences(delta, shape=(3, 4)):
    """Differences at least 0.1 away from the kinks ±delta."""
    def make(rng):
        d = rng.uniform(-3 * delta, 3 * delta, shape)
        d = np.where(np.abs(np.abs(d) - delta) < 0.1, d * 1.5, d)
        return [d]
    return make


row("huber", lambda d: F.huber_loss(d, tsf.zeros_like(d), reduction="none", delta=0.7),
    lambda t, d: t.nn.functional.huber_loss(d, t.zeros_like(d), reduction="none", delta=0.7),
    make=_differences(0.7))
row("huber", lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
    lambda t, x, y: t.nn.functional.smooth_l1_loss(x, y, beta=0.5),
    make=lambda rng: [_differences(0.5)(rng)[0] + 1.0, np.ones((3, 4))])

# CTC: T = 6 frames, N = 4 samples, C = 5 classes; targets with a repeated label (which needs a
# blank between its copies), an empty one, and one too long for its 2 frames (impossible).
LENGTHS_IN = np.array([6, 5, 6, 2])
PADDED = np.array([[1, 2, 2], [3, 1, 0], [0, 0, 0], [4, 4, 0]])
LENGTHS_OUT = np.array([3, 2, 0, 2])


def _ctc(reduction, zero_infinity, lengths_in=LENGTHS_IN):
    def ours(x):
        return F.ctc_loss(F.log_softmax(x, -1), tsf.tensor(PADDED), tsf.tensor(lengths_in),
                          tsf.tensor(LENGTHS_OUT), reduction=reduction,
                          zero_infinity=zero_infinity)

    def theirs(t, x):
        return t.nn.functional.ctc_loss(x.log_softmax(-1), t.tensor(PADDED), t.tensor(lengths_in),
                                        t.tensor(LENGTHS_OUT), reduction=reduction,
                                        zero_infinity=zero_infinity)
    return ours, theirs


# PyTorch has no forward mode for CTC (torch_modes="rev"); ours is checked by finite differences.
FIRST_ORDER = ("the gradient of CTC is computed by the fused forward-backward recursion, which "
               "has no derivative itself (PyTorch has none either: ctc_loss_backward raises)")
for reduction, zero_infinity in [("mean", True), ("sum", True), ("none", True)]:
    row("ctc_loss", *_ctc(reduction, zero_infinity), make=lambda rng: [rng.normal(size=(6, 4, 5))],
        order=1, reason=FIRST_ORDER, torch_modes=("rev",))
# Every alignment feasible: no need for zero_infinity.
row("ctc_loss", *_ctc("mean", False, np.array([6, 5, 6, 5])),
    make=lambda rng: [rng.normal(size=(6, 4, 5))], order=1, reason=FIRST_ORDER,
    torch_modes=("rev",))

EXTENDED, EXT_LENGTHS = losses.ctc_extended_targets(
    [row_[:n] for row_, n in zip(PADDED, LENGTHS_OUT)], 0)
FEASIBLE = np.array([6, 5, 6, 5])


def _torch_ctc_gradient(t, lp):
    """PyTorch's CTC backward is exp(log_probs) − posterior; ours is the true −posterior."""
    lp = lp.detach().requires_grad_()
    loss = t.nn.functional.ctc_loss(lp, t.tensor(PADDED), t.tensor(FEASIBLE),
                                    t.tensor(LENGTHS_OUT), reduction="sum")
    grad, = t.autograd.grad(loss, lp)
    frames = t.arange(lp.shape[0])[:, None, None] < t.tensor(FEASIBLE)[None, :, None]
    return grad - lp.exp() * frames


row("ctc_loss_backward",
    lambda lp: losses._ctc_gradient_prim(lp, extended=EXTENDED, ext_lengths=EXT_LENGTHS,
                                         input_lengths=FEASIBLE, zero_infinity=False),
    _torch_ctc_gradient,
    make=lambda rng: [np.log(rng.dirichlet(np.ones(5), size=(6, 4)))], order=0, modes=(),
    reason="the gradient of the CTC loss, compared with PyTorch's here; it has no derivative "
           "(second derivatives of CTC raise, as in PyTorch)")
