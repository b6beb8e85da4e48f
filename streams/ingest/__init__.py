"""Getting articles into Kafka: read user inputs (``readers``), produce them (``producer``)."""

from streams.ingest.producer import ArticleProducer, KafkaUnavailable, SendReport
from streams.ingest.readers import read_inputs

__all__ = ["ArticleProducer", "KafkaUnavailable", "SendReport", "read_inputs"]
