"""The recurrent layers against PyTorch: parameter names and state_dict keys, initialisation, repr,
weights copied from torch giving the same outputs, error messages, dropout between layers,
higher-order derivatives; the packed-sequence utilities; and the proof that the fused NumPy
backward pass equals the derivative of the step-by-step composition of primitives.
(Values and gradients over random arguments: tests/test_fuzz_rnn.py.)"""
import itertools
import math

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.nn.utils import rnn as rnn_utils
from torchsorflow.ops import recurrent
from torchsorflow.ops.kernels import recurrent as kernels


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _copy(ours, theirs):
    ours.load_state_dict({k: tsf.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    return ours


CONFIGS = [dict(num_layers=layers, bidirectional=bi, bias=bias, batch_first=bf)
           for layers, bi, bias, bf in itertools.product((1, 3), (False, True), (True, False),
                                                         (False, True))]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "LSTM-proj"])
def test_parameter_names_repr_and_state_dict_keys_match_pytorch(kind):
    torch = _torch()
    name, _, proj = kind.partition("-")
    for config in CONFIGS:
        extra = {"proj_size": 2} if proj else {}
        ours = getattr(nn, name)(3, 4, **config, **extra)
        theirs = getattr(torch.nn, name)(3, 4, **config, **extra)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [tuple(p.shape) for p in ours.parameters()] == \
            [tuple(p.shape) for p in theirs.parameters()]
        assert repr(ours) == repr(theirs)
        assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == \
            [[tuple(w.shape) for w in ws] for ws in theirs.all_weights]
    for cell in ("RNNCell", "LSTMCell", "GRUCell"):
        for bias in (True, False):
            ours, theirs = getattr(nn, cell)(3, 4, bias=bias), getattr(torch.nn, cell)(3, 4, bias)
            assert list(ours.state_dict()) == list(theirs.state_dict())
            assert repr(ours) == repr(theirs)
    assert repr(nn.RNNCell(2, 3, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(2, 3, nonlinearity="relu"))


def test_initialisation_is_uniform_within_one_over_root_hidden():
    tsf.manual_seed(0)
    lstm = nn.LSTM(100, 64, num_layers=2)
    bound = 1 / math.sqrt(64)
    for p in lstm.parameters():
        values = p.numpy()
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.95 * bound
    weights = lstm.weight_ih_l0.numpy()
    assert abs(weights.mean()) < 0.01 and abs(weights.std() - bound / math.sqrt(3)) < 0.005


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_weights_copied_from_pytorch_give_its_outputs_in_float32(name):
    torch = _torch()
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(5, 7, num_layers=2, bidirectional=True, batch_first=True)
    ours = _copy(getattr(nn, name)(5, 7, num_layers=2, bidirectional=True, batch_first=True),
                 theirs)
    x = np.random.default_rng(0).standard_normal((3, 6, 5)).astype(np.float32)
    out_theirs, state_theirs = theirs(torch.tensor(x))
    out_ours, state_ours = ours(tsf.tensor(x))
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), atol=2e-6)
    for a, b in zip(state_ours if name == "LSTM" else [state_ours],
                    state_theirs if name == "LSTM" else [state_theirs]):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), atol=2e-6)
        assert a.dtype == np.float32


def test_a_state_dict_saved_here_loads_into_pytorch():
    torch = _torch()
    ours = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    theirs = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((5, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(tsf.tensor(x))[0].numpy(),
                               theirs(torch.tensor(x))[0].detach().numpy(), atol=2e-6)


def _message(fn):
    """The error ``fn`` raises, with dtypes named without the library (torch.float32 is our
    float32)."""
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - the message is what is compared
        return type(error).__name__, str(error).replace("torch.", "")
    return None


@pytest.mark.parametrize("case", [
    lambda m: m.LSTM(3, 4)(m_tensor(m, (2, 3))),                       # 2-D is unbatched: fine
    lambda m: m.LSTM(3, 4)(m_tensor(m, (2, 1, 1, 3))),
    lambda m: m.GRU(3, 4)(m_tensor(m, (2, 1, 1, 3))),
    lambda m: m.RNN(3, 4)(m_tensor(m, (2, 1, 1, 3))),
    lambda m: m.LSTM(3, 4)(m_tensor(m, (5, 2, 2))),
    lambda m: m.GRU(3, 4)(m_tensor(m, (5, 2, 3)), m_tensor(m, (1, 3, 4))),
    lambda m: m.GRU(3, 4)(m_tensor(m, (5, 2, 3)), m_tensor(m, (2, 4))),
    lambda m: m.GRU(3, 4)(m_tensor(m, (5, 3)), m_tensor(m, (1, 1, 4))),
    lambda m: m.LSTM(3, 4)(m_tensor(m, (5, 2, 3)), (m_tensor(m, (1, 2, 4)),
                                                    m_tensor(m, (1, 2, 5)))),
    lambda m: m.LSTM(3, 4)(m_tensor(m, (5, 2, 3)), (m_tensor(m, (1, 3, 4)),
                                                    m_tensor(m, (1, 2, 4)))),
    lambda m: m.LSTM(3, 4, proj_size=2)(m_tensor(m, (5, 2, 3)), (m_tensor(m, (1, 2, 4)),
                                                                 m_tensor(m, (1, 2, 4)))),
    lambda m: m.LSTM(3, 4)(m_tensor(m, (5, 2, 3)), (m_tensor(m, (2, 4)), m_tensor(m, (2, 4)))),
    lambda m: m.LSTM(3, 4)(m_tensor(m, (5, 2, 3), "float64")),
    lambda m: m.LSTM(3, 4, proj_size=4),
    lambda m: m.LSTM(3, 4, proj_size=-1),
    lambda m: m.GRU(3, 4, proj_size=2),
    lambda m: m.RNN(3, 4, nonlinearity="sigmoid"),
    lambda m: m.LSTM(3, 4, dropout=1.5),
    lambda m: m.LSTM(3, 0),
    lambda m: m.LSTM(3, 4.0),
    lambda m: m.LSTM(3, 4, num_layers=0),
    lambda m: m.LSTMCell(3, 4)(m_tensor(m, (2, 2, 3))),
    lambda m: m.GRUCell(3, 4)(m_tensor(m, (2, 3)), m_tensor(m, (1, 2, 4))),
    lambda m: m.LSTMCell(3, 4)(m_tensor(m, (2, 3)), (m_tensor(m, (2, 4)),
                                                     m_tensor(m, (1, 2, 4)))),
])
def test_errors_match_pytorch(case):
    torch = _torch()
    assert _message(lambda: case(nn)) == _message(lambda: case(torch.nn))


def m_tensor(m, shape, dtype="float32"):
    """A tensor of the library that owns ``m`` (torchsorflow.nn or torch.nn)."""
    import torch
    array = np.ones(shape, dtype)
    return tsf.tensor(array) if m is nn else torch.tensor(array)


def test_cell_size_errors_name_the_sizes():
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 2 expected 3"):
        nn.LSTMCell(3, 4)(tsf.zeros(5, 2))
    with pytest.raises(RuntimeError, match="Input batch size 5 doesn't match hidden0 batch "
                                           "size 4"):
        nn.GRUCell(3, 4)(tsf.zeros(5, 3), tsf.zeros(4, 4))
    with pytest.raises(RuntimeError, match="hidden1 has inconsistent hidden_size: got 3, "
                                           "expected 4"):
        nn.LSTMCell(3, 4)(tsf.zeros(5, 3), (tsf.zeros(5, 4), tsf.zeros(5, 3)))


def test_dropout_acts_between_layers_only_while_training():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)
    tsf.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = tsf.randn(6, 2, 3)
    lstm.eval()
    first, second = lstm(x)[0], lstm(x)[0]
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    lstm.train()
    assert not np.allclose(lstm(x)[0].numpy(), first.numpy())
    no_dropout = nn.LSTM(3, 4, num_layers=2)
    no_dropout.load_state_dict(lstm.state_dict())
    np.testing.assert_allclose(no_dropout(x)[0].numpy(), first.numpy(), rtol=1e-6)


def test_unbatched_input_gives_unbatched_outputs():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    x = tsf.randn(5, 3)
    out, (h, c) = lstm(x)
    assert out.shape == (5, 8) and h.shape == (4, 4) and c.shape == (4, 4)
    batched, _ = lstm(x.unsqueeze(1))
    np.testing.assert_allclose(out.numpy(), batched.numpy()[:, 0], rtol=1e-6)


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_second_derivatives_match_pytorch(name):
    """grad of grad through a two-layer bidirectional layer: the backward rule's
    differentiable path (the composition of primitives) against torch's double backward."""
    torch = _torch()
    theirs = getattr(torch.nn, name)(2, 3, num_layers=2, bidirectional=True).double()
    ours = _copy(getattr(nn, name)(2, 3, num_layers=2, bidirectional=True).double(), theirs)
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad((theirs(xt)[0] ** 2).sum(), xt, create_graph=True)
    (gt ** 3).sum().backward()
    xo = tsf.tensor(x, requires_grad=True)
    (go,) = tsf.autograd.grad((ours(xo)[0] ** 2).sum(), xo, create_graph=True)
    (go ** 3).sum().backward()
    np.testing.assert_allclose(go.detach().numpy(), gt.detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-8)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-12)


