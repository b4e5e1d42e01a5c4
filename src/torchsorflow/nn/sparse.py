"""``Embedding`` and ``EmbeddingBag``: lookup tables of learned vectors, as in ``torch.nn``.

An :class:`Embedding` is a (num_embeddings, embedding_dim) ``weight`` whose rows are picked by
integer indices; its gradient is added into the rows that were picked (one fused primitive,
:mod:`torchsorflow.ops.embedding`). PyTorch's arguments, defaults, initialisation (N(0, 1), the
``padding_idx`` row zeroed) and ``state_dict`` key (``weight``) are kept, so weights move between
the two unchanged.

Pretrained word vectors become a layer in one call, with the vocabulary kept beside the table:

>>> import numpy as np
>>> from torchsorflow.embeddings import KeyedVectors
>>> kv = KeyedVectors(np.array([[1, 0], [0.9, 0.1], [0, 1]], "f4"), ["king", "queen", "apple"])
>>> layer = Embedding.from_keyed_vectors(kv)
>>> layer
Embedding(3, 2)
>>> layer.index(["queen", "king"])
tensor([1, 0])
>>> layer(layer.index("queen"))
tensor([0.9, 0.1])
>>> layer.most_similar("king", topn=1)
[('queen', 0.9938837289810181)]
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tracer import no_grad
from ..ops import creation
from ..tensor import Tensor
from . import functional as F
from . import init
from .common_types import _dtype_t
from .functional.sparse import _check_sparse, _padding_index
from .module import Module
from .parameter import Parameter
from ..ops.creation import as_tensor

__all__ = ["Embedding", "EmbeddingBag"]


def _table(num_embeddings, embedding_dim, _weight, _freeze, dtype):
    """A new weight Parameter, or ``_weight`` (shared, as in PyTorch) after a shape check."""
    if _weight is None:
        return Parameter(creation.zeros(num_embeddings, embedding_dim, dtype=dtype)), True
    if list(_weight.shape) != [num_embeddings, embedding_dim]:
        raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
    return Parameter(_weight, requires_grad=not _freeze), False


def _norm_options(layer):
    """The renormalisation and gradient-scaling options of a table that differ from the
    defaults, as PyTorch's repr lists them."""
    s = ""
    if layer.max_norm is not None:
        s += f", max_norm={layer.max_norm}"
    if layer.norm_type != 2:
        s += f", norm_type={layer.norm_type}"
    if layer.scale_grad_by_freq is not False:
        s += f", scale_grad_by_freq={layer.scale_grad_by_freq}"
    return s


