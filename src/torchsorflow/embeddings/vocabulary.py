"""Unknown words: the error they raise and the known spellings it suggests.

A typo should not end an exploration with a bare ``KeyError: 'pyhton'``. The error names the
word, the vocabulary size and the known words one edit away (a letter deleted, swapped, replaced
or inserted, or a different case), most frequent first. Generating those ~50 x len(word) spellings
and looking each up is cheap; scanning 400,000 words for the nearest would not be.

>>> close_spellings("kingg", {"king": 0, "kings": 1, "queen": 2}, ["king", "kings", "queen"])
['king', 'kings']
"""
from __future__ import annotations

import string


class UnknownWordError(KeyError):
    """A word that is not in the vocabulary; the message suggests close spellings that are."""

    def __init__(self, word, suggestions=(), vocab_size=None):
        self.word, self.suggestions = word, list(suggestions)
        size = f" ({vocab_size} words)" if vocab_size is not None else ""
        hint = f"; did you mean {', '.join(map(repr, self.suggestions))}?" if suggestions else ""
        self.message = f"{word!r} is not in the vocabulary{size}{hint}"
        super().__init__(self.message)

    def __str__(self):
        return self.message


def close_spellings(word, key_to_index, index_to_key, n=3):
    """Up to ``n`` known words one edit away from ``word`` or differing in case, most frequent
    (lowest index) first."""
    letters = string.ascii_lowercase + "-'"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    options = {word.lower(), word.upper(), word.capitalize()}
    options.update(a + b[1:] for a, b in splits if b)
    options.update(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    options.update(a + ch + b[1:] for a, b in splits if b for ch in letters)
    options.update(a + ch + b for a, b in splits for ch in letters)
    options.discard(word)
    found = sorted(key_to_index[o] for o in options if o in key_to_index)
    return [index_to_key[i] for i in found[:n]]
