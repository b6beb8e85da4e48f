"""`newsstreams enrich` (dry run) and `newsstreams models list|download`, run like a user would:
``python -m streams ...`` in a subprocess. No Kafka, no search engine, no model host needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from streams.ops.models import download_reason
from streams.settings import PROJECT_DIR, Settings

SEED = "seeds/000_d6634ea9b322a4cb.txt"
MISSING = "nl_no_such_model_xyz"


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSSTREAMS_")}
    full_env |= {"NEWSSTREAMS_LOG_LEVEL": "WARNING"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        cwd=PROJECT_DIR,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def documents(stdout: str) -> list[dict]:
    """The stream of (indented) JSON documents `enrich` prints."""
    decoder, docs, pos = json.JSONDecoder(), [], 0
    while pos < len(stdout.rstrip()):
        doc, pos = decoder.raw_decode(stdout, pos)
        docs.append(doc)
        while pos < len(stdout) and stdout[pos].isspace():
            pos += 1
    return docs


# --- enrich ---------------------------------------------------------------------------------------


def test_enrich_the_seed_and_report_a_bad_input():
    proc = run("enrich", SEED, "seeds/no_such_file.txt")
    assert proc.returncode == 1, proc.stderr
    [doc] = documents(proc.stdout)
    assert doc["language"] == "nl"
    assert {"Q7747", "Q3052772", "Q7184"} <= set(doc["entity_ids"])  # Putin, Macron, NATO
    assert doc["entities"] and doc["topics"] and doc["translations"] == {}
    assert doc["pipeline"]["ner_model"].endswith("+gazetteer")
    assert "rejected" in proc.stderr and "no_such_file.txt: not_found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_enrich_from_stdin_compact():
    lines = [
        {
            "title": "Poetin ontmoet Macron",
            "body": "De Russische president sprak in Moskou met de Franse president over Oekraïne en de NAVO.",
        },
        {
            "title": "Putin meets Macron",
            "body": "The Russian president met the French president in Moscow to talk about Ukraine and NATO.",
        },
    ]
    proc = run("enrich", "-", "--compact", stdin="\n".join(json.dumps(x) for x in lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert len(out) == 2
    docs = [json.loads(line) for line in out]
    assert [d["language"] for d in docs] == ["nl", "en"]
    assert all("Q7747" in d["entity_ids"] for d in docs)


def test_enrich_rejects_invalid_input_with_exit_1():
    proc = run("enrich", "-", stdin=json.dumps({"title": "no body"}))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "rejected" in proc.stderr and "<stdin>" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_enrich_uses_the_configured_translator(tmp_path):
    (tmp_path / "cli_engines.py").write_text(
        textwrap.dedent("""
        class Upper:
            name = "upper"
            def translate(self, text, source, target):
                return text.upper()
    """)
    )
    env = {"NEWSSTREAMS_TRANSLATE__BACKEND": "cli_engines:Upper", "PYTHONPATH": str(tmp_path)}
    proc = run("enrich", "--compact", SEED, env=env)
    assert proc.returncode == 0, proc.stderr
    translation = json.loads(proc.stdout)["translations"]["en"]
    assert translation["title"].startswith("DE RUSSISCHE PRESIDENT POETIN")
    assert translation["source"] == "nl" and translation["engine"] == "upper"
    assert 0 < len(translation["summary"]) <= 501


def test_enrich_with_a_bad_translator_setting_fails_clearly():
    proc = run("enrich", SEED, env={"NEWSSTREAMS_TRANSLATE__BACKEND": "no_such_module_xyz:Engine"})
    assert proc.returncode == 2
    assert "cannot import no_such_module_xyz" in proc.stderr and "Traceback" not in proc.stderr


# --- models ---------------------------------------------------------------------------------------


def test_models_list_shows_every_configured_language():
    proc = run("models", "list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["language", "package", "installed", "version", "used"]
    settings = Settings()
    shown = {line.split()[0]: line for line in lines[1:]}
    assert set(shown) == set(settings.enrich.languages) | {"xx"}
    for lang, package in settings.enrich.models.items():
        assert package in shown[lang]


def test_models_list_says_blank_gazetteer_for_a_missing_model():
    env = {"NEWSSTREAMS_ENRICH__MODELS__NL": MISSING, "NEWSSTREAMS_ENRICH__FALLBACK_MODEL": "xx_no_such_model_xyz"}
    proc = run("models", "list", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {row["language"]: row for row in json.loads(proc.stdout)}
    assert rows["nl"] == {
        "language": "nl",
        "package": MISSING,
        "installed": False,
        "version": None,
        "used": "blank+gazetteer",
    }
    assert rows["xx"]["package"] == "xx_no_such_model_xyz" and rows["xx"]["used"] == "blank+gazetteer"
    plain = run("models", "list", env=env).stdout
    assert any(
        line.split()[:3] == ["nl", MISSING, "no"] and line.endswith("blank+gazetteer") for line in plain.splitlines()
    )


def test_models_download_an_unknown_language():
    proc = run("models", "download", "zz")
    assert proc.returncode != 0
    assert "no model configured for zz" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_models_download_failure_is_one_clear_line():
    # The package does not exist: with internet the model host says so, without it the host is
    # unreachable. Either way one line naming the package and a reason, and exit 1.
    proc = run("models", "download", "nl", env={"NEWSSTREAMS_ENRICH__MODELS__NL": MISSING})
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and errors[0].startswith(f"error: could not download {MISSING}: ")
    assert "Traceback" not in proc.stderr + proc.stdout


SPACY_OFFLINE = """Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/spacy/cli/download.py", line 141, in get_compatibility
    r = requests.get(about.__compatibility__)
requests.exceptions.ConnectionError: HTTPSConnectionPool(host='raw.githubusercontent.com', port=443): Max retries exceeded with url: /explosion/spacy-models/master/compatibility.json (Caused by NameResolutionError("HTTPSConnection(host='raw.githubusercontent.com', port=443): Failed to resolve 'raw.githubusercontent.com' ([Errno -2] Name or service not known)"))
"""


@pytest.mark.parametrize(
    "output, reason",
    [
        (SPACY_OFFLINE, "no access to the model host (network)"),
        (
            "✘ No compatible package found for 'nl_no_such_model_xyz' (spaCy v3.8.7)\n",
            "no compatible package for this spaCy version",
        ),
        ("something odd\nlast line here\n", "last line here"),
    ],
)
def test_download_reasons(output, reason):
    assert download_reason(output) == reason