# --- the fused loops are the composition and its derivatives -------------------------------------
def _layer_arrays(mode, batch_sizes, proj, rng):
    gates, width = recurrent.MODES[mode] * 4, 2 if proj else 4
    n, batch = sum(batch_sizes), batch_sizes[0]
    return {"x": rng.standard_normal((n, 3)), "h0": rng.standard_normal((batch, width)),
            "c0": rng.standard_normal((batch, 4)) if mode == "LSTM" else None,
            "w_ih": rng.standard_normal((gates, 3)), "w_hh": rng.standard_normal((gates, width)),
            "b_ih": rng.standard_normal(gates), "b_hh": rng.standard_normal(gates),
            "w_hr": rng.standard_normal((2, 4)) if proj else None}


@pytest.mark.parametrize("mode,proj", [("LSTM", False), ("LSTM", True), ("GRU", False),
                                       ("RNN_TANH", False), ("RNN_RELU", False)])
@pytest.mark.parametrize("batch_sizes,reverse", [((3, 3, 3, 3), False), ((3, 3, 2, 1), False),
                                                 ((3, 2, 2, 1), True)])
def test_fused_loops_equal_the_composition_and_its_derivatives(mode, proj, batch_sizes, reverse):
    """The NumPy forward loop, backward (BPTT) loop and tangent loop against the step-by-step
    composition of primitives and its reverse- and forward-mode derivatives (float64)."""
    rng = np.random.default_rng(7)
    arrays = _layer_arrays(mode, batch_sizes, proj, rng)
    names = [k for k, v in arrays.items() if v is not None]
    steps = recurrent.steps_of(batch_sizes, reverse)

    def composed(*values, moving=names):
        return recurrent.reference(mode, batch_sizes=batch_sizes, reverse=reverse,
                                   **{**arrays, **dict(zip(moving, values))})

    out, saved = kernels.forward(mode, arrays, steps, keep=True)
    np.testing.assert_allclose(out, composed(*[tsf.tensor(arrays[k]) for k in names]).numpy(),
                               rtol=1e-12, atol=1e-12)
    cotangent = rng.standard_normal(out.shape)
    fused = kernels.backward(mode, cotangent, arrays, saved, steps)
    _, pullback = tsf.func.vjp(composed, *[tsf.tensor(arrays[k]) for k in names])
    for name, expected in zip(names, pullback(tsf.tensor(cotangent))):
        np.testing.assert_allclose(fused[name], expected.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
    for moving in (names, names[::2]):     # every input, or only some, with a tangent
        tangents = {k: rng.standard_normal(arrays[k].shape) if k in moving else None
                    for k in arrays}
        _, expected = tsf.func.jvp(lambda *v, moving=moving: composed(*v, moving=moving),
                                   tuple(tsf.tensor(arrays[k]) for k in moving),
                                   tuple(tsf.tensor(tangents[k]) for k in moving))
        np.testing.assert_allclose(kernels.tangent(mode, arrays, tangents, saved, steps),
                                   expected.numpy(), rtol=1e-10, atol=1e-12)


def test_the_fused_path_keeps_float32_and_needs_no_graph_per_step():
    lstm = nn.LSTM(8, 16, num_layers=2)
    x = tsf.randn(30, 4, 8, requires_grad=True)
    out, _ = lstm(x)
    assert out.dtype == np.float32
    node, depth = out._node, 0
    while node is not None and hasattr(node, "prim") and depth < 50:
        depth += 1
        node = next((p for _, p in node.parents if hasattr(p, "prim")), None)
    assert depth < 15     # a handful of nodes per layer, not a dozen per time step
    out.sum().backward()
    assert x.grad.dtype == np.float32 and lstm.weight_hh_l1.grad.dtype == np.float32


# --- packed sequences ------------------------------------------------------------------------
def test_pack_and_pad_match_pytorch():
    torch = _torch()
    tr = torch.nn.utils.rnn
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 2)).astype(np.float32)
    for batch_first in (False, True):
        padded = np.swapaxes(x, 0, 1).copy() if batch_first else x
        for lengths, sorted_ in (([5, 4, 2, 1], True), ([2, 5, 1, 4], False)):
            ours = rnn_utils.pack_padded_sequence(tsf.tensor(padded), lengths, batch_first,
                                                  enforce_sorted=sorted_)
            theirs = tr.pack_padded_sequence(torch.tensor(padded), lengths, batch_first,
                                             enforce_sorted=sorted_)
            np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
            assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
            for a, b in ((ours.sorted_indices, theirs.sorted_indices),
                         (ours.unsorted_indices, theirs.unsorted_indices)):
                assert (a is None and b is None) or a.tolist() == b.tolist()
            for total in (None, 7):
                back, lens = rnn_utils.pad_packed_sequence(ours, batch_first, -1.0, total)
                ref, ref_lens = tr.pad_packed_sequence(theirs, batch_first, -1.0, total)
                np.testing.assert_array_equal(back.numpy(), ref.numpy())
                assert lens.tolist() == ref_lens.tolist() and lens.dtype == np.int64
    sequences = [rng.standard_normal((n, 3)).astype(np.float32) for n in (2, 5, 3)]
    for batch_first, side in itertools.product((False, True), ("right", "left")):
        ours = rnn_utils.pad_sequence([tsf.tensor(s) for s in sequences], batch_first, 9.0, side)
        theirs = tr.pad_sequence([torch.tensor(s) for s in sequences], batch_first, 9.0, side)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    packed = rnn_utils.pack_sequence([tsf.tensor(s) for s in sequences], enforce_sorted=False)
    ref = tr.pack_sequence([torch.tensor(s) for s in sequences], enforce_sorted=False)
    np.testing.assert_array_equal(packed.data.numpy(), ref.data.numpy())
    for ours_seq, seq in zip(rnn_utils.unpack_sequence(packed), sequences):
        np.testing.assert_array_equal(ours_seq.numpy(), seq)


