"""The one Kafka error the rest of the code catches: the broker (or a topic) cannot be used."""

from __future__ import annotations


class KafkaUnavailable(RuntimeError):
    """The broker cannot be reached, or does not acknowledge; the message names the servers."""


class MissingTopic(KafkaUnavailable):
    """The broker answers but the topic does not exist."""

    def __init__(self, topic: str, servers: str):
        super().__init__(
            f"topic {topic!r} does not exist on Kafka at {servers}; `newsstreams setup` creates the topics"
        )
        self.topic = topic


def unreachable(servers: str, timeout_s: float, exc: BaseException) -> KafkaUnavailable:
    return KafkaUnavailable(
        f"cannot reach Kafka at {servers} within {timeout_s:g} s ({exc}); is the broker running? "
        "(newsstreams stack up, or set NEWSSTREAMS_KAFKA__BOOTSTRAP_SERVERS)"
    )
