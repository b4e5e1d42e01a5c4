"""Scaled dot-product attention, MultiheadAttention and the Transformer layers: the fused
attention rules equal autodiff through the composition (every mode, second order, the NumPy
shortcut on worker lanes too), and everything matches PyTorch over random arguments (masks, causal
flags, batch_first, kdim/vdim, key padding, norm_first, activations), state_dict keys included."""
import re

import numpy as np
import pytest
from hypothesis import strategies as st

import torchsorflow as tsf
import torchsorflow.nn.functional as F
from fuzz_support import assert_close, compare, fuzz, seeds
from torchsorflow import nn
from torchsorflow.func import jvp, vjp
from torchsorflow.ops import attention as A
from torchsorflow.ops.kernels import runtime


@pytest.fixture(autouse=True)
def torch_math_attention():
    """PyTorch's reference (math) attention kernel: its flash kernel has no forward-mode AD."""
    try:
        import torch
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        yield
        return
    with sdpa_kernel(SDPBackend.MATH), torch.autograd.set_grad_enabled(True):
        yield


def composed(q, k, v, bias=None, blocked=None, scale=None):
    """The textbook attention with ordinary ops: softmax(Q Kᵀ/√E + B) V."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.transpose(-1, -2) * scale
    if bias is not None:
        s = s + bias
    if blocked is not None:
        s = tsf.where(tsf.tensor(blocked), -np.inf, s)
    return tsf.softmax(s, -1) @ v


def _args(shapes, seed):
    rng = np.random.default_rng(seed)
    return tuple(tsf.tensor(rng.standard_normal(s)) for s in shapes)


BLOCKED = np.random.default_rng(0).random((1, 4, 6)) > 0.7
CASES = {
    "plain": (lambda q, k, v: A.attention(q, k, v), composed, [(2, 3, 4, 5), (2, 3, 6, 5),
                                                                  (2, 3, 6, 2)]),
    "bias": (lambda q, k, v, b: A.attention(q, k, v, b, scale=0.3),
             lambda q, k, v, b: composed(q, k, v, b, scale=0.3),
             [(2, 4, 5), (2, 6, 5), (6, 3), (2, 1, 6)]),
    "blocked": (lambda q, k, v: A.attention(q, k, v, blocked=BLOCKED),
                lambda q, k, v: composed(q, k, v, blocked=BLOCKED),
                [(3, 4, 2), (3, 6, 2), (3, 6, 3)]),
}


@pytest.mark.parametrize("name", CASES)
def test_fused_attention_equals_autodiff_of_the_composition(name):
    fused, reference, shapes = CASES[name]
    args = _args(shapes, 1)
    rng = np.random.default_rng(2)
    np.testing.assert_allclose(fused(*args).numpy(), reference(*args).numpy(), atol=1e-12)
    cotangent = tsf.tensor(rng.standard_normal(fused(*args).shape))
    for got, want in zip(vjp(fused, *args)[1](cotangent), vjp(reference, *args)[1](cotangent)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    tangents = tuple(tsf.tensor(rng.standard_normal(a.shape)) for a in args)
    np.testing.assert_allclose(jvp(fused, args, tangents)[1].numpy(),
                               jvp(reference, args, tangents)[1].numpy(), rtol=1e-10, atol=1e-12)

    def pulled_back(f):
        return lambda *a: vjp(f, *a)[1](cotangent)

    for got, want in zip(jvp(pulled_back(fused), args, tangents)[1],
                         jvp(pulled_back(reference), args, tangents)[1]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-8, atol=1e-10)
    for got, want in zip(vjp(pulled_back(fused), *args)[1](tangents),
                         vjp(pulled_back(reference), *args)[1](tangents)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dropout", [False, True])
def test_numpy_shortcut_on_worker_lanes_equals_the_rule_written_with_primitives(threads, dropout,
                                                                               monkeypatch):
    """Big enough to be cut into chunks and dealt to two lanes; the plain backward() (NumPy
    shortcut) must equal the primitive form of the rule (as under create_graph=True)."""
    rng = np.random.default_rng(3)
    shape = (4, 4, 128, 64)
    arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    bias = rng.standard_normal((4, 1, 128, 128)).astype(np.float32)
    drop = ((rng.random(shape[:2] + (128, 128)) > 0.2) / 0.8).astype(np.float32) if dropout \
        else None
    g = rng.standard_normal(shape).astype(np.float32)
    monkeypatch.setattr(runtime, "MIN_PARALLEL_WORK", 1)
    monkeypatch.setattr(runtime, "others_running", lambda: False)

    def grads():
        xs = [tsf.tensor(a, requires_grad=True) for a in arrays + [bias]]
        A.attention(*xs[:3], xs[3], drop=drop).backward(tsf.tensor(g))
        return [x.grad.numpy() for x in xs]

    previous = runtime.get_num_threads()
    runtime.set_num_threads(threads)
    try:
        shortcut = grads()
    finally:
        runtime.set_num_threads(previous)
    monkeypatch.setattr(A, "is_constant", lambda *v: False)
    for got, want in zip(grads(), shortcut):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)


def test_rows_with_every_key_blocked_give_zeros_and_zero_gradients():
    q, k, v = _args([(2, 3, 4), (2, 5, 4), (2, 5, 3)], 4)
    mask = np.ones((3, 5), bool)
    mask[1] = False
    q.requires_grad_()
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=tsf.tensor(mask))
    assert np.all(out.numpy()[:, 1] == 0) and np.all(np.isfinite(out.numpy()))
    out.sum().backward()
    assert np.all(q.grad.numpy()[:, 1] == 0) and np.all(np.isfinite(q.grad.numpy()))


# --- scaled_dot_product_attention against PyTorch ------------------------------------------------
@st.composite
def attention_cases(draw):
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    length, keys = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    e, ev = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    mask = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    mask_batch = tuple(draw(st.sampled_from([1, n])) for n in batch)[
        draw(st.integers(0, len(batch))):]
    scale = draw(st.sampled_from([None, 0.5]))
    return batch, length, keys, e, ev, mask, mask_batch, scale


@fuzz(150, case=attention_cases(), seed=seeds)
def test_scaled_dot_product_attention_matches_pytorch(case, seed):
    torch = pytest.importorskip("torch")
    batch, length, keys, e, ev, mask, mask_batch, scale = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(batch + s) for s in ((length, e), (keys, e), (keys, ev))]
    kw = dict(scale=scale, is_causal=mask == "causal")
    if mask == "bool":
        allowed = rng.random(mask_batch + (length, keys)) > 0.3
        kw_ours = dict(kw, attn_mask=tsf.tensor(allowed))
        kw_torch = dict(kw, attn_mask=torch.tensor(allowed))
    else:
        kw_ours = kw_torch = kw
    if mask == "float":
        arrays.append(rng.standard_normal(mask_batch + (length, keys)))
    compare(lambda q, k, v, *b: F.scaled_dot_product_attention(
                q, k, v, *(b[:1]), **kw_ours),
            lambda q, k, v, *b: torch.nn.functional.scaled_dot_product_attention(
                q, k, v, *(b[:1]), **kw_torch), arrays, rng)


@fuzz(30, seed=seeds, groups=st.integers(1, 3), kv_heads=st.integers(1, 2))
def test_grouped_query_attention_matches_pytorch(seed, groups, kv_heads):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((2, kv_heads * groups, 3, 4)),
              rng.standard_normal((2, kv_heads, 5, 4)), rng.standard_normal((2, kv_heads, 5, 2))]
    compare(lambda *a: F.scaled_dot_product_attention(*a, enable_gqa=True),
            lambda *a: torch.nn.functional.scaled_dot_product_attention(*a, enable_gqa=True),
            arrays, rng)


def test_dropout_keeps_the_expected_share_and_scale():
    tsf.manual_seed(0)
    q = tsf.zeros(1, 1, 200, 4)
    v = tsf.ones(1, 1, 300, 1)
    out = F.scaled_dot_product_attention(q, tsf.zeros(1, 1, 300, 4), v, dropout_p=0.25)
    # every weight is 1/300; dropout keeps about 3/4 of them, scaled by 4/3: mean output ≈ 1
    assert abs(float(out.mean()) - 1.0) < 0.02
    assert float(out.std()) > 0.01


def test_attention_errors_name_the_problem():
    q = tsf.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match=re.escape("query's last dimension 4 differs from "
                                                     "key's 5")):
        F.scaled_dot_product_attention(q, tsf.zeros(2, 6, 5), tsf.zeros(2, 6, 5))
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when "
                                           "is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=tsf.zeros(3, 3), is_causal=True)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        nn.MultiheadAttention(4, 2)(q, q, q, is_causal=True)
    with pytest.raises(RuntimeError, match=re.escape("The shape of the 2D attn_mask is (2, 2), "
                                                     "but should be (2, 2).") + "|" + re.escape(
            "The shape of the 2D attn_mask is (3, 3), but should be (2, 2).")):
        nn.MultiheadAttention(4, 2)(q, q, q, attn_mask=tsf.zeros(3, 3))


# --- MultiheadAttention ---------------------------------------------------------------------------
def copy_from_torch(ours, theirs):
    """Load ``theirs``' weights into ``ours``; the state_dict keys must be the same list."""
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict({k: tsf.tensor(v.detach().numpy()) for k, v in state.items()})
    return ours


