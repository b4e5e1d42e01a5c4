"""The training objective as a function of one flat parameter vector.

Influence functions (Koh & Liang, 2017) are statements about the regularised empirical risk

    R_w(θ) = (1/N) Σᵢ wᵢ L(zᵢ, θ) + (l2/2) ‖θ‖²,      wᵢ = 1 for the model that was trained,

and about its minimiser θ̂. Up-weighting training point zᵢ by ε (seed 002, exercise 4) is
``wᵢ = 1 + Nε``; removing it is ``wᵢ = 0``, i.e. ε = −1/N. So one function of (θ, w) serves
everything: the Hessian and its inverse at θ̂, the leave-one-out retraining and the Taylor check.

:class:`Objective` packs the chosen parameters of a module into one float64 vector θ (the order of
``named_parameters()``), and evaluates R, ∇R, Hessian-vector products, the dense Hessian, and the
per-example quantities influence needs -- all with :mod:`torchsorflow.func`, on NumPy arrays in and
out. It works on a float64, eval-mode *copy* of the model (BatchNorm uses its running statistics,
dropout is off), so every example's loss depends on that example alone and nothing the caller holds
is changed.

>>> import numpy as np
>>> from torchsorflow import nn
>>> X = np.random.default_rng(0).normal(size=(6, 3)); y = np.array([0, 1, 0, 1, 1, 0])
>>> risk = Objective(nn.Linear(3, 2), None, X, y, l2=0.1)
>>> risk.names, risk.size
(['weight', 'bias'], 8)
>>> value, gradient = risk.value_and_grad(risk.theta)
>>> bool(np.allclose(risk.hessian(risk.theta) @ gradient, risk.hvp(risk.theta, gradient)))
True
"""
from __future__ import annotations

import copy

import numpy as np

from .. import nn
from ..autodiff.tracer import no_grad
from ..func import grad, jacrev, jvp, vjp
from ..nn.utils.stateless import functional_call
from ..tensor import Tensor
from ..ops.creation import as_tensor


def _as_array(x):
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def as_arrays(data, name="data"):
    """``(inputs, targets)`` as NumPy arrays from a Dataset with ``.tensors``, any map-style
    dataset of ``(input, target)`` samples, or a pair of arrays/Tensors."""
    if hasattr(data, "tensors") and len(data.tensors) == 2:
        inputs, targets = data.tensors
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        inputs, targets = data
    elif hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        samples = [data[i] for i in range(len(data))]
        inputs = np.stack([_as_array(s[0]) for s in samples])
        targets = np.stack([_as_array(s[1]) for s in samples])
    else:
        raise TypeError(f"{name} must be a Dataset of (input, target) samples or a pair "
                        f"(inputs, targets), got {type(data).__name__}")
    inputs, targets = _as_array(inputs), _as_array(targets)
    if inputs.shape[:1] != targets.shape[:1]:
        raise ValueError(f"{name}: {inputs.shape[0]} inputs but {targets.shape[0]} targets "
                         f"(shapes {inputs.shape} and {targets.shape})")
    if np.issubdtype(inputs.dtype, np.floating):
        inputs = inputs.astype(np.float64)
    if np.issubdtype(targets.dtype, np.floating):
        targets = targets.astype(np.float64)
    return inputs, targets


def select_parameters(model, params):
    """Names of the parameters to study: all of them (``None``), or those named in ``params``,
    where an entry is a parameter name (``"fc.weight"``) or a module prefix (``"fc"``)."""
    available = [name for name, p in model.named_parameters()]
    if params is None:
        return available
    if isinstance(params, str):
        params = [params]
    chosen = []
    for entry in params:
        hits = [n for n in available if n == entry or n.startswith(entry + ".")]
        if not hits:
            raise ValueError(f"params: {entry!r} names no parameter of the model; available: "
                             f"{available}")
        chosen += [n for n in hits if n not in chosen]
    return [n for n in available if n in chosen]   # keep the model's order