def test_packing_errors():
    x = tsf.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match="`lengths` array must be sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(x, [2, 3, 1])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        rnn_utils.pack_padded_sequence(x, [3, 0, 1], enforce_sorted=False)
    with pytest.raises(RuntimeError, match="longest length 5 exceeds the 4 time steps"):
        rnn_utils.pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(RuntimeError, match="Expected `len\\(lengths\\)` to be equal to "
                                           "batch_size, but got 2 \\(batch_size=3\\)"):
        rnn_utils.pack_padded_sequence(x, [3, 2])
    packed = rnn_utils.pack_padded_sequence(x, [3, 2, 1])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        rnn_utils.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(RuntimeError, match="sequence 1 has shape \\[3, 2\\]"):
        rnn_utils.pad_sequence([tsf.zeros(2, 1), tsf.zeros(3, 2)])


def test_a_packed_batch_gives_each_sequence_its_own_result():
    """Running a packed batch equals running each sequence alone (final states included), and
    the gradient reaches the padded input only where there is data."""
    tsf.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    x = tsf.randn(5, 3, 3, requires_grad=True)
    lengths = [2, 5, 3]
    packed = rnn_utils.pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, h_n = gru(packed)
    padded, _ = rnn_utils.pad_packed_sequence(out)
    for b, n in enumerate(lengths):
        alone, h_alone = gru(x[:n, b])
        np.testing.assert_allclose(padded.numpy()[:n, b], alone.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h_n.numpy()[:, b], h_alone.numpy(), rtol=1e-5, atol=1e-6)
        assert not padded.numpy()[n:, b].any()
    (padded.sum() + h_n.sum()).backward()
    grad = x.grad.numpy()
    for b, n in enumerate(lengths):
        assert np.all(grad[:n, b] != 0) and not grad[n:, b].any()


def test_a_retained_graph_gives_the_same_gradient_twice():
    """The fused backward frees the kept gates after use; a second sweep over a retained graph
    runs the forward loop again and gets the same gradient."""
    tsf.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2)
    x = tsf.randn(5, 2, 3, requires_grad=True)
    loss = (gru(x)[0] ** 2).sum()
    loss.backward(retain_graph=True)
    first = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in gru.parameters()]
    x.grad = None
    gru.zero_grad()
    loss.backward()
    second = [x.grad.numpy()] + [p.grad.numpy() for p in gru.parameters()]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_a_stack_of_matrices_times_a_matrix_is_one_product():
    """runtime.matmul flattens (..., k) @ (k, n) into one 2-D product (NumPy's stacked loop is
    several times slower, e.g. a decoder on (steps, batch, hidden)): same values, any strides."""
    from torchsorflow.ops.kernels import runtime
    rng = np.random.default_rng(5)
    b = rng.standard_normal((6, 4)).astype(np.float32)
    for a in (rng.standard_normal((3, 5, 6)), rng.standard_normal((5, 3, 6)).transpose(1, 0, 2),
              rng.standard_normal((2, 3, 5, 6))):
        a = a.astype(np.float32)
        out = runtime.matmul(a, b)
        assert out.shape == a.shape[:-1] + (4,)
        np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-6, atol=1e-6)
