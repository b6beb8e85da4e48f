"""Static check of the Kibana / OpenSearch Dashboards saved objects against the index templates.

Kibana cannot run here, so everything a dashboard needs from the data is checked from the files:
every field a data view, visualization or saved search uses exists in the mapping of the alias it reads
(taken from streams/search/template.py, not a copy) with a type that fits its use; references resolve
inside the file; dashboards point at existing visualizations/searches; ids are unique. The checker
returns a list of problems; the last tests feed it broken copies to show that it does fail.
"""

from __future__ import annotations

import copy
import json
import re
import runpy
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.search import template
from streams.settings import CHECKOUT_CONFIG_DIR, PROJECT_DIR, SearchSettings

# The checkout's files, written by its config/kibana/generate.py (the same ones ship in the package).
KIBANA_FILE = CHECKOUT_CONFIG_DIR / "kibana" / "newsstreams.ndjson"
OSD_FILE = CHECKOUT_CONFIG_DIR / "opensearch-dashboards" / "newsstreams.ndjson"
FILES = {"kibana": KIBANA_FILE, "osd": OSD_FILE}

NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"}
DATE = {"date", "date_nanos"}
# Field types each aggregation of a legacy visState accepts (what Kibana's editor offers).
AGG_FIELD_TYPES: dict[str, set[str]] = {
    "terms": {"keyword", "boolean", "ip"} | NUMERIC,  # top values: exact values, never analysed text
    "date_histogram": DATE,
    "histogram": NUMERIC,
    "sum": NUMERIC,
    "avg": NUMERIC,
    "median": NUMERIC,
    "percentiles": NUMERIC,
    "percentile_ranks": NUMERIC,
    "std_dev": NUMERIC,
    "min": NUMERIC | DATE,
    "max": NUMERIC | DATE,
    "cardinality": {"keyword", "boolean", "ip"} | NUMERIC | DATE,
}
SORTABLE = {"keyword", "boolean", "ip"} | NUMERIC | DATE
XY_TYPES = {"line", "area", "histogram", "horizontal_bar"}

# Per Kibana line (major.minor of the kibana image in docker-compose.yml): the newest typeMigrationVersion
# each type is known to have there, read from that line's sources. A stamp newer than what the running
# Kibana knows is refused on import; one at or below it is migrated. Types with model versions stamp
# "10.<model version>.0" (dashboard: model version 2; search: 3, the ones present before 8.17);
# visualization: its own migration map ends at 8.1.0; index-pattern: 8.0.0, the move to multiple spaces.
# A Kibana upgrade in docker-compose.yml needs a row here, checked against the new line's sources.
KIBANA_TYPE_VERSIONS = {
    "8.17": {"index-pattern": "8.0.0", "visualization": "8.1.0", "search": "10.3.0", "dashboard": "10.2.0"},
}

# The attribute keys each product accepts for dashboards and saved searches; a dict value lists the keys
# of an object-valued attribute. Kibana 8.17: the dashboard attributes schema (model version 2, which
# forbids unknown keys) and the saved-search schema of model version 3 (8.8.0's keys and three more).
# OpenSearch Dashboards 2.19: the two types' saved-object mappings as of the Kibana 7.10 fork (the
# saved-objects index is strictly mapped: an attribute it does not know is refused).
_SEARCH_SOURCE = {"searchSourceJSON": None}
_REFRESH = {"pause": None, "value": None, "display": None, "section": None}
ATTRIBUTE_KEYS: dict[str, dict[str, dict[str, Any]]] = {
    "kibana": {
        "dashboard": {
            **dict.fromkeys(["title", "description", "timeRestore", "timeFrom", "timeTo", "panelsJSON"]),
            **dict.fromkeys(["optionsJSON", "hits", "version"]),
            "kibanaSavedObjectMeta": _SEARCH_SOURCE,
            "refreshInterval": _REFRESH,
            "controlGroupInput": dict.fromkeys(
                ["panelsJSON", "controlStyle", "chainingSystem", "ignoreParentSettingsJSON", "showApplySelections"]
            ),
        },
        "search": {
            **dict.fromkeys(["title", "description", "columns", "sort", "rowHeight", "rowsPerPage", "hideChart"]),
            **dict.fromkeys(["breakdownField", "isTextBasedQuery", "usesAdHocDataView", "timeRestore", "viewMode"]),
            **dict.fromkeys(["hideAggregatedPreview", "hits", "version", "sampleSize", "headerRowHeight"]),
            "visContext": None,
            "grid": {"columns": None},
            "kibanaSavedObjectMeta": _SEARCH_SOURCE,
            "timeRange": {"from": None, "to": None},
            "refreshInterval": {"pause": None, "value": None},
        },
    },
    "osd": {
        "dashboard": {
            **dict.fromkeys(["title", "description", "hits", "optionsJSON", "panelsJSON", "timeFrom", "timeRestore"]),
            **dict.fromkeys(["timeTo", "version"]),
            "kibanaSavedObjectMeta": _SEARCH_SOURCE,
            "refreshInterval": _REFRESH,
        },
        "search": {
            **dict.fromkeys(["title", "description", "columns", "hits", "sort", "version"]),
            "kibanaSavedObjectMeta": _SEARCH_SOURCE,
        },
    },
}


