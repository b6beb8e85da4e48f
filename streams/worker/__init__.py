"""The worker: the Faust app (``app``), its pure stages (``stages``), delivery at the edges
(``delivery``), metrics and health (``metrics``, ``health``, ``monitor``)."""
