"""People and organisations found by rules, for languages whose pipeline has no trained NER.

A blank spaCy pipeline finds only what the gazetteer lists. These rules add, over plain text:

- **People** (``PER``): a given name from a lexicon (``streams.enrich.lexicons``) followed by a
  capitalised surname, with particles ("Jan de Vries", "Ursula von der Leyen", "Marine Le Pen");
  later in the same text the surname alone ("De Vries zei") and the given name alone are the same
  person. Titles ("Minister", "Dr.") are never part of the span.
- **Organisations** (``ORG``): acronyms ("RIVM", "BASF", "AfD", the "CDU" of "CDU-Politiker"),
  names built on a capitalised organisation word ("Deutsche Bank", "Banque de France", "Ministère de
  la Transition écologique", "Universiteit Utrecht", "Robert Koch-Institut", "Bundesärztekammer") and
  company names with a legal form ("Thales Alenia Space SA", "ASML Holding N.V.").

Guards, for precision: an all-caps line (a shouted headline) is skipped; a given name that is also a
common word of the language ("Will", "Mark", "Jean"), as at the start of a sentence, needs a surname
that is not one; a surname candidate that is a common word is refused unless it is a known surname
(German capitalises every noun: "Anna Geburtstag" is not a person, "Klaus Fischer" is); a name
inside or starting on a gazetteer place or organisation is left to the gazetteer ("Paris
Saint-Germain"); acronyms skip roman numerals, currency codes, units and common all-caps words.

Mentions come out with ``source="rule"`` and no link; ``EntityPipeline`` links the ones the
gazetteer knows, a surname alone inherits the link of a known person named in full, and the merge
(``entities.merge_mentions``) settles overlaps with the gazetteer. Pure Python over a string.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from operator import itemgetter
from typing import NamedTuple

from babel.numbers import list_currencies

from streams.enrich import lexicons
from streams.enrich.matcher import Mention

SOURCE = "rule"
LANGUAGES = frozenset({"nl", "en", "de", "fr", "es", "it"})

# Words: letters, joined by hyphens ("Jansen-Kok", "Koch-Institut"); then numbers; then any other
# single character (punctuation).
_TOKEN = re.compile(
    r"[DO]['’][A-ZÀ-Þ][^\W\d_]*"  # one word: "O'Donnell", "D'Alessio" (not "L'Institut": an article)
    r"|[^\W\d_]+(?:-[^\W\d_]+)*|\d+(?:[.,]\d+)*|[^\w\s]"
)
# The same tokens with the blanks before each: every character is a blank (space or "_", which no
# token holds) or starts a token, so offsets follow from lengths, with no match object per token.
_BLANK_AND_TOKEN = re.compile(rf"([\s_]*)({_TOKEN.pattern})")
_GLUE = frozenset({"", " ", "\u00a0"})  # one space at most, as between the words of a name
_LETTERS = re.compile(r"[^\W\d_]+")
_SMALL_WORD = re.compile(r"(?<!\S)[^\W\d_A-ZÀ-ÞА-Я]")  # a word that starts with a small letter
_ROMAN = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
# "AfD", "PvdA", "KfW": capitals with at most as many small letters, ending on a capital.
_MIXED_ACRONYM = re.compile(r"[A-Z][a-z]{0,2}[A-Z](?:[a-z]?[A-Z])*")

_SENTENCE_END = frozenset(".!?:;")
_OPENERS = frozenset("\"'«»“”„‘’‚‹›([-–—•*")  # between a sentence end and its first word
# Abbreviations whose period does not end a sentence (before a name: "Dr. Klaus Reinhardt").
_ABBREVIATIONS = frozenset({"dr", "prof", "mr", "mrs", "ms", "st", "mme", "mlle", "sr", "sra", "jr", "hr", "fr", "dhr"})

# Titles and forms of address: never a given name or surname, never inside a person's span.
TITLES = frozenset(
    {
        "minister", "ministerin", "ministre", "ministro", "ministra", "president", "präsident", "präsidentin",
        "président", "présidente", "presidente", "premier", "premiere", "kanzler", "kanzlerin", "bundeskanzler",
        "bundeskanzlerin", "chancellor", "dr", "prof", "professor", "professorin", "mr", "mrs", "ms", "sir", "dame",
        "lady", "lord", "herr", "frau", "monsieur", "madame", "mme", "mevrouw", "meneer", "señor", "señora", "signor",
        "signora", "king", "queen", "prince", "princess", "koning", "koningin", "könig", "königin", "roi", "reine",
        "re", "rey", "reina", "prins", "prinses", "prinz", "prinzessin", "pope", "paus", "papst", "pape", "papa",
        "saint", "sankt", "sint", "san", "santa", "santo", "general", "generaal", "général", "generale", "senator",
        "senatorin", "sénateur", "burgemeester", "bürgermeister", "bürgermeisterin", "maire", "mayor", "sindaco",
        "alcalde", "governor", "coach", "trainer", "bondscoach", "captain", "kapitän", "kapitein", "bishop", "bisschop",
        "bischof", "évêque", "vescovo", "obispo",
    }
)  # fmt: skip

# Roles written before a name ("Botschafter Oleksii Makeiev", "analist Ruud Hoekstra"): what follows
# is a person even when the given name is in no lexicon. Dutch and German also join them to a
# qualifier ("VW-Chef", "Bundesgesundheitsministerin", "teambaas"): those end on one of ROLE_ENDINGS.
ROLES = TITLES | frozenset(
    {
        "governor", "ambassador", "analyst", "director", "spokesman", "spokeswoman", "spokesperson", "chairman",
        "chairwoman", "chair", "secretary", "researcher", "scientist", "economist", "correspondent", "reporter",
        "leader", "ceo", "chief", "manager", "founder", "author", "director-general", "commissioner", "envoy",
        "analist", "directeur", "directrice", "woordvoerder", "woordvoerster", "onderzoeker", "onderzoekster",
        "hoogleraar", "voorzitter", "econoom", "topman", "topvrouw", "teambaas", "coureur", "staatssecretaris",
        "fractievoorzitter", "partijleider", "wethouder", "gedeputeerde", "commissaris", "ambassadeur", "oud-premier",
        "botschafter", "botschafterin", "sprecher", "sprecherin", "forscher", "forscherin", "direktor", "direktorin",
        "leiter", "leiterin", "chef", "chefin", "vorsitzende", "vorsitzender", "analystin", "ökonom", "ökonomin",
        "korrespondent", "korrespondentin", "sportdirektor", "geschäftsführer", "geschäftsführerin", "vorstand",
        "porte-parole", "chercheur", "chercheuse", "économiste", "analyste", "correspondant", "correspondante",
        "délégué", "déléguée", "entraîneur", "directeur général", "secrétaire", "ambassadrice", "député", "députée",
        "portavoz", "investigador", "investigadora", "directora", "economista", "analista",
        "corresponsal", "embajador", "embajadora", "entrenador", "portavoce", "ricercatore", "ricercatrice",
        "direttore", "direttrice", "ambasciatore", "allenatore", "segretario", "deputato",
    }
)  # fmt: skip
ROLE_ENDINGS = ("chef", "chefin", "minister", "ministerin", "präsident", "präsidentin", "sprecher", "sprecherin",
                "direktor", "direktorin", "leiter", "leiterin", "vorsitzende", "vorsitzender", "trainer", "forscher",
                "forscherin", "voorzitter", "woordvoerder", "directeur", "baas", "kanzler", "kanzlerin")  # fmt: skip

# Surname particles, in either case ("Jan de Vries", "Marine Le Pen", "Luca De Meo").
PARTICLES = frozenset(
    {"van", "de", "der", "den", "het", "'t", "ter", "ten", "te", "von", "vom", "zu", "zum", "zur", "di", "da",
     "del", "della", "dello", "dei", "degli", "du", "des", "le", "la", "dos", "das", "do", "bin", "ibn", "al", "el",
     "lo", "li", "mac", "mc"}
)  # fmt: skip
_MAX_PARTICLES = 3

# All-caps words that are not organisations: units, measures, diseases, common abbreviations.
COMMON_CAPS = frozenset(
    """OK TV PC CEO CFO COO CTO PR AI KI IA PDF USB DNA DNS RNA ARN ADN GPS SMS MMS VIP FAQ ID IT IQ HR PS PPS AM PM
    MP MEP MSP MdB MdL QC KC OBE MBE CBE
    BC AD CET CEST UTC GMT HD LED LCD SUV PS KW KWH MWH GWH TWH MW GW KV CO NOX PH CM KM MM KG MG ML MHZ GHZ GB MB TB
    KB HIV AIDS SIDA COVID SARS MERS RSV BSE ADHD ALS MRI MRT IRM BMI BIP PIB GDP BNP CPI VAT BTW MWST TVA IVA HICP
    LNG LPG CNG EV NB PS RIP DIY ASAP LOL PIL XXL XL XS TBC NN MVP QR LGBT LGBTQ LGBTI LHBTI WC TGV ICE IC TOP LIVE
    NEWS BREAKING UPDATE VIDEO FOTO PHOTO AUDIO EM WM EK WK DAX MDAX AEX CAC FTSE IBEX MIB DOW""".split()
)  # fmt: skip
# Legal forms are no organisation on their own ("GmbH", "SpA").
_LEGAL_WORDS = frozenset("GmbH AG SE KG KGaA NV BV SA SAS SpA Srl SL Inc Ltd PLC LLC Corp".split())
_UNITS_LOWER = frozenset({"km", "kg", "mg", "cm", "mm", "kwh", "mw", "gw", "ha", "ml"})

# Organisation words. Head-final: "<Name> Bank", "Deutsche Bank", "Alfred Wegener Institute".
HEADS_FINAL = frozenset(
    """Bank Group Gruppe Groep Holding Holdings Institute Institut Instituut University Universität Universiteit
    College Foundation Stiftung Stichting Agency Agentur Partei Partij Party Council Committee Commission
    Association Verband Verein Vereniging Museum Hospital Klinik Klinikum Ziekenhuis Airlines Airways Motors
    Research Hochschule Hogeschool Corporation Company Gesellschaft Federation Federatie Föderation Authority
    Behörde Autoriteit Bureau Service Dienst Ministerium Ministry Ministerie Tribunal Gericht Department Gallery
    Galerie Racing Orchestra Orchester Orkest Club Records Studios Pictures Telecom Pharma Energie Energy""".split()
)
# Head-initial: "Banque de France", "University of Copenhagen", "Institut Pasteur", "Ministerie van Financiën".
# Written in lower case ("ministère de la Santé", "université de Tours") the head is a common noun and
# the name is not annotated whole (docs/EVALUATION.md): no rule starts there, the place inside stays.
HEADS_INITIAL = frozenset(
    """Bank Banque Banco Banca University Université Universidad Università Universität Universiteit Universitat
    Institute Institut Instituto Istituto Instituut Ministry Ministerie Ministerium Ministère Ministerio Ministero
    Department Centres Centers Agence Agencia Agenzia Agentur Agency Agentschap Museum Musée Museo Centre Center Centro
    Centrum Partido Partito Parti Partij Fondation Fundación Fondazione Foundation Stichting Stiftung Federation
    Fédération Federación Federazione Politecnico Polytechnique Association Asociación Associazione Caisse Office
    Hospital Hôpital Hospital Ospedale Clinique Clinic Klinikum School École Escuela Scuola Collège College
    Academy Académie Academia Accademia Akademie Academie Hochschule Hogeschool Orchestre Orchestra Orquesta
    Conservatoire Conservatorium Cour Court Corte Tribunal Commission Comisión Commissione Commissie Kommission
    Council Conseil Consejo Consiglio Raad Rat Gemeente Provincie Landgericht Amtsgericht Oberlandesgericht
    Verwaltungsgericht""".split()
)
# Words that open a sports club's name before its town ("Borussia Dortmund", "Real Madrid", "Atlético de
# Madrid", "Olympique de Marseille"): an organisation only when the town follows.
CLUBS = frozenset(
    """Borussia Bayer Eintracht Werder Hertha Fortuna Alemannia Arminia Union Real Atlético Athletic Deportivo
    Sporting Olympique Racing Stade Dynamo Dinamo Lokomotiv Lokomotive Spartak Sparta Slavia Inter""".split()
)
# Heads that may be followed directly by a name ("Institut Pasteur", "Universität Hamburg").
HEADS_BEFORE_NAME = frozenset(
    """Bank Banco Banca Institut Instituut Universität Universiteit University Museum Museo Musée Stichting Stiftung
    Klinikum Hochschule Hogeschool Gemeente Provincie Fondation Fondazione Fundación""".split()
)
CONNECTORS = frozenset(
    {"of", "for", "de", "du", "des", "d'", "d’", "del", "della", "dell'", "dell’", "delle", "dei", "degli", "di",
     "van", "voor", "für", "der", "do", "da", "dos", "das"}
)  # fmt: skip
ARTICLES = frozenset({"la", "l'", "l’", "le", "les", "los", "las", "el", "il", "lo", "the", "het", "de", "die", "den"})
AND = frozenset({"and", "und", "en", "et", "y", "e", "&"})
# A German compound that names a federal body ("Bundesärztekammer", "Umweltbundesamt") or a Dutch
# national one ("Rijkswaterstaat", "Rijksmuseum").
_COMPOUND_ORG = re.compile(
    r"(?:[A-ZÄÖÜ]\w*?)?(?:[Bb]undes\w*(?:amt|anstalt|ministerium|kammer|bank|regierung|agentur|gericht|tag|rat|wehr|"
    r"polizei|verband|institut|behörde|netzagentur|kartellamt|gerichtshof|versammlung)s?)"
    r"|Rijks(?:waterstaat|museum|overheid|universiteit|instituut|dienst|academie|archief)"
    r"|[A-Z]\w+(?:vereniging|stichting|verband)"
)
# A hyphenated compound ending on an organisation word: "Robert Koch-Institut", "Max-Planck-Instituts".
_HYPHEN_ORG = re.compile(
    r"\w+(?:-\w+)*-(?:Institut|Instituts|Institute|Instituut|Universität|Universiteit|University|Stiftung|Klinik|"
    r"Klinikum|Gesellschaft|Verband|Museum|Zentrum|Centrum|Center|Hochschule|Akademie|Bank|Gruppe|Konzern|Werke)"
)
# A legal form after a company name: "Volkswagen AG", "ASML Holding N.V.", "Fiat S.p.A.".
_LEGAL_FORM = re.compile(
    r"[ \u00a0](?:GmbH(?: & Co\. KG)?|AG|SE|KGaA|N\.V\.|NV|B\.V\.|BV|S\.A\.|SA|SAS|S\.p\.A\.|SpA|S\.r\.l\.|Srl|"
    r"S\.L\.|Inc\.|Inc|Ltd\.|Ltd|Limited|plc|PLC|LLC|Corp\.|Corporation)(?![\w])"
)
_ROMANCE = frozenset({"fr", "es", "it"})
# French names go on with a lower-case adjective ("Agence nationale de sécurité sanitaire", "Ministère
# de la Transition écologique").
_FRENCH_ADJECTIVE = re.compile(
    r"\w+(?:ique|iques|ale|ales|aux|elle|elles|aire|aires|ienne|iennes|aise|aises|oise|oises)"
)

# How many of a language's most frequent words count as common (German capitalises every noun, so
# its list must reach further down to hold them).
COMMON_SURNAME_RANK = {"de": 20000}
COMMON_SURNAME_RANK_DEFAULT = 4000
COMMON_GIVEN_NAME_RANK = 5000
WIDESPREAD_NAME = 4  # a given name in this many of Faker's countries or more is a name first
RARE_RANK = 10000  # a surname after a given name that is also a word must be rarer than this
_CACHE_SIZE = 50_000  # words remembered per language (per-word decisions), then forgotten at once


_START = itemgetter(0)  # a Token's start


class Token(NamedTuple):  # a tuple: hundreds per article, made fast
    start: int
    end: int
    text: str
    word: bool  # letters (and hyphens), not a number or punctuation
    sentence_start: bool  # the first word of a sentence, a line or the text
    shouted: bool  # on an all-caps line (a shouted headline)
    headline: bool  # on a Title Case line ("Bank Of England Holds Rates")
    glued: bool  # at most one space (no line break, no punctuation) since the previous token


def tokenize(text: str) -> list[Token]:
    """Words, numbers and punctuation of ``text``, with where sentences start and which lines shout."""
    return _tokenize(text)[0]


def _tokenize(text: str) -> tuple[list[Token], list[int]]:
    """``tokenize``, and the indices of the tokens that start with a capital (where rules start)."""
    out: list[Token] = []
    upper: list[int] = []
    append = out.append
    new = tuple.__new__  # Token(...) runs a Python-level __new__; hundreds of tokens per article
    findall = _BLANK_AND_TOKEN.findall
    pos = 0
    for line in text.split("\n"):
        # Most lines are running text: only one with few small letters can shout or be in Title Case.
        shout = headline = False
        spaces = line.count(" ")
        if spaces >= 2 and _few_small_words(line, 0.2 * (spaces + 1)):
            shout, headline = _line_kind(line)
        boundary = True  # a line starts a sentence
        prev_word = ""
        end = pos
        after = False  # the first token of a line is glued to nothing
        for blank, tok in findall(line):
            start = end + len(blank)
            end = start + len(tok)
            first = tok[0]
            word = first.isalpha()
            glued = after and blank in _GLUE
            after = True
            append(new(Token, (start, end, tok, word, boundary and word, shout, headline, glued)))
            if first.isupper():
                upper.append(len(out) - 1)
            if word or first.isdigit():
                boundary = False
                prev_word = tok
            elif tok in _SENTENCE_END and not (tok == "." and _abbreviation(prev_word)):
                boundary = True
            elif tok not in _OPENERS:
                boundary = False
        pos += len(line) + 1
    return out, upper


def _few_small_words(line: str, most: float) -> bool:
    """At most ``most`` words of ``line`` start with a small letter. Running text has more within
    its first words: counting them there settles most lines without reading the rest."""
    prefix = 12 * (int(most) + 1)  # about two words' length per small word needed
    if prefix < len(line) and len(_SMALL_WORD.findall(line, 0, prefix)) > most:
        return False
    return len(_SMALL_WORD.findall(line)) <= most


def _abbreviation(word: str) -> bool:
    return word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper())


def _line_kind(line: str) -> tuple[bool, bool]:
    """(shouted, Title Case) of one line: written in capitals (three or more words, 80 % of them
    all-caps), or with 80 % of four or more words capitalised, small words included."""
    words = [w for w in _LETTERS.findall(line) if len(w) > 1]
    if len(words) < 3:
        return False, False
    if sum(w.isupper() for w in words) >= 0.8 * len(words):
        return True, False
    return False, len(words) >= 4 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


class _PerWord(dict):
    """``decide(word)`` for each word asked, remembered: the same words come back in every article.
    Past ``_CACHE_SIZE`` words all are forgotten at once (a worker runs for days)."""

    def __init__(self, decide: Callable[[str], object]):
        super().__init__()
        self.decide = decide

    def __missing__(self, word: str) -> object:
        if len(self) >= _CACHE_SIZE:
            self.clear()
        value = self[word] = self.decide(word)
        return value


def _org_compound(word: str) -> bool:
    """An organisation in one word: "Bundesärztekammer", "Robert Koch-Institut"'s "Koch-Institut"."""
    return _COMPOUND_ORG.fullmatch(word) is not None or _HYPHEN_ORG.fullmatch(word) is not None


