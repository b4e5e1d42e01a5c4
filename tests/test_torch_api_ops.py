"""torch's tensor API for the functions of issue 17: every function is also the Tensor method
(one implementation), in-place variants write into the Tensor, integer operators are bitwise,
dtypes follow torch, and unsupported arguments are errors that name them."""
import numpy as np
import pytest

import torchsorflow as tsf

NEW_FUNCTIONS = [
    "tan", "asin", "arcsin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh",
    "log2", "log10", "exp2", "erfc", "erfinv", "logit", "floor", "ceil", "round", "trunc",
    "frac", "fmod", "remainder", "lerp", "addcmul", "addcdiv", "hypot", "logaddexp",
    "logaddexp2", "xlogy", "nan_to_num", "isinf", "isposinf", "isneginf", "isclose",
    "allclose", "equal", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "fmax", "fmin", "sgn", "heaviside", "copysign", "float_power", "deg2rad",
    "rad2deg", "signbit", "prod", "cumprod", "cummax", "cummin", "logcumsumexp", "median",
    "nanmedian", "mode", "kthvalue", "quantile", "nanquantile", "nansum", "nanmean",
    "count_nonzero", "aminmax", "diff", "scatter", "scatter_reduce", "index_select",
    "index_add", "index_copy", "index_fill", "masked_select", "masked_scatter", "take",
    "take_along_dim", "nonzero", "argwhere", "topk", "sort", "argsort", "msort", "unique",
    "unique_consecutive", "tril", "triu", "diag", "diagonal", "diag_embed", "diagflat",
    "trace", "roll", "rot90", "repeat_interleave", "outer", "ger", "addmm", "addmv",
    "addbmm", "baddbmm", "matrix_power", "kron", "cross", "det", "slogdet", "inner",
    "multinomial", "bernoulli"]
TOP_LEVEL_ONLY = ["std_mean", "var_mean", "searchsorted", "bucketize", "tril_indices",
                  "triu_indices", "meshgrid", "cartesian_prod", "combinations", "block_diag",
                  "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "dstack",
                  "column_stack", "einsum", "tensordot", "normal", "poisson",
                  "sparse_coo_tensor", "spmm", "where", "index_put", "put"]
IN_PLACE = ["tan_", "floor_", "round_", "fmod_", "lerp_", "addcmul_", "addcdiv_", "xlogy_",
            "nan_to_num_", "bitwise_and_", "scatter_", "scatter_reduce_", "index_add_",
            "index_copy_", "index_fill_", "index_put_", "masked_scatter_", "put_", "tril_",
            "triu_", "addmm_", "baddbmm_", "cumprod_", "geometric_", "log_normal_", "cauchy_"]


@pytest.mark.parametrize("name", NEW_FUNCTIONS)
def test_the_method_is_the_top_level_function(name):
    assert name in tsf.__all__, f"{name} missing from torchsorflow.__all__"
    assert getattr(tsf.Tensor, name) is getattr(tsf, name), \
        f"Tensor.{name} is not torchsorflow.{name}"


@pytest.mark.parametrize("name", TOP_LEVEL_ONLY + IN_PLACE)
def test_exists(name):
    owner = tsf.Tensor if name.endswith("_") else tsf
    assert callable(getattr(owner, name))
    if owner is tsf:
        assert name in tsf.__all__


def test_in_place_variants_write_into_the_tensor_and_its_views():
    x = tsf.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    view = x[0]
    x.tril_()
    assert x.tolist() == [[1.0, 0.0, 0.0], [4.0, 5.0, 0.0]] and view.tolist() == [1.0, 0, 0]
    x.index_fill_(1, tsf.tensor([2]), -1.0).scatter_(0, tsf.tensor([[1, 0, 0]]), 9.0)
    assert x.tolist() == [[1.0, 9.0, 9.0], [9.0, 5.0, -1.0]]
    y = tsf.tensor([0.5, 1.5], requires_grad=True)
    z = y * 1.0
    z.addcmul_(y, y, value=2.0)  # in autograd: z takes the result's place in the graph
    z.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 1 + 4 * np.array([0.5, 1.5]))