# --- the mappings, from the template module ---------------------------------------------------------
def flatten(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{"pipeline.indexed_at": "date", "title.nl": "text", ...} including multi-fields."""
    fields: dict[str, str] = {}
    for name, spec in properties.items():
        path = prefix + name
        if "properties" in spec:
            fields[path] = "object"
            fields.update(flatten(spec["properties"], path + "."))
        else:
            fields[path] = spec.get("type", "object")
        for sub, sub_spec in spec.get("fields", {}).items():
            fields[f"{path}.{sub}"] = sub_spec["type"]
    return fields


def index_fields() -> dict[str, dict[str, str]]:
    """Alias (the data view title) -> flattened mapping, for the default settings."""
    s = SearchSettings()
    return {
        s.alias: flatten(template.mappings()["properties"]),
        s.metrics_alias: flatten(template.metrics_mappings()["properties"]),
    }


def load(path: Path) -> list[dict]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


# --- the checker --------------------------------------------------------------------------------------
def check(objects: list[dict], fields_by_alias: dict[str, dict[str, str]], product: str) -> list[str]:
    problems: list[str] = []
    by_key: dict[tuple[str, str], dict] = {}
    seen_ids: set[str] = set()
    present = {(o.get("type"), o.get("id")) for o in objects}
    for obj in objects:
        key = (obj.get("type"), obj.get("id"))
        if not all(key) or "attributes" not in obj:
            problems.append(f"{key}: needs type, id and attributes")
            continue
        if obj["id"] in seen_ids:
            problems.append(f"duplicate id {obj['id']!r}")
        seen_ids.add(obj["id"])
        by_key[key] = obj
        problems += check_envelope(obj, product)
        problems += check_attribute_keys(obj, product)
        for ref in obj.get("references", []):
            if (ref.get("type"), ref.get("id")) not in present:
                problems.append(f"{_name(obj)}: reference {ref} is not in the file")

    def data_view_fields(obj: dict) -> tuple[str, dict[str, str]] | None:
        source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        ref_name = source.get("indexRefName")
        ref = next((r for r in obj.get("references", []) if r["name"] == ref_name), None)
        if ref_name is None or ref is None or ref["type"] != "index-pattern":
            problems.append(f"{_name(obj)}: searchSourceJSON.indexRefName does not name an index-pattern reference")
            return None
        view = by_key.get(("index-pattern", ref["id"]))
        if view is None:
            return None  # reported above as an unresolved reference
        title = view["attributes"]["title"]
        problems.extend(check_query(obj, source, fields_by_alias.get(title, {})))
        return title, fields_by_alias.get(title, {})

    for (obj_type, _), obj in by_key.items():
        if obj_type == "index-pattern":
            problems += check_data_view(obj, fields_by_alias)
        elif obj_type == "visualization":
            found = data_view_fields(obj)
            if found:
                problems += check_visualization(obj, *found)
        elif obj_type == "search":
            found = data_view_fields(obj)
            if found:
                problems += check_search(obj, found[1])
        elif obj_type == "dashboard":
            problems += check_dashboard(obj, by_key, product)
        else:
            problems.append(f"{_name(obj)}: unexpected saved object type")
    return problems


def _name(obj: dict) -> str:
    return f"{obj['type']} {obj['id']}"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


@lru_cache(maxsize=1)
def kibana_version() -> str:
    """The Kibana of docker-compose.yml: the saved objects must not claim to be newer."""
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
    return compose["services"]["kibana"]["image"].rsplit(":", 1)[1]


def kibana_line() -> str:
    return ".".join(kibana_version().split(".")[:2])


def check_envelope(obj: dict, product: str) -> list[str]:
    if product == "kibana":
        core, typed = obj.get("coreMigrationVersion"), obj.get("typeMigrationVersion")
        if not core or not typed or "migrationVersion" in obj:
            return [f"{_name(obj)}: Kibana 8 objects carry coreMigrationVersion + typeMigrationVersion"]
        problems = []
        if _version(core) > _version(kibana_version()):
            problems.append(f"{_name(obj)}: coreMigrationVersion {core} newer than Kibana {kibana_version()}")
        known = KIBANA_TYPE_VERSIONS.get(kibana_line(), {}).get(obj["type"])
        if known is None:
            problems.append(f"{_name(obj)}: no known typeMigrationVersion for Kibana {kibana_line()}; add it")
        elif _version(typed) > _version(known):
            problems.append(
                f"{_name(obj)}: typeMigrationVersion {typed} newer than Kibana {kibana_line()} knows ({known})"
            )
        return problems
    stamp = obj.get("migrationVersion", {})
    if set(stamp) != {obj["type"]} or _version(stamp[obj["type"]]) > (7, 10, 2):
        return [f"{_name(obj)}: OpenSearch Dashboards objects carry migrationVersion <= 7.10.2 for their type"]
    return []


def check_attribute_keys(obj: dict, product: str) -> list[str]:
    schema = ATTRIBUTE_KEYS[product].get(obj["type"])
    if schema is None:
        return []

    def unknown(value: dict, keys: dict[str, Any], prefix: str) -> list[str]:
        out = []
        for key, sub in value.items():
            if key not in keys:
                out.append(prefix + key)
            elif isinstance(keys[key], dict) and isinstance(sub, dict):
                out += unknown(sub, keys[key], f"{prefix}{key}.")
        return out

    return [
        f"{_name(obj)}: attribute {key!r} is not in the {product} schema of a {obj['type']}"
        for key in unknown(obj["attributes"], schema, "")
    ]


def check_data_view(obj: dict, fields_by_alias: dict[str, dict[str, str]]) -> list[str]:
    attrs = obj["attributes"]
    fields = fields_by_alias.get(attrs.get("title"))
    if fields is None:
        return [f"{_name(obj)}: title {attrs.get('title')!r} is none of the aliases {sorted(fields_by_alias)}"]
    time_field = attrs.get("timeFieldName")
    if fields.get(time_field) not in DATE:
        return [f"{_name(obj)}: time field {time_field!r} is {fields.get(time_field) or 'not mapped'}, not a date"]
    return []


# KQL "field:value" / "field : value"; the dashboards only use simple filters on keyword fields.
_KQL_FIELD = re.compile(r"([\w.@]+)\s*:")


def check_query(obj: dict, source: dict, fields: dict[str, str]) -> list[str]:
    query = source.get("query", {})
    if query.get("language") != "kuery":
        return [f"{_name(obj)}: query language {query.get('language')!r}, expected kuery"]
    return [
        f"{_name(obj)}: query filters on {f!r}, which is not mapped"
        for f in _KQL_FIELD.findall(query.get("query", ""))
        if f not in fields
    ]


def check_visualization(obj: dict, title: str, fields: dict[str, str]) -> list[str]:
    problems: list[str] = []
    name = _name(obj)
    vis = json.loads(obj["attributes"]["visState"])
    if vis.get("title") != obj["attributes"].get("title"):
        problems.append(f"{name}: visState title differs from the object title")
    aggs = vis.get("aggs", [])
    ids = [a["id"] for a in aggs]
    if len(ids) != len(set(ids)):
        problems.append(f"{name}: duplicate agg ids {ids}")
    metric_ids = {a["id"] for a in aggs if a["schema"] == "metric"}
    if not metric_ids:
        problems.append(f"{name}: no metric aggregation")
    for agg in aggs:
        field = agg.get("params", {}).get("field")
        where = f"{name} ({agg['type']} on {field!r}, data view {title!r})"
        if agg["type"] == "count":
            continue
        allowed = AGG_FIELD_TYPES.get(agg["type"])
        if allowed is None:
            problems.append(f"{where}: no rule for aggregation type {agg['type']!r}; add one")
        elif field not in fields:
            problems.append(f"{where}: field is not in the index mapping")
        elif fields[field] not in allowed:
            problems.append(f"{where}: field is {fields[field]}, needs one of {sorted(allowed)}")
        order_by = agg.get("params", {}).get("orderBy")
        if agg["type"] == "terms" and order_by not in metric_ids | {"_key"}:
            problems.append(f"{where}: orderBy {order_by!r} is not a metric of this visualization")
    buckets = [a for a in aggs if a["schema"] != "metric"]
    if any(a["schema"] == "split" for a in buckets[1:]):
        problems.append(f"{name}: a split-chart aggregation must be the first bucket aggregation")
    # Rows or columns: since 7.7 in the vis params; an aggregation's params.row is only moved there by the
    # 7.7.0 migration, which objects stamped later never go through.
    problems += [
        f"{name}: aggregation {a['id']} has params.row; the split direction is visState.params.row"
        for a in aggs
        if "row" in a.get("params", {})
    ]
    split = any(a["schema"] == "split" for a in buckets)
    if vis["type"] in XY_TYPES and split and not isinstance(vis["params"].get("row"), bool):
        problems.append(f"{name}: a split chart needs a boolean visState.params.row (rows or columns)")
    if vis["type"] in XY_TYPES:
        series = {s["data"]["id"] for s in vis["params"].get("seriesParams", [])}
        if series != metric_ids:
            problems.append(f"{name}: seriesParams {sorted(series)} != metric aggs {sorted(metric_ids)}")
        if [a["schema"] for a in buckets].count("segment") != 1:
            problems.append(f"{name}: an xy chart needs exactly one x-axis (segment) aggregation")
    return problems


def check_search(obj: dict, fields: dict[str, str]) -> list[str]:
    attrs = obj["attributes"]
    problems = [
        f"{_name(obj)}: column {c!r} is not in the index mapping" for c in attrs.get("columns", []) if c not in fields
    ]
    if not attrs.get("columns"):
        problems.append(f"{_name(obj)}: no columns")
    for field, direction in attrs.get("sort", []):
        if fields.get(field) not in SORTABLE or direction not in ("asc", "desc"):
            problems.append(f"{_name(obj)}: cannot sort on {field!r} ({fields.get(field) or 'not mapped'})")
    return problems


def check_dashboard(obj: dict, by_key: dict[tuple[str, str], dict], product: str) -> list[str]:
    problems: list[str] = []
    panels = json.loads(obj["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in obj.get("references", [])}
    if not panels:
        problems.append(f"{_name(obj)}: no panels")
    indices = [p.get("panelIndex") for p in panels]
    if len(indices) != len(set(indices)):
        problems.append(f"{_name(obj)}: duplicate panelIndex")
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        # Kibana 8 names a panel's reference "<panelIndex>:<panelRefName>"; the 7.10 line (OpenSearch
        # Dashboards) uses "<panelRefName>" alone.
        ref_name = (
            f"{panel.get('panelIndex')}:{panel.get('panelRefName')}"
            if product == "kibana"
            else panel.get("panelRefName")
        )
        ref = refs.get(ref_name)
        where = f"{_name(obj)} panel {panel.get('panelIndex')}"
        if ref is None:
            problems.append(f"{where}: no reference named {ref_name!r}")
            continue
        if ref["type"] not in ("visualization", "search") or ref["type"] != panel.get("type"):
            problems.append(f"{where}: reference type {ref['type']!r} vs panel type {panel.get('type')!r}")
        if (ref["type"], ref["id"]) not in by_key:
            problems.append(f"{where}: {ref['type']} {ref['id']!r} is not in the file")
        grid = panel.get("gridData", {})
        if grid.get("i") != panel.get("panelIndex") or grid["x"] < 0 or grid["x"] + grid["w"] > 48:
            problems.append(f"{where}: gridData {grid} outside the 48-column grid or i != panelIndex")
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                if (x, y) in cells:
                    problems.append(f"{where}: overlaps another panel at {(x, y)}")
                    break
                cells.add((x, y))
            else:
                continue
            break
    unused = set(refs) - {
        (f"{p.get('panelIndex')}:{p.get('panelRefName')}" if product == "kibana" else p.get("panelRefName"))
        for p in panels
    }
    if unused:
        problems.append(f"{_name(obj)}: references no panel uses: {sorted(unused)}")
    return problems


# --- the tests ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fields_by_alias() -> dict[str, dict[str, str]]:
    return index_fields()


@pytest.mark.parametrize("product", ["kibana", "osd"])
def test_saved_objects_fit_the_index_templates(product: str, fields_by_alias) -> None:
    objects = load(FILES[product])
    assert check(objects, fields_by_alias, product) == []


@pytest.mark.parametrize("product", ["kibana", "osd"])
def test_dashboards_have_the_promised_panels(product: str) -> None:
    objects = load(FILES[product])
    by_id = {o["id"]: o for o in objects}
    dashboards = {o["attributes"]["title"]: o for o in objects if o["type"] == "dashboard"}
    assert set(dashboards) == {"News", "Pipeline", "Stories"}

    def uses(title: str) -> set[tuple[str, str, str]]:
        """(vis type or "search", agg type, field) of every panel of a dashboard."""
        found = set()
        for ref in dashboards[title]["references"]:
            target = by_id[ref["id"]]
            if target["type"] == "search":
                found |= {("search", "column", c) for c in target["attributes"]["columns"]}
                continue
            vis = json.loads(target["attributes"]["visState"])
            found |= {(vis["type"], a["type"], a["params"].get("field", "")) for a in vis["aggs"]}
        return found

    news, pipeline, stories = uses("News"), uses("Pipeline"), uses("Stories")
    for agg in [
        ("date_histogram", "published_at"),
        ("terms", "language"),
        ("terms", "source"),
        ("terms", "entity_names"),
        ("terms", "topics.label"),
    ]:
        assert any(u[1:] == agg for u in news), f"News lacks {agg}"
    assert {("search", "column", c) for c in ("title", "entity_names", "topics.label")} <= news
    for agg in [
        ("sum", "articles_out"),
        ("terms", "stage"),
        ("max", "lag"),
        ("terms", "partition"),
        ("max", "latency_p50_ms"),
        ("max", "latency_p95_ms"),
        ("max", "latency_p99_ms"),
        ("max", "e2e_p99_ms"),
        ("sum", "count"),
        ("terms", "reason"),
    ]:
        assert any(u[1:] == agg for u in pipeline), f"Pipeline lacks {agg}"
    for agg in [
        ("terms", "story_id"),  # top stories
        ("cardinality", "language"),  # ... in how many languages
        ("cardinality", "story_id"),  # stories over time, per language
        ("date_histogram", "published_at"),
        ("terms", "duplicate_of"),  # most copied articles
    ]:
        assert any(u[1:] == agg for u in stories), f"Stories lacks {agg}"
    assert {("search", "column", c) for c in ("title", "story_id", "duplicate_of")} <= stories


@pytest.mark.parametrize("product", ["kibana", "osd"])
def test_split_charts_keep_their_direction(product: str) -> None:
    """The lag chart is one chart per topic, stacked: ``row`` in the vis params, none in an aggregation."""
    split = {}
    for obj in load(FILES[product]):
        if obj["type"] == "visualization":
            vis = json.loads(obj["attributes"]["visState"])
            assert all("row" not in a.get("params", {}) for a in vis["aggs"]), obj["id"]
            if any(a["schema"] == "split" for a in vis["aggs"]):
                split[obj["id"]] = vis["params"].get("row")
    assert split == {"newsstreams-vis-lag": True}


def test_the_compose_kibana_line_has_known_type_versions() -> None:
    assert kibana_line() in KIBANA_TYPE_VERSIONS, f"Kibana {kibana_version()}: add its line to KIBANA_TYPE_VERSIONS"
    assert set(KIBANA_TYPE_VERSIONS[kibana_line()]) == {o["type"] for o in load(KIBANA_FILE)}


def test_kibana_and_osd_files_describe_the_same_objects() -> None:
    kibana, osd = ({(o["type"], o["id"]): o for o in load(f)} for f in (KIBANA_FILE, OSD_FILE))
    assert set(kibana) == set(osd)
    for key, k_obj in kibana.items():
        o_obj = osd[key]
        if key[0] in ("visualization", "search"):
            assert k_obj["attributes"] == o_obj["attributes"], key
            assert k_obj["references"] == o_obj["references"], key
        elif key[0] == "index-pattern":
            for attr in ("title", "timeFieldName"):
                assert k_obj["attributes"][attr] == o_obj["attributes"][attr], key
        else:
            k_panels, o_panels = (json.loads(x["attributes"]["panelsJSON"]) for x in (k_obj, o_obj))
            assert [p["gridData"] for p in k_panels] == [p["gridData"] for p in o_panels], key
            assert [r["id"] for r in k_obj["references"]] == [r["id"] for r in o_obj["references"]], key


def test_files_are_what_the_generator_writes() -> None:
    generator = runpy.run_path(str(CHECKOUT_CONFIG_DIR / "kibana" / "generate.py"))
    for path, osd in ((KIBANA_FILE, False), (OSD_FILE, True)):
        expected = generator["ndjson"](generator["saved_objects"](osd))
        assert path.read_text(encoding="utf-8") == expected, (
            f"{path} differs from config/kibana/generate.py: edit the generator and run it"
        )


# --- the checker must be able to fail ----------------------------------------------------------------
def _mutate_vis(objects: list[dict], vis_id: str, change) -> list[dict]:
    objects = copy.deepcopy(objects)
    obj = next(o for o in objects if o["id"] == vis_id)
    vis = json.loads(obj["attributes"]["visState"])
    change(vis)
    obj["attributes"]["visState"] = json.dumps(vis)
    return objects


def _set_field(agg_type: str, field: str):
    def change(vis: dict) -> None:
        next(a for a in vis["aggs"] if a["type"] == agg_type)["params"]["field"] = field

    return change


BROKEN_VIS = [
    ("newsstreams-vis-top-entities", _set_field("terms", "entity_name"), "not in the index mapping"),
    ("newsstreams-vis-top-entities", _set_field("terms", "title"), "field is text"),  # analysed text
    ("newsstreams-vis-throughput", _set_field("sum", "stage"), "field is keyword"),
    ("newsstreams-vis-throughput", _set_field("date_histogram", "articles_in"), "field is long"),
    ("newsstreams-vis-articles-by-language", _set_field("date_histogram", "pipeline.version"), "keyword"),
    ("newsstreams-vis-dlq-by-reason", _set_field("terms", "reason "), "not in the index mapping"),
    ("newsstreams-vis-lag", lambda v: v["aggs"].append(v["aggs"].pop(1)), "split-chart"),
    ("newsstreams-vis-stage-latency", lambda v: v["params"]["seriesParams"].pop(), "seriesParams"),
    # the split direction back where Kibana before 7.7 kept it, or not a boolean
    ("newsstreams-vis-lag", lambda v: v["aggs"][1]["params"].update(row=v["params"].pop("row")), "params.row"),
    ("newsstreams-vis-lag", lambda v: v["params"].update(row="true"), "boolean visState.params.row"),
    ("newsstreams-vis-top-stories", _set_field("terms", "story"), "not in the index mapping"),
    ("newsstreams-vis-most-copied", _set_field("cardinality", "title"), "field is text"),
]


@pytest.mark.parametrize("product", ["kibana", "osd"])
@pytest.mark.parametrize("vis_id, change, expected", BROKEN_VIS)
def test_checker_catches_a_broken_visualization(product, vis_id, change, expected, fields_by_alias) -> None:
    broken = _mutate_vis(load(FILES[product]), vis_id, change)
    problems = check(broken, fields_by_alias, product)
    assert problems and any(expected in p and vis_id in p for p in problems), problems


def _mutate(objects: list[dict], obj_id: str, change) -> list[dict]:
    objects = copy.deepcopy(objects)
    change(next(o for o in objects if o["id"] == obj_id))
    return objects


def _panels(change):
    def apply(obj: dict) -> None:
        panels = json.loads(obj["attributes"]["panelsJSON"])
        change(panels)
        obj["attributes"]["panelsJSON"] = json.dumps(panels)

    return apply


BROKEN = [
    ("newsstreams-search-latest", lambda o: o["attributes"]["columns"].append("entities.nam"), "column"),
    ("newsstreams-search-latest", lambda o: o["attributes"].update(sort=[["title", "desc"]]), "cannot sort"),
    ("newsstreams-articles", lambda o: o["attributes"].update(timeFieldName="language"), "not a date"),
    ("newsstreams-metrics", lambda o: o["attributes"].update(title="newsstreams-metric"), "none of the aliases"),
    ("newsstreams-vis-lag", lambda o: o["references"][0].update(id="no-such-view"), "not in the file"),
    (
        "newsstreams-vis-lag",
        lambda o: o["attributes"]["kibanaSavedObjectMeta"].update(
            searchSourceJSON=o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"].replace("kind:lag", "knd:lag")
        ),
        "query filters on 'knd'",
    ),
    ("newsstreams-dashboard-news", lambda o: o["references"][0].update(id="newsstreams-vis-gone"), "not in the file"),
    ("newsstreams-dashboard-news", _panels(lambda p: p[0].update(panelRefName="panel_x")), "no reference named"),
    ("newsstreams-dashboard-pipeline", _panels(lambda p: p[1]["gridData"].update(x=12)), "overlaps"),
    ("newsstreams-vis-topics", lambda o: o.update(id="newsstreams-vis-top-entities"), "duplicate id"),
    ("newsstreams-dashboard-news", lambda o: o["attributes"].update(panels="[]"), "attribute 'panels'"),
    (
        "newsstreams-dashboard-pipeline",
        lambda o: o["attributes"]["refreshInterval"].update(interval=10),
        "attribute 'refreshInterval.interval'",
    ),
    ("newsstreams-search-latest", lambda o: o["attributes"].update(rowsPerPage=50, query="x"), "attribute 'query'"),
]


@pytest.mark.parametrize("product", ["kibana", "osd"])
@pytest.mark.parametrize("obj_id, change, expected", BROKEN)
def test_checker_catches_broken_objects(product, obj_id, change, expected, fields_by_alias) -> None:
    problems = check(_mutate(load(FILES[product]), obj_id, change), fields_by_alias, product)
    assert any(expected in p for p in problems), problems


KIBANA_ONLY = [
    ("newsstreams-dashboard-news", {"typeMigrationVersion": "10.9.0"}, "typeMigrationVersion 10.9.0 newer than"),
    ("newsstreams-vis-lag", {"typeMigrationVersion": "8.17.0"}, "typeMigrationVersion 8.17.0 newer than"),
    ("newsstreams-metrics", {"coreMigrationVersion": "8.18.0"}, "coreMigrationVersion 8.18.0 newer than Kibana"),
    ("newsstreams-search-latest", {"migrationVersion": {"search": "7.9.3"}}, "carry coreMigrationVersion"),
]


@pytest.mark.parametrize("obj_id, stamp, expected", KIBANA_ONLY)
def test_checker_catches_kibana_version_stamps(obj_id, stamp, expected, fields_by_alias) -> None:
    problems = check(_mutate(load(KIBANA_FILE), obj_id, lambda o: o.update(stamp)), fields_by_alias, "kibana")
    assert any(expected in p and obj_id in p for p in problems), problems


def test_checker_wants_a_type_version_table_for_the_compose_kibana(monkeypatch, fields_by_alias) -> None:
    monkeypatch.delitem(KIBANA_TYPE_VERSIONS, kibana_line())  # as after a Kibana upgrade in docker-compose.yml
    problems = check(load(KIBANA_FILE), fields_by_alias, "kibana")
    assert problems and all("no known typeMigrationVersion" in p for p in problems), problems
