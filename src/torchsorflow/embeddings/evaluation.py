"""Word-analogy and word-similarity evaluations with gensim 4.4's semantics, answered in batches.

``evaluate_word_analogies`` reads a file of questions *a b c d* ("*a* is to *b* as *c* is to
*d*") grouped by ``: section`` lines (the Google set of Mikolov et al. 2013, bundled as
``questions-words.txt``) and counts, per section and in total, how often the best answer
(3CosAdd, or 3CosMul with ``method="3cosmul"``) is *d*. The rules are gensim's, so the counts
are comparable with published gensim numbers:

* only the first ``restrict_vocab`` words (the most frequent ones) are searched and may appear
  in a question; a question with another word is skipped (``dummy4unknown=True``: counted wrong);
* with ``case_insensitive`` every word is upper-cased and a word stands for its most frequent
  spelling (the first one in the vocabulary);
* the three question words never count as an answer (by row, and by spelling: among the five
  best rows, the first whose spelling is not a question word is the prediction);
* the last section, ``Total accuracy``, pools all others.

gensim answers each question with its own pass over the vocabulary; here all questions go
through :mod:`torchsorflow.embeddings.search` together. Its float32 scores can differ from
gensim's in the last bits, so a question whose decision rests on a gap smaller than
:data:`~torchsorflow.embeddings.search.MARGIN` is re-answered with gensim's exact arithmetic
(that of ``most_similar`` or ``most_similar_cosmul``): the counts are identical, not just close.
gensim 4.4 itself has no 3CosMul evaluation (its ``similarity_function`` argument is ignored);
ours applies the same rules with ``most_similar_cosmul`` over the restricted vocabulary.
"""
from __future__ import annotations

import io
import itertools
import logging
import pathlib

import numpy as np

from .formats import read_utf8
from .search import MARGIN, analogy_top_k

logger = logging.getLogger(__name__)

DATA = pathlib.Path(__file__).resolve().parent / "data"


def datapath(name):
    """Path of a bundled evaluation file: ``questions-words.txt`` (Google analogies, 19,544
    questions in 14 sections) or ``wordsim353.tsv`` (WordSim-353 similarity judgements)."""
    path = DATA / name
    if not path.is_file():
        available = ", ".join(sorted(p.name for p in DATA.iterdir() if not p.name.startswith(".")))
        raise FileNotFoundError(f"no bundled file {name!r}; available: {available}")
    return path


def _restricted_vocab(kv, restrict_vocab, case_insensitive):
    """``(spelling -> first row, row -> row of its spelling, n)`` over the first ``n`` words."""
    from .keyed_vectors import check_restrict_vocab
    n = min(check_restrict_vocab(restrict_vocab), len(kv)) if restrict_vocab is not None \
        else len(kv)
    keys = kv.index_to_key[:n]
    if case_insensitive:
        keys = [k.upper() for k in keys]
    first = dict(zip(reversed(keys), range(n - 1, -1, -1)))   # the first spelling wins
    if len(first) == n:                                      # no two words share a spelling
        return first, np.arange(n), n
    return first, np.fromiter((first[key] for key in keys), dtype=np.int64, count=n), n


def _text_lines(path, encoding):
    """The lines of a text file as iterating over ``open(path)`` yields them; a decoding error
    names the file and the line."""
    return io.StringIO(read_utf8(path, encoding), newline=None)


def _read_analogies(path, case_insensitive):
    """Yield ``(section name or None, (a, b, c, d) or None)`` per line, as gensim parses them."""
    section = None
    for line_no, line in enumerate(_text_lines(path, "utf-8"), start=1):
        if line.startswith(": "):
            section = line.lstrip(": ").strip()
            yield section, None
            continue
        if section is None:
            raise ValueError(f"{path}, line {line_no}: a question before the first "
                             "': section' header line")
        words = line.split()
        if len(words) != 4:
            logger.info("Skipping invalid line #%i in %s", line_no, path)
            continue
        yield None, tuple(w.upper() for w in words) if case_insensitive else tuple(words)


