"""``functional_call``: run a module with parameters and buffers taken from a dict.

This turns a stateful module into a pure function of its weights, which is what
:mod:`torchsorflow.func` transforms need: ``grad(lambda p: loss(functional_call(model, p, x)))(p)``
differentiates with respect to a dict of parameters (the values may be boxed Tensors). Same
semantics as ``torch.func.functional_call``: the named tensors are swapped in for the call only and
the originals are put back afterwards, even when the call raises.

>>> import torchsorflow as tsf
>>> from torchsorflow import nn
>>> from torchsorflow.func import grad
>>> from torchsorflow.nn.utils.stateless import functional_call
>>> model = nn.Linear(2, 1)
>>> params = {"weight": tsf.tensor([[1.0, 2.0]]), "bias": tsf.tensor([0.5])}
>>> functional_call(model, params, (tsf.tensor([[3.0, 4.0]]),))
tensor([[11.5]])
>>> grad(lambda p: functional_call(model, p, tsf.tensor([[3.0, 4.0]])).sum())(params)["weight"]
tensor([[3., 4.]])
"""
from __future__ import annotations

import contextlib

from ...ops.creation import as_tensor


def _registry_of(module, path):
    owner, _, name = path.rpartition(".")
    sub = module.get_submodule(owner)
    for registry in (sub._parameters, sub._buffers):
        if name in registry:
            return registry, name
    raise AttributeError(f"functional_call: {type(module).__name__} has no parameter or buffer "
                         f"named '{path}'")


@contextlib.contextmanager
def reparametrize(module, values, tie_weights=True, strict=False):
    """Temporarily replace the named parameters/buffers of ``module`` by ``values``."""
    tied = {}
    if tie_weights:
        originals = dict(module.named_parameters(remove_duplicate=False))
        originals.update(module.named_buffers(remove_duplicate=False))
        by_identity = {id(originals[name]): value for name, value in values.items()
                       if name in originals}
        tied = {name: by_identity[id(tensor)] for name, tensor in originals.items()
                if name not in values and id(tensor) in by_identity}
    if strict:
        expected = set(dict(module.named_parameters(remove_duplicate=False)))
        expected |= set(dict(module.named_buffers(remove_duplicate=False)))
        missing = sorted(expected - set(values) - set(tied))
        unexpected = sorted(set(values) - expected)
        if missing or unexpected:
            raise RuntimeError(f"functional_call: missing keys {missing}, unexpected keys "
                               f"{unexpected}")
    saved = []
    try:
        for path, value in list(values.items()) + list(tied.items()):
            registry, name = _registry_of(module, path)
            saved.append((registry, name, registry[name]))
            registry[name] = value if value is None else as_tensor(value)
        yield module
    finally:
        for registry, name, original in reversed(saved):
            registry[name] = original


def functional_call(module, parameter_and_buffer_dicts, args=(), kwargs=None, *, tie_weights=True,
                    strict=False):
    """``module(*args, **kwargs)`` with the given parameters and buffers (by dotted name).

    ``parameter_and_buffer_dicts`` is a dict or a sequence of dicts (merged; a name may appear in
    only one). A non-tuple ``args`` is passed as the single positional argument.
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        values = dict(parameter_and_buffer_dicts)
    else:
        values = {}
        for d in parameter_and_buffer_dicts:
            repeated = set(values) & set(d)
            if repeated:
                raise ValueError(f"functional_call: {sorted(repeated)} appeared in multiple "
                                 "dictionaries; a name may only appear once")
            values.update(d)
    if not isinstance(args, tuple):
        args = (args,)
    with reparametrize(module, values, tie_weights, strict):
        return module(*args, **(kwargs or {}))