class Embedding(Module):
    """A lookup table: ``layer(indices)`` returns ``weight[indices]``.

    ``padding_idx``: that row starts at zero and never receives a gradient (a negative value
    counts from the end). ``max_norm``: rows looked up are first rescaled in place to at most
    that ``norm_type``-norm. ``scale_grad_by_freq``: gradients are divided by each index's count
    in the mini-batch. ``sparse=True`` (sparse gradients) is refused: TorchsorFlow computes dense
    gradients only.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Tensor | None = None, _freeze: bool = False, device=None,
                 dtype: _dtype_t = None):
        super().__init__()
        _check_sparse(sparse, "Embedding")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        self.weight, fresh = _table(num_embeddings, embedding_dim, _weight, _freeze, dtype)
        if fresh:
            self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, 1) entries, then the padding row zeroed (PyTorch's initialisation)."""
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        s += _norm_options(self)
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """A layer whose weight is ``embeddings`` (2-D, shared, not copied); ``freeze=True``
        keeps it out of training (``requires_grad=False``)."""
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings, _freeze=freeze,
                   padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)

    # --- the bridge from word vectors ---------------------------------------------------------
    @classmethod
    def from_keyed_vectors(cls, keyed_vectors, freeze: bool = True,
                           padding_idx: int | None = None, max_norm: float | None = None,
                           norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                           dtype: _dtype_t = None) -> Embedding:
        """A layer holding a copy of the vectors of a
        :class:`~torchsorflow.embeddings.KeyedVectors` (GloVe, word2vec ...), row ``i`` for word
        ``keyed_vectors.index_to_key[i]``, with the vocabulary kept beside it:
        :attr:`index_to_key`, :attr:`key_to_index` (also :attr:`vocab`), :meth:`index` (words to
        indices) and :meth:`most_similar` (gensim's query, on the layer's current weights).

        The vectors are copied into memory (a memory-mapped file stays untouched); ``freeze``
        as in :meth:`from_pretrained`. The vocabulary is not part of the ``state_dict``, whose
        only key stays ``weight`` as in PyTorch.
        """
        vectors = np.array(keyed_vectors.vectors, dtype=dtype or np.float32, copy=True)
        layer = cls.from_pretrained(as_tensor(vectors), freeze=freeze, padding_idx=padding_idx,
                                    max_norm=max_norm, norm_type=norm_type,
                                    scale_grad_by_freq=scale_grad_by_freq)
        layer.index_to_key = list(keyed_vectors.index_to_key)
        layer.key_to_index = dict(keyed_vectors.key_to_index)
        return layer

    @property
    def vocab(self) -> dict:
        """Word → row (the ``key_to_index`` of the vectors this layer was built from)."""
        return self._vocabulary()[1]

    def _vocabulary(self):
        words = self.__dict__.get("index_to_key")
        if words is None:
            raise AttributeError("this Embedding has no vocabulary; build it with "
                                 "Embedding.from_keyed_vectors(kv) (or kv.to_embedding())")
        return words, self.__dict__["key_to_index"]

    def index(self, words, unknown: str | int | None = None) -> Tensor:
        """The row of a word (a 0-d int64 Tensor) or of each word of a (nested) list.

        A word outside the vocabulary raises :class:`~torchsorflow.embeddings.UnknownWordError`
        with close spellings, unless ``unknown`` names the word (or row) to use instead.
        """
        from ..embeddings.vocabulary import UnknownWordError, close_spellings

        index_to_key, key_to_index = self._vocabulary()
        fallback = None
        if unknown is not None:
            fallback = unknown if isinstance(unknown, int) else self.index(unknown).item()

        def row(word):
            found = key_to_index.get(word) if isinstance(word, str) else None
            if found is not None:
                return found
            if fallback is not None:
                return fallback
            raise UnknownWordError(word, close_spellings(word, key_to_index, index_to_key)
                                   if isinstance(word, str) else (), len(index_to_key))

        def rows(item):
            return row(item) if isinstance(item, str) else [rows(i) for i in item]

        return as_tensor(np.asarray(rows(words), dtype=np.int64))

    def to_keyed_vectors(self):
        """The layer's current weights with its vocabulary, as a ``KeyedVectors`` (a copy)."""
        from ..embeddings import KeyedVectors

        words, _ = self._vocabulary()
        return KeyedVectors(self.weight.detach().numpy().copy(), words)

    def most_similar(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """gensim's ``most_similar`` (3CosAdd) on the layer's current weights."""
        return self.to_keyed_vectors().most_similar(positive, negative, topn, restrict_vocab)


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings (see
    :func:`torchsorflow.nn.functional.embedding_bag`), without building the bags; PyTorch's
    arguments, initialisation and ``state_dict`` key."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight: Tensor | None = None,
                 include_last_offset: bool = False, padding_idx: int | None = None,
                 device=None, dtype: _dtype_t = None):
        super().__init__()
        _check_sparse(sparse, "EmbeddingBag")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = _padding_index(padding_idx, num_embeddings)
        self.weight, fresh = _table(num_embeddings, embedding_dim, _weight, False, dtype)
        if fresh:
            self.reset_parameters()
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    reset_parameters = Embedding.reset_parameters
    _fill_padding_idx_with_zero = Embedding._fill_padding_idx_with_zero

    def forward(self, input: Tensor, offsets: Tensor | None = None,
                per_sample_weights: Tensor | None = None) -> Tensor:
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}" + _norm_options(self)
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """A bag layer whose weight is ``embeddings`` (2-D, shared); ``freeze`` as for
        :meth:`Embedding.from_pretrained`."""
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        bag = cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings, max_norm=max_norm,
                  norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, mode=mode,
                  sparse=sparse, include_last_offset=include_last_offset,
                  padding_idx=padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag
