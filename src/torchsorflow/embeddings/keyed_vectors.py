"""``KeyedVectors``: words and their vectors, with gensim's names and gensim's exact results.

The class mirrors gensim 4.4's ``KeyedVectors`` for everything a student explores with: lookup
(``kv["king"]``, ``"king" in kv``), ``similarity``, ``most_similar`` (3CosAdd: the cosine with
the normalised mean of the unit vectors, positive words added and negative ones subtracted),
``most_similar_cosmul`` (3CosMul of Levy & Goldberg 2014), ``doesnt_match``, ``closer_than`` and
the evaluations. "Exact" is meant literally: single queries follow gensim's arithmetic step by
step (float32 sums, a float64 normalisation, one matrix-vector product divided by the norms, the
same partial sort), so the returned floats and the order of near-ties are the ones gensim returns.
The evaluations answer thousands of questions at once (:mod:`torchsorflow.embeddings.search`)
and fall back to this arithmetic wherever float32 rounding could decide a near-tie.

>>> kv = KeyedVectors(np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], "f4"),
...                   ["king", "queen", "apple", "pear"])
>>> kv.most_similar("king", topn=1)
[('queen', 0.9938837289810181)]
>>> kv.doesnt_match(["king", "queen", "pear"])
'pear'
"""
from __future__ import annotations

import logging
from numbers import Integral

import numpy as np
from scipy.linalg.blas import dnrm2, dscal

from .vocabulary import UnknownWordError, close_spellings

logger = logging.getLogger(__name__)


def check_restrict_vocab(restrict_vocab):
    """``restrict_vocab`` as a positive int (``None`` stays ``None``: every word). A negative
    value would silently act as a slice from the end and 0 would be ignored, so both are refused.

    >>> check_restrict_vocab(-3)
    Traceback (most recent call last):
    ...
    ValueError: restrict_vocab must be a positive integer or None, got -3
    """
    if restrict_vocab is None:
        return None
    if isinstance(restrict_vocab, bool) or not isinstance(restrict_vocab, Integral) \
            or restrict_vocab < 1:
        raise ValueError(f"restrict_vocab must be a positive integer or None, got "
                         f"{restrict_vocab!r}")
    return int(restrict_vocab)


def unitvec(vec):
    """``vec / |vec|`` the way gensim computes it (norm and scaling in float64, then back to the
    input's dtype), so that results match gensim to the last bit; a zero vector is returned as is.

    >>> unitvec(np.array([3.0, 4.0], dtype=np.float32))
    array([0.6, 0.8], dtype=float32)
    """
    vec = np.asarray(vec)
    wide = np.array(vec, dtype=np.float64, copy=True).ravel()
    norm = dnrm2(wide) if wide.size else 0.0
    if norm > 0.0:
        return dscal(1.0 / norm, wide).astype(vec.dtype).reshape(vec.shape)
    return vec


