# syntax=docker/dockerfile:1
# The newsstreams image: `docker run IMAGE` starts the worker; `docker run IMAGE <subcommand> ...` runs any
# other CLI subcommand (ENTRYPOINT is the console script, CMD its default arguments).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# Dependencies first, read from pyproject.toml, so that source edits reuse this layer and the model layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Official spaCy models, pinned to the release line of the spaCy that pyproject.toml allows (3.8.x).
# One model per language of enrich.models (streams/settings.py), plus the multilingual fallback.
ARG SPACY_MODEL_VERSION=3.8.0
RUN set -e; \
    for model in nl_core_news_md en_core_web_md de_core_news_md fr_core_news_md es_core_news_md \
                 it_core_news_md xx_ent_wiki_sm; do \
        python -m spacy download "${model}-${SPACY_MODEL_VERSION}" --direct; \
    done

COPY README.md ./
COPY streams/ streams/
COPY config/ config/
COPY seeds/ seeds/
# The package carries config/ (as streams/config): the installed command finds it from any directory.
RUN pip install --no-cache-dir .

# Faust keeps its state in a directory the non-root user can write.
ENV FAUST_DATADIR=/var/lib/newsstreams

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin newsstreams \
    && install -d -o newsstreams -g newsstreams /var/lib/newsstreams
USER newsstreams

# Faust web: /health, /metrics
EXPOSE 6066
ENTRYPOINT ["newsstreams"]
CMD ["worker"]
