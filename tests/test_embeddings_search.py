"""The batched exact top-k search behind the analogy evaluations, checked against a full sort."""
import numpy as np
import pytest

from torchsorflow.embeddings import search, threshold


def unit_rows(rng, n, d, shift=0.0):
    x = rng.normal(size=(n, d)).astype(np.float32) + np.float32(shift)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def reference_top_k(scores, k):
    """Full stable sort: largest first, lower index first among equal scores."""
    order = np.lexsort((np.broadcast_to(np.arange(scores.shape[1]), scores.shape), -scores), axis=1)
    idx = order[:, :k]
    return idx, np.take_along_axis(scores, idx, 1)


@pytest.mark.parametrize("n, k", [(7, 3), (600, 6), (20000, 6), (20000, 40), (3001, 1)])
def test_top_k_per_row_matches_a_full_sort(n, k):
    rng = np.random.default_rng(n + k)
    scores = rng.normal(size=(9, n)).astype(np.float32)
    scores[0, ::3] = 0.5                                 # many exact ties
    scores[1, : n // 2] = -np.inf                        # excluded entries
    idx, val = search.top_k_per_row(scores, k)
    ref_idx, ref_val = reference_top_k(scores, min(k, n))
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(val, ref_val)


def test_brute_force_excludes_the_question_words():
    rng = np.random.default_rng(0)
    unit = unit_rows(rng, 3000, 8)
    exclude = np.array([[0, 1, 2], [5, 5, 6]])
    queries = unit[[0, 5]]                       # each query's best match is an excluded word
    idx, _ = search.brute_force_top_k(unit, queries, exclude, k=4)
    assert not set(idx[0]) & {0, 1, 2} and not set(idx[1]) & {5, 6}
    full = queries @ unit.T
    full[0, [0, 1, 2]] = full[1, [5, 6]] = -np.inf
    np.testing.assert_array_equal(idx, reference_top_k(full, 4)[0])


def test_brute_force_cosmul_is_gensims_formula():
    rng = np.random.default_rng(1)
    unit = unit_rows(rng, 2000, 8)
    ia, ib, ic = np.array([3, 7]), np.array([4, 8]), np.array([5, 9])
    idx, val = search._brute(unit, ia, ib, ic, 5, "3cosmul")
    shifted = (1 + unit @ unit.T[:, np.concatenate([ia, ib, ic])]) / 2
    scores = (shifted[:, 2:4] * shifted[:, 4:6] / (shifted[:, 0:2] + 1e-6)).T
    scores[np.arange(2)[:, None], np.stack([ia, ib, ic], 1)] = -np.inf
    np.testing.assert_array_equal(idx, reference_top_k(scores, 5)[0])
    np.testing.assert_allclose(val, reference_top_k(scores, 5)[1], rtol=1e-6)


def analogy_questions(rng, n_words, n_pairs):
    """Questions built like the Google set: every ordered pair of (a, b) relation pairs."""
    pairs = rng.choice(n_words, size=(n_pairs, 2), replace=False)
    rows = [(a, b, c) for (a, b) in pairs for (c, _) in pairs if c != a]
    return np.array(rows).T


@pytest.mark.parametrize("method, seed", [("3cosadd", 0), ("3cosadd", 1), ("3cosmul", 2)])
def test_threshold_search_equals_brute_force(method, seed, monkeypatch):
    """The threshold algorithm finds exactly the rows a full pass finds, on vectors with a shared
    direction (like GloVe's) so that the levels and bounds are exercised."""
    rng = np.random.default_rng(seed)
    unit = unit_rows(rng, 40000, 16, shift=0.6)
    ia, ib, ic = analogy_questions(rng, len(unit), 50)
    brute = search._brute
    handed_over = []
    monkeypatch.setattr(search, "_brute", lambda u, a, *rest: handed_over.append(len(a))
                        or brute(u, a, *rest))
    idx, val = search.analogy_top_k(unit, ia, ib, ic, k=6, method=method)
    assert sum(handed_over) < 0.6 * len(ia)     # most questions settled by the bounds
    ref_idx, ref_val = brute(unit, ia, ib, ic, 6, method)
    gaps = np.diff(-ref_val, axis=1).min(axis=1) / np.maximum(ref_val[:, 0], 1)
    clear = gaps > 1e-5                     # rows without float32 near-ties in their top 6
    assert clear.mean() > 0.95
    np.testing.assert_array_equal(idx[clear], ref_idx[clear])
    np.testing.assert_allclose(val, ref_val, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_column_levels_hold_every_word_above_their_threshold(method):
    rng = np.random.default_rng(3)
    unit = unit_rows(rng, 50000, 12, shift=0.3)
    pairs, cs = rng.choice(len(unit), size=(3, 2), replace=False), np.array([10, 11])
    columns = threshold.Columns(unit, pairs, cs, method)
    thresholds, words, values, start, counts = threshold.column_levels(columns, len(unit), 6)
    full = columns.block(np.arange(len(columns)), np.empty((len(columns), len(unit)), "f4"))
    np.testing.assert_allclose(columns.at(unit[:100], np.arange(len(columns))), full[:, :100].T,
                               rtol=1e-5, atol=1e-6)
    for j in range(len(columns)):
        for level in range(6):
            run = slice(start[j], start[j] + counts[j, level])
            inside = set(words[run].tolist())
            above = set(np.flatnonzero(full[j] >= thresholds[j, level]).tolist())
            assert inside == above
            np.testing.assert_array_equal(values[run], full[j, words[run]])
        assert np.all(np.diff(thresholds[j]) <= 0) and np.all(np.diff(counts[j]) >= 0)


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be '3cosadd' or '3cosmul'"):
        search.analogy_top_k(np.eye(3, dtype=np.float32), [0], [1], [2], method="3coswhat")
