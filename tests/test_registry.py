"""Every registered primitive, by name: both derivative rules, a gradient check against finite
differences in both modes (to second order), and agreement with PyTorch in value and gradient.

The tests enumerate ``torchsorflow.ops.registry()``; the inputs come from the catalog
(tests/catalog/). A primitive that is added without a catalog row fails here under its own name.
"""
import functools

import numpy as np
import pytest

import torchsorflow as tsf
from catalog import CATALOG, load
from torchsorflow.autodiff import check_grads, tracer

load()  # imports every module whose primitives have rows (torchsorflow.distributed with MPI)
REGISTRY = tsf.ops.registry()
NAMES = sorted(REGISTRY)


@pytest.fixture
def primitives_run(monkeypatch):
    """The names of the primitives evaluated while the test runs (at level 0, where every
    primitive of every nested transformation ends up)."""
    seen = set()
    real = tracer._eval_eager

    def spy(prim, args, params):
        seen.add(prim.name)
        return real(prim, args, params)

    monkeypatch.setattr(tracer, "_eval_eager", spy)
    return seen


def test_the_catalog_names_only_registered_primitives():
    assert sorted(set(CATALOG) - set(REGISTRY)) == []


@pytest.mark.parametrize("name", NAMES)
def test_primitive_has_a_catalog_row(name):
    assert CATALOG.get(name), f"{name}: no row in tests/catalog/ (how to call it, on what)"


@pytest.mark.parametrize("name", NAMES)
def test_differentiable_primitive_has_both_rules(name):
    prim = REGISTRY[name]
    if prim.differentiable:
        assert prim.vjp is not None, f"{name}: no reverse-mode rule"
        assert prim.jvp is not None, f"{name}: no forward-mode rule"


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_finite_differences(name, primitives_run):
    rng = np.random.default_rng(sum(map(ord, name)))
    for entry in CATALOG.get(name, []):
        for arrays in entry.inputs(rng):
            primitives_run.clear()
            if entry.order and entry.modes:
                check_grads(entry.ours, arrays, modes=entry.modes, order=entry.order)
            else:
                entry.ours(*[tsf.tensor(a) for a in arrays])
            assert name in primitives_run, f"the catalog row for {name} never calls it"
        if entry.order < 2 and REGISTRY[name].differentiable:
            assert entry.reason, f"{name}: checked to order {entry.order} without a reason"


@pytest.mark.parametrize("name", NAMES)
def test_values_and_gradients_match_pytorch(name):
    torch = pytest.importorskip("torch")
    from fuzz_support import compare, forward_only

    rng = np.random.default_rng(sum(map(ord, name)) + 1)
    for entry in CATALOG.get(name, []):
        if entry.torch is None:
            assert entry.reason, f"{name}: no PyTorch twin and no reason why"
            continue
        theirs = functools.partial(entry.torch, torch)
        for arrays in entry.inputs(rng):
            modes = entry.modes if entry.torch_modes is None else entry.torch_modes
            if modes:
                compare(entry.ours, theirs, arrays, rng, modes=modes, float32=entry.float32)
            else:
                forward_only(entry.ours, theirs, arrays, np.float64)