def _torch_masks(torch, masks):
    return {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in masks.items()}


def _our_masks(masks):
    return {k: (tsf.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in masks.items()}


@st.composite
def mha_cases(draw):
    return dict(heads=draw(st.sampled_from([1, 2])), head_dim=draw(st.integers(1, 3)),
                batch=draw(st.sampled_from([None, 1, 2])), length=draw(st.integers(1, 4)),
                keys=draw(st.integers(1, 4)), batch_first=draw(st.booleans()),
                kdim=draw(st.sampled_from([None, 3])), vdim=draw(st.sampled_from([None, 2])),
                bias=draw(st.booleans()), add_bias_kv=draw(st.booleans()),
                add_zero_attn=draw(st.booleans()),
                padding=draw(st.sampled_from(["none", "bool", "float"])),
                attn=draw(st.sampled_from(["none", "bool", "float", "3d"])),
                need_weights=draw(st.booleans()), average=draw(st.booleans()),
                self_attention=draw(st.booleans()))


@fuzz(120, case=mha_cases(), seed=seeds)
def test_multihead_attention_matches_pytorch(case, seed):
    torch = pytest.importorskip("torch")
    c = case
    rng = np.random.default_rng(seed)
    embed = c["heads"] * c["head_dim"]
    if c["self_attention"]:
        c.update(kdim=None, vdim=None, keys=c["length"])
    options = dict(bias=c["bias"], add_bias_kv=c["add_bias_kv"], add_zero_attn=c["add_zero_attn"],
                   kdim=c["kdim"], vdim=c["vdim"], batch_first=c["batch_first"])
    theirs = torch.nn.MultiheadAttention(embed, c["heads"], **options).double()
    ours = copy_from_torch(nn.MultiheadAttention(embed, c["heads"], **options).double(), theirs)
    n, length, keys = c["batch"], c["length"], c["keys"]

    def shaped(rows, width):
        if n is None:
            return (rows, width)
        return (n, rows, width) if c["batch_first"] else (rows, n, width)

    arrays = [rng.standard_normal(shaped(length, embed))]
    if not c["self_attention"]:
        arrays += [rng.standard_normal(shaped(keys, c["kdim"] or embed)),
                   rng.standard_normal(shaped(keys, c["vdim"] or embed))]
    masks = {}
    if c["padding"] != "none":
        padded = rng.random((n or 1, keys)) > 0.6
        padded[:, 0] = False    # every query keeps a key: no all-masked row (NaN weights in both)
        padded = padded if n is not None else padded[0]
        masks["key_padding_mask"] = padded if c["padding"] == "bool" else \
            np.where(padded, -np.inf, rng.standard_normal(padded.shape))
    if c["attn"] != "none":
        blocked = rng.random((length, keys)) > 0.6
        blocked[:, 0] = False
        if c["attn"] == "bool":
            masks["attn_mask"] = blocked
        elif c["attn"] == "float":
            masks["attn_mask"] = rng.standard_normal((length, keys))
        else:
            masks["attn_mask"] = rng.standard_normal(((n or 1) * c["heads"], length, keys))
    kw = dict(need_weights=c["need_weights"], average_attn_weights=c["average"])

    def run(module, xs, m):
        xs = xs * 3 if len(xs) == 1 else xs
        return module(*xs, **m, **kw)

    out, weights = run(ours, [tsf.tensor(a) for a in arrays], _our_masks(masks))
    ref, ref_weights = run(theirs, [torch.tensor(a) for a in arrays], _torch_masks(torch, masks))
    assert (weights is None) == (ref_weights is None)
    if weights is not None:
        assert_close(weights, ref_weights, "attention weights", rtol=1e-10, atol=1e-12)
    compare(lambda *xs: run(ours, list(xs), _our_masks(masks))[0],
            lambda *xs: run(theirs, list(xs), _torch_masks(torch, masks))[0], arrays, rng,
            float32=False)
    assert_close(out, ref, "output", rtol=1e-10, atol=1e-12)


def test_multihead_attention_parameter_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    theirs = torch.nn.MultiheadAttention(6, 2, kdim=4, vdim=3, add_bias_kv=True).double()
    ours = copy_from_torch(nn.MultiheadAttention(6, 2, kdim=4, vdim=3, add_bias_kv=True).double(),
                           theirs)
    q, k, v = (rng.standard_normal(s) for s in ((3, 2, 6), (5, 2, 4), (5, 2, 3)))
    out, _ = ours(tsf.tensor(q), tsf.tensor(k), tsf.tensor(v))
    ref, _ = theirs(torch.tensor(q), torch.tensor(k), torch.tensor(v))
    g = rng.standard_normal(ref.shape)
    out.backward(tsf.tensor(g))
    ref.backward(torch.tensor(g))
    for (name, p), (_, r) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, r.grad, name, rtol=1e-9, atol=1e-11)