def evaluate_word_analogies(kv, analogies=None, restrict_vocab=300000, case_insensitive=True,
                            dummy4unknown=False, method="3cosadd", similarity_function=None):
    """Accuracy of ``kv`` on an analogy file (default: the bundled Google set).

    Returns ``(score, sections)`` like gensim: ``score`` the overall accuracy, ``sections`` a
    list of dicts ``{"section": name, "correct": [(a, b, c, d), ...], "incorrect": [...]}`` in
    file order, the last one ``"Total accuracy"``. ``method`` is ``"3cosadd"`` (gensim's
    ``most_similar``) or ``"3cosmul"`` (``most_similar_cosmul`` over the restricted vocabulary);
    ``similarity_function="most_similar_cosmul"`` is accepted as a synonym for the latter.
    """
    if similarity_function is not None:
        names = {"most_similar": "3cosadd", "most_similar_cosmul": "3cosmul"}
        if similarity_function not in names:
            raise ValueError(f"similarity_function must be one of {sorted(names)}")
        method = names[similarity_function]
    if method not in ("3cosadd", "3cosmul"):
        raise ValueError(f"method must be '3cosadd' or '3cosmul', got {method!r}")
    path = analogies if analogies is not None else datapath("questions-words.txt")
    first, canonical, n = _restricted_vocab(kv, restrict_vocab, case_insensitive)
    logger.info("Evaluating word analogies for top %i words in the model on %s", n, path)

    sections, entries, questions = [], [], []   # entries: (section, quad, question row or -1)
    quadruplets = oov = 0
    for name, quad in _read_analogies(path, case_insensitive):
        if name is not None:
            sections.append({"section": name, "correct": [], "incorrect": []})
            continue
        quadruplets += 1
        rows = [first.get(word, -1) for word in quad]
        if min(rows) < 0:
            oov += 1
            if dummy4unknown:
                entries.append((sections[-1], quad, -1))
            continue
        entries.append((sections[-1], quad, len(questions)))
        questions.append(rows)
    if quadruplets == 0:
        raise ValueError(f"{path}: no analogy questions (lines of four words) found")

    correct = _answer(kv, np.array(questions, dtype=np.int64).reshape(-1, 4), canonical, n,
                      method)
    for section, quad, q in entries:
        section["correct" if q >= 0 and correct[q] else "incorrect"].append(quad)
    for section in sections:
        _log_section(section)
    total = {"section": "Total accuracy",
             "correct": list(itertools.chain.from_iterable(s["correct"] for s in sections)),
             "incorrect": list(itertools.chain.from_iterable(s["incorrect"] for s in sections))}
    logger.info("Quadruplets with out-of-vocabulary words: %.1f%%", 100.0 * oov / quadruplets)
    score = _log_section(total)
    sections.append(total)
    return score, sections


def _log_section(section):
    correct, incorrect = len(section["correct"]), len(section["incorrect"])
    if correct + incorrect == 0:
        return 0.0
    score = correct / (correct + incorrect)
    logger.info("%s: %.1f%% (%i/%i)", section["section"], 100.0 * score, correct,
                correct + incorrect)
    return score


def _answer(kv, questions, canonical, n, method, k=6):
    """Whether each question ``(a, b, c, expected)`` (rows) is answered correctly."""
    if not len(questions):
        return np.zeros(0, dtype=bool)
    unit = kv.get_normed_vectors()[:n]
    ia, ib, ic, expected = questions.T
    idx, scores = analogy_top_k(unit, ia, ib, ic, k=k, method=method)
    pick, robust = _walk(idx, scores, canonical, questions[:, :3], method)
    redo = np.flatnonzero(~robust)
    for q in redo:   # near-ties: decided with gensim's own arithmetic
        pick[q] = _walk_exact(kv, ia[q], ib[q], ic[q], canonical, n, method)
    logger.debug("%d of %d questions re-answered with gensim's arithmetic (near-ties)",
                 len(redo), len(questions))
    return (pick >= 0) & (canonical[np.maximum(pick, 0)] == expected)


