"""Entity rules for pipelines without a trained NER: people, organisations and their guards.

Sentences are written for these tests, in the six languages the rules serve. A gazetteer match the
guards need is given by hand (``gaz``), so the rules are tested apart from the shipped gazetteer;
the last tests run them inside a real blank pipeline.
"""

from functools import cache

import pytest

from streams.enrich import lexicons
from streams.enrich.entities import build_pipeline, merge_mentions
from streams.enrich.gazetteer import load_gazetteer
from streams.enrich.matcher import Mention
from streams.enrich.rules import EntityRules, drop_overlapping, tokenize
from streams.settings import config_dir


@cache
def rules(lang: str) -> EntityRules:
    return EntityRules(lang)


def gaz(text: str, surface: str, label: str = "LOC", key: str | None = "k") -> Mention:
    start = text.index(surface)
    return Mention(start, start + len(surface), label, "gazetteer", key)


def found(lang: str, text: str, *gazetteer: Mention) -> set[tuple[str, str]]:
    """The rule mentions that survive the merge with the gazetteer's, as the pipeline merges them."""
    merged = merge_mentions([*rules(lang).find(text, gazetteer), *gazetteer])
    return {(text[m.start : m.end], m.label) for m in merged if m.source == "rule"}


def people(lang: str, text: str, *gazetteer: Mention) -> set[str]:
    return {surface for surface, label in found(lang, text, *gazetteer) if label == "PER"}


def orgs(lang: str, text: str, *gazetteer: Mention) -> set[str]:
    return {surface for surface, label in found(lang, text, *gazetteer) if label == "ORG"}


# --- people ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "person"),
    [
        ("nl", "Volgens onderzoeker Sophie Brasseur gaat het goed met de zeehonden.", "Sophie Brasseur"),
        ("en", "The report was written by Helena Marsh and two colleagues.", "Helena Marsh"),
        ("de", "Am Montag sprach Katharina Lunz mit Journalisten.", "Katharina Lunz"),
        ("fr", "La chercheuse Laurence Dubreuil a présenté ses résultats.", "Laurence Dubreuil"),
        ("es", "El portavoz, Alberto Núñez Feijóo, no respondió.", "Alberto Núñez Feijóo"),
        ("it", "Ieri Giancarlo Giorgetti ha parlato alla Camera.", "Giancarlo Giorgetti"),
    ],
)
def test_given_name_and_surname(lang, text, person):
    assert person in people(lang, text)


@pytest.mark.parametrize(
    ("lang", "text", "person"),
    [
        ("nl", "Het plan komt van Sophie van Dijk uit Leiden.", "Sophie van Dijk"),
        ("de", "Das sagte Ursula von der Leyen in Brüssel.", "Ursula von der Leyen"),
        ("fr", "Selon Marine Le Pen, le vote est acquis.", "Marine Le Pen"),
        ("it", "Lo ha detto Luca De Meo ai giornalisti.", "Luca De Meo"),
        ("es", "Según Ismael de la Cruz, el río bajó.", "Ismael de la Cruz"),
        ("it", "La pasticcera Chiara Lo Presti sorride.", "Chiara Lo Presti"),
        ("en", "Councillor Margaret O'Donnell agreed.", "Margaret O'Donnell"),
    ],
)
def test_surname_particles_are_part_of_the_name(lang, text, person):
    assert person in people(lang, text)


def test_a_known_surname_with_particles_makes_any_name_before_it_a_person():
    # "Marloes" is in no lexicon; "van Dijk" is a Dutch surname as a whole.
    text = "Volgens restaurator Marloes van Dijk is het vernis vergeeld. Van Dijk werkt al jaren."
    assert people("nl", text) == {"Marloes van Dijk", "Van Dijk"}
    assert people("nl", "De Grote Prijs van Dijk bestaat niet.") == set()  # "Prijs": a common word


def test_a_given_name_at_a_sentence_start_is_still_a_name():
    text = "Lena Hofbauer leitet das Labor. Jonas Vingegaard gewann."
    assert people("de", text) == {"Lena Hofbauer", "Jonas Vingegaard"}


