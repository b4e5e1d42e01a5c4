"""Fused loss primitives: the Huber function and connectionist temporal classification (CTC).

**Huber.** ``huber(d, delta)`` is ½d² for |d| < δ and δ(|d| − ½δ) beyond: one element-wise
primitive whose slope is ``clamp(d, −δ, δ)``. ``smooth_l1_loss`` is the same function divided
by its β.

**CTC** (Graves et al., 2006). A target ``l`` of length L is read against T frames of
log-probabilities through the *extended* label ``l'`` = (blank, l₁, blank, l₂, …, blank) of
length 2L + 1. A path emits one symbol of ``l'`` per frame, moving from position s to s, s + 1,
or s + 2 (skipping a blank between two different labels). The forward variables

    log α_t(s) = log p(x_t = l'_s) + logsumexp(α_{t−1}(s), α_{t−1}(s−1), [α_{t−1}(s−2)])

sum over all path prefixes, and the loss is −log(α_{T−1}(2L) + α_{T−1}(2L−1)). The backward
variables β do the same from the end, and α_t(s)·β_t(s)/p(x_t = l'_s) divided by the total
probability is the posterior probability that the path sits at s at time t. The derivative of
the loss with respect to ``log_probs[t, c]`` is minus the total posterior of the positions that
carry label c at time t. Everything stays in log space (``np.logaddexp``), vectorised over the
batch and the positions, with one Python step per frame.

PyTorch's backward returns ``exp(log_probs) − posterior`` instead, the gradient with respect to
the *logits* when ``log_probs`` came out of ``log_softmax`` (its documented use). Here the rule
is the true derivative (finite differences agree with it); after ``log_softmax`` the two give the
same gradients, since the extra ``exp(log_probs)`` is exactly what log_softmax's rule removes.
Like PyTorch, the CTC gradient itself has no derivative here: second derivatives raise.
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tracer import Primitive
from .elementwise import clamp, elementwise, mul
from .reductions import sum as reduce_sum
from .shape import reshape

__all__ = ["huber", "ctc_loss", "ctc_extended_targets"]


def _huber(d, delta):
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)).astype(d.dtype, copy=False)


huber = elementwise("huber", _huber, lambda ans, d, delta: clamp(d, -delta, delta))


# --- CTC -----------------------------------------------------------------------------------------
def ctc_extended_targets(labels, blank):
    """The extended labels (blank, l₁, blank, …, blank) of each target, padded with blanks into
    one (N, 2·max L + 1) array, and their lengths 2L + 1."""
    longest = max((len(seq) for seq in labels), default=0)
    extended = np.full((len(labels), 2 * longest + 1), blank, dtype=np.int64)
    for n, seq in enumerate(labels):
        extended[n, 1:2 * len(seq):2] = seq
    lengths = np.array([2 * len(seq) + 1 for seq in labels], dtype=np.int64)
    return extended, lengths


def _skip_penalty(extended):
    """0 where a path may jump from s − 2 to s (onto a label different from the one two back; a
    blank never differs from the blank two back), −∞ where it may not: added, not masked."""
    penalty = np.full(extended.shape, -np.inf)
    penalty[:, 2:][extended[:, 2:] != extended[:, :-2]] = 0.0
    return penalty


def _emissions(log_probs, extended, ext_lengths):
    """Each frame's log-probabilities of the extended labels (T, N, S); −∞ past a sample's
    extended label, so that no path enters those positions."""
    batch, width = extended.shape
    emit = log_probs[:, np.arange(batch)[:, None], extended]
    emit[:, np.arange(width)[None, :] >= ext_lengths[:, None]] = -np.inf
    return emit


def _log_alpha(emit, skip):
    """log α (T, N, S): the log-probability of all path prefixes ending at (t, s)."""
    steps, batch, width = emit.shape
    alpha = np.full(emit.shape, -np.inf, dtype=emit.dtype)
    if steps == 0:
        return alpha
    alpha[0, :, :2] = emit[0, :, :2]
    skip = skip[:, 2:].astype(emit.dtype)
    for t in range(1, steps):
        prev, acc = alpha[t - 1], alpha[t]
        acc[:] = prev
        np.logaddexp(acc[:, 1:], prev[:, :-1], out=acc[:, 1:])
        np.logaddexp(acc[:, 2:], prev[:, :-2] + skip, out=acc[:, 2:])
        acc += emit[t]
    return alpha


def _log_likelihood(alpha, ext_lengths, input_lengths):
    """log p(target | input) per sample, read off α at each sample's last frame."""
    batch = np.arange(alpha.shape[1])
    last = np.maximum(input_lengths - 1, 0)
    if alpha.shape[0] == 0:
        end = before = np.full(len(batch), -np.inf, dtype=alpha.dtype)
    else:
        end = alpha[last, batch, ext_lengths - 1]
        before = np.where(ext_lengths > 1, alpha[last, batch, np.maximum(ext_lengths - 2, 0)],
                          -np.inf)
    ll = np.logaddexp(end, before)
    # No frames: only the empty target can be read, with probability 1.
    return np.where(input_lengths == 0, np.where(ext_lengths == 1, 0.0, -np.inf), ll)


