"""`newsstreams enrich` (dry run, no Kafka) and `newsstreams models list|download`."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from streams.cli.common import app, console, err, fail, print_json, say
from streams.settings import Settings, get_settings

DRY_RUN_BATCH = 64  # articles per nlp.pipe call: output starts before a big directory is read


# --- enrich ----------------------------------------------------------------------------------------


def _log_to_stderr() -> None:
    # Model fallbacks and translation failures are warnings a user tuning the setup should see.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def enrich(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files (.txt, .json, .jsonl), directories (recursive) or - for stdin.", show_default=False),
    ],
    compact: Annotated[bool, typer.Option("--compact", help="One JSON document per line (JSONL).")] = False,
    source: Annotated[str | None, typer.Option(help="Source for articles that name none.")] = None,
    language: Annotated[
        str | None,
        typer.Option(help="Language hint (ISO 639-1) for articles that give none; checked against the text."),
    ] = None,
) -> None:
    """Enrich articles and print the documents as they would be indexed; no Kafka, no search engine.

    For tuning gazetteers, topic lexicons and models. Output: one indented JSON document after
    another (a stream `jq` reads), or JSONL with --compact. Rejected inputs are reported on stderr;
    exit 1 if any input was rejected or failed to enrich.
    """
    from streams.cli.produce import _check_language
    from streams.contracts.inputs import read_inputs
    from streams.enrich import Enricher
    from streams.enrich.translate import TranslatorConfigError

    _log_to_stderr()
    settings = get_settings()
    hint = _check_language(language)
    try:
        enricher = Enricher.from_settings(settings)
    except TranslatorConfigError as exc:
        fail(str(exc), 2)
    bad = 0
    batch: list[tuple[str, dict]] = []

    def flush() -> int:
        results = enricher.enrich_batch([article for _origin, article in batch])
        failed = 0
        for (origin, _article), result in zip(batch, results, strict=True):
            if result.error is not None:
                failed += 1
                say(err, ("failed ", "bold red"), f"{origin}: {type(result.error).__name__}: {result.error}")
            elif compact:
                sys.stdout.write(json.dumps(result.doc, ensure_ascii=False) + "\n")
            else:
                print_json(result.doc)
        sys.stdout.flush()
        batch.clear()
        return failed

    for origin, article, problem in read_inputs(paths, source=source, language=hint, limits=settings.limits):
        if article is None:
            bad += 1
            say(err, ("rejected ", "bold red"), f"{origin}: {problem}")
            continue
        batch.append((origin, article))
        if len(batch) >= DRY_RUN_BATCH:
            bad += flush()
    if batch:
        bad += flush()
    if bad:
        raise typer.Exit(1)


# --- models ----------------------------------------------------------------------------------------

models_app = typer.Typer(no_args_is_help=True, help="The spaCy models per language: list, download.")
app.add_typer(models_app, name="models")

XX = "xx"  # spaCy's multi-language code: undetermined text and languages spaCy lacks use it


def _configured(settings: Settings) -> dict[str, str | None]:
    """language -> configured model package (None: none configured), plus xx -> fallback."""
    enrich = settings.enrich
    out: dict[str, str | None] = {lang: enrich.models.get(lang) for lang in enrich.languages}
    out[XX] = enrich.models.get(XX) or enrich.fallback_model
    return out


def _installed(name: str | None) -> tuple[bool, str | None]:
    import spacy.util

    if not name:
        return False, None
    if spacy.util.is_package(name):
        return True, spacy.util.get_package_version(name)
    if Path(name).is_dir():  # a model directory: its meta.json has the version
        try:
            meta = json.loads((Path(name) / "meta.json").read_text(encoding="utf-8"))
            return True, meta.get("version")
        except (OSError, ValueError):
            return True, None
    return False, None


def _has_language_class(lang: str) -> bool:
    # find_spec, not spacy.util.get_lang_class: importing a language (French: 6 s) is not needed
    # to know it exists.
    import importlib.util

    try:
        return importlib.util.find_spec(f"spacy.lang.{lang}") is not None
    except (ImportError, ValueError):
        return False


def model_rows(settings: Settings) -> list[dict[str, Any]]:
    """What `models list` shows; ``used`` mirrors streams.enrich.entities.build_pipeline."""
    fallback = settings.enrich.fallback_model
    fallback_ok, _ = _installed(fallback)
    rows = []
    for lang, package in _configured(settings).items():
        installed, version = _installed(package)
        if not _has_language_class(lang):
            used = f"as {XX} (spaCy has no '{lang}')"
        elif installed:
            used = f"{package}+gazetteer"
        elif fallback_ok:
            used = f"{fallback}+gazetteer"
        else:
            used = "blank+gazetteer"
        rows.append({"language": lang, "package": package, "installed": installed, "version": version, "used": used})
    return rows


@models_app.command("list")
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Per configured language: the model package, whether it is installed, and what will be used.

    `xx` is the multi-language pipeline (enrich.fallback_model) for undetermined text. A language
    whose model is missing falls back to the fallback model if installed, else to
    blank+gazetteer (gazetteer entities only).
    """
    rows = model_rows(get_settings())
    if as_json:
        print_json(rows)
        return
    # Plain columns, not a rich table: stays on one line per language in pipes and 80 columns.
    header = ("language", "package", "installed", "version", "used")
    lines = [header] + [
        (r["language"], r["package"] or "-", "yes" if r["installed"] else "no", r["version"] or "-", r["used"])
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    for line in lines:
        say(console, "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)) + "  " + line[-1])


# Output of a failed `spacy download` -> the reason a user can act on.
_REASONS = [
    (
        re.compile(
            r"NameResolution|Name or service not known|Temporary failure in name resolution|"
            r"Max retries exceeded|Failed to establish a new connection|ConnectionError|"
            r"ProxyError|ConnectTimeout|ReadTimeout|Network is unreachable|SSLError",
            re.IGNORECASE,
        ),
        "no access to the model host (network)",
    ),
    (
        re.compile(r"No compatible package found|No matching distribution|compatib", re.IGNORECASE),
        "no compatible package for this spaCy version",
    ),
    (re.compile(r"No module named pip", re.IGNORECASE), "pip is not available in this environment"),
    (
        re.compile(r"Permission denied|EnvironmentError|OSError: \[Errno 13\]", re.IGNORECASE),
        "no permission to install into this environment",
    ),
]


def download_reason(output: str) -> str:
    for pattern, reason in _REASONS:
        if pattern.search(output):
            return reason
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "spacy download failed"


def download_model(package: str, timeout_s: float) -> str | None:
    """Run `python -m spacy download`; None on success, else a one-line reason."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "spacy", "download", package], capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:g}s"
    if proc.returncode == 0:
        return None
    return download_reason(proc.stdout + "\n" + proc.stderr)


@models_app.command("download")
def models_download(
    languages: Annotated[
        list[str] | None,
        typer.Argument(
            help="Languages (e.g. nl en, xx = the fallback model). [default: all configured]", show_default=False
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Download even if already installed.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds per model.")] = 900.0,
) -> None:
    """Install the configured spaCy model of each language (`python -m spacy download`).

    Needs access to GitHub (the model host). Exit 1 if any model could not be installed, with one
    line per model saying why; 2 if a language has no configured model.
    """
    configured = _configured(get_settings())
    wanted = [lang.strip().lower() for lang in languages] if languages else list(configured)
    unknown = [lang for lang in wanted if not configured.get(lang)]
    if unknown:
        fail(
            f"no model configured for {', '.join(unknown)} (configured: "
            f"{', '.join(lang for lang, pkg in configured.items() if pkg)}; "
            "set enrich.models.<lang> in settings.toml or NEWSSTREAMS_ENRICH__MODELS__<LANG>)",
            2,
        )
    failed = 0
    for package in dict.fromkeys(configured[lang] for lang in wanted):  # each package once
        installed, version = _installed(package)
        if installed and not force:
            say(console, f"{package} {version or ''} already installed".replace("  ", " "))
            continue
        say(console, f"downloading {package} ...")
        reason = download_model(package, timeout)
        if reason is None:
            say(console, ("installed ", "bold green"), package)
        else:
            failed += 1
            say(err, ("error: ", "bold red"), f"could not download {package}: {reason}")
    if failed:
        say(
            err,
            "hint: without internet access, install a model wheel with pip, or set "
            "enrich.models.<lang> to a model directory; missing models fall back to "
            "blank+gazetteer",
        )
        raise typer.Exit(1)