def test_a_given_name_that_is_a_common_word_needs_a_rare_surname():
    # "Floor" is a Dutch given name and an English word: "Floor Manager" is a job, not a person,
    # at a sentence start or not.
    assert people("en", "Floor Manager wanted. The Floor Manager said no.") == set()
    assert people("en", "The singer Floor Kjeldsen said no.") == {"Floor Kjeldsen"}
    # "Summer" is a name in few countries and an English word: "Parade" is too frequent to be its surname.
    assert people("en", "The Summer Parade drew crowds.") == set()


def test_german_noun_after_a_given_name_is_not_a_surname():
    text = "Am Sonntag feierte Anna Geburtstag. Laut Klaus Fischer ist die Lage ernst."
    assert people("de", text) == {"Klaus Fischer"}  # Fischer: a noun, and a known surname


def test_shouted_headline_gives_nothing():
    text = "MINISTER JAN JANSEN STAPT OP NA RUZIE MET RIVM\nMinister Jan Jansen stapt op."
    assert found("nl", text) == {("Jan Jansen", "PER")}


def test_titles_are_not_part_of_the_span():
    text = "Dr. Klaus Reinhardt sprach. Präsident Frank Renout auch. Minister Jan Jansen zweifelt."
    assert people("de", text) == {"Klaus Reinhardt", "Frank Renout", "Jan Jansen"}


@pytest.mark.parametrize(
    ("lang", "text", "person"),
    [
        ("de", "Der ukrainische Botschafter Oleksii Makeiev dankte der Regierung.", "Oleksii Makeiev"),
        ("nl", "Analist Ruud Hoekstra van ING noemt het verlies beperkt.", "Ruud Hoekstra"),
        ("nl", "Directeur Taco Dibbits verwacht veel bezoekers.", "Taco Dibbits"),
        ("de", "Der VW-Chef Oliver Blume sagte das.", "Oliver Blume"),
        ("de", "Gesundheitsminister Karl Lauterbach warnte.", "Karl Lauterbach"),
    ],
)
def test_a_role_before_a_name_makes_it_a_person(lang, text, person):
    assert person in people(lang, text)


def test_a_role_before_a_common_word_is_no_person():
    assert people("de", "Der Minister Wirtschaft sprach.") == set()


def test_a_given_name_the_gazetteer_knows_as_a_place_starts_no_person_unless_it_is_a_common_name():
    text = "Alexandria Ocasio-Cortez kam. Nancy Pelosi auch."
    assert people("de", text) == {"Alexandria Ocasio-Cortez", "Nancy Pelosi"}
    # "Alexandria" is a given name in few countries; "Nancy" in many (the town in Lorraine notwithstanding)
    assert people("de", text, gaz(text, "Alexandria"), gaz(text, "Nancy")) == {"Nancy Pelosi"}


def test_a_name_inside_or_on_a_gazetteer_place_is_left_to_the_gazetteer():
    text = "Paris Saint-Germain won in Milton Keynes on Sunday."
    assert people("en", text) == {"Milton Keynes"}  # a gap of this gazetteer, a person by the rules
    assert people("en", text, gaz(text, "Paris"), gaz(text, "Milton Keynes")) == set()


def test_a_longer_capitalised_name_is_not_a_person():
    assert people("en", "The rover was built by Thales Alenia Space in Turin.") == set()
    assert people("nl", "Het team Red Bull Racing won.") == set()


def test_surname_alone_later_in_the_same_text():
    text = "Jan de Vries is econoom. De Vries zei dat de rente stijgt, volgens de Vries."
    assert people("nl", text) == {"Jan de Vries", "De Vries", "de Vries"}


def test_given_name_alone_later_in_the_same_text():
    text = "Carlos Alcaraz won again. Alcaraz said: 'Carlos is tired.'"
    assert people("en", text) == {"Carlos Alcaraz", "Alcaraz", "Carlos"}


def test_a_surname_that_is_a_common_word_is_not_taken_at_a_sentence_start():
    text = "The study by Helena Brown is out. Brown said so. Brown bears are rare, Brown added."
    assert people("en", text) == {"Helena Brown", "Brown"}
    spans = {(m.start, text[m.start : m.end]) for m in rules("en").find(text)}
    assert (text.index("Brown bears"), "Brown") not in spans and (text.index("Brown added"), "Brown") in spans


def test_german_genitive_of_a_surname():
    assert "Weidels" in people("de", "Alice Weidel sprach. Weidels Partei jubelte.")


