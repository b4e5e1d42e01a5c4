"""Bad input raises the right error type with a message that names the problem (shapes, offending
value, what to do). The paths already asserted next to their features (tests/test_nn_*.py,
test_io.py, test_stats_*.py, test_influence.py, ...) are not repeated here; this file covers the
rest: the core's operations, transforms and Tensor methods, layers and losses, optimizers,
schedulers and data, word vectors."""
import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import func, nn, optim
from torchsorflow.nn import functional as F

T = tsf.tensor
P = nn.Parameter
x23 = T(np.ones((2, 3)))


def _step_with_grad(value, grad):
    p = nn.Parameter(T(value))
    p.grad = T(grad)
    optim.SGD([p], lr=0.1).step()


def _clip_nan_grad():
    p = nn.Parameter(T([1.0]))
    p.grad = T([float("nan")])
    nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def _check(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert message in str(caught.value), f"message was: {caught.value}"


CORE = [
    pytest.param(
        lambda: x23.reshape(4, 2), RuntimeError,
        "shape '[4, 2]' is invalid for input of size 6", id="reshape"),
    pytest.param(
        lambda: x23.reshape(-1, -1), ValueError,
        "reshape: only one dimension can be inferred (-1), got [-1, -1]",
        id="reshape_two_minus"),
    pytest.param(
        lambda: x23.permute(0, 0), ValueError,
        "permute: (0, 0) is not a permutation of the 2 dims of shape (2, 3)", id="permute"),
    pytest.param(
        lambda: tsf.broadcast_to(x23, (3, 3)), ValueError,
        "The expanded size of the tensor must match the existing size at non-singleton "
        "dimensions: cannot broadcast shape (2, 3) to (3, 3)", id="broadcast_to"),
    pytest.param(
        lambda: tsf.cat([x23, T(np.ones((2, 4)))], axis=0), ValueError,
        "Sizes of tensors must match except in dimension 0. Expected size (2, 3) but got size "
        "(2, 4) for tensor number 1 in the list.", id="cat_mismatch"),
    pytest.param(
        lambda: tsf.cat([]), ValueError,
        "torch.cat(): expected a non-empty list of Tensors", id="cat_empty"),
    pytest.param(
        lambda: tsf.stack([x23, T(np.ones((3, 2)))]), ValueError,
        "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [3, 2] at "
        "entry 1", id="stack_mismatch"),
    pytest.param(
        lambda: tsf.pad(x23, ((1, 1),)), ValueError,
        "pad: pad_width has 1 entries for a 2-d Tensor of shape (2, 3)", id="pad_width"),
    pytest.param(
        lambda: tsf.solve(T(np.eye(3)), T(np.ones(2))), ValueError,
        "solve: A of shape (3, 3) must be square and match B of shape (2,)", id="solve"),
    pytest.param(
        lambda: tsf.logdet(x23), ValueError,
        "logdet: expected square matrices, got shape (2, 3)", id="logdet"),
    pytest.param(
        lambda: tsf.matmul(T(2.0), x23), ValueError,
        "matmul: both arguments need at least 1 dimension, got shapes () and (2, 3)",
        id="matmul_0d"),
    pytest.param(
        lambda: x23.sum(axis=2), IndexError,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)", id="sum_axis"),
    pytest.param(
        lambda: tsf.softmax(x23, axis=(0, 1)), TypeError,
        "softmax(): argument 'dim' must be int, not tuple", id="softmax_dim"),
    pytest.param(
        lambda: x23 * T(np.ones((4, 3))), ValueError,
        "mul: cannot apply to shapes (2, 3) and (4, 3)", id="mul_shapes"),
    pytest.param(
        lambda: tsf.where(T(np.ones((2,), bool)), x23, 0.0), ValueError,
        "where: cannot apply to shapes (2,) and (2, 3) and float", id="where_shapes"),
    pytest.param(
        lambda: x23.item(), RuntimeError,
        "a Tensor with 6 elements cannot be converted to Scalar", id="item"),
    pytest.param(
        lambda: bool(x23), RuntimeError,
        "Boolean value of Tensor with more than one value is ambiguous", id="bool"),
    pytest.param(
        lambda: len(T(1.0)), TypeError,
        "len() of a 0-d tensor", id="len0d"),
    pytest.param(
        lambda: [1, 2][T(1.0)], TypeError,
        "only integer tensors of a single element can be converted to an index", id="index_float"),
    pytest.param(
        lambda: (T([1.0], requires_grad=True) * 2).requires_grad_(False), RuntimeError,
        "you can only change requires_grad flags of leaf variables. If you want to use a "
        "computed variable in a subgraph that doesn't require differentiation use var_no_grad "
        "= var.detach().", id="requires_grad_nonleaf"),
    pytest.param(
        lambda: T([1.0]).retain_grad(), RuntimeError,
        "can't retain_grad on Tensor that has requires_grad=False", id="retain_grad"),
    pytest.param(
        lambda: T([1.0], requires_grad=True).add_(1.0), RuntimeError,
        "a leaf Variable that requires grad is being used in an in-place operation (add_).",
        id="inplace_leaf"),
    pytest.param(
        lambda: (T([1.0, 2.0], requires_grad=True) * 2).backward(T([1.0])), RuntimeError,
        "backward: gradient of shape (1,) does not match the output's shape (2,)",
        id="backward_grad_shape"),
    pytest.param(
        lambda: tsf.autograd.grad((T([1.0], requires_grad=True) * 2).sum(),
                                [T([1.0], requires_grad=True)]),
        RuntimeError,
        "One of the differentiated Tensors (input 0) appears to not have been used in the "
        "graph. Set allow_unused=True if this is intended.", id="autograd_unused"),
    pytest.param(
        lambda: func.vjp(lambda a: a * 2, T([1.0]))[1]((T([1.0]), T([1.0]))), ValueError,
        "vjp_fn: expected 1 cotangents, got 2", id="vjp_count"),
    pytest.param(
        lambda: func.vjp(lambda a: a * 2, T([1.0]))[1](T([1.0, 2.0])), ValueError,
        "vjp_fn: cotangent of shape (2,) for an output of shape (1,)", id="vjp_shape"),
    pytest.param(
        lambda: func.jvp(lambda a: a, T([1.0]), T([1.0])), TypeError,
        "jvp: primals and tangents must be tuples, as in torch.func.jvp", id="jvp_tuple"),
    pytest.param(
        lambda: func.jvp(lambda a: a, (T([1.0]),), (T([1.0, 2.0]),)), ValueError,
        "jvp: tangent 0 has shape (2,) but its primal has shape (1,)", id="jvp_shape"),
    pytest.param(
        lambda: func.jvp(lambda a: a, (T([1.0]),), (T([1.0]), T([1.0]))), ValueError,
        "jvp: 1 primals but 2 tangents", id="jvp_count"),
    pytest.param(
        lambda: func.grad(lambda a: a * 2)(T([1.0, 2.0])), RuntimeError,
        "grad requires a function returning a scalar Tensor, got (2,)", id="grad_nonscalar"),
    pytest.param(
        lambda: func.grad(lambda a: a.sum(), argnums=3)(T([1.0])), ValueError,
        "argnums 3 is out of range for a function called with 1 positional arguments",
        id="grad_argnums"),
    pytest.param(
        lambda: func.grad(lambda a: (a.sum().backward(), a.sum())[1])(T([1.0])), RuntimeError,
        "backward() called on a Tensor traced by a functional transformation; use "
        "torchsorflow.func.grad/vjp inside transformations", id="backward_traced"),
    pytest.param(
        lambda: tsf.autodiff.check_grads(tsf.sin, [np.ones(2)], modes=("bwd",)), ValueError,
        "check_grads: unknown mode 'bwd'; use 'fwd' and/or 'rev'", id="check_grads_mode"),
    pytest.param(
        lambda: tsf.polygamma(-1, T([1.0])), ValueError,
        "polygamma: the order n must be a non-negative int, got -1", id="polygamma"),
]


@pytest.mark.parametrize("call, error, message", CORE)
def test_core_bad_input(call, error, message):
    """Operations name the operation and the shapes; autograd errors read like PyTorch's."""
    _check(call, error, message)


LAYERS = [
    pytest.param(
        lambda: F.conv2d(tsf.ones(1, 1, 2, 2), tsf.ones(1, 1, 3, 3)), ValueError,
        "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size "
        "can't be greater than actual input size", id="conv_kernel_too_big"),
    pytest.param(
        lambda: F.conv2d(tsf.ones(2, 2), tsf.ones(1, 1, 3, 3)), ValueError,
        "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 2]",
        id="conv_dims"),
    pytest.param(
        lambda: F.conv2d(tsf.ones(1, 1, 4, 4), tsf.ones(1, 1, 3)), ValueError,
        "conv2d: expected a 4-D weight (C_out, C_in/groups, *kernel), got shape [1, 1, 3]",
        id="conv_weight_dims"),
    pytest.param(
        lambda: F.conv2d(tsf.ones(1, 1, 4, 4), tsf.ones(1, 1, 3, 3), padding="full"), ValueError,
        "Invalid padding string 'full', should be one of {'valid', 'same'}", id="conv_pad_str"),
    pytest.param(
        lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError,
        "in_channels must be divisible by groups", id="conv_groups_module"),
    pytest.param(
        lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError,
        "padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, but got "
        "padding_mode='mirror'", id="conv_padding_mode"),
    pytest.param(
        lambda: nn.BatchNorm2d(3)(tsf.ones(2, 3)), ValueError,
        "expected 4D input (got 2D input)", id="bn_dims"),
    pytest.param(
        lambda: nn.BatchNorm1d(3)(tsf.ones(2, 4)), ValueError,
        "BatchNorm1d: expected 3 channels (dim 1), got input of shape (2, 4)", id="bn_channels"),
    pytest.param(
        lambda: F.batch_norm(tsf.ones(2, 3), None, None, training=False), ValueError,
        "batch_norm: running_mean and running_var are needed in eval mode", id="bn_eval_nostats"),
    pytest.param(
        lambda: nn.BatchNorm1d(3)(tsf.ones(1, 3)), ValueError,
        "Expected more than 1 value per channel when training, got input size [1, 3]",
        id="bn_one_value"),
    pytest.param(
        lambda: F.avg_pool2d(tsf.ones(1, 1, 4, 4), 2, padding=2), ValueError,
        "pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and "
        "dilation=1", id="avgpool_pad"),
    pytest.param(
        lambda: F.max_pool2d(tsf.ones(4, 4), 2), ValueError,
        "max_pool2d: expected a 3-D or 4-D input, got shape [4, 4]", id="pool_dims"),
    pytest.param(
        lambda: F.linear(tsf.ones(2, 4), tsf.ones(3, 5)), ValueError,
        "linear: input of shape (2, 4) has 4 features but weight of shape (3, 5) expects 5",
        id="linear_features"),
    pytest.param(
        lambda: F.linear(tsf.ones(2, 4), tsf.ones(4)), ValueError,
        "linear: weight must be 2-D (out_features, in_features), got shape (4,)",
        id="linear_weight_2d"),
    pytest.param(
        lambda: F.nll_loss(tsf.ones(2, 3), T([0.0, 1.0])), TypeError,
        "nll_loss: target must hold integer class indices, got dtype float32",
        id="nll_float_target"),
    pytest.param(
        lambda: F.nll_loss(tsf.ones(2, 3), T(np.array([0, 1, 2]))), ValueError,
        "nll_loss: expected target of shape (2,) for input of shape (2, 3), got (3,)",
        id="nll_target_shape"),
    pytest.param(
        lambda: F.nll_loss(tsf.ones(2, 3), T(np.array([0, 3]))), IndexError,
        "Target 3 is out of bounds.", id="nll_oob"),
    pytest.param(
        lambda: F.cross_entropy(tsf.ones(2, 3), tsf.ones(2, 4)), ValueError,
        "cross_entropy: probability target of shape (2, 4) must match the input's shape (2, 3)",
        id="ce_prob_shape"),
    pytest.param(
        lambda: F.cross_entropy(tsf.ones(2, 3), T(np.array([0, 1])), label_smoothing=1.5),
        ValueError,
        "label_smoothing must be between 0.0 and 1.0. Got: 1.5", id="ce_smoothing"),
    pytest.param(
        lambda: F.mse_loss(tsf.ones(2), tsf.ones(2), reduction="avg"), ValueError,
        "avg is not a valid value for reduction", id="loss_reduction"),
    pytest.param(
        lambda: F.mse_loss(tsf.ones(2), tsf.ones(3)), ValueError,
        "mse_loss: target size (3,) must be the same as input size (2,)", id="mse_shape"),
    pytest.param(
        lambda: F.binary_cross_entropy_with_logits(tsf.ones(2), tsf.ones(3)), ValueError,
        "binary_cross_entropy_with_logits: target size (3,) must be the same as input size (2,)",
        id="bce_shape"),
    pytest.param(
        lambda: F.one_hot(T(np.array([0, 3])), 3), ValueError,
        "one_hot: class values must be in [0, 3), got [0, 3]", id="one_hot"),
    pytest.param(
        lambda: F.pad(tsf.ones(2, 2), (1, 2, 3)), ValueError,
        "Padding length must be divisible by 2", id="F_pad"),
    pytest.param(
        lambda: F.pad(tsf.ones(2, 2), (1, 1), mode="mirror"), NotImplementedError,
        "Unrecognised padding mode mirror", id="F_pad_mode"),
    pytest.param(
        lambda: F.pad(tsf.ones(1, 2, 3), (3, 1), mode="reflect"), ValueError,
        "Argument #4: Padding size should be less than the corresponding input dimension, but "
        "got: padding (3, 1) at dimension 2 of input [1, 2, 3]", id="F_pad_reflect_too_far"),
    pytest.param(
        lambda: F.gelu(tsf.ones(2), approximate="fast"), ValueError,
        "approximate argument must be either none or tanh, got 'fast'", id="gelu"),
    pytest.param(
        lambda: nn.Dropout(-0.1), ValueError,
        "dropout probability has to be between 0 and 1, but got -0.1", id="dropout_p"),
    pytest.param(
        lambda: nn.Linear(2, 2).train("yes"), ValueError,
        "training mode is expected to be boolean", id="module_train"),
    pytest.param(
        lambda: nn.Linear(2, 2).to("cuda"), RuntimeError,
        "Module.to: device 'cuda' is not available: TorchsorFlow runs on the CPU only",
        id="module_to_cuda"),
    pytest.param(
        lambda: nn.Linear(2, 3).load_state_dict({"weight": np.ones((3, 3)), "bias": np.ones(3)}),
        RuntimeError,
        "size mismatch for weight: copying a param with shape [3, 3] from checkpoint, the shape "
        "in current model is [3, 2].", id="state_dict_shape"),
    pytest.param(
        lambda: _clip_nan_grad(), RuntimeError,
        "The total norm of order 2.0 for gradients from `parameters` is non-finite, so it "
        "cannot be clipped. To disable this error and scale the gradients by the non-finite "
        "norm anyway, set `error_if_nonfinite=False`", id="clip_grad_nonfinite"),
    pytest.param(
        lambda: nn.utils.vector_to_parameters(T([1.0, 2.0]), nn.Linear(2, 2).parameters()),
        ValueError,
        "vector of length 2 is too short for the parameters", id="vector_to_params"),
]


@pytest.mark.parametrize("call, error, message", LAYERS)
def test_layer_and_loss_bad_input(call, error, message):
    """Layers and losses name the layer, the shapes or the bad argument."""
    _check(call, error, message)


TRAINING = [
    pytest.param(
        lambda: optim.SGD(T([1.0]), lr=0.1), TypeError,
        "params argument given to the optimizer should be an iterable of Tensors or dicts, but "
        "got a Tensor", id="opt_params"),
    pytest.param(
        lambda: optim.SGD([], lr=0.1), ValueError,
        "optimizer got an empty parameter list", id="opt_empty"),
    pytest.param(
        lambda: optim.Adam([nn.Parameter(T([1.0]))], lr=-1), ValueError,
        "Invalid lr: -1 (must be >= 0)", id="opt_lr"),
    pytest.param(
        lambda: _step_with_grad([1.0], [1.0, 2.0]), RuntimeError,
        "gradient of shape (2,) for a parameter of shape (1,)", id="opt_grad_shape"),
    pytest.param(
        lambda: optim.lr_scheduler.StepLR(optim.SGD([P(T([1.0]))], lr=0.1), 0),
        ValueError,
        "step_size must be a positive integer, got 0", id="steplr"),
    pytest.param(
        lambda: optim.lr_scheduler.CosineAnnealingLR(optim.SGD([P(T([1.0]))], lr=0.1), 0),
        ValueError,
        "T_max must be a positive integer, got 0", id="cosine"),
    pytest.param(
        lambda: tsf.data.TensorDataset(), ValueError,
        "TensorDataset needs at least one tensor", id="tensordataset"),
    pytest.param(
        lambda: tsf.data.DataLoader(tsf.data.TensorDataset(tsf.ones(3)), seed=1,
                                    generator=tsf.Generator(1)),
        ValueError,
        "give either seed or generator, not both", id="dataloader_seed_gen"),
]


@pytest.mark.parametrize("call, error, message", TRAINING)
def test_training_bad_input(call, error, message):
    """Optimizers, schedulers and data loading name the bad argument."""
    _check(call, error, message)


# --- word embeddings ----------------------------------------------------------------------------
@pytest.fixture
def small_vectors():
    from torchsorflow.embeddings import KeyedVectors
    words = ["king", "queen", "man", "woman", "paris", "france"]
    return KeyedVectors(np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32), words)


