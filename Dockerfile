# One image for every role of the scaled-out desk: `newsdesk worker`, `newsdesk web`,
# `newsdesk db upgrade` (compose.yaml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NEWSDESK_HOST=0.0.0.0

WORKDIR /app
# Dependencies first, pinned by constraints.txt, so a code change reuses this layer.
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
COPY catalogs ./catalogs
RUN pip install -c constraints.txt . \
    && useradd --create-home --uid 10001 newsdesk

USER newsdesk
EXPOSE 8000
# SIGTERM lets a worker finish its running tasks (drain); give it time in the orchestrator.
STOPSIGNAL SIGTERM
ENTRYPOINT ["newsdesk"]
CMD ["web"]
