"""Kafka at the edge: topic admin, consumer lag, the article producer, a group-less reader.

kafka-python for the CLI and tools; the worker's own consumers and producers are Faust's (aiokafka).
"""

from streams.kafka.errors import KafkaUnavailable, MissingTopic

__all__ = ["KafkaUnavailable", "MissingTopic"]