def test_integer_operators_are_bitwise_and_bool_ones_logical():
    a, b = tsf.tensor([12, 10, 7]), tsf.tensor([10, 6, 1])
    assert (a & b).tolist() == [8, 2, 1] and (a | b).tolist() == [14, 14, 7]
    assert (a ^ b).tolist() == [6, 12, 6] and (~a).tolist() == [-13, -11, -8]
    assert (a << 1).tolist() == [24, 20, 14] and (a >> b).tolist() == [0, 0, 3]
    assert (1 << tsf.tensor([2, 3])).tolist() == [4, 8] and (5 & a).tolist() == [4, 0, 5]
    assert (a % 5).tolist() == [2, 0, 2] and (tsf.tensor([-7.0]) % 3).tolist() == [2.0]
    m = tsf.tensor([True, False, True])
    assert (m & tsf.tensor([True, True, False])).tolist() == [True, False, False]
    assert (~m).tolist() == [False, True, False] and (m ^ True).tolist() == [False, True, False]
    m &= tsf.tensor([False, True, True])
    assert m.tolist() == [False, False, True]
    with pytest.raises(RuntimeError, match="bitwise_and: only integer and bool Tensors are "
                                           "supported, got float32"):
        tsf.ones(2) & tsf.ones(2)


def test_float_functions_turn_integers_into_the_default_float():
    x = tsf.tensor([1, 2])
    for name in ("tan", "asinh", "log2", "exp2", "erfc", "deg2rad", "sinh"):
        assert getattr(tsf, name)(x).dtype == tsf.float32, name
    assert tsf.floor(x).dtype == tsf.int64 and tsf.round(x).tolist() == [1, 2]
    assert tsf.float_power(x, 2).dtype == tsf.float64
    assert tsf.hypot(x, x).dtype == tsf.float32


def test_equal_is_one_bool_and_eq_element_wise():
    a = tsf.tensor([1.0, 2.0])
    assert tsf.equal(a, tsf.tensor([1.0, 2.0])) is True
    assert tsf.equal(a, tsf.tensor([1.0])) is False and a.equal(a) is True
    assert tsf.eq(a, 1.0).tolist() == [True, False]
    assert tsf.allclose(a, a + 1e-9) is True and a.allclose(a + 1.0) is False
    assert tsf.isclose(tsf.tensor([np.nan]), tsf.tensor([np.nan]), equal_nan=True).item()


def test_rounding_passes_zero_gradients_like_torch():
    x = tsf.tensor([0.4, 1.6, -2.5], requires_grad=True)
    (tsf.floor(x) + tsf.ceil(x) + tsf.round(x) + tsf.trunc(x) + tsf.sign(x)).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    assert tsf.round(tsf.tensor([0.5, 1.5, 2.5])).tolist() == [0.0, 2.0, 2.0]  # half to even
    assert tsf.round(tsf.tensor([1.2345]), decimals=2).tolist() == pytest.approx([1.23])


def test_named_tuples_like_torch_return_types():
    x = tsf.tensor([[3.0, 1.0, 2.0]])
    assert x.sort(descending=True).values.tolist() == [[3.0, 2.0, 1.0]]
    assert x.topk(1).indices.tolist() == [[0]]
    assert tsf.aminmax(x).min.item() == 1.0 and tsf.aminmax(x).max.item() == 3.0
    assert tsf.cummax(x, 1).indices.tolist() == [[0, 0, 0]]
    sign, logabsdet = tsf.linalg.slogdet(tsf.tensor([[-2.0, 0.0], [0.0, 1.0]]))
    assert sign.item() == -1.0 and logabsdet.item() == pytest.approx(np.log(2.0))
    assert tsf.kthvalue(x, 2).values.item() == 2.0 and tsf.mode(x).values.tolist() == [1.0]


def test_one_argument_where_is_nonzero_as_a_tuple():
    rows, cols = tsf.where(tsf.tensor([[0, 1], [1, 1]]))
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [1, 0, 1]


def test_random_fills_and_sampling_use_the_generator():
    g = tsf.Generator().manual_seed(5)
    x = tsf.empty(1000).geometric_(0.25, generator=g)
    assert x.min().item() >= 1 and abs(x.mean().item() - 4.0) < 0.4
    assert (tsf.empty(500).log_normal_(0.0, 0.5) > 0).all()
    c = tsf.empty(2000).cauchy_(1.0, 2.0, generator=g)
    assert abs(tsf.median(c).item() - 1.0) < 0.3
    first = tsf.multinomial(tsf.tensor([0.2, 0.0, 0.8]), 5, True,
                            generator=tsf.Generator().manual_seed(1))
    again = tsf.multinomial(tsf.tensor([0.2, 0.0, 0.8]), 5, True,
                            generator=tsf.Generator().manual_seed(1))
    assert first.tolist() == again.tolist() and 1 not in first.tolist()