def test_unknown_words_raise_a_key_error_naming_the_word_and_close_spellings(small_vectors):
    for call in (lambda: small_vectors["kign"],
                 lambda: small_vectors.most_similar(positive=["kign"]),
                 lambda: small_vectors.similarity("king", "kign")):
        with pytest.raises(KeyError) as caught:
            call()
        assert ("'kign' is not in the vocabulary (6 words); did you mean 'king'?"
                in str(caught.value))


@pytest.mark.parametrize("content, message", [
    ("king 1 2 3\nqueen 1 2\n", "line 2: 2 numbers after the word 'queen', expected 3 (the "
                                "dimension of line 1): inconsistent dimensions"),
    ("king 1 2 3\nqueen 1 x 3\n", "line 2: 'x' is not a number"),
    ("king 1 2 3\nqueen 1 nan 3\n", "line 2: non-finite value in the vector of 'queen'"),
])
def test_a_malformed_vector_file_is_reported_with_its_name_and_line(tmp_path, content, message):
    from torchsorflow.embeddings import VectorFileError, load_glove
    path = tmp_path / "vectors.txt"
    path.write_text(content)
    with pytest.raises(VectorFileError) as caught:  # a ValueError
        load_glove(path)
    assert isinstance(caught.value, ValueError)
    assert f"{path}, {message}" in str(caught.value)


