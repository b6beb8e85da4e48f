"""`newsstreams models list|download`: the spaCy models per language."""

from __future__ import annotations

from typing import Annotated

import typer

from streams.cli.common import app, console, err, print_json, say, usage_error
from streams.settings import get_settings

models_app = typer.Typer(no_args_is_help=True, help="The spaCy models per language: list, download.")
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Per configured language: the model package, whether it is installed, and what will be used.

    `xx` is the multi-language pipeline (enrich.fallback_model) for undetermined text and for
    languages spaCy lacks. A language whose model is missing falls back to the fallback model if
    installed, else to blank+gazetteer (gazetteer entities only).
    """
    from streams.enrich.models import model_choices

    rows = [
        {"language": c.language, "package": c.package, "installed": c.installed, "version": c.version, "used": c.used}
        for c in model_choices(get_settings().enrich)
    ]
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
    from streams.enrich.models import installed_model
    from streams.ops.models import NoModelConfigured, download_model, packages_to_download

    try:
        packages = packages_to_download(get_settings().enrich, languages)
    except NoModelConfigured as exc:
        usage_error(str(exc))
    failed = 0
    for package in packages:
        installed, version = installed_model(package)
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