class EntityRules:
    """The rules of one language: ``find(text, gazetteer_mentions) -> [Mention]`` (module docstring)."""

    def __init__(self, lang: str):
        if lang not in LANGUAGES:
            raise ValueError(f"no entity rules for language {lang!r} (have: {', '.join(sorted(LANGUAGES))})")
        self.lang = lang
        # Decisions that depend on a word alone, asked of every capitalised token of every article.
        self._name_texts = _PerWord(self._name_text)
        self._acronyms = _PerWord(self._acronym_of)
        self._org_compounds = _PerWord(_org_compound)
        self._roles = _PerWord(self._role_text)

    # --- lexicons (built on first use) -----------------------------------------------------------

    @cached_property
    def given_names(self) -> dict[str, int]:
        """Given name -> in how many countries (``lexicons.first_names``); no title, no stop word."""
        stop = ROLES | PARTICLES | ARTICLES | lexicons.stop_words(self.lang) | lexicons.stop_words("en")
        return {name: n for name, n in lexicons.first_names().items() if name.lower() not in stop}

    @cached_property
    def surnames(self) -> frozenset[str]:
        return lexicons.last_names()

    @cached_property
    def stop(self) -> frozenset[str]:
        return lexicons.stop_words(self.lang) | PARTICLES | ARTICLES

    @cached_property
    def common_for_surname(self) -> frozenset[str]:
        return lexicons.common_words(self.lang, COMMON_SURNAME_RANK.get(self.lang, COMMON_SURNAME_RANK_DEFAULT))

    @cached_property
    def common_for_given(self) -> frozenset[str]:
        return lexicons.common_words(self.lang, COMMON_GIVEN_NAME_RANK)

    @cached_property
    def english_common(self) -> frozenset[str]:
        return lexicons.common_words("en", COMMON_GIVEN_NAME_RANK)

    @cached_property
    def not_rare(self) -> frozenset[str]:
        return lexicons.common_words(self.lang, RARE_RANK) | lexicons.common_words("en", RARE_RANK)

    def _rare(self, word: str) -> bool:
        return not any(part.lower() in self.not_rare for part in word.split("-"))

    @cached_property
    def currencies(self) -> frozenset[str]:
        return frozenset(list_currencies())

    def load(self) -> EntityRules:
        """Build the word lists now (a worker does it at start, not on its first article)."""
        for name in (
            "given_names",
            "surnames",
            "stop",
            "common_for_surname",
            "common_for_given",
            "english_common",
            "not_rare",
            "currencies",
        ):
            getattr(self, name)
        return self

    # --- entry point ------------------------------------------------------------------------------

    def find(self, text: str, gazetteer: Sequence[Mention] = ()) -> list[Mention]:
        """Rule mentions of ``text``; ``gazetteer`` = the gazetteer's matches in it (the guards read them)."""
        # Every person and organisation rule starts on a capital; most tokens are lower-case words,
        # so the loops below visit only the ``upper`` indices.
        tokens, upper = _tokenize(text)
        if not tokens:
            return []
        owner = _owners(tokens, gazetteer)
        people = self._people(tokens, owner, upper)
        found = [Mention(t0.start, t1.end, "PER", SOURCE) for t0, t1, _, _ in people]
        found += self._same_people(tokens, owner, people, gazetteer, text)
        found += self._organisations(tokens, owner, text, upper)
        return found

    # --- people -----------------------------------------------------------------------------------

    def _given(self, tok: Token) -> bool:
        if not tok.word or tok.shouted or not tok.text[0].isupper():
            return False
        names = self.given_names
        return tok.text in names or ("-" in tok.text and all(p in names for p in tok.text.split("-")))

    def _ambiguous(self, name: str) -> bool:
        """A given name few countries use that is also a common word ("Will", "Floor", "Beat"; English
        words show up in every language's news): it needs a rare surname after it ("Will Ferrell").
        Widespread names ("David", "Harry", "Jean") are names first, at a sentence start too."""
        low = name.lower()
        spread = self.given_names.get(name, 0)
        return spread < WIDESPREAD_NAME and (low in self.english_common or low in self.common_for_given)

    def _name_word(self, tok: Token) -> bool:
        """Could be (part of) a surname: capitalised, some small letters, no title, no function word."""
        return tok.word and not tok.shouted and self._name_texts[tok.text]

    def _name_text(self, text: str) -> bool:
        """The text part of ``_name_word``."""
        return (
            len(text) >= 2
            and text[0].isupper()
            and any(c.islower() for c in text)
            and text.lower() not in TITLES
            and text.lower() not in self.stop
            and text not in HEADS_FINAL
            and text not in HEADS_INITIAL
        )

    def _common(self, word: str) -> bool:
        return all(part.lower() in self.common_for_surname for part in word.split("-"))

    def _people(
        self, tokens: list[Token], owner: list[Mention | None], upper: list[int]
    ) -> list[tuple[Token, Token, int, int]]:
        """(first token, last token, index of the given name, index where the surname starts);
        ``upper``: the indices of the tokens that start with a capital, in order."""
        out = []
        i, n = 0, len(tokens)
        for c in upper:
            if c < i:
                continue  # inside a name found before
            i = c
            tok = tokens[i]
            if not tok.word:
                continue
            given = self._given(tok)
            if not given and (end := self._known_particle_name(tokens, i, owner)) is not None:
                out.append((tok, tokens[end - 1], i, i + 1))  # "Marloes van Dijk": a given name no lexicon has
                i = end
                continue
            if not given or self._place_not_name(tok, owner[i]):
                continue
            # A second given name ("Jan Peter Balkenende"), then particles, then the surname.
            j = i + 1
            if j + 1 < n and self._given(tokens[j]) and tokens[j].glued and self._word_at(tokens, j + 1, owner):
                j += 1
            end = self._surname_at(tokens, j, owner)
            if end is None:
                continue
            if self._name_goes_on(tokens, end, owner):
                # A second surname ("Alberto Núñez Feijóo") is a rare word, and the name ends there;
                # otherwise a longer name goes on ("Thales Alenia Space", "Red Bull Racing"): not a person's.
                if self._rare(tokens[end].text) and not self._name_goes_on(tokens, end + 1, owner):
                    end += 1
                else:
                    i = end
                    continue
            last = tokens[end - 1]
            surname = last.text
            if tokens[end - 2].text.lower() in PARTICLES and end - 2 >= j:
                pass  # a particle makes it a surname ("Sophie van Dijk", "Marine Le Pen")
            elif self._ambiguous(tok.text):
                if not self._rare(surname):
                    continue
            elif self._common(surname) and surname not in self.surnames:
                continue  # German nouns are capitalised: "Anna Geburtstag" is no one
            out.append((tok, last, i, j))
            i = end
        return out + self._titled_people(tokens, owner, {p[2] for p in out}, upper)

    def _place_not_name(self, tok: Token, m: Mention | None) -> bool:
        """The gazetteer holds ``tok`` as a place or organisation, alone or in a longer name ("Milton
        Keynes"), and few countries use it as a given name ("Paris"); "Nancy Pelosi" stays a person."""
        if not _placed(m):
            return False
        return m.end > tok.end or m.start < tok.start or self.given_names.get(tok.text, 0) < WIDESPREAD_NAME

    def _known_particle_name(self, tokens: list[Token], i: int, owner: list[Mention | None]) -> int | None:
        """End index of "Name particles Surname" where "particles Surname" is a known surname as a whole
        ("van Dijk", "de Vries"), whatever the name before it; None if there is none at ``i``."""
        tok, n = tokens[i], len(tokens)
        if i + 1 >= n or tokens[i + 1].text.lower() not in PARTICLES:
            return None  # most capitalised words: no particle follows (the loop below needs one)
        if not tok.word or not tok.text[0].isupper() or _placed(owner[i]) or not self._name_word(tok):
            return None
        k = i + 1
        while k < n and k - i <= _MAX_PARTICLES and tokens[k].glued and tokens[k].text.lower() in PARTICLES:
            k += 1
        if k == i + 1 or not self._word_at(tokens, k, owner) or self._common(tok.text):
            return None
        if " ".join(t.text for t in tokens[i + 1 : k + 1]) not in self.surnames or self._name_goes_on(
            tokens, k + 1, owner
        ):
            return None
        return k + 1

    def _name_goes_on(self, tokens: list[Token], k: int, owner: list[Mention | None]) -> bool:
        """Token ``k`` continues the capitalised words before it. Not on a Title Case headline, and in
        German only with a rare word (a capitalised common word there is a noun: "sagte Anna Journalisten")."""
        if not self._word_at(tokens, k, owner) or tokens[k].headline:
            return False
        return self.lang != "de" or not self._common(tokens[k].text)

    def _role(self, tok: Token) -> bool:
        return tok.word and self._roles[tok.text]

    def _role_text(self, text: str) -> bool:
        """The text part of ``_role``: a role, or in Dutch and German a compound ending on one."""
        low = text.lower()
        return low in ROLES or (self.lang in ("de", "nl") and low.endswith(ROLE_ENDINGS))

    def _titled_people(
        self, tokens: list[Token], owner: list[Mention | None], taken: set[int], upper: list[int]
    ) -> list:
        """A role or title, then one or two name words: "Botschafter Oleksii Makeiev", "Premier Schoof"."""
        out = []
        for i in upper:  # the name's first word, capitalised
            if i == 0:
                continue
            tok = tokens[i - 1]
            if not self._role(tok):
                continue
            if i in taken or tok.shouted or not self._word_at(tokens, i, owner):
                continue
            end = self._surname_at(tokens, i + 1, owner) or i + 1
            if self._word_at(tokens, end, owner):
                continue  # three name words or more: an organisation or a place, as likely
            words = [t.text for t in tokens[i:end] if t.text.lower() not in PARTICLES]
            known = words[0] in self.given_names
            # After a role a given name starts a person ("Gesundheitsminister Karl Lauterbach"); other
            # words must not be common ones ("Minister Wirtschaft").
            if not known and any(self._common(w) and w not in self.surnames for w in words):
                continue
            if len(words) == 1 and (known or words[0] in HEADS_FINAL):
                continue  # "Minister Anna": a given name alone is no one in particular
            out.append((tokens[i], tokens[end - 1], i, i + 1 if end > i + 1 else i))
        return out

    def _word_at(self, tokens: list[Token], k: int, owner: list[Mention | None]) -> bool:
        """Token ``k`` exists, follows its neighbour on the same line and could be part of a name."""
        return k < len(tokens) and tokens[k].glued and self._name_word(tokens[k]) and not _placed(owner[k])

    def _surname_at(self, tokens: list[Token], j: int, owner: list[Mention | None]) -> int | None:
        """End index of "[particles] Surname" starting at ``j``, or None."""
        k = j
        while k < len(tokens) and k - j < _MAX_PARTICLES and tokens[k].glued and tokens[k].text.lower() in PARTICLES:
            k += 1
        if k >= len(tokens):
            return None
        tok = tokens[k]
        if not tok.glued or not self._name_word(tok) or _placed(owner[k]):
            return None
        article = tokens[k - 1].text if k == j + 1 else ""  # one particle only: "de la Cruz" is a surname
        if article in ("le", "la", "de") and self.lang in _ROMANCE | {"en"} and self._common(tok.text):
            return None  # "Marie la Reine": a lower-case Romance article before a common word
        return k + 1

    def _same_people(self, tokens, owner, people, gazetteer: Sequence[Mention], text: str) -> list[Mention]:
        """The surname alone, or the given name alone, of a person named in full in the same text."""
        forms: dict[tuple[str, ...], str | None] = {}  # token texts -> gazetteer key (None: unlinked)
        for m in gazetteer:  # a known person named in full: the surname alone keeps the link
            if m.label == "PER" and m.key is not None:
                words = [t.group() for t in _TOKEN.finditer(text, m.start, m.end)]
                if len(words) >= 2 and words[0] in self.given_names:
                    forms.setdefault(tuple(words[1:]), m.key)
        for _, last, gi, si in people:
            surname = tuple(t.text for t in tokens[si : tokens.index(last, si) + 1])
            forms.setdefault(surname, None)
            forms.setdefault(tuple(_capitalise(surname)), None)
            given = tokens[gi].text
            if not self._ambiguous(given) and given.lower() not in self.common_for_given:
                forms.setdefault((given,), None)
        if not forms:
            return []
        covered = bytearray(len(text) + 1)
        for t0, t1, _, _ in people:
            covered[t0.start : t1.end] = b"\x01" * (t1.end - t0.start)
        out = []
        longest = max(len(f) for f in forms)
        firsts = {f[0] for f in forms}
        genitive = self.lang in ("de", "nl")
        i, n = 0, len(tokens)
        for c in _tokens_reading(tokens, text, firsts, genitive):
            if c < i:
                continue  # inside a mention found before
            i = c
            hit = None
            for size in range(min(longest, n - i), 0, -1):
                key = tuple(t.text for t in tokens[i : i + size])
                if key in forms and all(tokens[i + x].glued for x in range(1, size)):
                    hit = size
                    break
                if size == 1 and self.lang in ("de", "nl") and key[0].endswith("s") and (key[0][:-1],) in forms:
                    hit = 1  # German and Dutch genitive: "Weidels", "De Vries'"
                    key = (key[0][:-1],)
                    break
            if hit is None or covered[tokens[i].start] or _placed(owner[i]):
                continue
            if hit == 1 and tokens[i].sentence_start and self._common(key[0]):
                continue  # "Brown" of Helena Brown, but "Brown bears are rare." opens a sentence
            nxt = tokens[i + hit] if i + hit < n else None
            if nxt is not None and nxt.glued and self._name_word(nxt) and not _placed(owner[i + hit]):
                continue  # part of a longer name: "Frank" of "Frank Renout" is not the Frank we know
            out.append(Mention(tokens[i].start, tokens[i + hit - 1].end, "PER", SOURCE, forms[key]))
            i += hit
        return out

    # --- organisations ----------------------------------------------------------------------------

    def _organisations(
        self, tokens: list[Token], owner: list[Mention | None], text: str, upper: list[int]
    ) -> list[Mention]:
        out: list[Mention] = []
        for i in upper:  # every rule below starts on a capital
            tok = tokens[i]
            if not tok.word or tok.shouted:
                continue
            acronym = self._acronym(tok)
            if acronym is not None and _dateline(tokens, i, text):
                acronym = None  # "MADRID (EFE) -", "ROMA -": the place a report was filed from
            if acronym is not None and not _number_after(tokens, i):  # "FTSE 100", "CAC 40": indices
                end = self._acronym_name_end(tokens, i, owner) if acronym == tok.text else i
                out.append(Mention(tok.start, tokens[end].end if end > i else tok.start + len(acronym), "ORG", SOURCE))
            if self._org_compounds[tok.text]:
                start = self._modifiers_before(tokens, i, owner)
                end = self._tail_after(tokens, i + 1, owner, compound=True)
                out.append(Mention(tokens[start].start, tokens[end - 1].end, "ORG", SOURCE))
                continue
            if tok.text in HEADS_FINAL:
                start = self._modifiers_before(tokens, i, owner)
                if start < i:
                    end = self._place_after(tokens, i + 1, owner) if tok.text in HEADS_BEFORE_NAME else i + 1
                    out.append(Mention(tokens[start].start, tokens[end - 1].end, "ORG", SOURCE))
            if tok.text in CLUBS:
                end = self._tail_after(tokens, i + 1, owner, compound=False)
                if end > i + 1 and _town(tokens, end - 1, owner):
                    out.append(Mention(tok.start, tokens[end - 1].end, "ORG", SOURCE))
            if tok.text in HEADS_INITIAL:
                end = self._tail_after(tokens, i + 1, owner, compound=False)
                if end > i + 1:
                    start = self._modifiers_before(tokens, i, owner) if tok.text[0].isupper() else i
                    out.append(Mention(tokens[start].start, tokens[end - 1].end, "ORG", SOURCE))
            if tok.text[0].isupper() and (legal := _LEGAL_FORM.match(text, tok.end)) is not None:
                start = self._modifiers_before(tokens, i + 1, owner)
                if start <= i:
                    out.append(Mention(tokens[start].start, legal.end(), "ORG", SOURCE))
        return out

    def _acronym(self, tok: Token) -> str | None:
        """The acronym ``tok`` is or starts with ("RIVM", "AfD", "CDU" of "CDU-Politiker"), or None."""
        return self._acronyms[tok.text]

    def _acronym_of(self, text: str) -> str | None:
        """``_acronym`` of a token's text."""
        head, _, rest = text.partition("-")
        if rest:
            if not any(c.islower() for c in rest):
                return None  # "GRACE-FO": a product code, not an organisation and a noun
            text = head
        if not 2 <= len(text) <= 6:
            return None
        if not (text.isupper() or _MIXED_ACRONYM.fullmatch(text)):
            return None
        if sum(c.isupper() for c in text) < 2 or sum(c.islower() for c in text) > sum(c.isupper() for c in text):
            return None
        if text in _LEGAL_WORDS or text in COMMON_CAPS:
            return None
        if text.isupper() and (
            _ROMAN.fullmatch(text)
            or text in COMMON_CAPS
            or text in self.currencies
            or text.lower() in self.stop  # a word in capitals for emphasis: "NIET", "NEVER"
            or text.lower() in _UNITS_LOWER
        ):
            return None
        return text

    def _acronym_name_end(self, tokens: list[Token], i: int, owner: list[Mention | None]) -> int:
        """Last token of a name an acronym starts: "IG Metall", "FC Bayern München", "UMC Utrecht"."""
        end = i
        if len(tokens[i].text) <= 2:  # a two-letter prefix: the words after it are the name
            while end + 1 < len(tokens) and end - i < 2:
                nxt = tokens[end + 1]
                if not (nxt.glued and nxt.word and nxt.text[0].isupper() and not nxt.shouted):
                    break
                if nxt.text.lower() in self.stop or nxt.text.lower() in ROLES:
                    break
                end += 1
        else:  # "UMC Utrecht", "ASML Holding", "UAE Team Emirates"; German nouns are capitalised: a town only
            while end + 1 < len(tokens) and end - i < 2 and not tokens[end + 1].headline:
                nxt, m = tokens[end + 1], owner[end + 1]
                town = m is not None and m.label == "LOC" and (m.start, m.end) == (nxt.start, nxt.end)
                if not (nxt.glued and (town or (self.lang != "de" and self._name_word(nxt) and m is None))):
                    break
                if nxt.text.lower() in ROLES:
                    break
                end += 1
        return end

    def _modifiers_before(self, tokens: list[Token], i: int, owner: list[Mention | None]) -> int:
        """Index of the first of up to three capitalised words right before token ``i`` (``i``: none)."""
        start = i
        while start > 0 and i - start < 3:
            prev = tokens[start - 1]
            if not (tokens[start].glued and prev.word and prev.text[0].isupper()):
                break
            if prev.text.lower() in self.stop or prev.text.lower() in TITLES or prev.shouted:
                break
            if self.lang == "de" and prev.text.endswith("s") and not prev.text.endswith("es"):
                break  # a German genitive owns the organisation, it does not name it: "Weidels Partei"
            start -= 1
        # A common word opens a sentence capitalised: "Laut Deutsche Bank" is "Deutsche Bank" (but
        # "Deutsche Bank" alone at a sentence start stays whole).
        first = tokens[start]
        if start < i - 1 and first.sentence_start and first.text.lower() in self.common_for_given:
            start += 1
        return start

    def _tail_after(self, tokens: list[Token], k: int, owner: list[Mention | None], *, compound: bool) -> int:
        """End index of the name after a head at ``k - 1``: "[Name] connector [article] Name [and Name]
        [adjective]" ("Universidad Complutense de Madrid", "Bank of England"); ``k``: none.
        A place ends the name ("Banque de France"), and so does a person ("Banca d'Italia Fabio Panetta")."""
        n = len(tokens)
        j = k
        while not compound and j < n and j - k < 2 and tokens[j].glued and not self._person_at(tokens, j):
            if _town(tokens, j, owner):
                j += 1
                return j  # "Universität Hamburg"
            if j > k and _regnal(tokens[j]):
                j += 1  # "Università Federico II"
                continue
            if not self._word_at(tokens, j, owner) or tokens[j].text.lower() in ROLES:
                break
            if self.lang == "de" and self._common(tokens[j].text):
                break  # a noun: "Rat Experten"
            if tokens[j].headline and self._common(tokens[j].text):
                break
            j += 1
        named = j
        # A French or Italian elision is two tokens: d ' Italia.
        if j + 1 < n and tokens[j].text.lower() in ("d", "l", "dell") and tokens[j + 1].text in ("'", "’"):
            conn = tokens[j].text.lower() + "'"
            j += 2
        elif j < n and tokens[j].glued:
            conn = tokens[j].text.lower()
            j += 1
        else:
            return named
        if conn not in CONNECTORS and conn not in ("d'", "dell'"):
            return named
        if compound and conn not in ("für", "for", "of", "voor", "van"):
            return named
        if j < n and tokens[j].text.lower() in ARTICLES and tokens[j].glued:
            j += 1
        elif j + 1 < n and tokens[j].text.lower() == "l" and tokens[j + 1].text in ("'", "’"):
            j += 2
        end = None
        # "Wirtschaft und Klimaschutz", "Disease Control and Prevention"; in French, Spanish and Italian
        # "and" mostly starts another name ("l'Économie et Bercy")
        joins = AND if self.lang in ("de", "nl", "en") else ()
        while j < n and tokens[j].word and tokens[j].text[0].isupper() and tokens[j].text.lower() not in self.stop:
            if tokens[j].shouted or self._person_at(tokens, j):
                break
            j += 1
            end = j
            if _town(tokens, j - 1, owner):
                break
            if j + 1 < n and tokens[j].text in joins and tokens[j + 1].text[:1].isupper():
                if self._another_organisation(tokens, j + 1):
                    break  # "University of Oxford and Imperial College"
                j += 1
        if end is None:
            return named
        if (
            self.lang == "fr"
            and end < n
            and not _town(tokens, end - 1, owner)
            and _FRENCH_ADJECTIVE.fullmatch(tokens[end].text)
        ):
            end += 1
        return end

    def _another_organisation(self, tokens: list[Token], j: int) -> bool:
        """The capitalised words from ``j`` on hold an organisation word: they name one of their own."""
        while j < len(tokens) and tokens[j].word and tokens[j].text[0].isupper():
            if tokens[j].text in HEADS_FINAL or tokens[j].text in HEADS_INITIAL or self._acronym(tokens[j]):
                return True
            j += 1
        return False

    def _person_at(self, tokens: list[Token], j: int) -> bool:
        """A given name and a name word start at ``j``: a person, who ends an organisation's name."""
        if not (self._given(tokens[j]) and j + 1 < len(tokens) and tokens[j + 1].glued):
            return False
        # "Instituto de Salud Carlos III": a regnal number makes the words before it a king's name
        regnal = j + 2 < len(tokens) and tokens[j + 2].glued and _regnal(tokens[j + 2])
        return self._name_word(tokens[j + 1]) and not regnal

    def _place_after(self, tokens: list[Token], k: int, owner: list[Mention | None]) -> int:
        """``k + 1`` when token ``k`` names the place of a university, museum ... ("Universität Hamburg")."""
        if k >= len(tokens):
            return k
        tok = tokens[k]
        if not tok.glued or not self._name_word(tok):
            return k
        return k + 1 if _town(tokens, k, owner) else k


