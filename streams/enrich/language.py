"""Language identification: py3langid restricted to the configured languages.

``LanguageDetector.detect(text, hint)`` returns ``(language, confidence)``:

- ``confidence`` is py3langid's normalised probability (``norm_probs=True``: a softmax over the
  configured languages, temperature-scaled by text length) of the *returned* language, or ``None``
  when the text has too few letters to measure anything.
- ``"und"`` (undetermined, ISO 639-2) when the text has fewer than ``min_letters`` letters and no
  usable hint, or when the detector's best guess is below ``min_confidence``.
- A producer hint (``"nl"``, ``"nl-NL"``, ``"NL"``) is checked, not trusted: it is kept when the
  detector agrees or is unsure, and overridden only when the detector is clearly confident
  (>= ``override_confidence``) about another language on a text long enough to judge.

Only the first ``max_chars`` characters are read: cost is linear in length, and 1,000 characters of
prose already give probabilities of ~1.0.

Speed: py3langid finds its features by walking a byte automaton in a Python loop, one step per byte
(~150 us for 1,000 characters). ``FastIdentifier`` finds the same features, in the same order, with
a few numpy operations, and leaves the rest (scoring, normalisation, ranking) to py3langid. It rests
on one property of the model's automaton: it forgets everything older than its last ``W`` bytes
(``memory_window``: after ``W`` steps on the same bytes, every starting state is in the same state).
So the state after byte ``i`` is the state reached from the start over bytes ``i-W+1 .. i``, and ``W``
vectorised steps over all positions give every state at once. Proving ``W`` takes seconds, so it is
recorded per model file (``_MEMORY_WINDOWS``, by SHA-256; tests/unit/test_language.py proves it again);
a model file not listed there, or library internals not as expected, leave py3langid's loop in place.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from array import array
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from py3langid import langid as _langid
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from streams.contracts.languages import normalise_language

log = logging.getLogger(__name__)

UND = "und"

# py3langid model file (SHA-256) -> its automaton's memory window W, proven by ``memory_window``.
_MEMORY_WINDOWS = {
    "f4f4a2c3465ca1f081541037f9cac23021d68151c2f709c55ae5eedfca522963": 6,  # py3langid 0.4.0
}


def normalise_hint(hint: object) -> str | None:
    """``"nl-NL"``, ``"NL"``, ``" nl_BE "`` -> ``"nl"``; anything unusable -> None."""
    try:
        return normalise_language(hint) if isinstance(hint, str) else None
    except ValueError:
        return None


def count_letters(text: str, stop_at: int | None = None) -> int:
    n = 0
    for ch in text:
        if ch.isalpha():
            n += 1
            if stop_at is not None and n >= stop_at:
                break
    return n


class LanguageDetector:
    def __init__(
        self,
        languages: Iterable[str],
        *,
        min_letters: int = 10,
        min_confidence: float = 0.5,
        override_confidence: float = 0.9,
        override_min_letters: int = 30,
        max_chars: int = 1000,
    ):
        self.languages = list(dict.fromkeys(languages))
        # Loading the model takes ~1.5 s: one identifier per detector, made once per worker.
        self._identifier = FastIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        known = set(self._identifier.labels)
        usable = [lang for lang in self.languages if lang in known]
        for lang in set(self.languages) - set(usable):
            log.warning("language %r is not known to py3langid; it can only come from a hint", lang)
        if not usable:
            raise ValueError(f"none of the configured languages {self.languages} is detectable")
        self._identifier.set_languages(usable)
        self._identifier.speed_up(_MEMORY_WINDOWS.get(model_digest()))
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.override_confidence = override_confidence
        self.override_min_letters = override_min_letters
        self.max_chars = max_chars

    def probabilities(self, text: str) -> dict[str, float]:
        """Probability per configured language (sums to 1)."""
        return dict(self._identifier.rank(text[: self.max_chars]))

    def detect(self, text: str, hint: object = None) -> tuple[str, float | None]:
        hint_code = normalise_hint(hint)
        if hint_code not in self.languages:
            hint_code = None  # a hint outside the configured languages cannot select a pipeline
        sample = text[: self.max_chars]
        letters = count_letters(sample, stop_at=max(self.min_letters, self.override_min_letters))
        if letters < self.min_letters:
            return (hint_code or UND), None

        ranked = self._identifier.rank(sample)  # one pass gives the best guess and P(hint)
        lang, conf = ranked[0][0], float(ranked[0][1])
        if hint_code is None:
            return (lang, conf) if conf >= self.min_confidence else (UND, conf)
        if lang == hint_code:
            return lang, conf
        if conf >= self.override_confidence and letters >= self.override_min_letters:
            log.debug("language hint %r overridden by %r (p=%.3f)", hint_code, lang, conf)
            return lang, conf
        hint_prob = dict(ranked).get(hint_code)  # None if py3langid does not know the language
        return hint_code, (None if hint_prob is None else float(hint_prob))


def model_digest(path: Path | str | None = None) -> str:
    """SHA-256 of py3langid's model file (the shipped one by default)."""
    path = Path(path) if path else Path(_langid.__file__).parent / MODEL_FILE
    return hashlib.sha256(path.read_bytes()).hexdigest()