def test_a_known_persons_surname_alone_keeps_the_link():
    text = "Vladimir Putin sprak. Later zei Putin niets."
    known = gaz(text, "Vladimir Putin", "PER", "Q7747")
    later = [(text[m.start : m.end], m.key) for m in rules("nl").find(text, [known]) if m.start > known.end]
    assert later == [("Putin", "Q7747")]


def test_a_given_name_opening_another_name_is_not_the_person():
    text = "Carlos Alcaraz won. Carlos Tennis Academy is his club."
    later = [(text[m.start : m.end], m.label) for m in rules("en").find(text) if m.start > text.index("won")]
    assert ("Carlos", "PER") not in later


def test_surname_of_someone_else_is_not_taken():
    # "Frank" of "Frank Renout" is no reference to Frank Jansen.
    assert people("nl", "Frank Jansen zei het. Frank Renout ook.") == {"Frank Jansen", "Frank Renout"}


# --- organisations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "org"),
    [
        ("nl", "Het RIVM meldt meer gevallen.", "RIVM"),
        ("de", "Die AfD legt zu.", "AfD"),
        ("nl", "Oekraïne mag nooit NAVO-lid worden.", "NAVO"),
        ("de", "Ein CDU-Politiker widersprach.", "CDU"),
        ("de", "Die IG Metall droht mit Streik.", "IG Metall"),
        ("nl", "Een arts van het UMC Utrecht zegt dat.", "UMC Utrecht"),
    ],
)
def test_acronyms(lang, text, org):
    extra = [gaz(text, "Utrecht")] if "Utrecht" in text else []
    assert org in orgs(lang, text, *extra)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("de", "Kapitel IV des Berichts nennt die Daten."),  # roman numeral
        ("de", "Der Preis stieg um drei EUR am Tag."),  # currency code
        ("nl", "De CEO zegt dat het 20 KM is."),  # common all-caps words and units
        ("en", "The Labour MP for Reading spoke."),
        ("de", "Der MdB aus Essen sprach."),
        ("en", "The FTSE 100 fell while the CAC 40 rose."),  # stock indices
        ("nl", "De PSI 20 steeg."),  # an acronym before a number: an index, not an organisation
        ("nl", "Dat is NIET waar, zegt hij."),  # a word in capitals for emphasis
        ("de", "Die Firma ist eine GmbH mit Sitz in Köln."),  # a legal form alone
        ("en", "GRACE-FO measured the ice."),  # a code, not an organisation before a noun
        ("it", "Titolo\n\nROMA - Il governo ha approvato la legge."),  # a dateline
        ("es", "MADRID, 3 may. - El Gobierno aprobó la ley."),
    ],
)
def test_acronym_guards(lang, text):
    assert orgs(lang, text) == set()


@pytest.mark.parametrize(
    ("lang", "text", "org"),
    [
        ("de", "Die Deutsche Bank erhöhte die Zinsen.", "Deutsche Bank"),
        ("en", "Scientists at the Alfred Wegener Institute agree.", "Alfred Wegener Institute"),
        ("nl", "Onderzoekers van Wageningen Marine Research tellen.", "Wageningen Marine Research"),
        ("en", "The State Department declined to comment.", "State Department"),
        ("de", "Forscher der Technische Universität München melden das.", "Technische Universität München"),
    ],
)
def test_organisation_word_at_the_end(lang, text, org):
    extra = [gaz(text, "München")] if "München" in text else []
    assert org in orgs(lang, text, *extra)


@pytest.mark.parametrize(
    ("lang", "text", "org", "place"),
    [
        ("fr", "La Banque de France prévoit une croissance faible.", "Banque de France", "France"),
        ("en", "The Bank of England held rates.", "Bank of England", "England"),
        ("fr", "Le Ministère de la Transition écologique a réagi.", "Ministère de la Transition écologique", None),
        ("nl", "Het Ministerie van Financiën reageerde niet.", "Ministerie van Financiën", None),
        ("es", "La Universidad Complutense de Madrid publicó.", "Universidad Complutense de Madrid", "Madrid"),
        ("fr", "Des chercheurs de l'Institut Pasteur ont publié.", "Institut Pasteur", None),
        ("de", "Die Universität Hamburg forscht.", "Universität Hamburg", "Hamburg"),
        ("it", "Lo dice la Banca d'Italia nel rapporto.", "Banca d'Italia", "Italia"),
        ("en", "The Department of Health and Social Care said so.", "Department of Health and Social Care", None),
    ],
)
def test_organisation_word_at_the_start(lang, text, org, place):
    extra = [gaz(text, place)] if place else []
    assert org in orgs(lang, text, *extra)


