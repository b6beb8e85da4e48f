"""Near-duplicates and stories: fingerprints, the decision rule and its evaluation. Pure Python over
plain dicts (no Kafka, no search client); docs/STORIES.md describes the rule."""

from streams.stories.assign import assign, candidate_queries, candidate_query, decide
from streams.stories.fingerprint import fingerprint, similarity

__all__ = ["assign", "candidate_queries", "candidate_query", "decide", "fingerprint", "similarity"]