def test_multihead_attention_initialisation_follows_pytorch():
    layer = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = np.sqrt(6 / (64 + 3 * 64))   # xavier_uniform over the (3E, E) in_proj_weight
    w = layer.in_proj_weight.numpy()
    assert w.shape == (192, 64) and np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.all(layer.in_proj_bias.numpy() == 0) and np.all(layer.out_proj.bias.numpy() == 0)
    assert layer.bias_k.shape == (1, 1, 64) and layer.bias_k.numpy().std() > 0


# --- Transformer layers -------------------------------------------------------------------------
@st.composite
def layer_cases(draw):
    return dict(decoder=draw(st.booleans()), norm_first=draw(st.booleans()),
                activation=draw(st.sampled_from(["relu", "gelu", "callable", "module"])),
                batch_first=draw(st.booleans()), bias=draw(st.booleans()),
                batch=draw(st.sampled_from([None, 2])), length=draw(st.integers(1, 4)),
                memory=draw(st.integers(1, 4)),
                mask=draw(st.sampled_from(["none", "causal", "float", "causal-flag"])),
                padding=draw(st.booleans()), eps=draw(st.sampled_from([1e-5, 1e-2])))


def _activation(lib, name):
    return {"relu": "relu", "gelu": "gelu", "callable": lib.nn.functional.silu,
            "module": lib.nn.GELU(approximate="tanh")}[name]


