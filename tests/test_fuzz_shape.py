"""Differential fuzzing of the shape primitives against PyTorch: reshape, permute, broadcasting,
squeeze/unsqueeze/flatten, basic and advanced indexing (repeated indices scatter-add), concatenate,
stack, pad, casts; forward values in float32, gradients in float64 in both modes."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import torchsorflow as tsf  # noqa: E402
from fuzz_support import compare, fuzz, nonscalar_shapes, seeds, shapes, values  # noqa: E402

@st.composite
def reshape_cases(draw):
    shape = draw(shapes)
    size = int(np.prod(shape))
    factors, rest = [], size
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = draw(st.sampled_from(divisors))
        factors.append(d)
        rest //= d
    new = factors + [rest]
    if draw(st.booleans()):
        new[draw(st.integers(0, len(new) - 1))] = -1
    return shape, tuple(new)


@fuzz(100, case=reshape_cases(), seed=seeds)
def test_reshape(case, seed):
    shape, new = case
    rng = np.random.default_rng(seed)
    compare(lambda x: x.reshape(new), lambda x: x.reshape(new), [values("normal", shape, rng)], rng)


@fuzz(100, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_permute_transpose_swapaxes(shape, seed, data):
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    a, b = data.draw(st.integers(-len(shape), len(shape) - 1)), data.draw(
        st.integers(-len(shape), len(shape) - 1))
    compare(lambda t: t.permute(perm).transpose(a, b), lambda t: t.permute(perm).transpose(a, b),
            [x], rng)
    compare(lambda t: t.T, lambda t: t.permute(*reversed(range(t.ndim))), [x], rng)


def _broadcast_target(shape, other):
    """A shape ``shape`` broadcasts to: leading dims from ``other``, its 1s maybe stretched."""
    lead = len(other) - len(shape)
    return other[:lead] + tuple(n if n != 1 else m for n, m in zip(shape, other[lead:]))


@fuzz(100, shape=shapes, seed=seeds, data=st.data())
def test_broadcast_to_and_expand(shape, seed, data):
    other = data.draw(hnp.broadcastable_shapes(shape, min_dims=len(shape), max_dims=len(shape) + 2,
                                               max_side=4))
    target = _broadcast_target(shape, other)
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    compare(lambda t: tsf.broadcast_to(t, target), lambda t: torch.broadcast_to(t, target), [x],
            rng)
    if target:  # torch.Tensor.expand() needs at least one size
        compare(lambda t: t.expand(*target), lambda t: t.expand(*target), [x], rng)


@fuzz(100, shape=shapes, seed=seeds, data=st.data())
def test_squeeze_unsqueeze_flatten(shape, seed, data):
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    ndim = len(shape)
    u = data.draw(st.integers(-ndim - 1, ndim))
    compare(lambda t: tsf.unsqueeze(t, u), lambda t: torch.unsqueeze(t, u), [x], rng)
    compare(lambda t: tsf.squeeze(t), lambda t: torch.squeeze(t), [x], rng)
    if ndim:
        s = data.draw(st.integers(-ndim, ndim - 1))
        compare(lambda t: tsf.squeeze(t, s), lambda t: torch.squeeze(t, s), [x], rng)
        start = data.draw(st.integers(0, ndim - 1))
        end = data.draw(st.integers(start, ndim - 1))
        compare(lambda t: t.flatten(start, end), lambda t: t.flatten(start, end), [x], rng)


@st.composite
def basic_indices(draw, shape):
    index = []
    for n in shape[:draw(st.integers(0, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice", "all"]))
        if kind == "int":
            index.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.none() | st.integers(-n - 1, n + 1))
            stop = draw(st.none() | st.integers(-n - 1, n + 1))
            index.append(slice(start, stop, draw(st.sampled_from([None, 1, 2, 3]))))
        else:
            index.append(slice(None))
    if draw(st.booleans()):
        index.insert(draw(st.integers(0, len(index))), None)
    return tuple(index)


@fuzz(200, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_basic_indexing(shape, seed, data):
    index = data.draw(basic_indices(shape))
    rng = np.random.default_rng(seed)
    compare(lambda t: t[index], lambda t: t[index], [values("normal", shape, rng)], rng)


@fuzz(150, shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_advanced_indexing_scatters_repeats(shape, seed, data):
    rng = np.random.default_rng(seed)
    x = values("normal", shape, rng)
    kind = data.draw(st.sampled_from(["ints", "ints_pair", "mask", "ints_then_slice"]))
    if kind == "mask":
        mask = rng.random(shape) < 0.5
        ours_index, torch_index = mask, torch.from_numpy(mask)
    else:
        n = shape[0]
        ints = rng.integers(-n, n, data.draw(st.integers(1, 5)))  # repeats likely
        if kind == "ints_pair" and len(shape) > 1:
            ints2 = rng.integers(0, shape[1], ints.shape)
            ours_index = (ints, ints2)
            torch_index = (torch.from_numpy(ints), torch.from_numpy(ints2))
        elif kind == "ints_then_slice" and len(shape) > 1:
            ours_index, torch_index = (ints, slice(None, None, 2)), (torch.from_numpy(ints),
                                                                     slice(None, None, 2))
        else:
            ours_index, torch_index = tsf.tensor(ints), torch.from_numpy(ints)
    compare(lambda t: t[ours_index], lambda t: t[torch_index], [x], rng)


@fuzz(100, shape=nonscalar_shapes, seed=seeds, data=st.data(), stack=st.booleans())
def test_concatenate_and_stack(shape, seed, data, stack):
    rng = np.random.default_rng(seed)
    count = data.draw(st.integers(1, 3))
    if stack:
        axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
        arrays = [values("normal", shape, rng) for _ in range(count)]
        compare(lambda *ts: tsf.stack(list(ts), axis), lambda *ts: torch.stack(ts, axis), arrays,
                rng)
    else:
        axis = data.draw(st.integers(-len(shape), len(shape) - 1))
        arrays = []
        for _ in range(count):
            s = list(shape)
            s[axis] = data.draw(st.integers(0, 3))
            arrays.append(values("normal", tuple(s), rng))
        compare(lambda *ts: tsf.cat(list(ts), axis), lambda *ts: torch.cat(ts, axis), arrays, rng)


@fuzz(100, shape=nonscalar_shapes, seed=seeds, data=st.data(),
      value=st.sampled_from([0.0, -1.5]))
def test_pad(shape, seed, data, value):
    widths = [tuple(data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2)))) for _ in shape]
    torch_pad = [w for pair in reversed(widths) for w in pair]  # last dimension first
    rng = np.random.default_rng(seed)
    compare(lambda t: tsf.pad(t, widths, value),
            lambda t: torch.nn.functional.pad(t, torch_pad, value=value),
            [values("normal", shape, rng)], rng)


@fuzz(60, shape=shapes, seed=seeds, target=st.sampled_from(["float32", "float64"]))
def test_astype_between_floats(shape, seed, target):
    rng = np.random.default_rng(seed)
    dtype = getattr(torch, target)
    compare(lambda t: tsf.astype(t * 3, target) * 2, lambda t: (t * 3).to(dtype) * 2,
            [values("normal", shape, rng)], rng, float32=False)