def test_word2vec_header_that_disagrees_with_the_file(tmp_path):
    from torchsorflow.embeddings import VectorFileError, load_word2vec_format
    path = tmp_path / "vectors.w2v"
    path.write_text("3 3\nking 1 2 3\nqueen 1 2 3\n")
    with pytest.raises(VectorFileError,
                       match="the header announces 3 vectors but the file holds 2"):
        load_word2vec_format(path)


def test_vectors_and_words_that_do_not_fit_together():
    from torchsorflow.embeddings import KeyedVectors
    with pytest.raises(ValueError, match="2 words for 3 vectors"):
        KeyedVectors(np.ones((3, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="duplicate word 'a' at rows 0 and 1"):
        KeyedVectors(np.ones((2, 2)), ["a", "a"])


def test_an_analogy_evaluation_with_unknown_words_does_not_crash(small_vectors, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text(": capitals\nfoo bar baz qux\nberlin germany rome italy\n"
                         ": family\nking queen man woman\n")
    score, sections = small_vectors.evaluate_word_analogies(questions)
    counts = {s["section"]: len(s["correct"]) + len(s["incorrect"]) for s in sections}
    assert counts["capitals"] == 0 and counts["family"] == 1  # unknown questions are skipped
    with pytest.raises(ValueError, match="method must be '3cosadd' or '3cosmul', got '3cosmax'"):
        small_vectors.evaluate_word_analogies(questions, method="3cosmax")


# --- issue 20, item 12 and 13: unclear messages and small silent cases ---------------------------
def test_a_scalar_into_linear_names_the_dimensions():
    """It said 'tuple index out of range'."""
    for call in (lambda: nn.Linear(3, 2)(T(1.0)), lambda: F.linear(T(1.0), tsf.ones(2, 3))):
        _check(call, ValueError, "linear: both arguments to linear need to be at least 1D, but "
                                 "they are 0D and 2D")


@pytest.fixture
def influence():
    import warnings

    from torchsorflow.influence import InfluenceModel
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 3)), rng.integers(0, 2, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = InfluenceModel(nn.Linear(3, 2), None, (x, y), l2=0.1, progress=False)
    return model, x, y


def test_top_k_refuses_a_k_that_is_not_a_positive_integer(influence):
    """k=-3 returned all but three points."""
    model, x, y = influence
    for k in (-3, 0, 2.5, True):
        _check(lambda k=k: model.top_k((x[0], y[0]), k=k), ValueError,
               f"top_k: k must be a positive integer, got {k!r}")
    assert len(model.top_k((x[0], y[0]), k=3).helpful) == 3


def test_fractional_train_indices_are_refused(influence):
    """train_idx=[1.7] became 1."""
    model, x, y = influence
    for call in (lambda: model.influence_on_params([1.7]),
                 lambda: model.influence_on_loss((x[0], y[0]), [1.7]),
                 lambda: model.self_influence(np.array([0.5]))):
        _check(call, IndexError, "train indices must be integers, got")
    assert model.influence_on_params([1]).shape == (1, 8)


@pytest.mark.parametrize("point, error, message", [
    ((1.0, 1), ValueError, "test_point: an input of shape () fits neither one training point, "
                           "of shape (3,), nor a batch of them, (N, 3)"),
    ((np.ones((3, 1)), 1), ValueError, "an input of shape (3, 1) fits neither"),
    ((np.ones(5), 1), ValueError, "an input of shape (5,) fits neither"),
    (np.ones(3), TypeError, "test_point must be a pair (inputs, targets) or a Dataset, got a "
                            "lone array of shape (3,)"),
])
def test_a_wrong_shape_test_point_names_the_shapes(influence, point, error, message):
    """A scalar test point gave 'len() of unsized object' or 'tuple index out of range'."""
    model, _, _ = influence
    _check(lambda: model.top_k(point), error, message)


def test_restrict_vocab_must_be_a_positive_integer(small_vectors):
    """A negative value acted as a slice and 0 was ignored."""
    for value in (-3, 0, 1.5):
        for call in (lambda v=value: small_vectors.most_similar("king", restrict_vocab=v),
                     lambda v=value: small_vectors.most_similar_cosmul("king", restrict_vocab=v),
                     lambda v=value: small_vectors.evaluate_word_analogies(restrict_vocab=v)):
            _check(call, ValueError, f"restrict_vocab must be a positive integer or None, got "
                                     f"{value!r}")
    assert len(small_vectors.most_similar("king", restrict_vocab=3)) == 2
