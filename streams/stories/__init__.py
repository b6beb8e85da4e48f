"""Near-duplicates and stories: ``fingerprint`` (MinHash and band keys), ``assign`` (the decision rule
and the candidate query bodies), ``evaluate`` (metrics and the offline runner). Pure Python over plain
dicts (no Kafka, no search client); docs/STORIES.md describes the rule."""
