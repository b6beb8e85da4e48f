"""Operating the pipeline: setup (topics + index), the DLQ tools, dashboards import, model downloads,
the local stack."""
