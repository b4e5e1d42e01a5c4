"""The batched exact top-k search behind the analogy evaluations, checked against a full sort."""
import numpy as np
import pytest

from torchsorflow.embeddings import search


def unit_rows(rng, n, d):
    x = rng.normal(size=(n, d)).astype(np.float32)
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


def analogy_questions(rng, n_words, n_pairs, per_pair):
    """Questions built like the Google set: every ordered pair of (a, b) relation pairs."""
    pairs = rng.choice(n_words, size=(n_pairs, 2), replace=False)
    rows = [(a, b, c) for (a, b) in pairs for (c, _) in pairs[:per_pair] if c != a]
    return np.array(rows).T


@pytest.mark.parametrize("seed", [0, 1])
def test_offset_search_equals_brute_force(seed, monkeypatch):
    """The threshold algorithm finds exactly the rows a full pass finds, on vectors with a shared
    direction (like GloVe's) so that the levels and bounds are exercised."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(40000, 16)).astype(np.float32) + 0.6
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    ia, ib, ic = analogy_questions(rng, len(unit), 60, 60)
    brute = search._brute
    handed_over = []
    monkeypatch.setattr(search, "_brute", lambda u, a, b, c, k: handed_over.append(len(a))
                        or brute(u, a, b, c, k))
    idx, val = search.offset_top_k(unit, ia, ib, ic, k=6, force=True)
    assert sum(handed_over) < 0.5 * len(ia)     # most questions settled by the bounds
    ref_idx, ref_val = brute(unit, ia, ib, ic, 6)
    gaps = np.diff(-ref_val, axis=1).min(axis=1)
    clear = gaps > 1e-5                     # rows without float32 near-ties in their top 6
    assert clear.mean() > 0.95
    np.testing.assert_array_equal(idx[clear], ref_idx[clear])
    np.testing.assert_allclose(val, ref_val, atol=2e-6)


def test_column_levels_hold_every_word_above_their_threshold():
    rng = np.random.default_rng(3)
    unit = unit_rows(rng, 50000, 12)
    directions = unit_rows(rng, 5, 12)
    thresholds, words, values, start, counts = search._column_levels(directions, unit, 6)
    columns = directions @ unit.T
    for j in range(len(directions)):
        for level in range(6):
            run = slice(start[j], start[j] + counts[j, level])
            inside = set(words[run].tolist())
            above = set(np.flatnonzero(columns[j] >= thresholds[j, level]).tolist())
            assert inside == above
            np.testing.assert_array_equal(values[run], columns[j, words[run]])
        assert np.all(np.diff(thresholds[j]) <= 0) and np.all(np.diff(counts[j]) >= 0)
