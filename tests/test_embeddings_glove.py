"""GloVe training: co-occurrence counts, the objective's autodiff gradient against the closed form
and PyTorch, and training on a corpus with known analogies."""
import collections

import numpy as np
import pytest

from torchsorflow.cli import main
from torchsorflow.embeddings import load_glove
from torchsorflow.embeddings.glove import (build_vocab, cooccurrence_matrix, glove_loss,
                                           train_glove, train_glove_on_corpus, weighting)
import torchsorflow as tsf


def naive_cooccurrences(lines, vocab, window):
    """Stanford's definition, one pair at a time: out-of-vocabulary tokens are dropped first,
    then every pair at distance d <= window on a line adds 1/d in both directions."""
    counts = collections.defaultdict(float)
    for line in lines:
        ids = [vocab.index(t) for t in line.split() if t in vocab]
        for i, centre in enumerate(ids):
            for d in range(1, window + 1):
                if i - d >= 0:
                    counts[centre, ids[i - d]] += 1.0 / d
                    counts[ids[i - d], centre] += 1.0 / d
    return counts


def test_cooccurrence_counts_match_the_definition():
    lines = ["the cat sat on the mat", "a dog sat", "the the rare cat", "", "cat"]
    vocab, counts = build_vocab(lines, min_count=2)
    assert vocab == ["the", "cat", "sat"] and counts.tolist() == [4, 3, 2]
    X = cooccurrence_matrix(lines, vocab, window=3, progress=False, chunk_tokens=4)
    expected = naive_cooccurrences(lines, vocab, 3)
    dense = X.toarray()
    assert dense.shape == (3, 3)
    for (i, j), value in expected.items():
        assert dense[i, j] == pytest.approx(value)
    assert np.count_nonzero(dense) == len(expected)
    np.testing.assert_allclose(dense, dense.T)
    with pytest.raises(ValueError, match="no word occurs at least min_count=9 times"):
        build_vocab(lines, min_count=9)


def gradient_problem(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    n, d, m = 7, 4, 15
    params = [rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=n),
              rng.normal(size=n)]
    rows, cols = rng.integers(0, n, m), rng.integers(0, n, m)   # repeated words included
    x = rng.uniform(0.5, 300.0, m)                               # both sides of x_max
    return [p.astype(dtype) for p in params], rows, cols, x


def closed_form(W, C, b, c, rows, cols, x):
    """J and its gradients written out: with the residual e = w_i.c_j + b_i + c_j - log x,
    dJ/dw_i = sum_j 2 f e c_j, dJ/dc_j = sum_i 2 f e w_i, dJ/db_i = sum_j 2 f e (repeated words
    add up)."""
    f = weighting(x)
    e = np.einsum("ij,ij->i", W[rows], C[cols]) + b[rows] + c[cols] - np.log(x)
    g = 2 * f * e
    grads = [np.zeros_like(p) for p in (W, C, b, c)]
    np.add.at(grads[0], rows, g[:, None] * C[cols])
    np.add.at(grads[1], cols, g[:, None] * W[rows])
    np.add.at(grads[2], rows, g)
    np.add.at(grads[3], cols, g)
    return float(np.sum(f * e * e)), grads


def autodiff_loss_and_grads(params, rows, cols, x):
    tensors = [tsf.tensor(p, requires_grad=True) for p in params]
    loss = glove_loss(*tensors, rows, cols, x)
    loss.backward()
    return loss.item(), [t.grad.numpy() for t in tensors]


def test_autodiff_gradient_equals_the_closed_form():
    params, rows, cols, x = gradient_problem()
    loss, grads = autodiff_loss_and_grads(params, rows, cols, x)
    expected_loss, expected = closed_form(*params, rows, cols, x)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for ours, reference in zip(grads, expected):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)


