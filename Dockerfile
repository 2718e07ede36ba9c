FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
RUN pip install --no-cache-dir ".[postgres]" flower
COPY config ./config
ENV CONFIG_DIR=/app/config SYNDICATION_VAR_DIR=/app/var
USER nobody
