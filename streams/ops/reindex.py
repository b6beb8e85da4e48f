"""`newsstreams reindex`: move the articles alias to a new index made from the current template, with
no downtime for readers.

1. The current template is put and a new index ``<alias>-<n+1>`` is created from it.
2. One atomic alias update makes the new index the alias's write index, behind a filter that matches
   nothing: writers (workers) write there from now on; readers still see the old index(es) alone.
3. ``_reindex`` copies the old index(es) into the new one on the engine, deriving the fields the
   template adds (``template.reindex_script``). ``op_type: create``: a document a worker wrote since
   step 2 is newer than its old copy and stays.
4. Catch-up: a bulk request that resolved the alias just before step 2 may land in an old index after
   the copy began. After waiting ``settle_s`` (the engine timeout of such a request), the documents
   indexed (``pipeline.indexed_at``) since shortly before step 2 are copied again, same rules.
5. One atomic alias update: the old index(es) leave the alias and the new one loses its filter, so
   readers go from the old documents to the new ones in one step.
6. The old index(es) are deleted once the new one holds at least as many documents, unless kept.

Readers never see an error or an empty alias; articles indexed during the copy become visible at
step 5. Interrupted (Ctrl-C, an error)? The alias stays as step 2 left it (writes to the new index,
reads from the old ones) and running the command again resumes at step 3.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from streams.search import SearchBackend, SearchError, make_backend, template
from streams.search.backends import error_reason
from streams.settings import SearchSettings

# The alias filter of step 2: matches no document, so readers do not see the new index yet.
HIDDEN = {"bool": {"must_not": [{"match_all": {}}]}}
# Allowance for the clocks of the workers (pipeline.indexed_at) against this machine's, in step 4.
CLOCK_SKEW = timedelta(minutes=5)
_COUNTED = ("created", "updated", "deleted", "noops", "version_conflicts")

# progress(stage, documents done, documents in all or None); stage is "copy" or "catch-up".
Progress = Callable[[str, int, int | None], None]


@dataclass
class ReindexReport:
    alias: str
    old: list[str]  # the indices the alias pointed at before
    new: str | None  # None: nothing to do
    old_versions: dict[str, int | None] = field(default_factory=dict)
    version: int = template.TEMPLATE_VERSION
    resumed: bool = False
    copied: int = 0  # documents the copy wrote (created)
    caught_up: int = 0  # documents the catch-up wrote
    count: int = 0  # documents in the new index at the end
    old_count: int = 0
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    seconds: float = 0.0


def next_index(alias: str, existing: list[str]) -> str:
    """``<alias>-<n+1>``, n the highest number of the existing ``<alias>-<number>`` indices."""
    pattern = re.compile(rf"^{re.escape(alias)}-(\d+)$")
    numbers = [int(m.group(1)) for name in existing if (m := pattern.match(name))]
    return f"{alias}-{max(numbers, default=0) + 1:06d}"


def reindex(
    settings: SearchSettings,
    *,
    keep_old: bool = False,
    force: bool = False,
    settle_s: float | None = None,
    poll_s: float = 1.0,
    progress: Progress | None = None,
    backend: SearchBackend | None = None,
) -> ReindexReport:
    """Steps 1-6 above. Raises SearchError (engine unreachable, alias missing, a copy that failed)."""
    own = backend is None
    backend = backend or make_backend(settings)
    try:
        return _reindex(
            backend, keep_old, force, settings.timeout_s if settle_s is None else settle_s, poll_s, progress
        )
    finally:
        if own:
            backend.close()


def _reindex(
    backend: SearchBackend, keep_old: bool, force: bool, settle_s: float, poll_s: float, progress: Progress | None
) -> ReindexReport:
    started = time.monotonic()
    alias = backend.alias
    members = backend.alias_indices()
    if not members:
        raise SearchError(f"the alias {alias!r} does not exist; `newsstreams setup` creates it")
    hidden = [index for index, props in members.items() if "filter" in props and props.get("is_write_index")]
    if len(hidden) > 1:
        raise SearchError(f"alias {alias!r}: several hidden write indices {hidden}; fix the alias by hand")
    resumed = bool(hidden)
    new = hidden[0] if hidden else None
    old = sorted(index for index in members if index != new)
    if not old:
        raise SearchError(f"alias {alias!r}: only the hidden index {new} is in it; add the old index back by hand")
    report = ReindexReport(alias, old, new, old_versions=backend.template_versions(old), resumed=resumed)

    if not resumed:
        up_to_date = all(v == template.TEMPLATE_VERSION for v in report.old_versions.values())
        if up_to_date and not force:
            report.new = None
            report.seconds = time.monotonic() - started
            return report
        # Steps 1 and 2.
        backend.put_template()
        new = next_index(alias, backend.index_names())
        backend.create_index(new)
        made = backend.template_versions([new]).get(new)
        if made != template.TEMPLATE_VERSION:
            backend.delete_index(new)
            raise SearchError(
                f"{new} was made with template version {made}, not {template.TEMPLATE_VERSION}: "
                f"another index template with a higher priority matches {template.index_pattern(alias)}"
            )
        actions = [{"add": {"index": index, "alias": alias, "is_write_index": False}} for index in old]
        actions.append({"add": {"index": new, "alias": alias, "is_write_index": True, "filter": HIDDEN}})
        backend.update_aliases(actions)
        report.new = new
    assert new is not None
    # On a resume the real switch was earlier, but then every request under way at that time has
    # landed before the copy below begins: the copy has it.
    switched = datetime.now(UTC)

    # Step 3: the copy.
    for index in old:
        backend.refresh_index(index)
    body = {
        "conflicts": "proceed",
        "source": {"index": old},
        "dest": {"index": new, "op_type": "create"},
        "script": template.reindex_script(),
    }
    report.copied = _run(backend, body, "copy", poll_s, progress)

    # Step 4: the catch-up.
    wait = settle_s - (datetime.now(UTC) - switched).total_seconds()
    if wait > 0:
        if progress:
            progress("catch-up", 0, None)  # the stage shows while it waits
        time.sleep(wait)
    for index in old:
        backend.refresh_index(index)
    since = switched - timedelta(seconds=settle_s) - CLOCK_SKEW
    body["source"] = {"index": old, "query": {"range": {"pipeline.indexed_at": {"gte": since.isoformat()}}}}
    report.caught_up = _run(backend, body, "catch-up", poll_s, progress)

    # Step 5: the switch for readers.
    actions = [{"remove": {"index": index, "alias": alias}} for index in old]
    actions.append({"add": {"index": new, "alias": alias, "is_write_index": True}})
    backend.update_aliases(actions)

    # Step 6: the old index(es).
    backend.refresh_index(new)
    report.count = backend.count_index(new)
    report.old_count = backend.count_index(",".join(old))
    if keep_old or report.count < report.old_count:
        report.kept = old
    else:
        for index in old:
            backend.delete_index(index)
        report.deleted = old
    report.seconds = time.monotonic() - started
    return report


def _run(backend: SearchBackend, body: dict, stage: str, poll_s: float, progress: Progress | None) -> int:
    """Runs a ``_reindex`` task to its end, reporting progress; returns the documents it created."""
    task_id = backend.start_reindex(body)
    while True:
        state = backend.task(task_id)
        status = (state.get("task") or {}).get("status") or {}
        if progress:
            total = status.get("total")
            progress(stage, sum(int(status.get(k) or 0) for k in _COUNTED), int(total) if total is not None else None)
        if state.get("completed"):
            break
        time.sleep(poll_s)
    if state.get("error"):
        raise SearchError(f"reindex ({stage}) task {task_id} failed: {error_reason(state['error'])[1]}")
    response = state.get("response") or {}
    failures = response.get("failures") or []
    if failures:
        first = failures[0]
        reason = error_reason(first.get("cause", first))[1]
        raise SearchError(
            f"reindex ({stage}): {len(failures)} document(s) failed, e.g. {first.get('id')}: {reason}; "
            "the alias still reads the old index: fix and run again"
        )
    return int(response.get("created") or 0)