def test_autodiff_gradient_equals_pytorch():
    torch = pytest.importorskip("torch")
    params, rows, cols, x = gradient_problem(seed=1)
    loss, grads = autodiff_loss_and_grads(params, rows, cols, x)
    W, C, b, c = [torch.tensor(p, requires_grad=True) for p in params]
    r, k = torch.tensor(rows), torch.tensor(cols)
    residual = (W[r] * C[k]).sum(1) + b[r] + c[k] - torch.log(torch.tensor(x))
    f = torch.clamp((torch.tensor(x) / 100.0) ** 0.75, max=1.0)
    total = (f * residual ** 2).sum()
    total.backward()
    assert total.item() == pytest.approx(loss, rel=1e-12)
    for ours, tensor in zip(grads, (W, C, b, c)):
        np.testing.assert_allclose(ours, tensor.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_row_steps_equal_dense_adagrad_on_whole_tables():
    """Training steps only the rows a batch touches; that must be optim.Adagrad's dense step on
    the whole tables (untouched rows have zero gradient and stay put)."""
    import scipy.sparse

    from torchsorflow.optim import Adagrad
    params, rows, cols, x = gradient_problem(seed=2)
    X = scipy.sparse.coo_matrix((x, (rows, cols)), shape=(7, 7))
    X.sum_duplicates()
    model = train_glove(X, dim=4, epochs=3, batch_size=4, seed=3, dtype=np.float64,
                        progress=False)
    # the same run, dense: replay train_glove's initialisation and batch order
    X = X.tocoo()
    entries = X.data > 0
    r, k, v = X.row[entries].astype(np.int64), X.col[entries].astype(np.int64), X.data[entries]
    rng = np.random.default_rng(3)
    tables = [tsf.tensor((rng.random((7, 4)) - 0.5) / 4, requires_grad=True),
              tsf.tensor((rng.random((7, 4)) - 0.5) / 4, requires_grad=True),
              tsf.tensor(np.zeros(7), requires_grad=True),
              tsf.tensor(np.zeros(7), requires_grad=True)]
    optimizer = Adagrad(tables, lr=0.05, initial_accumulator_value=1.0)
    for _ in range(3):
        order = rng.permutation(len(v))
        for start in range(0, len(v), 4):
            sel = order[start:start + 4]
            optimizer.zero_grad()
            glove_loss(*tables, r[sel], k[sel], v[sel]).backward()
            optimizer.step()
    for ours, dense in zip((model.W, model.W_ctx, model.b, model.b_ctx), tables):
        np.testing.assert_allclose(ours, dense.numpy(), rtol=1e-12, atol=1e-14)


COUNTRIES = [("france", "paris"), ("germany", "berlin"), ("italy", "rome"), ("spain", "madrid"),
             ("japan", "tokyo"), ("china", "beijing"), ("egypt", "cairo"), ("russia", "moscow"),
             ("greece", "athens"), ("poland", "warsaw")]
NOUNS = [("cat", "cats"), ("dog", "dogs"), ("cow", "cows"), ("bird", "birds"),
         ("horse", "horses"), ("duck", "ducks"), ("frog", "frogs"), ("bee", "bees"),
         ("lion", "lions"), ("snake", "snakes")]


def templated_corpus(n_lines, seed=0):
    """Sentences "MARKER WORD TOPIC": a country with "nation" and a capital with "town" (a
    singular noun with "one", a plural with "many") nine times in ten, and a topic word of the
    pair 70% of the time (else a random pair's). Country and capital then differ by the same
    context ratios for every pair, which is what makes GloVe's vector offsets parallel."""
    rng = np.random.default_rng(seed)
    groups = [(COUNTRIES, "topic", ("nation", "town")), (NOUNS, "trait", ("one", "many"))]
    lines = []
    for _ in range(n_lines):
        pairs, prefix, markers = groups[rng.integers(2)]
        i, side = rng.integers(len(pairs)), rng.integers(2)
        marker = markers[side] if rng.random() < 0.9 else markers[1 - side]
        topic = i if rng.random() < 0.7 else rng.integers(len(pairs))
        lines.append(f"{marker} {pairs[i][side]} {prefix}{topic}x{rng.integers(3)}")
    return lines


def analogy_accuracy(kv, pairs):
    questions = [(a, b, c, d) for (a, b) in pairs for (c, d) in pairs if a != c]
    return np.mean([kv.analogy(a, b, c) == d for a, b, c, d in questions])


def test_trained_vectors_solve_the_corpus_analogies():
    kv, model = train_glove_on_corpus(templated_corpus(10000), dim=10, window=3, min_count=1,
                                      epochs=60, batch_size=256, progress=False)
    chance = 1 / (len(kv) - 3)
    assert chance < 0.011
    assert analogy_accuracy(kv, COUNTRIES) > 0.5       # 86% with this seed (76-98% over 3 seeds)
    assert analogy_accuracy(kv, NOUNS) > 0.5           # 82% (71-92%)
    losses = np.array(model.losses)
    assert np.mean(np.diff(losses) < 0) > 0.9 and losses[-1] < 0.2 * losses[0]
    np.testing.assert_array_equal(model.vectors, model.W + model.W_ctx)


def test_train_rejects_bad_input():
    import scipy.sparse
    with pytest.raises(ValueError, match="must be square"):
        train_glove(scipy.sparse.csr_matrix(np.ones((2, 3))), progress=False)
    with pytest.raises(ValueError, match="no positive entries"):
        train_glove(scipy.sparse.csr_matrix((3, 3)), progress=False)
    with pytest.raises(ValueError, match="window must be at least 1"):
        cooccurrence_matrix(["a b"], ["a", "b"], window=0)


def test_tsf_words_train_writes_stanford_format(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(templated_corpus(2000, seed=1)) + "\n", encoding="utf-8")
    out = tmp_path / "vectors.txt"
    assert main(["words", "train", str(corpus), "--dim", "8", "--epochs", "5", "--min-count",
                 "1", "--window", "3", "--out", str(out), "--quiet"]) == 0
    kv = load_glove(out)
    assert kv.vector_size == 8 and "paris" in kv and len(kv) == 104
    assert "104 words (min count 1)" in capsys.readouterr().out
