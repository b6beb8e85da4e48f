"""Enrichment core: language, entities (spaCy + gazetteer), topics. Pure Python over dicts.

``Enricher(settings).enrich_batch(articles)`` is the entry point; see ``pipeline``.
"""

from streams.enrich.pipeline import Enricher, EnrichResult

__all__ = ["EnrichResult", "Enricher"]
