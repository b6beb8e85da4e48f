"""The ledger of (alert, article) pairs: one document per pair in ``alerts.ledger_index``, ``_id`` =
the record key. "pending" = claimed, with where the record goes (partition, and that partition's end
offset before sending); "sent" = the broker acknowledged it. See docs/ALERTS.md for the argument."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from streams.contracts.dates import epoch_from_iso, iso_from_epoch, utc_now_iso
from streams.search import SearchBackend

PENDING, SENT = "pending", "sent"


@dataclass(frozen=True)
class Entry:
    key: str
    state: str
    partition: int
    offset: int
    owner: str
    claimed_at: float  # seconds since the epoch, the claimer's clock
    record: dict[str, Any] = field(default_factory=dict)
    seq_no: int | None = None  # the version read, for compare-and-set
    primary_term: int | None = None

    def document(self) -> dict[str, Any]:
        alert, _, article_id = self.key.partition("|")
        doc = {
            "alert": alert,
            "article_id": article_id,
            "state": self.state,
            "partition": self.partition,
            "offset": self.offset,
            "owner": self.owner,
            "claimed_at": iso_from_epoch(self.claimed_at),
            "record": self.record,
        }
        if self.state == SENT:
            doc["sent_at"] = utc_now_iso()
        return doc


def _entry(key: str, found: dict) -> Entry:
    src = found["_source"]
    return Entry(
        key,
        src["state"],
        int(src["partition"]),
        int(src["offset"]),
        src.get("owner", ""),
        epoch_from_iso(src["claimed_at"]),
        src.get("record") or {},
        found.get("_seq_no"),
        found.get("_primary_term"),
    )


@dataclass
class Plan:
    """What to do with each pair of a batch, given the ledger."""

    new: list[str] = field(default_factory=list)  # no entry: claim, send, mark sent
    resolve: list[Entry] = field(default_factory=list)  # pending and ours, or its lease ran out
    waiting: list[Entry] = field(default_factory=list)  # pending, claimed by a live worker (maybe)
    done: list[str] = field(default_factory=list)  # sent


def plan(keys: Iterable[str], entries: dict[str, Entry], owner: str, now: float, lease_s: float) -> Plan:
    out = Plan()
    for key in keys:
        entry = entries.get(key)
        if entry is None:
            out.new.append(key)
        elif entry.state == SENT:
            out.done.append(key)
        elif entry.owner == owner or now - entry.claimed_at >= lease_s:
            out.resolve.append(entry)
        else:
            out.waiting.append(entry)
    return out


class Ledger:
    def __init__(self, backend: SearchBackend, index: str):
        self.backend = backend
        self.index = index

    def lookup(self, keys: list[str]) -> dict[str, Entry]:
        return {key: _entry(key, found) for key, found in self.backend.get_many(self.index, keys).items()}

    def claim(self, entries: list[Entry]) -> set[str]:
        """Create the pending entries; the keys this call claimed (an existing key is someone else's)."""
        return self.backend.create_many(self.index, {e.key: e.document() for e in entries})

    def take_over(self, entry: Entry, owner: str) -> Entry | None:
        """The entry, now ours with a fresh lease, if nobody changed it since it was read; else None."""
        assert entry.seq_no is not None and entry.primary_term is not None
        mine = Entry(entry.key, PENDING, entry.partition, entry.offset, owner, time.time(), entry.record)
        if self.backend.replace_if(self.index, entry.key, mine.document(), entry.seq_no, entry.primary_term):
            return mine
        return None

    def mark_sent(self, entries: list[Entry]) -> None:
        sent = [Entry(e.key, SENT, e.partition, e.offset, e.owner, e.claimed_at, e.record) for e in entries]
        self.backend.put_many(self.index, {e.key: e.document() for e in sent})