def memory_window(nextmove: np.ndarray, rowbase: np.ndarray, limit: int = 16) -> int | None:
    """The least W such that W steps over the same bytes bring every state to the same state.

    Follows the pairs (any state, start state) byte by byte; pairs that meet stay met. Transitions
    depend only on a state's row of the table, so pairs are followed as pairs of rows. None when
    pairs still differ after ``limit`` steps. Seconds and a few hundred MB for py3langid's model:
    for tests, not for start-up.
    """
    nextmove = np.asarray(nextmove, dtype=np.int64)
    rowbase = np.asarray(rowbase, dtype=np.int64)
    octets = np.arange(256, dtype=np.int64)
    scale = int(rowbase.max()) + 1
    left_rows = np.unique(rowbase)
    right_rows = np.full(len(left_rows), rowbase[0])
    for step in range(1, limit + 1):
        left = nextmove[(left_rows[:, None] + octets).ravel()]
        right = nextmove[(right_rows[:, None] + octets).ravel()]
        differ = left != right
        if not differ.any():
            return step
        pairs = np.unique(rowbase[left[differ]] * scale + rowbase[right[differ]])
        left_rows, right_rows = pairs // scale, pairs % scale
    return None


class FastIdentifier(LanguageIdentifier):
    """py3langid's identifier with the feature walk vectorised (module docstring); the rest is its own."""

    __slots__ = ("_window", "_moves", "_rows", "_outputs", "_table")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._window: int | None = None

    def set_languages(self, langs=None):
        super().set_languages(langs)
        if getattr(self, "_window", None) is not None:
            self._table = np.asarray(self.nb_ptc, dtype=np.float32)

    def speed_up(self, window: int | None) -> bool:
        """Use the vectorised walk for an automaton of memory ``window`` (None: keep the loop)."""
        self._window = None
        if window is None:
            log.info("language detection: no proven memory window for this py3langid model; per-byte loop")
            return False
        try:
            moves = self.tk_nextmove  # ~10M entries: a view on py3langid's array, not a copy
            self._moves = (
                np.frombuffer(moves, dtype=np.dtype(moves.typecode)) if isinstance(moves, array) else np.asarray(moves)
            )
            self._rows = np.asarray(self._rowbase, dtype=np.int64)
            self._outputs = np.asarray(self.tk_output, dtype=np.int64)
            self._table = np.asarray(self.nb_ptc, dtype=np.float32)
            if int(self._outputs.max()) >= len(self.nb_ptc):
                raise ValueError("feature ids beyond the model's table")
            self._window = window
            same = all(
                np.array_equal(self._raw_score(data), LanguageIdentifier._raw_score(self, data))
                for data in map(self._encode, _SELF_CHECK)
            )
        except (AttributeError, TypeError, ValueError, IndexError) as exc:
            log.warning("language detection: py3langid internals changed (%s); per-byte loop", exc)
            same = False
        if not same:
            log.warning("language detection: vectorised features differ from py3langid's; per-byte loop")
            self._window = None
        return self._window is not None

    def features(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(feature ids in order of first occurrence, their counts as float32), as py3langid's walk."""
        n, window, moves, rows = len(data), self._window, self._moves, self._rows
        octets = np.frombuffer(data, dtype=np.uint8)
        states = np.zeros(n, dtype=np.int64)
        # Step k moves position i >= lag over byte i - lag (lag = window-1-k): a position near the
        # start stays in the start state until its window reaches byte 0, as in the loop.
        for lag in range(min(window, n) - 1, -1, -1):
            states[lag:] = moves[rows[states[lag:]] + octets[: n - lag]]
        found = self._outputs[states]
        found = found[found >= 0]
        # Distinct ids in order of first occurrence, and their counts, without sorting: a position
        # holds its id's first occurrence when it is the least position of that id.
        first, count = self._scratch()
        positions = np.arange(len(found))
        np.minimum.at(first, found, positions)
        np.add.at(count, found, 1)
        ids = found[first[found] == positions]
        counts = count[ids].astype(np.float32)
        first[ids] = _NEVER
        count[ids] = 0
        return ids.astype(np.intp), counts

    def _scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-thread arrays over all feature ids, kept clean between calls."""
        scratch = getattr(_SCRATCH, "arrays", None)
        if scratch is None or len(scratch[0]) != len(self.nb_ptc):
            scratch = _SCRATCH.arrays = (
                np.full(len(self.nb_ptc), _NEVER, dtype=np.int64),
                np.zeros(len(self.nb_ptc), dtype=np.int64),
            )
        return scratch

    def _raw_score(self, text):
        if self._window is None or not isinstance(text, bytes):
            return super()._raw_score(text)
        idx, counts = self.features(text)
        if not idx.size:
            return super()._raw_score(b"")  # py3langid's answer for a text without features
        # py3langid's _sparse_score, on the same arrays in the same order: the same floats (its
        # float16 table, widened once to float32 as numpy would for each product).
        return np.log1p(counts) @ self._table[idx] + self.nb_pc


_NEVER = np.iinfo(np.int64).max
_SCRATCH = threading.local()

# Texts the vectorised walk must score exactly as py3langid does before it is used.
_SELF_CHECK = (
    "",
    "a",
    "Ok.",
    "Het kabinet wil volgend jaar extra geld uittrekken voor de zorg en het onderwijs.",
    "DIE BUNDESREGIERUNG WILL MEHR GELD AUSGEBEN",
    "L'opposition estime que ces projets ne font pas assez… «Non», dit-il à l'Élysée.",
    "Президент России Владимир Путин встретился с Макроном. Ο πρόεδρος συναντήθηκε. 東京で会談 2022",
)