def _per_example_loss_fn(loss_fn):
    """A function (output, target) -> one loss per example, from a criterion in PyTorch style."""
    if loss_fn is None:
        return lambda out, target: nn.functional.cross_entropy(out, target, reduction="none")
    if isinstance(loss_fn, nn.Module) and hasattr(loss_fn, "reduction"):
        unreduced = copy.copy(loss_fn)
        object.__setattr__(unreduced, "reduction", "none")
        return unreduced

    def call(out, target):
        try:
            return loss_fn(out, target, reduction="none")
        except TypeError as error:
            raise TypeError("loss_fn must accept reduction='none' (like nn.functional."
                            "cross_entropy) and return one loss per example") from error
    return call


class Objective:
    """R_w(θ) of ``model`` on ``(inputs, targets)`` over the parameters named in ``params``."""

    def __init__(self, model, loss_fn, inputs, targets, params=None, l2=0.0, batch_size=2048):
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2}")
        self.model = copy.deepcopy(model).double().eval()
        self.loss = _per_example_loss_fn(loss_fn)
        self.inputs, self.targets = inputs, targets
        self.l2, self.batch_size = float(l2), int(batch_size)
        self.names = select_parameters(self.model, params)
        found = dict(self.model.named_parameters())
        self.shapes = [tuple(found[n].shape) for n in self.names]
        sizes = [int(np.prod(s)) for s in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.size = int(self.offsets[-1])
        self.theta = np.concatenate([found[n].numpy().ravel() for n in self.names])
        self._linear_owner = self._linear_layers()

    @property
    def n(self):
        return len(self.targets)

    # --- θ <-> named parameters -------------------------------------------------------------------
    def unflatten(self, theta):
        """A dict name -> Tensor (slices of ``theta``, differentiable) or -> array for arrays."""
        pieces = {}
        for name, shape, a, b in zip(self.names, self.shapes, self.offsets[:-1], self.offsets[1:]):
            piece = theta[int(a):int(b)]
            pieces[name] = piece.reshape(shape)
        return pieces

    def load(self, theta):
        """Write ``theta`` into the model copy (so ``self.model`` is the model at ``theta``)."""
        self.theta = np.array(theta, dtype=np.float64)
        found = dict(self.model.named_parameters())
        with no_grad():
            for name, value in self.unflatten(self.theta).items():
                found[name].copy_(value)

    # --- per-example losses -----------------------------------------------------------------------
    def _losses(self, theta, inputs, targets):
        out = functional_call(self.model, self.unflatten(theta), (as_tensor(inputs),))
        losses = self.loss(out, as_tensor(targets))
        if tuple(losses.shape) != (len(targets),):
            raise ValueError(f"loss_fn returned shape {tuple(losses.shape)} for a batch of "
                             f"{len(targets)} examples; it must return one loss per example")
        return losses

    def _data(self, data):
        return (self.inputs, self.targets) if data is None else data

    def _chunks(self, count, size=None):
        size = size or self.batch_size
        return [slice(a, min(a + size, count)) for a in range(0, count, size)]

    def losses(self, theta, data=None):
        """Per-example losses L(z, θ) on ``data`` (default: the training set), as an array."""
        inputs, targets = self._data(data)
        theta = as_tensor(np.asarray(theta, dtype=np.float64))
        with no_grad():
            return np.concatenate([self._losses(theta, inputs[s], targets[s]).numpy()
                                   for s in self._chunks(len(targets))])

    def outputs(self, theta, inputs):
        """The model's outputs (logits) at ``theta`` for ``inputs``, as an array."""
        theta = as_tensor(np.asarray(theta, dtype=np.float64))
        inputs = np.asarray(inputs)
        if np.issubdtype(inputs.dtype, np.floating):  # the model copy is float64
            inputs = inputs.astype(np.float64)
        with no_grad():
            return np.concatenate([
                functional_call(self.model, self.unflatten(theta), (as_tensor(inputs[s]),)).numpy()
                for s in self._chunks(len(inputs))])

    # --- R_w and its derivatives ------------------------------------------------------------------
    def _chunk_risk(self, sl, weights):
        inputs, targets = self.inputs[sl], self.targets[sl]
        w = None if weights is None else as_tensor(np.asarray(weights[sl], dtype=np.float64))

        def risk(theta):
            losses = self._losses(theta, inputs, targets)
            return (losses.sum() if w is None else (losses * w).sum()) / self.n
        return risk

    def _train_slices(self):
        """The chunks of training rows whose terms this process sums: all of them (a
        :class:`~torchsorflow.influence.distributed.DistributedObjective` takes its rank's)."""
        return self._chunks(self.n)

    def _total(self, partial):
        """The sum over all training rows of a per-row sum this process computed (here the
        process saw every row; the distributed objective all-reduces)."""
        return partial

    def value_and_grad(self, theta, weights=None):
        """R_w(θ) and ∇R_w(θ) (``weights=None`` means all ones)."""
        theta = np.asarray(theta, dtype=np.float64)
        partial = np.zeros(self.size + 1)
        for sl in self._train_slices():
            out, pullback = vjp(self._chunk_risk(sl, weights), as_tensor(theta))
            partial[0] += float(out.numpy())
            partial[1:] += pullback(as_tensor(np.ones((), np.float64)))[0].numpy()
        total = self._total(partial)
        return float(0.5 * self.l2 * theta @ theta + total[0]), self.l2 * theta + total[1:]

    def hvp(self, theta, v, weights=None, rows=None):
        """∇²R_w(θ) v by forward-over-reverse; ``rows`` (an index array) gives the Hessian of that
        mini-batch's mean loss instead (LiSSA's stochastic estimate)."""
        theta, v = as_tensor(np.asarray(theta, np.float64)), np.asarray(v, np.float64)
        if rows is not None:
            risk = self._chunk_risk(np.asarray(rows), None)
            scale = self.n / len(rows)
            return self.l2 * v + scale * jvp(grad(risk), (theta,), (as_tensor(v),))[1].numpy()
        partial = np.zeros(self.size)
        for sl in self._train_slices():
            risk = self._chunk_risk(sl, weights)
            partial += jvp(grad(risk), (theta,), (as_tensor(v),))[1].numpy()
        return self.l2 * v + self._total(partial)

    def hessian(self, theta, weights=None):
        """The dense P x P Hessian ∇²R_w(θ).

        ``tsf.func.hessian`` is ``jacfwd(jacrev(f))``: P forward-over-reverse passes. Here it is
        ``jacrev(grad(f))`` instead: the gradient's graph is recorded once and swept backwards P
        times, which is several times cheaper for the small P an exact solve is meant for.
        """
        theta = as_tensor(np.asarray(theta, np.float64))
        partial = np.zeros((self.size, self.size))
        for sl in self._train_slices():
            partial += jacrev(grad(self._chunk_risk(sl, weights)))(theta).numpy()
        total = self.l2 * np.eye(self.size) + self._total(partial)
        return 0.5 * (total + total.T)

    def example_hessian(self, theta, rows):
        """(1/N) Σ_{i in rows} ∇²L(zᵢ, θ): the change of ∇²R_w per unit change of those wᵢ."""
        theta = as_tensor(np.asarray(theta, np.float64))
        part = jacrev(grad(self._chunk_risk(np.asarray(rows, dtype=np.int64), None)))(theta)
        return part.numpy()

    # --- per-example quantities -------------------------------------------------------------------
    def loss_jvp(self, theta, v, data=None):
        """⟨∇θ L(zᵢ, θ), v⟩ for every example of ``data`` at once: one forward-mode pass over the
        per-example loss vector (its Jacobian times v), with no per-example gradient formed."""
        inputs, targets = self._data(data)
        theta, v = as_tensor(np.asarray(theta, np.float64)), as_tensor(np.asarray(v, np.float64))
        return np.concatenate([
            jvp(lambda th, s=s: self._losses(th, inputs[s], targets[s]), (theta,), (v,))[1].numpy()
            for s in self._chunks(len(targets))])

    def per_example_grads(self, theta, data=None, method="auto", chunk=32):
        """The (n, P) matrix of ∇θ L(zᵢ, θ), one row per example of ``data``.

        ``"general"``: ``jacrev`` of the per-example loss vector of a chunk of ``chunk`` examples,
        which works for any model. ``"linear"``: when every chosen parameter belongs to an
        ``nn.Linear`` layer, ∇W Lᵢ is the outer product of ∂Lᵢ/∂outputᵢ and the layer's input xᵢ;
        one backward pass gives all ∂Lᵢ/∂outputᵢ. ``"auto"`` takes ``"linear"`` where it applies.
        """
        inputs, targets = self._data(data)
        if method == "auto":
            method = "linear" if self._linear_owner else "general"
        if method == "linear" and not self._linear_owner:
            raise ValueError("per_example_grads(method='linear'): the chosen parameters "
                             f"{self.names} do not all belong to nn.Linear layers")
        if method not in ("general", "linear"):
            raise ValueError(f"method must be 'auto', 'general' or 'linear', got {method!r}")
        theta = as_tensor(np.asarray(theta, np.float64))
        rows = []
        for s in self._chunks(len(targets), chunk if method == "general" else None):
            if method == "general":
                jac = jacrev(lambda th, s=s: self._losses(th, inputs[s], targets[s]))(theta)
                rows.append(jac.numpy())
            else:
                rows.append(self._linear_grads(theta, inputs[s], targets[s]))
        return np.concatenate(rows) if rows else np.zeros((0, self.size))

    def _linear_layers(self):
        """{layer name: module} if every chosen parameter is the weight or bias of an nn.Linear."""
        owners = {}
        modules = dict(self.model.named_modules())
        for name in self.names:
            owner, _, leaf = name.rpartition(".")
            module = modules.get(owner)
            if not isinstance(module, nn.Linear) or leaf not in ("weight", "bias"):
                return {}
            owners[owner] = module
        return owners

    def _linear_grads(self, theta, inputs, targets):
        layers = list(self._linear_owner)
        seen, shapes, probes = {}, {}, {}

        def recorder(layer):
            def hook(module, args, output):
                if layer in seen:
                    raise _CalledTwice
                seen[layer], shapes[layer] = args[0], output.shape
                return output + probes[layer] if probes else output
            return hook

        handles = [module.register_forward_hook(recorder(layer))
                   for layer, module in self._linear_owner.items()]
        try:
            with no_grad():   # a first pass learns each layer's output shape
                self._losses(theta, inputs, targets)
            seen.clear()

            def total_loss(*probe_values):   # probes: zeros added to each layer's output
                probes.update(zip(layers, probe_values))
                return self._losses(theta, inputs, targets).sum()

            _, pullback = vjp(total_loss, *[as_tensor(np.zeros(shapes[layer])) for layer in layers])
            output_grads = dict(zip(layers, (g.numpy() for g in pullback(as_tensor(np.ones(()))))))
        except _CalledTwice:
            return self.per_example_grads(theta, (inputs, targets), method="general")
        finally:
            for handle in handles:
                handle.remove()
        pieces = []
        for name in self.names:
            layer, _, leaf = name.rpartition(".")
            g, x = output_grads[layer], seen[layer].primal().numpy()
            g3, x3 = g.reshape(len(g), -1, g.shape[-1]), x.reshape(len(x), -1, x.shape[-1])
            if leaf == "weight":   # Σ over any extra axes of the outer product ∂Lᵢ/∂y ⊗ x
                pieces.append(np.einsum("nko,nki->noi", g3, x3).reshape(len(g), -1))
            else:
                pieces.append(g3.sum(axis=1))
        return np.concatenate(pieces, axis=1)


class _CalledTwice(Exception):
    """A Linear layer ran twice in one forward pass: the outer-product shortcut does not apply."""
