"""`newsstreams eval DIR`: enrichment quality on a hand-annotated set (docs/EVALUATION.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from streams.cli.common import app, console, fail, print_json, say
from streams.settings import get_settings


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _ratio(hits: int, total: int) -> str:
    return f"{hits}/{total}" if total else "-"


def _language_table(report: Any) -> Table:
    table = Table(
        "lang",
        "n",
        "lang ok",
        "ent P",
        "ent R",
        "ent F1",
        "links ok",
        "wrong",
        "topics ok",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        title="Per gold language (n articles; ok = right/total; links: of gold QIDs found)",
    )
    last = list(report.by_language)[-1] if report.by_language else None
    for lang, row in [*report.by_language.items(), ("all", report.total)]:
        e, lk = row.entities, row.linking
        table.add_row(
            lang,
            str(row.articles),
            _ratio(row.language.hits, row.language.total),
            _f(e.precision),
            _f(e.recall),
            _f(e.f1),
            _ratio(lk.correct, lk.found),
            str(lk.wrong),
            _ratio(row.topics.hits, row.topics.total),
            end_section=lang == last,
        )
    return table


def _type_table(report: Any) -> Table:
    table = Table(
        "type",
        "gold",
        "predicted",
        "correct",
        "P",
        "R",
        "F1",
        box=box.SIMPLE_HEAD,
        title="Entities per type: (text, label) per article",
        title_justify="left",
    )
    for label, prf in report.by_type.items():
        table.add_row(
            label, str(prf.gold), str(prf.predicted), str(prf.tp), _f(prf.precision), _f(prf.recall), _f(prf.f1)
        )
    micro = report.total.entities
    table.add_section()
    table.add_row(
        "micro",
        str(micro.gold),
        str(micro.predicted),
        str(micro.tp),
        _f(micro.precision),
        _f(micro.recall),
        _f(micro.f1),
    )
    return table


def _summary(report: Any) -> None:
    t = report.total
    lk = t.linking
    say(
        console,
        ("linking  ", "bold"),
        f"{lk.gold_with_qid} gold entities with a QID, {lk.found} found; of those {lk.correct} "
        f"linked right (accuracy {_f(lk.accuracy)}), {lk.wrong} linked to another QID, "
        f"{lk.unlinked} unlinked; recall {_f(lk.recall)}. "
        f"{lk.linked_without_gold_qid} link(s) given to entities the gold leaves without a QID.",
    )
    say(
        console,
        ("topics   ", "bold"),
        f"top-3 contains a gold topic in {t.topics.hits}/{t.topics.total} "
        f"({_f(t.topics.accuracy)}); best topic is gold in {t.topics_top1.hits}/"
        f"{t.topics_top1.total} ({_f(t.topics_top1.accuracy)}); no topic at all: {t.no_topics}.",
    )
    say(console, ("language ", "bold"), f"{t.language.hits}/{t.language.total} ({_f(t.language.accuracy)}).")
    for lang, models in report.models.items():
        say(console, ("model    ", "bold"), f"{lang}: {', '.join(models)}")


def _details(report: Any) -> None:
    for c in report.cases:
        lines = []
        if c.language != c.gold_language:
            lines.append(f"language {c.language} (gold {c.gold_language})")
        if c.missed:
            lines.append("missed: " + "; ".join(f"{t} {lab}" for t, lab in c.missed))
        if c.spurious:
            lines.append("spurious: " + "; ".join(f"{t} {lab}" for t, lab in c.spurious))
        for w in c.wrong_links:
            lines.append(f"wrong link: {w['text']} -> {', '.join(w['predicted'])} (gold {w['gold']})")
        if c.gold_topics and not set(c.topics[:3]) & set(c.gold_topics):
            lines.append(f"topics {', '.join(c.topics) or 'none'} (gold {', '.join(c.gold_topics)})")
        say(console, (c.name, "bold"), "  ok" if not lines else "")
        for line in lines:
            say(console, "    " + line)


@app.command("eval")
def eval_command(
    directory: Annotated[
        Path,
        typer.Argument(help="Directory of annotated articles (*.json, see docs/EVALUATION.md).", show_default=False),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="All figures and per-article results as JSON.")] = False,
    details: Annotated[
        bool, typer.Option("--details", help="Also list each article's misses, spurious entities and wrong links.")
    ] = False,
) -> None:
    """Measure the enrichment on an annotated set: entities, linking, topics, language.

    Prints precision/recall/F1 for entities (per language, per type), linking accuracy, topic
    accuracy, language accuracy and the models used. A labelled stories set (files with a "story",
    docs/STORIES.md) gets near-duplicate precision/recall and story B-cubed precision/recall/F1.
    Exit 2 if the set is malformed.
    """
    from streams.enrich import Enricher

    if _is_stories_set(directory):
        _eval_stories(directory, as_json, details)
        return
    from streams.enrich.evaluate import InvalidCase, evaluate, load_cases

    try:
        cases = load_cases(directory)
    except InvalidCase as exc:
        fail(str(exc), 2)
    enricher = Enricher(get_settings().enrich)
    results = enricher.enrich_batch([case.article for case in cases])
    failed = [(case.name, r.error) for case, r in zip(cases, results, strict=True) if r.error is not None]
    if failed:
        fail(f"enrichment failed for {len(failed)} article(s); first: {failed[0][0]}: {failed[0][1]}")
    docs = [r.doc for r in results]
    report = evaluate(cases, docs)
    if as_json:
        print_json(report.to_dict())
        return
    say(
        console,
        f"{report.total.articles} annotated articles in {directory}; entities match on "
        "exact surface text + label, once per article",
    )
    console.print(_language_table(report))
    console.print(_type_table(report))
    _summary(report)
    if details:
        _details(report)


def _is_stories_set(directory: Path) -> bool:
    first = next(iter(sorted(Path(directory).glob("*.json"))), None)
    try:
        return first is not None and "story" in json.loads(first.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False  # the entity loader names the problem


def _eval_stories(directory: Path, as_json: bool, details: bool) -> None:
    """The worker's duplicate and story rule over the enriched set, with an in-memory index."""
    from streams.enrich import Enricher
    from streams.stories.evaluate import InvalidCase, evaluate_cases, load_cases

    try:
        cases = load_cases(directory)
    except InvalidCase as exc:
        fail(str(exc), 2)
    settings = get_settings()
    results = Enricher(settings.enrich).enrich_batch([case.article for case in cases])
    failed = [(c.article["id"], r.error) for c, r in zip(cases, results, strict=True) if r.error is not None]
    if failed:
        fail(f"enrichment failed for {len(failed)} article(s); first: {failed[0][0]}: {failed[0][1]}")
    scores = evaluate_cases(cases, [r.doc for r in results], settings.stories)
    if as_json:
        print_json(scores)
        return
    dup, st, cross = scores["duplicates"], scores["stories"], scores["cross_language"]
    table = Table(title=f"{scores['articles']} articles, {scores['gold_stories']} stories in {directory}")
    for column in ("measure", "precision", "recall", "F1", "counts"):
        table.add_column(column)
    table.add_row(
        "near-duplicates", _f(dup["precision"]), _f(dup["recall"]), _f(dup["f1"]),
        f"{dup['right']} right of {dup['predicted']} flagged, {dup['gold']} labelled",
    )  # fmt: skip
    table.add_row(
        "stories (B-cubed)", _f(st["precision"]), _f(st["recall"]), _f(st["f1"]),
        f"{scores['predicted_stories']} predicted stories",
    )  # fmt: skip
    table.add_row("cross-language pairs joined", "", _f(cross["recall"]), "", f"{cross['joined']} of {cross['pairs']}")
    console.print(table)
    if details:
        print_json(scores["errors"])