def test_a_regnal_number_belongs_to_the_name():
    assert orgs("es", "Según el Instituto de Salud Carlos III, todo va bien.") == {"Instituto de Salud Carlos III"}
    assert orgs("it", "Ricercatori dell'Università Federico II lo dicono.") == {"Università Federico II"}


def test_a_place_or_a_person_ends_an_organisation_name():
    text = "Il governatore della Banca d'Italia Fabio Panetta ha parlato."
    assert orgs("it", text, gaz(text, "Italia")) == {"Banca d'Italia"}
    text = "The University of Oxford and Imperial College London published it."
    assert orgs("en", text, gaz(text, "London")) == {"University of Oxford", "Imperial College London"}
    text = "Die Chefin der Agentur für Arbeit Andrea Nahles sagte das."
    assert orgs("de", text) == {"Agentur für Arbeit"}


@pytest.mark.parametrize(
    ("lang", "text", "org"),
    [
        ("de", "Die Bundesärztekammer warnt.", "Bundesärztekammer"),
        ("de", "Das Umweltbundesamt misst.", "Umweltbundesamt"),
        ("nl", "Rijkswaterstaat sluit de brug.", "Rijkswaterstaat"),
        ("de", "Das Robert Koch-Institut meldet Fälle.", "Robert Koch-Institut"),
        ("de", "Forscher des Max-Planck-Instituts für Quantenoptik rechnen.", "Max-Planck-Instituts für Quantenoptik"),
    ],
)
def test_compound_organisation_words(lang, text, org):
    assert org in orgs(lang, text)


@pytest.mark.parametrize(
    ("lang", "text", "org"),
    [
        ("de", "Die Volkswagen AG meldet Verluste.", "Volkswagen AG"),
        ("nl", "ASML Holding N.V. groeit.", "ASML Holding N.V."),
        ("it", "Contratto per Leonardo S.p.A. firmato.", "Leonardo S.p.A."),
        ("en", "Shares of Microsoft Corp. rose.", "Microsoft Corp."),
    ],
)
def test_legal_forms(lang, text, org):
    assert org in orgs(lang, text)


@pytest.mark.parametrize(
    ("lang", "text", "org", "town"),
    [
        ("de", "Borussia Dortmund verlor in Mainz.", "Borussia Dortmund", "Dortmund"),
        ("es", "El Atlético de Madrid ganó.", "Atlético de Madrid", "Madrid"),
        ("fr", "L'Olympique de Marseille a perdu.", "Olympique de Marseille", "Marseille"),
    ],
)
def test_sports_clubs_before_their_town(lang, text, org, town):
    assert orgs(lang, text, gaz(text, town)) == {org}


def test_a_club_word_without_a_town_is_no_club():
    assert orgs("en", "Real Estate prices rose. Inter Alia is Latin.") == set()


def test_a_common_word_opening_a_sentence_is_no_part_of_an_organisation():
    assert orgs("de", "Laut Deutsche Bank sinkt der Zins.") == {"Deutsche Bank"}
    assert orgs("de", "Deutsche Bank senkt den Zins.") == {"Deutsche Bank"}


def test_a_lower_case_head_names_no_organisation_but_the_place_inside_stays():
    # The guidelines annotate "université de Tours" as `Tours` alone, "ministère de la Santé" not at all.
    text = "Une chercheuse de l'université de Tours et le ministère de la Santé ont publié."
    assert orgs("fr", text, gaz(text, "Tours")) == set()
    assert orgs("nl", "Het ministerie van Financiën reageerde niet.") == set()


def test_organisation_words_alone_or_after_function_words_are_no_names():
    assert orgs("de", "Die Bank erhöhte die Zinsen. Eine Universität forscht.") == set()
    assert orgs("en", "The bank said the university agreed.") == set()


def test_title_case_headline_does_not_run_a_name_on():
    text = "Will The Bank Of England Cut Rates In May?"
    assert orgs("en", text, gaz(text, "England")) == {"Bank Of England"}
    assert people("en", "Sophie Brasseur Counts Seals In Wadden Sea") == {"Sophie Brasseur"}