@fuzz(80, case=layer_cases(), seed=seeds)
def test_transformer_layers_match_pytorch(case, seed):
    torch = pytest.importorskip("torch")
    c = case
    rng = np.random.default_rng(seed)
    d_model, nhead = 4, 2

    def make(lib):
        cls = lib.nn.TransformerDecoderLayer if c["decoder"] else lib.nn.TransformerEncoderLayer
        return cls(d_model, nhead, dim_feedforward=6, dropout=0.0,
                   activation=_activation(lib, c["activation"]), layer_norm_eps=c["eps"],
                   batch_first=c["batch_first"], norm_first=c["norm_first"],
                   bias=c["bias"]).double()

    theirs = make(torch)
    with torch.no_grad():   # LayerNorms away from (1, 0), so their gradients are tested too
        for name, p in theirs.named_parameters():
            if name.startswith("norm"):
                p.normal_()
    ours = copy_from_torch(make(tsf), theirs)
    n, length = c["batch"], c["length"]

    def shaped(rows):
        if n is None:
            return (rows, d_model)
        return (n, rows, d_model) if c["batch_first"] else (rows, n, d_model)

    arrays = [rng.standard_normal(shaped(length))]
    if c["decoder"]:
        arrays.append(rng.standard_normal(shaped(c["memory"])))
    masks = {}
    prefix = "tgt" if c["decoder"] else "src"
    mask_name = "tgt_mask" if c["decoder"] else "src_mask"
    if c["mask"] in ("causal", "causal-flag"):
        masks[mask_name] = np.triu(np.full((length, length), -np.inf), 1)
        if c["mask"] == "causal-flag":
            masks["tgt_is_causal" if c["decoder"] else "is_causal"] = True
    elif c["mask"] == "float":
        masks[mask_name] = rng.standard_normal((length, length))
    if c["padding"]:
        padded = rng.random((n or 1, length)) > 0.6
        padded[:, 0] = False
        masks[f"{prefix}_key_padding_mask"] = padded if n is not None else padded[0]
    compare(lambda *xs: ours(*xs, **_our_masks(masks)),
            lambda *xs: theirs(*xs, **_torch_masks(torch, masks)), arrays, rng, float32=False)


