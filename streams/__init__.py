"""newsstreams: a Kafka -> Faust -> Elasticsearch/OpenSearch ingestion pipeline for news."""

__version__ = "0.1.0"