# --- tokens, lexicons, input -------------------------------------------------------------------


def test_tokens_know_sentence_starts_headlines_and_spacing():
    tokens = tokenize("EU DEAL IS DONE\nDr. Jan zei: Anna  komt.")
    by_text = {t.text: t for t in tokens}
    assert by_text["DEAL"].shouted and not by_text["Jan"].shouted
    assert by_text["Dr"].sentence_start and not by_text["Jan"].sentence_start  # "Dr." ends no sentence
    assert by_text["Anna"].sentence_start  # after a colon
    assert not by_text["komt"].glued  # two spaces: no name runs across them


def test_token_offsets_skip_blanks_and_underscores():
    text = "Jan_de  Vries\u00a0zei\n  _Anna komt."
    tokens = tokenize(text)
    assert [t.text for t in tokens] == ["Jan", "de", "Vries", "zei", "Anna", "komt", "."]
    assert all(text[t.start : t.end] == t.text for t in tokens)
    glued = {t.text: t.glued for t in tokens}
    assert glued["zei"] and glued["komt"]  # a no-break space or one space
    assert not glued["de"] and not glued["Vries"] and not glued["Anna"]  # "_", two spaces, a new line


def test_a_line_shouts_by_all_its_words_not_its_first():
    # capitals first, then running text; small words first, then capitals
    calm = tokenize("EU DEAL IS DONE SAYS NOS: the ministers agreed on it late in the night after long talks")
    shouted = tokenize("de EU DEAL IS DONE NOW AND THEN SOME MORE WORDS IN CAPITALS")
    assert not any(t.shouted for t in calm)
    assert all(t.shouted for t in shouted)


def test_surname_alone_in_possessive_form_and_not_inside_a_word():
    text = "Jan Jansen kwam. Het Jansenisme en Jansens boek bleven. Jansen zei niets."
    assert people("nl", text) == {"Jan Jansen", "Jansens", "Jansen"}


def test_lexicons_come_from_packages():
    given, family = lexicons.first_names(), lexicons.last_names()
    assert {"Jan", "Sophie", "Klaus"} <= given.keys() and given["Jan"] > given.get("Floor", 0)
    assert {"Fischer", "Jansen", "Rossi"} <= family
    assert "geburtstag" in lexicons.common_words("de", 20000)
    assert "und" in lexicons.stop_words("de")


def test_unknown_language_is_a_clear_error():
    with pytest.raises(ValueError, match="no entity rules for language 'pt'"):
        EntityRules("pt")


def test_empty_text():
    assert rules("nl").find("") == [] and rules("nl").find(" \n ") == []


# --- inside the pipeline ---------------------------------------------------------------------


def test_rule_mentions_never_override_a_model_mention():
    model = [Mention(0, 10, "ORG", "model")]
    kept = drop_overlapping([Mention(5, 15, "PER", "rule"), Mention(10, 20, "PER", "rule")], model)
    assert kept == [Mention(10, 20, "PER", "rule")]


@cache
def _gazetteer():
    return load_gazetteer(["nl", "en", "de", "fr", "es", "it"], config_dir() / "gazetteer")


def test_blank_pipeline_runs_the_rules_and_the_gazetteer_wins_its_ties():
    pipe = build_pipeline("nl", _gazetteer())
    assert pipe.rules is not None and pipe.ner_model == "blank+gazetteer"
    text = "Volgens Joris Verhagen sprak Mark Rutte met het KWBV. Verhagen bleef."
    got = {(text[m.start : m.end], m.label, m.source, m.key is not None) for m in pipe.mentions(pipe.nlp(text), text)}
    assert ("Joris Verhagen", "PER", "rule", False) in got
    assert ("Verhagen", "PER", "rule", False) in got
    assert ("KWBV", "ORG", "rule", False) in got
    assert ("Mark Rutte", "PER", "gazetteer", True) in got  # the same span by rule and gazetteer: linked


def test_rules_can_be_left_out():
    pipe = build_pipeline("nl", _gazetteer(), rules=False)
    text = "Volgens Joris Verhagen meldt het KWBV meer gevallen."
    assert pipe.rules is None and pipe.mentions(pipe.nlp(text), text) == []