def test_unsupported_arguments_are_named():
    with pytest.raises(TypeError, match="round\\(\\): argument 'decimals' must be int"):
        tsf.round(tsf.ones(2), decimals=1.5)
    with pytest.raises(RuntimeError, match="isclose: rtol and atol must be non-negative"):
        tsf.isclose(tsf.ones(1), tsf.ones(1), rtol=-1)
    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        tsf.addcdiv(tsf.ones(1), tsf.tensor([1]), tsf.tensor([2]))
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
        tsf.scatter(tsf.ones(2), 0, tsf.tensor([0]), 1.0, reduce="max")
    with pytest.raises(RuntimeError, match="logcumsumexp: expected a floating-point Tensor"):
        tsf.logcumsumexp(tsf.tensor([1, 2]), 0)
    with pytest.raises(RuntimeError, match="torch.meshgrid: indexing must be one of"):
        tsf.meshgrid(tsf.ones(2), indexing="yx")
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        tsf.multinomial(tsf.ones(2), 3)
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0"):
        tsf.normal(tsf.zeros(2), -1.0)
    with pytest.raises(RuntimeError, match="Expected p_in >= 0 && p_in <= 1"):
        tsf.bernoulli(tsf.tensor([1.5]))
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical"):
        tsf.diagonal(tsf.ones(2, 2), 0, 1, 1)
    with pytest.raises(RuntimeError, match="repeats must have the same size as input along dim"):
        tsf.repeat_interleave(tsf.ones(3), tsf.tensor([1, 2]), 0)


# --- code in the style of public examples, run with torch bound to either library ---------------
def _causal_attention(torch, q, k, v):
    """minGPT's masked self-attention core and a GNN-style segment max, written against torch."""
    T = q.size(-2)
    bias = torch.tril(torch.ones(T, T)).view(1, 1, T, T)
    att = torch.einsum("bhtd,bhsd->bhts", q, k) * (1.0 / (k.size(-1) ** 0.5))
    att = att.masked_fill(bias[:, :, :T, :T] == 0, float("-inf"))
    att = torch.softmax(att, dim=-1)
    y = att @ v
    y = y.transpose(1, 2).contiguous().view(q.size(0), T, -1)
    groups = torch.tensor([0, 1, 0])
    pooled = torch.zeros(y.size(0), 2, y.size(-1)).scatter_reduce(
        1, groups.view(1, -1, 1).expand(y.size(0), -1, y.size(-1)), y, reduce="amax",
        include_self=False)
    return torch.cat([y.flatten(1), pooled.flatten(1), torch.logsumexp(y, -1)], 1)


def _top_k_logits(torch, logits, k):
    v, _ = torch.topk(logits, k)
    out = logits.clone()
    out[out < v[:, [-1]]] = -float("Inf")
    return out


def test_attention_and_top_k_sampling_code_runs_unchanged_and_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 2, 3, 4)).astype(np.float32) for _ in range(3)]
    ours_in = [tsf.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = _causal_attention(tsf, *ours_in), _causal_attention(torch, *theirs_in)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    weights = rng.standard_normal(tuple(theirs.shape)).astype(np.float32)
    (ours * tsf.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    for o, t in zip(ours_in, theirs_in):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    logits = rng.standard_normal((3, 10)).astype(np.float32)
    kept_ours = _top_k_logits(tsf, tsf.tensor(logits), 4)
    kept_theirs = _top_k_logits(torch, torch.tensor(logits), 4)
    np.testing.assert_array_equal(kept_ours.numpy(), kept_theirs.numpy())
    probs = tsf.softmax(kept_ours, dim=-1)
    draws = tsf.multinomial(probs, num_samples=1)
    assert draws.shape == (3, 1) and all(np.isfinite(kept_ours.numpy()[i, d])
                                         for i, d in enumerate(draws[:, 0].tolist()))