def _walk(idx, scores, canonical, ignore, method):
    """gensim's choice among the five best rows of each question: the first whose spelling is
    not a question word (else the fifth); -1 if there is none. ``robust`` says that no reordering
    within the float32 rounding margin, of the rows up to the chosen one and the next, could
    change that choice."""
    top = idx[:, :5]
    valid = top >= 0
    spelling = np.where(valid, canonical[np.maximum(top, 0)], -1)
    free = valid & (spelling != ignore[:, :1]) & (spelling != ignore[:, 1:2]) \
        & (spelling != ignore[:, 2:])
    stop = np.where(free.any(axis=1), free.argmax(axis=1), valid.sum(axis=1) - 1)
    pick = np.where(stop >= 0, np.take_along_axis(top, np.maximum(stop, 0)[:, None], 1)[:, 0], -1)
    ranked = scores[:, :min(6, scores.shape[1])].astype(np.float64)
    with np.errstate(invalid="ignore"):
        gaps = ranked[:, :-1] - ranked[:, 1:]
    scale = np.maximum(np.abs(ranked[:, :-1]), 1.0) if method == "3cosmul" else 1.0
    needed = np.arange(gaps.shape[1])[None, :] <= stop[:, None]
    robust = np.all((gaps > MARGIN * scale) | ~needed, axis=1)
    return pick, robust


def _walk_exact(kv, a, b, c, canonical, n, method):
    """The same choice, from gensim's exact scores for one question."""
    if method == "3cosadd":
        mean = kv.get_mean_vector([b, c, a], np.array([1.0, 1.0, -1.0]), pre_normalize=True,
                                  post_normalize=True, ignore_missing=False)
        scores = kv._cosines(mean, n)
        skip = [b, c, a]
    else:
        terms = [kv.get_vector(i, norm=True) for i in (b, c, a)]
        scores = kv._cosmul_scores(terms[:2], terms[2:], n)
        skip = {a, b, c}
    top = kv._best(scores, 5, skip)
    if not top:
        return -1
    return next((r for r in top if canonical[r] not in (a, b, c)), top[-1])


def evaluate_word_pairs(kv, pairs=None, delimiter="\t", encoding="utf8", restrict_vocab=300000,
                        case_insensitive=True, dummy4unknown=False):
    """Correlation of ``kv``'s cosine similarities with human judgements (default: the bundled
    WordSim-353). Returns ``(pearson, spearman, oov_ratio)`` as gensim: SciPy's results
    (statistic, p-value) and the percentage of pairs with an unknown word. Lines starting with
    ``#`` are comments; a pair with an unknown word is skipped (``dummy4unknown``: similarity 0).
    """
    from scipy import stats

    path = pairs if pairs is not None else datapath("wordsim353.tsv")
    first, _, _ = _restricted_vocab(kv, restrict_vocab, case_insensitive)
    gold, model = [], []
    oov = 0
    for line_no, line in enumerate(_text_lines(path, encoding), start=1):
        if not line or line.startswith("#"):
            continue
        try:
            parts = line.split(delimiter)
            a, b, sim = [p.upper() for p in parts] if case_insensitive else parts
            sim = float(sim)
        except (ValueError, TypeError):
            logger.info("Skipping invalid line #%d in %s", line_no, path)
            continue
        if a not in first or b not in first:
            oov += 1
            if dummy4unknown:
                model.append(0.0)
                gold.append(sim)
            continue
        gold.append(sim)
        model.append(kv.similarity(first[a], first[b]))
    if not gold:
        raise ValueError(f"No valid similarity judgements found in {path}: either invalid "
                         f"format or all are out-of-vocabulary in {kv}")
    spearman = stats.spearmanr(gold, model)
    pearson = stats.pearsonr(gold, model)
    oov_ratio = float(oov) / (len(gold) if dummy4unknown else len(gold) + oov) * 100
    logger.info("Pearson correlation coefficient against %s: %.4f", path, pearson[0])
    logger.info("Spearman rank-order correlation coefficient against %s: %.4f", path, spearman[0])
    logger.info("Pairs with unknown words ratio: %.1f%%", oov_ratio)
    return pearson, spearman, oov_ratio
