# The Guildhall image: `guildhall serve`, `guildhall worker` and `guildhall migrate` (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies and code first; migrations change more often, so they come in a later layer.
COPY pyproject.toml README.md ./
COPY api ./api
COPY domain ./domain
COPY assessment ./assessment
RUN pip install . && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin guildhall

COPY migrations ./migrations
ENV GUILDHALL_MIGRATIONS_DIR=/app/migrations \
    GUILDHALL_ENV=production

USER guildhall
EXPOSE 8000
ENTRYPOINT ["guildhall"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
