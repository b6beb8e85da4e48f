"""Operating the pipeline: setup (topics + index), the DLQ tools, dashboards import, the local stack."""