def _ctc_forward(log_probs, extended, ext_lengths, input_lengths, zero_infinity):
    emit = _emissions(log_probs, extended, ext_lengths)
    alpha = _log_alpha(emit, _skip_penalty(extended))
    nll = -_log_likelihood(alpha, ext_lengths, input_lengths)
    if zero_infinity:
        nll = np.where(np.isinf(nll), 0.0, nll)
    return nll.astype(log_probs.dtype, copy=False)


def _log_beta(emit, skip, ext_lengths, input_lengths):
    """log β (T, N, S): the probability of finishing the target from (t, s), frame t included."""
    steps, batch, width = emit.shape
    beta = np.full(emit.shape, -np.inf, dtype=emit.dtype)
    skip = skip[:, 2:].astype(emit.dtype)
    for t in range(steps - 1, -1, -1):
        row = beta[t]
        going_on = t < input_lengths - 1
        if going_on.any():
            nxt = beta[t + 1]
            row[:] = nxt
            np.logaddexp(row[:, :-1], nxt[:, 1:], out=row[:, :-1])
            np.logaddexp(row[:, :-2], nxt[:, 2:] + skip, out=row[:, :-2])
            row += emit[t]
            row[~going_on] = -np.inf
        ending = np.flatnonzero(input_lengths - 1 == t)
        if ending.size:
            last = ext_lengths[ending] - 1
            row[ending, last] = emit[t, ending, last]
            two = ending[last > 0]
            row[two, ext_lengths[two] - 2] = emit[t, two, ext_lengths[two] - 2]
    return beta


def _ctc_gradient(log_probs, extended, ext_lengths, input_lengths, zero_infinity):
    """∂ nll_n / ∂ log_probs[t, n, c] = −(posterior of the positions carrying c at frame t)."""
    steps, batch, classes = log_probs.shape
    emit = _emissions(log_probs, extended, ext_lengths)
    skip = _skip_penalty(extended)
    alpha = _log_alpha(emit, skip)
    nll = -_log_likelihood(alpha, ext_lengths, input_lengths)
    beta = _log_beta(emit, skip, ext_lengths, input_lengths)
    both = alpha + beta
    with np.errstate(invalid="ignore"):
        log_post = np.where(np.isneginf(both), -np.inf, both - emit + nll[None, :, None])
    posterior = np.exp(log_post)
    cells = (np.arange(steps)[:, None, None] * batch + np.arange(batch)[None, :, None]) * classes
    grad = -np.bincount((cells + extended[None]).ravel(), posterior.ravel(),
                        minlength=steps * batch * classes).reshape(steps, batch, classes)
    infinite = np.isinf(nll)
    if infinite.any():   # an impossible alignment: 0 with zero_infinity, else NaN (PyTorch's)
        frames = np.arange(steps)[:, None] < input_lengths[None, :]
        fill = 0.0 if zero_infinity else np.nan
        grad[:, infinite, :] = np.where(frames[:, infinite, None], fill, 0.0)
    return grad.astype(log_probs.dtype, copy=False)


def _no_second_derivative(*args, **params):
    raise RuntimeError("derivative for ctc_loss_backward is not implemented: CTC has first "
                       "derivatives only (as in PyTorch)")


_ctc_gradient_prim = Primitive("ctc_loss_backward", _ctc_gradient,
                               vjp=(_no_second_derivative,), jvp=(_no_second_derivative,))

# Per-sample negative log-likelihoods (N,) of log_probs (T, N, C); parameters: ``extended`` and
# ``ext_lengths`` from ctc_extended_targets, ``input_lengths`` (N,), and ``zero_infinity``
# (an impossible alignment gives 0 and no gradient instead of ∞).
ctc_loss = Primitive(
    "ctc_loss", _ctc_forward,
    vjp=(lambda g, ans, lp, **p: mul(reshape(g, (1, -1, 1)), _ctc_gradient_prim(lp, **p)),),
    jvp=(lambda t, ans, lp, **p: reduce_sum(mul(_ctc_gradient_prim(lp, **p), t), (0, 2)),))
