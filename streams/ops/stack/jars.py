"""Fetch a Java program's jars from Maven Central once, into a cache outside the work tree.

A generated ``packaging=pom`` project lists the artifacts; ``maven-dependency-plugin:copy-dependencies``
resolves them with their transitive dependencies into ``<cache>/<name>/lib``. A marker file written
last makes an interrupted download count as absent, so the next run retries it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

from streams.ops.stack.errors import StackError

MARKER = ".complete"


def _pom(name: str, artifacts: list[str]) -> str:
    deps = []
    for coords in artifacts:
        group, artifact, version = coords.split(":")
        deps.append(
            f"<dependency><groupId>{escape(group)}</groupId><artifactId>{escape(artifact)}</artifactId>"
            f"<version>{escape(version)}</version></dependency>"
        )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<groupId>newsstreams.stack</groupId><artifactId>{escape(name)}</artifactId><version>1</version>"
        f"<packaging>pom</packaging><dependencies>{''.join(deps)}</dependencies></project>\n"
    )


def ensure_jars(name: str, artifacts: list[str], cache_dir: Path, say=print) -> Path:
    """Return the directory holding the jars of ``artifacts`` (``group:artifact:version``), fetching once."""
    home = cache_dir / name
    lib = home / "lib"
    if (home / MARKER).exists():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "Maven ('mvn') is not on PATH; it is needed once to fetch the Kafka and OpenSearch jars "
            "from Maven Central. Install it (e.g. apt-get install maven) or point newsstreams at an "
            "existing Kafka and search engine (NEWSSTREAMS_KAFKA__BOOTSTRAP_SERVERS, NEWSSTREAMS_SEARCH__URL)."
        )
    home.mkdir(parents=True, exist_ok=True)
    if lib.exists():
        shutil.rmtree(lib)
    (home / "pom.xml").write_text(_pom(name, artifacts))
    say(f"fetching {', '.join(artifacts)} from Maven Central into {lib} (once) ...")
    proc = subprocess.run(
        [mvn, "-B", "-q", "-f", str(home / "pom.xml"), "dependency:copy-dependencies", f"-DoutputDirectory={lib}"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise StackError(f"Maven could not fetch {', '.join(artifacts)} (exit {proc.returncode}):\n{tail}")
    (home / MARKER).write_text("\n".join(artifacts) + "\n")
    return lib
