"""Word embeddings: real GloVe vectors, gensim-compatible queries and evaluations, plots, training.

Seed 000, exercise 4 asks to explore GloVe embeddings with different word combinations; this
package makes that a first-class tool::

    from torchsorflow.embeddings import load_default
    kv = load_default()                          # GloVe 6B 50d, 400,000 words (extra 'glove')
    kv.most_similar(positive=["king", "woman"], negative=["man"], topn=3)
    kv.evaluate_word_analogies()                 # the Google analogy set, gensim's counts

* :class:`KeyedVectors` mirrors gensim's class of the same name (names, arguments and exact
  results), with evaluations that answer all questions in batches;
* :mod:`~torchsorflow.embeddings.formats` reads and writes GloVe/word2vec files and a safe
  ``.npy`` + word-list format (saved atomically as a whole, checked on load);
* :func:`plot_words` draws a 2-D projection with analogy arrows;
* :mod:`torchsorflow.embeddings.glove` counts co-occurrences and trains GloVe vectors.

>>> import numpy as np
>>> kv = KeyedVectors(np.eye(3, dtype=np.float32), ["a", "b", "c"])
>>> "a" in kv, kv["b"].tolist()
(True, [0.0, 1.0, 0.0])
"""
from .evaluation import datapath, evaluate_word_analogies, evaluate_word_pairs
from .formats import (VectorFileError, load, load_default, load_glove, load_vectors,
                      load_word2vec_format, save, save_glove, save_word2vec_format)
from .keyed_vectors import KeyedVectors, UnknownWordError, unitvec
from .plotting import plot_words

__all__ = [
    "KeyedVectors", "UnknownWordError", "VectorFileError", "datapath", "evaluate_word_analogies",
    "evaluate_word_pairs", "load", "load_default", "load_glove", "load_vectors",
    "load_word2vec_format", "plot_words", "save", "save_glove", "save_word2vec_format", "unitvec",
]
