"""Search terms and queries (domain.search): what an image is found by, what a query asks."""
from __future__ import annotations

import pytest

from chalicelib import config
from chalicelib.domain import keys
from chalicelib.domain.records import ImageRecord
from chalicelib.domain.search import Search, filename_stem, query_words, terms_of, words


def record(title="", filename="f.jpg", description="", tags=()) -> ImageRecord:
    image_id = keys.new_image_id()
    return ImageRecord(image_id=image_id, owner="alice", filename=filename, source="api", title=title,
                       description=description, tags=list(tags), original_key=f"uploads/alice/{image_id}/{filename}")


def find(q: str, image: ImageRecord) -> bool:
    return Search(tuple(query_words(q))).matches(image)


def test_words_are_nfkc_casefolded_runs_of_letters_marks_and_digits():
    assert list(words("Summer-trip_2041.Day")) == ["summer", "trip", "2041", "day"]
    assert list(words("ＳＵＭＭＥＲ Straße ﬁne")) == ["summer", "strasse", "fine"]  # fullwidth, ß, the fi ligature
    assert list(words("Cafe\u0301 naïve")) == ["café", "naïve"]  # a combining accent composes, stays in its word
    assert list(words("हिंदी फ़ोटो")) == ["हिंदी", "फ़ोटो"]  # vowel signs are marks, not separators
    assert list(words("a b c 7 é x9")) == ["x9"]  # one character is no word
    assert list(words("x" * 50)) == ["x" * config.SEARCH_MAX_TERM_CHARS]


def test_the_filename_counts_by_its_stem_not_its_extension():
    assert filename_stem("IMG_2041.beach.JPG") == "IMG_2041.beach"
    assert filename_stem(".jpg") == ".jpg" and filename_stem("noext") == "noext"
    assert terms_of(record(filename="IMG_2041-beach.jpeg")) == ["img", "~img", "2041", "~204", "beach", "~bea"]


def test_terms_come_from_title_tags_filename_and_description_once_each_with_prefixes():
    image = record(title="Summer trip", filename="summer.png", description="Trip to the lake", tags=["holiday", "Lake"])
    assert terms_of(image) == ["summer", "~sum", "trip", "~tri", "holiday", "~hol", "lake", "~lak", "to", "the",
                               "~the"]


def test_terms_are_capped_and_a_word_comes_with_its_prefix_or_not_at_all():
    many = " ".join(f"w{n:02d}x" for n in range(40))  # 40 words, each with its own prefix term
    terms = terms_of(record(description=many))
    assert len(terms) == config.SEARCH_MAX_TERMS - 1 == 28  # 14 words and their prefixes; the 15th does not fit
    assert terms[-2:] == ["w13x", "~w13"]
    squeezed = terms_of(record(title=" ".join(f"w{n:02d}x" for n in range(14)), description="ok w14x"))
    assert squeezed[-1] == "ok" and len(squeezed) == config.SEARCH_MAX_TERMS  # a short word still fits
    assert not find("w14x", record(description=many)) and find("w13x", record(description=many))


def test_a_query_matches_whole_words_and_the_last_as_a_prefix():
    image = record(title="Summer trip", filename="IMG_2041.jpg", description="At the lake", tags=["Holiday"])
    for q in ("summer", "SUMM", "sum", "trip summ", "summer trip", "lake holi", "img 2041", "ＴＲＩＰ", "trip, s!"):
        assert find(q, image), q
    for q in ("summ trip", "trips", "jpg", "lake winter", "tri summer"):  # only the last word is a prefix
        assert not find(q, image), q


def test_query_words_are_distinct_and_a_repeat_keeps_its_last_place():
    assert query_words("Trip summer TRIP a") == ["summer", "trip"]
    assert query_words("  , a ! ") == []


@pytest.mark.parametrize("q, lookup", [
    ("summ", "~sum"),                 # alone: the prefix term
    ("su", "su"),                     # too short for a prefix term: a whole word
    ("lake summ", "lake"),            # the longest whole word
    ("cat photography", "cat"),       # a whole word of 3 beats the prefix term of 3
    ("of photography", "~pho"),       # the prefix term beats a word of 2
    ("of su", "of"),
    ("trip holiday summ", "holiday"),
])
def test_the_lookup_is_the_most_selective_term(q, lookup):
    assert Search(tuple(query_words(q))).lookup == lookup