def _town(tokens: list[Token], k: int, owner: list[Mention | None]) -> bool:
    """Token ``k`` is, alone, a place the gazetteer knows."""
    m = owner[k]
    return m is not None and m.label == "LOC" and (m.start, m.end) == (tokens[k].start, tokens[k].end)


def _dateline(tokens: list[Token], i: int, text: str) -> bool:
    """Token ``i`` opens a line and a dash, bracket or comma follows it: a dateline ("ROMA -")."""
    start = tokens[i].start
    if text[text.rfind("\n", 0, start) + 1 : start].strip():
        return False
    return i + 1 < len(tokens) and tokens[i + 1].text in ("-", "–", "—", "(", ",", ":")


def _regnal(tok: Token) -> bool:
    """A roman numeral after a name ("Carlos III", "Federico II")."""
    return tok.word and len(tok.text) <= 4 and tok.text.isupper() and _ROMAN.fullmatch(tok.text) is not None


def _number_after(tokens: list[Token], i: int) -> bool:
    return i + 1 < len(tokens) and tokens[i + 1].glued and tokens[i + 1].text[0].isdigit()


def _tokens_reading(tokens: list[Token], text: str, words: Iterable[str], genitive: bool) -> list[int]:
    """Indices, in order, of the tokens that read one of ``words`` (``genitive``: or one of them and one
    character more, "Weidels"). Found with ``str.find``: a few words, hundreds of tokens."""
    found = set()
    n = len(tokens)
    for word in words:
        at = text.find(word)
        while at >= 0:
            k = bisect.bisect_left(tokens, at, key=_START)
            if k < n and tokens[k].start == at:
                read = tokens[k].text
                if read == word or (genitive and read[:-1] == word):
                    found.add(k)
            at = text.find(word, at + 1)
    return sorted(found)


def _capitalise(words: Iterable[str]) -> list[str]:
    words = list(words)
    return [words[0][:1].upper() + words[0][1:], *words[1:]] if words else words


def _owners(tokens: list[Token], gazetteer: Sequence[Mention]) -> list[Mention | None]:
    """Per token, the gazetteer match that covers it (the longest), or None."""
    owner: list[Mention | None] = [None] * len(tokens)
    if not gazetteer:
        return owner
    for m in sorted(gazetteer, key=lambda m: m.end - m.start):
        i = bisect.bisect_left(tokens, m.start, key=_START)
        while i < len(tokens) and tokens[i].start < m.end:
            owner[i] = m
            i += 1
    return owner


def _placed(m: Mention | None) -> bool:
    """Covered by a gazetteer match of a place, organisation or thing (not a person)."""
    return m is not None and m.label != "PER"


def drop_overlapping(rules: Iterable[Mention], model: Sequence[Mention]) -> list[Mention]:
    """Rule mentions that overlap no model mention: a trained model's decision is never overridden."""
    return [r for r in rules if not any(m.start < r.end and r.start < m.end for m in model)]
