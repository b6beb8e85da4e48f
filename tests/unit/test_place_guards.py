"""The guards that keep common words and person names out of the place lexicon."""

import pytest

from streams.enrich.place_guards import PlaceGuard, ascii_fold, latin_name_shape

# Zipf frequencies per (word, language) for the tests; anything else is rare (1.0).
FREQUENCIES = {
    ("most", "en"): 6.0,
    ("police", "en"): 5.3,
    ("nice", "en"): 5.4,
    ("nice", "fr"): 4.6,
    ("hamburg", "de"): 5.2,
    ("sachsen", "de"): 4.8,
    ("vele", "nl"): 4.5,
    ("high", "en"): 5.5,
    ("point", "en"): 5.3,
    ("ciudad", "es"): 5.3,
    ("batman", "en"): 4.2,
    ("real", "es"): 5.3,
}


def zipf(text, lang):
    return FREQUENCIES.get((text, lang), 1.0)


@pytest.fixture
def guard():
    return PlaceGuard(zipf=zipf, person_names=frozenset({"Florence", "Tyler", "Diego", "Martin"}))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Москва", "not Latin script"),
        ("MUC", "all capitals"),
        ("les Escaldes", "not capitalised"),
        ("Son-La", "transcription"),  # Wade-Giles syllables
        ("P'u-t'o", "transcription"),
        ("Kassel'", "transcription"),
        ("XIXe", "numeral"),
        ("The D", "initial"),
        ("The own", "lower-case word"),
        ("Anconn-a", "lower-case word"),
        ("Area 51", "digit or symbol"),
        ("A B C D E", "too many words"),
    ],
)
def test_shapes_that_are_not_place_names(name, reason):
    assert latin_name_shape(name) == reason


@pytest.mark.parametrize(
    "name",
    [
        "Île-de-France",
        "'s-Hertogenbosch",
        "Frankfurt am Main",
        "L'Aquila",
        "Côte-d'Or",
        "King's Lynn",
        "Bergen op Zoom",
        "A Coruña",
    ],
)
def test_shapes_of_place_names(name):
    assert latin_name_shape(name) is None


def test_common_words_are_dropped_where_they_are_words(guard):
    assert guard.verdict("Most", "en", 66_000) == "frequent word"
    assert guard.verdict("Police", "en", 33_000) == "frequent word"
    assert guard.verdict("Most", "de", 66_000) is None
    # "Nice" is a word in English, the city in French (spoken there: the home bar).
    assert guard.verdict("Nice", "en", 342_000) == "frequent word"
    assert guard.verdict("Nice", "fr", 342_000, home=True) is None


def test_a_big_city_may_be_as_frequent_as_a_word(guard):
    assert guard.verdict("Hamburg", "de", 1_800_000, home=True) is None
    assert guard.verdict("Hamburg", "de", 60_000, home=True) == "frequent word"


def test_a_city_is_frequent_at_home_more_than_abroad(guard):
    # Batman, a Turkish city of 450,000, is named this often in English for another reason.
    assert guard.verdict("Batman", "en", 450_000) == "frequent word"
    assert guard.verdict("Batman", "en", 450_000, home=True) is None


def test_an_alternate_name_does_not_borrow_the_size_of_its_city_abroad(guard):
    # "Vele" is an alternate name of Belém (1.5 million): in Dutch it is a word.
    assert guard.verdict("Vele", "nl", 1_500_000, main=False) == "frequent word"
    assert guard.verdict("Vele", "nl", 1_500_000, main=True) is None


def test_regions_have_a_higher_bar_at_home(guard):
    assert guard.verdict("Sachsen", "de", None, home=True) == "frequent word"
    strict = PlaceGuard(zipf=zipf, region_zipf=4.9)
    assert strict.verdict("Sachsen", "de", None, home=True, region=True) is None
    assert strict.verdict("Sachsen", "de", None, home=True, region=False) == "frequent word"


def test_person_names(guard):
    assert guard.verdict("Florence", "en", 40_000) == "person name"
    assert guard.verdict("Diego Martin", "en", 25_000) == "person name"
    assert guard.verdict("Martin City", "en", 25_000) is None
    assert guard.verdict("Florence", "en", 700_000) is None  # a famous city's own name
    assert guard.verdict("Florence", "en", 700_000, main=False) == "person name"


def test_short_names_need_a_big_place(guard):
    assert guard.verdict("Pau", "fr", 80_000) == "short name of a small place"
    assert guard.verdict("Ulm", "de", 126_000) is None


def test_title_case_phrases_of_common_words_in_english_only(guard):
    assert guard.verdict("High Point", "en", 110_000) == "phrase of frequent words"
    assert guard.verdict("Ciudad Real", "es", 75_000, home=True) is None


def test_ascii_fold():
    assert ascii_fold("Salé") == "Sale"
    assert ascii_fold("Osnabrück") == "Osnabruck"