@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True)])
def test_transformer_matches_pytorch_with_masks(batch_first, norm_first):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=12,
              dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    theirs = torch.nn.Transformer(**kw).double()
    ours = copy_from_torch(nn.Transformer(**kw).double(), theirs)
    src = rng.standard_normal((2, 5, 8) if batch_first else (5, 2, 8))
    tgt = rng.standard_normal((2, 4, 8) if batch_first else (4, 2, 8))
    padding = np.array([[False] * 5, [False, False, False, True, True]])
    masks = dict(tgt_mask=nn.Transformer.generate_square_subsequent_mask(4).numpy().astype(float),
                 src_key_padding_mask=padding, memory_key_padding_mask=padding)
    compare(lambda s, t: ours(s, t, **_our_masks(masks)),
            lambda s, t: theirs(s, t, **_torch_masks(torch, masks)), [src, tgt], rng,
            float32=False)
    params = dict(theirs.named_parameters())
    ours.zero_grad()    # compare() accumulated the input gradients' backward into ours
    out = ours(tsf.tensor(src), tsf.tensor(tgt), **_our_masks(masks))
    ref = theirs(torch.tensor(src), torch.tensor(tgt), **_torch_masks(torch, masks))
    g = rng.standard_normal(ref.shape)    # not sum(): the final LayerNorm would zero it
    out.backward(tsf.tensor(g))
    ref.backward(torch.tensor(g))
    for name, p in ours.named_parameters():
        assert_close(p.grad, params[name].grad, name, rtol=1e-8, atol=1e-10)


def test_transformer_state_dict_keys_and_initialisation_follow_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Transformer(16, 2, 2, 1, 32, bias=False)
    theirs = torch.nn.Transformer(16, 2, 2, 1, 32, bias=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, p), (_, r) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert p.shape == tuple(r.shape), name
        if p.ndim > 1:    # xavier_uniform everywhere: same bound, similar spread
            bound = np.sqrt(6 / sum(p.shape[:2]))
            assert np.abs(p.numpy()).max() <= bound, name
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    np.testing.assert_array_equal(mask.numpy(),
                                  torch.nn.Transformer.generate_square_subsequent_mask(3).numpy())
    assert ours.generate_square_subsequent_mask(2).dtype == tsf.float32


def test_transformer_refuses_mismatched_inputs_and_activations():
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(tsf.zeros(3, 2, 8), tsf.zeros(3, 4, 8))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to "
                                           "d_model"):
        model(tsf.zeros(3, 2, 6), tsf.zeros(3, 2, 6))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
