"""Writes the saved objects for Kibana and OpenSearch Dashboards from one description.

    python config/kibana/generate.py      # rewrites config/kibana/newsstreams.ndjson and
                                          # config/opensearch-dashboards/newsstreams.ndjson

Why generated: both products get the same data views, visualizations and saved search (same ids, same
``visState``); only the envelope differs (version stamps, dashboard panel reference names). Editing
one description keeps them in step; tests/unit/test_saved_objects.py checks every field against the
index templates in streams/search/template.py.

Why legacy ``visualization`` objects (aggregation-based, ``visState``) rather than Lens: they are the
one format both products read, their schema is stable and small enough to write and check without
running Kibana, and Kibana migrates them on import (they are stamped 7.10.0, the format they are
written in, so Kibana 8.x runs its own visualization migrations over them). In Kibana they open in the
aggregation-based editor and can be converted to Lens from there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KIBANA_FILE = HERE / "newsstreams.ndjson"
OSD_FILE = HERE.parent / "opensearch-dashboards" / "newsstreams.ndjson"

# Kibana 8.x envelope: core at 8.8.0 (the export format since 8.8), each type at the version whose
# format it is written in, so that Kibana's own migrations bring it up to date. Never above what Kibana
# 8.x itself stamps on exports of that type: a version newer than the type's last migration is refused.
KIBANA_CORE = "8.8.0"
KIBANA_TYPE_VERSION = {"index-pattern": "8.0.0", "visualization": "7.10.0", "search": "7.10.0", "dashboard": "8.7.0"}
KIBANA_PANEL_VERSION = "8.7.0"
# OpenSearch Dashboards 2.x (a Kibana 7.10 fork) exports migrationVersion per type.
OSD_TYPE_VERSION = {"index-pattern": "7.6.0", "visualization": "7.10.0", "search": "7.9.3", "dashboard": "7.9.3"}
OSD_PANEL_VERSION = "2.19.1"

INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"

# --- data views: id -> (title = alias, time field, display name) ------------------------------------
ARTICLES = "newsstreams-articles"
ARTICLES_INDEXED = "newsstreams-articles-indexed"
METRICS = "newsstreams-metrics"
DATA_VIEWS = {
    # published_at is the news time, but optional in a raw article: those without it only show in
    # the indexed-time view.
    ARTICLES: ("articles", "published_at", "articles (published_at)"),
    ARTICLES_INDEXED: ("articles", "pipeline.indexed_at", "articles (pipeline.indexed_at)"),
    METRICS: ("newsstreams-metrics", "@timestamp", "newsstreams-metrics"),
}


# --- aggregations (visState "aggs") -------------------------------------------------------------------
def count(agg_id: str = "1") -> dict:
    return {"id": agg_id, "enabled": True, "type": "count", "schema": "metric", "params": {}}


def metric(agg_id: str, agg_type: str, field: str, label: str) -> dict:
    return {
        "id": agg_id,
        "enabled": True,
        "type": agg_type,
        "schema": "metric",
        "params": {"field": field, "customLabel": label},
    }


def date_histogram(agg_id: str, field: str) -> dict:
    return {
        "id": agg_id,
        "enabled": True,
        "type": "date_histogram",
        "schema": "segment",
        "params": {
            "field": field,
            "useNormalizedEsInterval": True,
            "scaleMetricValues": False,
            "interval": "auto",
            "drop_partials": False,
            "min_doc_count": 1,
            "extended_bounds": {},
            "customLabel": "",
        },
    }


def terms(
    agg_id: str, field: str, schema: str, size: int, label: str, order_by: str = "1", order: str = "desc"
) -> dict:
    return {
        "id": agg_id,
        "enabled": True,
        "type": "terms",
        "schema": schema,
        "params": {
            "field": field,
            "orderBy": order_by,
            "order": order,
            "size": size,
            "otherBucket": False,
            "otherBucketLabel": "Other",
            "missingBucket": False,
            "missingBucketLabel": "Missing",
            "customLabel": label,
        },
    }


# --- visualization types (params as the 7.10 editor saves them) --------------------------------------
def xy(chart: str, aggs: list[dict], y_title: str, stacked: bool = False, row: bool | None = None) -> dict:
    """``row``: with a split-chart aggregation, stack the charts (True) or put them side by side (False).
    Since 7.7 the renderer reads it here, in the vis params; an aggregation's ``params.row`` is the
    pre-7.7 place, moved by a 7.7.0 migration that objects stamped 7.10.0 never go through."""
    metrics = [a for a in aggs if a["schema"] == "metric"]
    if any(a["schema"] == "split" for a in aggs) != (row is not None):
        raise ValueError("give row (the split direction) exactly when there is a split-chart aggregation")
    series = [
        {
            "show": True,
            "type": chart,
            "mode": "stacked" if stacked else "normal",
            "data": {"label": a["params"].get("customLabel") or "Count", "id": a["id"]},
            "valueAxis": "ValueAxis-1",
            "drawLinesBetweenPoints": True,
            "lineWidth": 2,
            "interpolate": "linear",
            "showCircles": True,
        }
        for a in metrics
    ]
    params: dict[str, Any] = {
        "type": chart,
        "grid": {"categoryLines": False},
        "categoryAxes": [
            {
                "id": "CategoryAxis-1",
                "type": "category",
                "position": "bottom",
                "show": True,
                "style": {},
                "scale": {"type": "linear"},
                "labels": {"show": True, "filter": True, "truncate": 100},
                "title": {},
            }
        ],
        "valueAxes": [
            {
                "id": "ValueAxis-1",
                "name": "LeftAxis-1",
                "type": "value",
                "position": "left",
                "show": True,
                "style": {},
                "scale": {"type": "linear", "mode": "normal"},
                "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                "title": {"text": y_title},
            }
        ],
        "seriesParams": series,
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
        "labels": {},
        "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
    }
    if row is not None:
        params["row"] = row
    return params


def pie_params() -> dict:
    return {
        "type": "pie",
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        "isDonut": True,
        "labels": {"show": False, "values": True, "last_level": True, "truncate": 100},
    }


def table_params(per_page: int = 10) -> dict:
    return {
        "perPage": per_page,
        "showPartialRows": False,
        "showMetricsAtAllLevels": False,
        "sort": {"columnIndex": None, "direction": None},
        "showTotal": False,
        "totalFunc": "sum",
        "percentageCol": "",
    }


def metric_params() -> dict:
    return {
        "addTooltip": True,
        "addLegend": False,
        "type": "metric",
        "metric": {
            "percentageMode": False,
            "useRanges": False,
            "colorSchema": "Green to Red",
            "metricColorMode": "None",
            "colorsRange": [{"from": 0, "to": 10000}],
            "labels": {"show": True},
            "invertColors": False,
            "style": {"bgFill": "#000", "bgColor": False, "labelColor": False, "subText": "", "fontSize": 60},
        },
    }


# --- the visualizations: id -> (data view, KQL query, title, description, vis type, params, aggs) -----
def _xy_vis(
    view: str,
    query: str,
    title: str,
    desc: str,
    chart: str,
    aggs: list[dict],
    y_title: str,
    stacked: bool = False,
    row: bool | None = None,
) -> tuple:
    return (view, query, title, desc, chart, xy(chart, aggs, y_title, stacked, row), aggs)


LATENCY = [
    metric("1", "max", "latency_p50_ms", "p50 ms"),
    metric("2", "max", "latency_p95_ms", "p95 ms"),
    metric("3", "max", "latency_p99_ms", "p99 ms"),
]
E2E = [
    metric("1", "max", "e2e_p50_ms", "p50 ms"),
    metric("2", "max", "e2e_p95_ms", "p95 ms"),
    metric("3", "max", "e2e_p99_ms", "p99 ms"),
]

VISUALIZATIONS: dict[str, tuple] = {
    # News
    "newsstreams-vis-articles-by-language": _xy_vis(
        ARTICLES,
        "",
        "Articles over time by language",
        "Articles per published_at bucket, per language.",
        "histogram",
        [count(), date_histogram("2", "published_at"), terms("3", "language", "group", 10, "Language")],
        "Articles",
        stacked=True,
    ),
    "newsstreams-vis-articles-by-source": _xy_vis(
        ARTICLES,
        "",
        "Articles over time by source",
        "Articles per published_at bucket, top 10 sources.",
        "histogram",
        [count(), date_histogram("2", "published_at"), terms("3", "source", "group", 10, "Source")],
        "Articles",
        stacked=True,
    ),
    "newsstreams-vis-top-entities": (
        ARTICLES,
        "",
        "Top linked entities",
        "Articles per linked entity (canonical name from the gazetteer).",
        "table",
        table_params(20),
        [count(), terms("2", "entity_names", "bucket", 25, "Entity")],
    ),
    "newsstreams-vis-topics": (
        ARTICLES,
        "",
        "Topic distribution",
        "Articles per IPTC media topic (an article can have several).",
        "pie",
        pie_params(),
        [count(), terms("2", "topics.label", "segment", 20, "Topic")],
    ),
    # Stories (story_id and duplicate_of are set by the worker when stories are enabled)
    "newsstreams-vis-top-stories": (
        ARTICLES,
        "story_id:*",
        "Top stories",
        "Largest stories in the time range: articles, languages and sources, first and last published.",
        "table",
        table_params(20),
        [
            count(),
            metric("2", "cardinality", "language", "Languages"),
            metric("3", "cardinality", "source", "Sources"),
            metric("4", "min", "published_at", "First seen"),
            metric("5", "max", "published_at", "Last seen"),
            terms("6", "story_id", "bucket", 50, "Story"),
        ],
    ),
    "newsstreams-vis-stories-over-time": _xy_vis(
        ARTICLES,
        "story_id:*",
        "Stories over time",
        "Distinct stories with an article in each published_at bucket, and those articles.",
        "line",
        [
            metric("1", "cardinality", "story_id", "Stories"),
            count("2"),
            date_histogram("3", "published_at"),
        ],
        "Stories / articles",
    ),
    "newsstreams-vis-stories-by-language": (
        ARTICLES,
        "story_id:*",
        "Stories per language",
        "Distinct stories with an article in each language (a cross-language story counts in each).",
        "table",
        table_params(10),
        [
            metric("1", "cardinality", "story_id", "Stories"),
            count("2"),
            terms("3", "language", "bucket", 10, "Language"),
        ],
    ),
    "newsstreams-vis-most-copied": (
        ARTICLES,
        "duplicate_of:*",
        "Most copied articles",
        "Near-duplicates (wire copies) per original article, and how many sources carried them.",
        "table",
        table_params(10),
        [
            count(),
            metric("2", "cardinality", "source", "Sources"),
            terms("3", "duplicate_of", "bucket", 20, "Original article"),
        ],
    ),
    # Pipeline
    "newsstreams-vis-stage-totals": (
        METRICS,
        "kind:stage",
        "Articles per stage (totals)",
        "Sums over the time range, per stage.",
        "metric",
        metric_params(),
        [
            metric("1", "sum", "articles_in", "in"),
            metric("2", "sum", "articles_out", "out"),
            metric("3", "sum", "dlq", "to DLQ"),
            terms("4", "stage", "group", 5, "Stage"),
        ],
    ),
    "newsstreams-vis-workers": (
        METRICS,
        "",
        "Workers",
        "Last metrics report and articles out per worker.",
        "table",
        table_params(10),
        [
            metric("1", "max", "@timestamp", "Last report"),
            metric("2", "sum", "articles_out", "Articles out"),
            terms("3", "worker_id", "bucket", 50, "Worker", order_by="_key", order="asc"),
        ],
    ),
    "newsstreams-vis-throughput": _xy_vis(
        METRICS,
        "kind:stage",
        "Throughput per stage",
        "Articles out of each stage per time bucket.",
        "line",
        [
            metric("1", "sum", "articles_out", "Articles out"),
            date_histogram("2", "@timestamp"),
            terms("3", "stage", "group", 5, "Stage"),
        ],
        "Articles",
    ),
    "newsstreams-vis-lag": _xy_vis(
        METRICS,
        "kind:lag",
        "Consumer lag per partition",
        "End offset minus committed offset, per topic.",
        "line",
        [
            metric("1", "max", "lag", "Lag"),
            # A split chart must be the first bucket aggregation.
            terms("4", "topic", "split", 10, "Topic"),
            date_histogram("2", "@timestamp"),
            terms("3", "partition", "group", 50, "Partition"),
        ],
        "Messages",
        row=True,  # one chart per topic, stacked
    ),
    "newsstreams-vis-stage-latency": _xy_vis(
        METRICS,
        "kind:stage",
        "Stage latency per batch (p50 / p95 / p99)",
        "Processing time of one batch; the highest of the workers' per-interval percentiles.",
        "line",
        [*LATENCY, date_histogram("4", "@timestamp"), terms("5", "stage", "group", 5, "Stage")],
        "ms",
    ),
    "newsstreams-vis-e2e-latency": _xy_vis(
        METRICS,
        "kind:stage and stage:index",
        "Produce to indexed latency (p50 / p95 / p99)",
        "Per article, from the Kafka produce time to the bulk index; highest of the workers' percentiles.",
        "line",
        [*E2E, date_histogram("4", "@timestamp")],
        "ms",
    ),
    "newsstreams-vis-dlq-by-reason": _xy_vis(
        METRICS,
        "kind:dlq",
        "DLQ by reason",
        "Records sent to the dead-letter topic per time bucket.",
        "histogram",
        [
            metric("1", "sum", "count", "Records"),
            date_histogram("2", "@timestamp"),
            terms("3", "reason", "group", 20, "Reason"),
        ],
        "Records",
        stacked=True,
    ),
    "newsstreams-vis-dlq-table": (
        METRICS,
        "kind:dlq",
        "DLQ records by stage and reason",
        "Totals over the time range.",
        "table",
        table_params(10),
        [
            metric("1", "sum", "count", "Records"),
            terms("2", "stage", "bucket", 10, "Stage"),
            terms("3", "reason", "bucket", 50, "Reason"),
        ],
    ),
    "newsstreams-vis-batch-size": _xy_vis(
        METRICS,
        "kind:stage",
        "Batch size per stage",
        "Average and largest batch per time bucket.",
        "line",
        [
            metric("1", "avg", "batch_size_avg", "average"),
            metric("2", "max", "batch_size_max", "max"),
            date_histogram("3", "@timestamp"),
            terms("4", "stage", "group", 5, "Stage"),
        ],
        "Articles",
    ),
    "newsstreams-vis-indexed-by-model": _xy_vis(
        ARTICLES_INDEXED,
        "",
        "Articles indexed by NER model",
        "By indexing time (includes articles without published_at), per spaCy pipeline.",
        "histogram",
        [
            count(),
            date_histogram("2", "pipeline.indexed_at"),
            terms("3", "pipeline.ner_model", "group", 10, "NER model"),
        ],
        "Articles",
        stacked=True,
    ),
}

# Saved searches: id -> (data view, title, description, KQL query, columns, sort).
SEARCHES = {
    "newsstreams-search-latest": (
        ARTICLES,
        "Latest articles",
        "Newest articles with their entities and topics.",
        "",
        ["title", "entity_names", "topics.label", "language", "source"],
        [["published_at", "desc"]],
    ),
    "newsstreams-search-story-articles": (
        ARTICLES,
        "Articles by story",
        "Newest articles with their story and, for a near-duplicate, the article it copies.",
        "story_id:*",
        ["title", "story_id", "duplicate_of", "language", "source"],
        [["published_at", "desc"]],
    ),
}

# Dashboards: id -> (title, description, time from, refresh seconds or None, panels (id, x, y, w, h)).
DASHBOARDS = {
    "newsstreams-dashboard-news": (
        "News",
        "What is coming in, in which language, from where, about whom.",
        "now-7d",
        None,
        [
            ("newsstreams-vis-articles-by-language", 0, 0, 24, 15),
            ("newsstreams-vis-articles-by-source", 24, 0, 24, 15),
            ("newsstreams-vis-top-entities", 0, 15, 24, 18),
            ("newsstreams-vis-topics", 24, 15, 24, 18),
            ("newsstreams-search-latest", 0, 33, 48, 20),
        ],
    ),
    "newsstreams-dashboard-pipeline": (
        "Pipeline",
        "Is the pipeline keeping up, how fast, and what fails.",
        "now-1h",
        10,
        [
            ("newsstreams-vis-stage-totals", 0, 0, 24, 10),
            ("newsstreams-vis-workers", 24, 0, 24, 10),
            ("newsstreams-vis-throughput", 0, 10, 24, 15),
            ("newsstreams-vis-lag", 24, 10, 24, 15),
            ("newsstreams-vis-stage-latency", 0, 25, 24, 15),
            ("newsstreams-vis-e2e-latency", 24, 25, 24, 15),
            ("newsstreams-vis-dlq-by-reason", 0, 40, 24, 15),
            ("newsstreams-vis-dlq-table", 24, 40, 24, 15),
            ("newsstreams-vis-batch-size", 0, 55, 24, 15),
            ("newsstreams-vis-indexed-by-model", 24, 55, 24, 15),
        ],
    ),
    "newsstreams-dashboard-stories": (
        "Stories",
        "Which stories are big, in how many languages and sources, and which articles are copied.",
        "now-7d",
        None,
        [
            ("newsstreams-vis-top-stories", 0, 0, 48, 18),
            ("newsstreams-vis-stories-over-time", 0, 18, 24, 15),
            ("newsstreams-vis-stories-by-language", 24, 18, 24, 15),
            ("newsstreams-vis-most-copied", 0, 33, 24, 18),
            ("newsstreams-search-story-articles", 24, 33, 24, 18),
        ],
    ),
}


# --- saved objects ------------------------------------------------------------------------------------
def _js(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _search_source(query: str, with_index: bool = True, **extra: Any) -> str:
    source: dict[str, Any] = {"query": {"query": query, "language": "kuery"}, "filter": [], **extra}
    if with_index:
        source["indexRefName"] = INDEX_REF
    return _js(source)


def data_view(obj_id: str, osd: bool) -> dict:
    title, time_field, name = DATA_VIEWS[obj_id]
    # "fields": "[]" makes both products read the field list from the engine on first use.
    attributes = {"title": title, "timeFieldName": time_field, "fields": "[]"}
    if not osd:
        attributes["name"] = name  # Kibana 8 display name; unknown to OpenSearch Dashboards' mapping
    return {"type": "index-pattern", "id": obj_id, "attributes": attributes, "references": []}


def visualization(obj_id: str) -> dict:
    view, query, title, desc, vis_type, params, aggs = VISUALIZATIONS[obj_id]
    vis_state = {"title": title, "type": vis_type, "aggs": aggs, "params": params}
    return {
        "type": "visualization",
        "id": obj_id,
        "attributes": {
            "title": title,
            "description": desc,
            "visState": _js(vis_state),
            "uiStateJSON": "{}",
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(query)},
        },
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": view}],
    }


def saved_search(obj_id: str) -> dict:
    view, title, desc, query, columns, sort = SEARCHES[obj_id]
    return {
        "type": "search",
        "id": obj_id,
        "attributes": {
            "title": title,
            "description": desc,
            "columns": columns,
            "sort": sort,
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(query, highlightAll=True, version=True)},
        },
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": view}],
    }


def dashboard(obj_id: str, osd: bool) -> dict:
    title, desc, time_from, refresh_s, panels = DASHBOARDS[obj_id]
    saved_panels, references = [], []
    for n, (target, x, y, w, h) in enumerate(panels):
        index = str(n + 1)
        target_type = "search" if target in SEARCHES else "visualization"
        panel = {
            "version": OSD_PANEL_VERSION if osd else KIBANA_PANEL_VERSION,
            "type": target_type,
            "gridData": {"x": x, "y": y, "w": w, "h": h, "i": index},
            "panelIndex": index,
            "embeddableConfig": {},
        }
        if osd:  # 7.10 scheme: panel_<n>, looked up by name
            panel["panelRefName"] = f"panel_{n}"
            references.append({"name": f"panel_{n}", "type": target_type, "id": target})
        else:  # Kibana 8 scheme: <panelIndex>:panel_<panelIndex>
            panel["panelRefName"] = f"panel_{index}"
            references.append({"name": f"{index}:panel_{index}", "type": target_type, "id": target})
        saved_panels.append(panel)
    attributes: dict[str, Any] = {
        "title": title,
        "description": desc,
        "panelsJSON": _js(saved_panels),
        "optionsJSON": _js({"useMargins": True, "hidePanelTitles": False}),
        "version": 1,
        "timeRestore": True,
        "timeFrom": time_from,
        "timeTo": "now",
        "refreshInterval": {"pause": refresh_s is None, "value": (refresh_s or 0) * 1000},
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source("", with_index=False)},
    }
    if osd:
        attributes["hits"] = 0
    return {"type": "dashboard", "id": obj_id, "attributes": attributes, "references": references}


def saved_objects(osd: bool) -> list[dict]:
    objects = [data_view(i, osd) for i in DATA_VIEWS]
    objects += [visualization(i) for i in VISUALIZATIONS]
    objects += [saved_search(i) for i in SEARCHES]
    objects += [dashboard(i, osd) for i in DASHBOARDS]
    for obj in objects:  # the version envelope each product exports
        if osd:
            obj["migrationVersion"] = {obj["type"]: OSD_TYPE_VERSION[obj["type"]]}
        else:
            obj["coreMigrationVersion"] = KIBANA_CORE
            obj["typeMigrationVersion"] = KIBANA_TYPE_VERSION[obj["type"]]
    return objects


def ndjson(objects: list[dict]) -> str:
    return "".join(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n" for obj in objects)


def main() -> None:
    for path, osd in ((KIBANA_FILE, False), (OSD_FILE, True)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ndjson(saved_objects(osd)), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
