"""Fingerprints: normalisation, shingles, stable band keys, similar copies and different texts."""

import json
import subprocess
import sys
from pathlib import Path

from streams.settings import StoriesSettings
from streams.stories.fingerprint import fingerprint, normalise, shingles, similarity, valid_fingerprint

SETTINGS = StoriesSettings()
ROOT = Path(__file__).resolve().parents[2]

BODY = (
    "The port authority of Rotterdam said on Tuesday that container traffic fell by four percent in the "
    "first half of the year, the second decline in a row. Shipping lines blamed weaker demand in Germany "
    "and the diversion of vessels around the Cape of Good Hope, which keeps ships at sea for longer. "
    "Terminal operators have cut night shifts at two of the largest quays, and the union warned that more "
    "jobs could follow if volumes do not recover by the autumn. The authority still expects to finish the "
    "new rail link to the hinterland next year, a project that should move a third of all containers off "
    "the roads. Its chief executive told reporters that the port had weathered worse years and that "
    "investment in hydrogen terminals would go ahead as planned. Analysts at two Dutch banks said the "
    "figures were in line with what competitors in Antwerp and Hamburg had reported last week. The city "
    "council will discuss the figures on Thursday, when the opposition wants answers about the cost of the "
    "dredging contract that was awarded in March without a public tender."
)
TITLE = "Rotterdam container traffic falls for second half-year in a row"


def test_normalise_folds_width_case_and_punctuation():
    # NFKC turns the ligature and the full-width letters into plain ones; casefold makes ß "ss".
    assert normalise("  Straße,\tﬁnal — ＡＢＣ!!  ok_ok ") == "strasse final abc ok ok"


def test_shingles_of_short_and_empty_texts():
    assert shingles("Kort bericht", 3) == ["kort bericht"]  # fewer words than a shingle: one of what is there
    assert shingles(" ... ", 3) == []
    assert shingles("a b c d", 3) == ["a b c", "b c d"]


def test_empty_text_has_no_bands_and_short_text_has_bands():
    assert fingerprint({"title": "", "body": "  "}, SETTINGS) == {"bands": [], "minhash": []}
    short = fingerprint({"title": "Brand", "body": ""}, SETTINGS)
    assert len(short["bands"]) == SETTINGS.bands and len(short["minhash"]) == SETTINGS.num_perm


def test_band_keys_are_compact_and_name_their_band():
    bands = fingerprint({"title": TITLE, "body": BODY}, SETTINGS)["bands"]
    assert [b.split(":")[0] for b in bands] == [f"b{i:02d}" for i in range(SETTINGS.bands)]
    assert all(len(b.split(":")[1]) == 16 for b in bands)
    assert len(set(bands)) == len(bands)


def test_same_text_same_keys_across_calls_and_processes():
    doc = {"title": TITLE, "body": BODY}
    here = fingerprint(doc, SETTINGS)
    assert fingerprint(dict(doc), StoriesSettings()) == here
    code = (
        "import json, sys; from streams.settings import StoriesSettings; "
        "from streams.stories.fingerprint import fingerprint; "
        "print(json.dumps(fingerprint(json.loads(sys.stdin.read()), StoriesSettings())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(doc),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"},  # another str-hash seed than ours
    )
    assert json.loads(out.stdout) == here


def test_near_verbatim_copy_is_similar_and_shares_a_band():
    original = fingerprint({"title": TITLE, "body": BODY}, SETTINGS)
    edited = BODY.replace(
        "The city council will discuss the figures on Thursday,", "Local politicians are to debate the numbers soon,"
    )
    assert edited != BODY
    copy = fingerprint({"title": "Port of Rotterdam handles fewer boxes", "body": edited}, SETTINGS)
    assert similarity(original["minhash"], copy["minhash"]) >= SETTINGS.duplicate_threshold
    assert set(original["bands"]) & set(copy["bands"])


def test_different_text_is_not_similar():
    original = fingerprint({"title": TITLE, "body": BODY}, SETTINGS)
    other = fingerprint(
        {
            "title": "Hamburg port posts record year",
            "body": "Hamburg handled more containers than ever last year, its operator said, thanks to new "
            "routes to Asia and a second automated terminal that opened in the spring.",
        },
        SETTINGS,
    )
    assert similarity(original["minhash"], other["minhash"]) < 0.2
    assert not set(original["bands"]) & set(other["bands"])


def test_similarity_edge_cases():
    assert similarity([], [1, 2]) == 0.0
    assert similarity([1, 2, 3, 4], [1, 2, 3, 5]) == 0.75
    assert similarity([1, 2], [1, 2, 3]) == 0.0  # signed under another num_perm: not comparable


def test_a_fingerprint_from_a_record_is_checked_before_use():
    good = fingerprint({"title": "Storm", "body": "A storm hit the coast on Monday night."}, SETTINGS)
    assert valid_fingerprint(good, SETTINGS)
    assert valid_fingerprint({"bands": [], "minhash": []}, SETTINGS)  # an empty text
    assert not valid_fingerprint(None, SETTINGS)
    assert not valid_fingerprint({"bands": good["bands"][:-1], "minhash": good["minhash"]}, SETTINGS)
    assert not valid_fingerprint({"bands": good["bands"], "minhash": good["minhash"][:-1]}, SETTINGS)
    assert not valid_fingerprint({"bands": good["bands"], "minhash": ["1"] * SETTINGS.num_perm}, SETTINGS)
    assert not valid_fingerprint({"bands": good["bands"], "minhash": [2**40] * SETTINGS.num_perm}, SETTINGS)
