"""Install the configured spaCy models (``python -m spacy download``). No CLI code here.

Which model a language uses is ``streams.enrich.models``; this module only gets them installed and
turns a failed download into a reason a user can act on.
"""

from __future__ import annotations

import re
import subprocess
import sys

from streams.enrich.models import configured_model, model_languages
from streams.settings import EnrichSettings


class NoModelConfigured(ValueError):
    """Languages without a configured model were asked for."""

    def __init__(self, unknown: list[str], configured: list[str]):
        super().__init__(
            f"no model configured for {', '.join(unknown)} (configured: {', '.join(configured)}; "
            "set enrich.models.<lang> in config/settings.toml)"
        )
        self.unknown = unknown


def packages_to_download(settings: EnrichSettings, languages: list[str] | None = None) -> list[str]:
    """The configured model of each language (all configured ones, and ``xx``, when None), each
    package once, in order. Raises ``NoModelConfigured`` for a language without one."""
    configured = {lang: configured_model(lang, settings) for lang in model_languages(settings)}
    wanted = [lang.strip().lower() for lang in languages] if languages else list(configured)
    unknown = [lang for lang in wanted if not configured.get(lang)]
    if unknown:
        raise NoModelConfigured(unknown, [lang for lang, package in configured.items() if package])
    return list(dict.fromkeys(configured[lang] for lang in wanted))  # type: ignore[misc]


# Output of a failed `spacy download` -> the reason a user can act on.
_REASONS = [
    (
        re.compile(
            r"NameResolution|Name or service not known|Temporary failure in name resolution|"
            r"Max retries exceeded|Failed to establish a new connection|ConnectionError|"
            r"ProxyError|ConnectTimeout|ReadTimeout|Network is unreachable|SSLError",
            re.IGNORECASE,
        ),
        "no access to the model host (network)",
    ),
    (
        re.compile(r"No compatible package found|No matching distribution|compatib", re.IGNORECASE),
        "no compatible package for this spaCy version",
    ),
    (re.compile(r"No module named pip", re.IGNORECASE), "pip is not available in this environment"),
    (
        re.compile(r"Permission denied|EnvironmentError|OSError: \[Errno 13\]", re.IGNORECASE),
        "no permission to install into this environment",
    ),
]


def download_reason(output: str) -> str:
    """The output of a failed ``spacy download`` -> one line saying why."""
    for pattern, reason in _REASONS:
        if pattern.search(output):
            return reason
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "spacy download failed"


def download_model(package: str, timeout_s: float) -> str | None:
    """Run ``python -m spacy download``; None on success, else a one-line reason."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "spacy", "download", package], capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:g}s"
    if proc.returncode == 0:
        return None
    return download_reason(proc.stdout + "\n" + proc.stderr)