def _as_list(value):
    """A single word or vector becomes a one-element list (gensim's shorthand)."""
    if value is None:
        return []
    if isinstance(value, (str, Integral)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return list(value)
    return list(value)


class KeyedVectors:
    """Word vectors with a vocabulary: ``vectors[i]`` belongs to ``index_to_key[i]``.

    ``vectors`` may be a memory-mapped array (see :func:`~torchsorflow.embeddings.load_default`);
    the norms and unit vectors that similarity queries need are computed once, on first use.
    """

    def __init__(self, vectors, words):
        vectors = vectors if isinstance(vectors, np.ndarray) else np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D array (words x dimensions), got shape "
                             f"{vectors.shape}")
        if not np.issubdtype(vectors.dtype, np.floating):
            vectors = vectors.astype(np.float32)
        words = list(words)
        if len(words) != len(vectors):
            raise ValueError(f"{len(words)} words for {len(vectors)} vectors")
        self.vectors = vectors
        self.index_to_key = words
        self.key_to_index = {}
        for i, word in enumerate(words):
            if not isinstance(word, str):
                raise TypeError(f"word {i} is {word!r}, not a string")
            if self.key_to_index.setdefault(word, i) != i:
                raise ValueError(f"duplicate word {word!r} at rows {self.key_to_index[word]} "
                                 f"and {i}")
        self._c_vectors = self._norms = self._unit = None

    # --- lookup -------------------------------------------------------------------------------

    @property
    def vector_size(self):
        return self.vectors.shape[1]

    def __len__(self):
        return len(self.index_to_key)

    def __repr__(self):
        return f"KeyedVectors({len(self)} words, {self.vector_size} dimensions)"

    def __contains__(self, key):
        return self.has_index_for(key)

    def has_index_for(self, key):
        return self.get_index(key, -1) >= 0

    def get_index(self, key, default=None):
        """Row of ``key``; an integer in range is its own index (as in gensim)."""
        index = self.key_to_index.get(key, -1) if isinstance(key, str) else -1
        if index >= 0:
            return index
        if isinstance(key, Integral) and not isinstance(key, bool) and 0 <= key < len(self):
            return int(key)
        if default is not None:
            return default
        raise UnknownWordError(key, self.suggest(key) if isinstance(key, str) else (), len(self))

    def suggest(self, word, n=3):
        """Known words one edit away from ``word`` (or differing in case), most frequent first."""
        return close_spellings(word, self.key_to_index, self.index_to_key, n)

    def __getitem__(self, key_or_keys):
        if isinstance(key_or_keys, (str, Integral)):
            return self.get_vector(key_or_keys)
        return np.vstack([self.get_vector(key) for key in key_or_keys])

    def get_vector(self, key, norm=False):
        """The vector of ``key`` (a read-only view); ``norm=True`` divides it by its length."""
        index = self.get_index(key)
        result = self.vectors[index] / self.norms[index] if norm else self.vectors[index]
        result = np.array(result) if isinstance(result, np.memmap) else result
        result.setflags(write=False)
        return result

    # --- norms, unit vectors ------------------------------------------------------------------

    @property
    def c_vectors(self):
        """The vectors as a C-ordered in-memory array (a copy only if they are not already)."""
        if self._c_vectors is None:
            self._c_vectors = np.ascontiguousarray(self.vectors)
        return self._c_vectors

    @property
    def norms(self):
        """Euclidean length of every vector (computed once)."""
        if self._norms is None:
            self._norms = np.linalg.norm(self.c_vectors, axis=1)
        return self._norms

    def fill_norms(self, force=False):
        if force:
            self._norms = self._unit = None
        return self.norms

    def get_normed_vectors(self):
        """All vectors scaled to unit length (C-ordered, computed once; zero vectors stay 0)."""
        if self._unit is None:
            norms = self.norms
            self._unit = np.ascontiguousarray(
                self.c_vectors / np.where(norms > 0, norms, 1)[:, None], dtype=np.float32)
        return self._unit

    # --- similarity queries -------------------------------------------------------------------

    def similarity(self, w1, w2):
        """Cosine similarity of two words."""
        return np.dot(unitvec(self[w1]), unitvec(self[w2]))

    def distance(self, w1, w2):
        """Cosine distance, ``1 - similarity``."""
        return 1 - self.similarity(w1, w2)

    def n_similarity(self, ws1, ws2):
        """Cosine similarity of the means of two word lists."""
        if not (len(ws1) and len(ws2)):
            raise ZeroDivisionError("At least one of the passed lists is empty.")
        mean1 = self.get_mean_vector(ws1, pre_normalize=False)
        mean2 = self.get_mean_vector(ws2, pre_normalize=False)
        return np.dot(unitvec(mean1), unitvec(mean2))

    @staticmethod
    def cosine_similarities(vector_1, vectors_all):
        """Cosine of ``vector_1`` with every row of ``vectors_all``."""
        norm = np.linalg.norm(vector_1)
        all_norms = np.linalg.norm(vectors_all, axis=1)
        return np.dot(vectors_all, vector_1) / (norm * all_norms)

    def distances(self, word_or_vector, other_words=()):
        """Cosine distances from a word or vector to ``other_words`` (default: every word)."""
        vector = self.get_vector(word_or_vector) if isinstance(word_or_vector, (str, Integral)) \
            else np.asarray(word_or_vector)
        if not other_words:
            dots, others = self.c_vectors @ vector, self.norms
        else:
            rows = [self.get_index(w) for w in other_words]
            dots, others = self.c_vectors[rows] @ vector, self.norms[rows]
        return 1 - dots / (np.linalg.norm(vector) * others)

    def get_mean_vector(self, keys, weights=None, pre_normalize=True, post_normalize=False,
                        ignore_missing=True):
        """Weighted mean of the (unit, with ``pre_normalize``) vectors of ``keys`` (words,
        indices or vectors), in gensim's arithmetic: float32 accumulation, divided by the sum of
        absolute weights."""
        if len(keys) == 0:
            raise ValueError("cannot compute mean with no input")
        dtype = self.vectors.dtype
        if isinstance(weights, list):
            weights = np.array(weights, dtype=dtype)
        if weights is None:
            weights = np.ones(len(keys), dtype=dtype)
        if len(keys) != weights.shape[0]:
            raise ValueError(f"{len(keys)} keys but {weights.shape[0]} weights")
        mean = np.zeros(self.vector_size, dtype)
        total_weight = 0
        for weight, key in zip(weights, keys):
            if isinstance(key, np.ndarray):
                if key.shape != (self.vector_size,):
                    raise ValueError(f"a vector of shape {key.shape} among the keys; expected "
                                     f"({self.vector_size},)")
                mean += weight * key
            elif key in self:
                mean += weight * self.get_vector(key, norm=pre_normalize)
            elif not ignore_missing:
                self.get_index(key)  # raises, with suggestions
            else:
                continue
            total_weight += abs(weight)
        if total_weight > 0:
            mean = mean / total_weight
        if post_normalize:
            mean = unitvec(mean).astype(np.float32)
        return mean

    def _cosines(self, mean, limit):
        """``cos(v_i, mean)`` for the first ``limit`` words, as gensim computes it. A word whose
        vector is zero has no cosine: NaN, which ranks last."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.dot(self.c_vectors[:limit], mean) / self.norms[:limit]

    @staticmethod
    def _best(scores, topn, skip):
        """Indices of the ``topn`` highest ``scores`` not in ``skip``, in gensim's order (a partial
        sort of the negated scores, ``topn + len(skip)`` deep)."""
        depth = topn + len(skip)
        negated = -scores
        if depth >= negated.size:
            best = np.argsort(negated)[:depth]
        else:
            best = np.argpartition(negated, depth)[:depth]
            best = best.take(np.argsort(negated.take(best)))
        return [int(i) for i in best if int(i) not in skip][:topn]

    def most_similar(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """The ``topn`` words closest (3CosAdd) to the mean of the ``positive`` unit vectors minus
        the ``negative`` ones; the query words themselves are left out. Items may be words,
        indices, vectors or ``(item, weight)`` pairs. ``restrict_vocab=n`` searches only the
        first ``n`` (most frequent) words; ``topn=None`` returns every cosine.

        ``most_similar(positive=["king", "woman"], negative=["man"])`` answers
        *man : king :: woman : ?*."""
        if isinstance(topn, Integral) and topn < 1:
            return []
        items = _as_list(positive) + _as_list(negative)
        n_pos = len(_as_list(positive))
        if not items:
            raise ValueError("cannot compute similarity with no input")
        weight = np.concatenate((np.ones(n_pos), -1.0 * np.ones(len(items) - n_pos)))
        keys = []
        for i, item in enumerate(items):
            if isinstance(item, tuple):
                keys.append(item[0])
                weight[i] = item[1]
            else:
                keys.append(item)
        for key in keys:
            self._check_nonzero(key)   # unknown words fail here too, naming the word
        restrict_vocab = check_restrict_vocab(restrict_vocab)
        mean = self.get_mean_vector(keys, weight, pre_normalize=True, post_normalize=True,
                                    ignore_missing=False)
        limit = restrict_vocab or len(self)
        skip = [self.get_index(key) for key in keys if not isinstance(key, np.ndarray)]
        dists = self._cosines(mean, limit)
        if not topn:
            return dists
        return [(self.index_to_key[i], float(dists[i])) for i in self._best(dists, topn, skip)]

    def _check_nonzero(self, key):
        """A query word or vector of length 0 has no direction: every cosine with it is 0/0."""
        if isinstance(key, np.ndarray):
            if not np.any(key):
                raise ValueError("a query vector is all zeros, so its cosine similarity with any "
                                 "word is undefined")
        elif self.norms[self.get_index(key)] == 0:
            raise ValueError(f"the vector of {key!r} is all zeros, so its cosine similarity with "
                             "any word is undefined")

    def similar_by_word(self, word, topn=10, restrict_vocab=None):
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_key = similar_by_word

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab)

    def _cosmul_scores(self, positive, negative, limit):
        """3CosMul scores of the first ``limit`` words in gensim's float32 arithmetic: each cosine
        shifted to [0, 1] as (1 + cos) / 2, positives multiplied, divided by the product of the
        negatives plus 1e-6."""
        def shifted(term):
            with np.errstate(invalid="ignore", divide="ignore"):   # zero vectors: NaN, last
                return (1 + np.dot(self.c_vectors[:limit], term) / self.norms[:limit]) / 2
        pos = [shifted(t) for t in positive]
        neg = [shifted(t) for t in negative]
        return np.prod(pos, axis=0) / (np.prod(neg, axis=0) + 0.000001)

    def most_similar_cosmul(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """3CosMul (Levy & Goldberg, "Linguistic Regularities in Sparse and Explicit Word
        Representations", 2014): the words maximising the product of the shifted cosines with
        the ``positive`` words divided by that with the ``negative`` ones. One large similarity
        cannot dominate the sum as in 3CosAdd. Unlike gensim 4.4, ``restrict_vocab`` is honoured
        (gensim ignores it here and searches every word)."""
        if isinstance(topn, Integral) and topn < 1:
            return []
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive:
            raise ValueError("cannot compute similarity with no input")
        for key in positive + negative:
            self._check_nonzero(key)
        restrict_vocab = check_restrict_vocab(restrict_vocab)
        skip = {self.get_index(w) for w in positive + negative if not isinstance(w, np.ndarray)}

        def term(item):
            return item if isinstance(item, np.ndarray) else self.get_vector(item, norm=True)
        dists = self._cosmul_scores([term(w) for w in positive], [term(w) for w in negative],
                                    restrict_vocab or len(self))
        if not topn:
            return dists
        return [(self.index_to_key[i], float(dists[i])) for i in self._best(dists, topn, skip)]

    def analogy(self, a, b, c, method="3cosadd", restrict_vocab=None):
        """The answer to *a : b :: c : ?* (``analogy("man", "king", "woman") == "queen"``), by
        3CosAdd (``most_similar``) or 3CosMul (``most_similar_cosmul``)."""
        search = {"3cosadd": self.most_similar, "3cosmul": self.most_similar_cosmul}
        if method not in search:
            raise ValueError(f"method must be '3cosadd' or '3cosmul', got {method!r}")
        return search[method](positive=[b, c], negative=[a], topn=1,
                              restrict_vocab=restrict_vocab)[0][0]

    def rank_by_centrality(self, words, use_norm=True):
        """``(cosine, word)`` pairs, most central first: the cosine of each word with the
        normalised mean of all of them. Unknown words are skipped with a warning, as in gensim."""
        used = [w for w in words if w in self]
        if len(used) != len(words):
            logger.warning("vectors for words %s are not present in the model, ignoring these "
                           "words", set(words) - set(used))
        if not used:
            raise ValueError("cannot select a word from an empty list")
        vectors = np.vstack([self.get_vector(w, norm=use_norm) for w in used]).astype(np.float32)
        mean = self.get_mean_vector(vectors, post_normalize=True)
        return sorted(zip(np.dot(vectors, mean), used), reverse=True)

    def doesnt_match(self, words):
        """The word farthest from the mean of ``words``."""
        return self.rank_by_centrality(words)[-1][1]

    def closer_than(self, key1, key2):
        """Every word closer to ``key1`` than ``key2`` is (``key1`` itself excluded)."""
        all_distances = self.distances(key1)
        i1, i2 = self.get_index(key1), self.get_index(key2)
        closer = np.flatnonzero(all_distances < all_distances[i2])
        return [self.index_to_key[i] for i in closer if i != i1]

    words_closer_than = closer_than

    def rank(self, key1, key2):
        """Rank of ``key2`` among the neighbours of ``key1`` (1 = nearest)."""
        return len(self.closer_than(key1, key2)) + 1

    def most_similar_to_given(self, key1, keys_list):
        """The key of ``keys_list`` most similar to ``key1``."""
        return keys_list[int(np.argmax([self.similarity(key1, key) for key in keys_list]))]

    # --- evaluations and files (implemented in their own modules) ------------------------------

    def evaluate_word_analogies(self, analogies=None, restrict_vocab=300000, case_insensitive=True,
                                dummy4unknown=False, method="3cosadd", **kwargs):
        """See :func:`torchsorflow.embeddings.evaluation.evaluate_word_analogies`."""
        from .evaluation import evaluate_word_analogies
        return evaluate_word_analogies(self, analogies, restrict_vocab, case_insensitive,
                                       dummy4unknown, method, **kwargs)

    def evaluate_word_pairs(self, pairs=None, delimiter="\t", encoding="utf8",
                            restrict_vocab=300000, case_insensitive=True, dummy4unknown=False):
        """See :func:`torchsorflow.embeddings.evaluation.evaluate_word_pairs`."""
        from .evaluation import evaluate_word_pairs
        return evaluate_word_pairs(self, pairs, delimiter, encoding, restrict_vocab,
                                   case_insensitive, dummy4unknown)

    def save(self, folder):
        """Save into ``folder``: the vectors as ``.npy``, the words as text and a manifest with
        their checksums, atomically as a whole (safe: no pickle; see :func:`.formats.save`)."""
        from .formats import save
        save(self, folder)

    @classmethod
    def load(cls, folder, mmap=True):
        """Load what :meth:`save` wrote, memory-mapping the vectors by default."""
        from .formats import load
        return load(folder, mmap=mmap)

    @classmethod
    def load_word2vec_format(cls, path, binary=False, no_header=False, limit=None):
        """word2vec text/binary, or GloVe text with ``no_header=True`` (gensim's signature)."""
        from .formats import load_word2vec_format
        return load_word2vec_format(path, binary=binary, no_header=no_header, limit=limit)

    def save_word2vec_format(self, path, binary=False, write_header=True):
        from .formats import save_word2vec_format
        save_word2vec_format(self, path, binary=binary, write_header=write_header)

    def to_embedding(self, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                     scale_grad_by_freq=False, dtype=None):
        """These vectors as an :class:`torchsorflow.nn.Embedding` layer (a copy, row ``i`` for
        ``index_to_key[i]``) with the vocabulary kept beside it: see
        :meth:`torchsorflow.nn.Embedding.from_keyed_vectors`."""
        from ..nn import Embedding
        return Embedding.from_keyed_vectors(self, freeze=freeze, padding_idx=padding_idx,
                                            max_norm=max_norm, norm_type=norm_type,
                                            scale_grad_by_freq=scale_grad_by_freq, dtype=dtype)
