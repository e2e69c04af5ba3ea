"""Search: the terms an image is found by, and what a query asks for.

A word is a run of letters, marks and digits of text normalised with NFKC and casefolded
(so "Ｓｕｍｍｅｒ", "SUMMER" and "summer" are one word), cut to SEARCH_MAX_TERM_CHARS; a run of
one character is no word. An image's words are the distinct words of its title, tags, filename
stem and description, in that order (the extension is left out: it names the format, which
every image of that format shares). Each word of 3 or more characters also gives a prefix term
`~{its first 3}`, so that the word a user is still typing can be looked up. The terms (words and
prefix terms) are at most SEARCH_MAX_TERMS: a word comes with its prefix term or not at all, and
the first word that does not fit ends the list. The store keeps one word item per term.

A query's words, but the last, match whole words; the last matches the start of a word. An
image matches when every word of the query does. `Search.lookup` names the one term whose
index partition to read: the most selective.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from ..config import SEARCH_MAX_TERM_CHARS, SEARCH_MAX_TERMS
from .records import ImageRecord

PREFIX = "~"  # a prefix term's mark: never part of a word
PREFIX_CHARS = 3


def normalise(text: str) -> str:
    """NFKC, casefolded, NFKC again: casefolding can undo the normal form (Unicode's NFKC_Casefold)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def words(text: str) -> Iterator[str]:
    """The words of `text`, in order, repeats included: lazily, so a caller that has enough stops reading."""
    category = unicodedata.category
    run: list[str] = []
    for char in f"{normalise(text)} ":
        if category(char)[0] in "LMN":  # letters, marks (accents, Indic vowel signs), digits
            run.append(char)
            continue
        if len(run) > 1:
            yield "".join(run)[:SEARCH_MAX_TERM_CHARS]
        run = []


def filename_stem(filename: str) -> str:
    stem, dot, _ = filename.rpartition(".")
    return stem if dot and stem else filename


def _image_words(record: ImageRecord) -> Iterator[str]:
    yield from words(record.title)
    for tag in record.tags:
        yield from words(tag)
    yield from words(filename_stem(record.filename))
    yield from words(record.description)


def prefix_term(word: str) -> str | None:
    return f"{PREFIX}{word[:PREFIX_CHARS]}" if len(word) >= PREFIX_CHARS else None


def terms_of(record: ImageRecord) -> list[str]:
    """The record's terms, words and prefix terms, in order: what its word items index."""
    terms: dict[str, None] = {}
    for word in _image_words(record):
        new = [t for t in (word, prefix_term(word)) if t is not None and t not in terms]
        if len(terms) + len(new) > SEARCH_MAX_TERMS:
            break
        terms.update(dict.fromkeys(new))
    return list(terms)


def query_words(text: str) -> list[str]:
    """A query's distinct words, in order; a repeated word keeps its last place (the one being typed)."""
    return list(dict.fromkeys(reversed(list(words(text)))))[::-1]


@dataclass(frozen=True)
class Search:
    """What a query asks for: `words` (query_words), the last matched as a prefix."""

    words: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.words:
            raise ValueError("a search has at least one word")

    @property
    def lookup(self) -> str:
        """The term to read: the longest whole word; the last word's prefix term when no whole word is
        longer than it (at equal length a whole word is rarer than a prefix). The last word alone, when
        it is too short for a prefix term, is looked up as a whole word."""
        *whole, last = self.words
        prefix = prefix_term(last)
        if prefix is None and not whole:
            return last
        best = max(whole, key=len, default=None)
        if prefix is None or (best is not None and len(best) >= PREFIX_CHARS):
            assert best is not None
            return best
        return prefix

    def matches(self, record: ImageRecord) -> bool:
        """Whether the record's own terms hold every word: recomputed, nothing more is stored."""
        found = [t for t in terms_of(record) if not t.startswith(PREFIX)]
        *whole, last = self.words
        return all(w in found for w in whole) and any(w.startswith(last) for w in found)

    def scope(self) -> str:
        """The search as a page token's scope names it."""
        return " ".join(self.words)
