"""Saved-search alerts: percolator queries in an alerts index; every indexed batch is percolated and
each match becomes one record on the alerts topic, exactly once per (alert, article) (docs/ALERTS.md)."""
