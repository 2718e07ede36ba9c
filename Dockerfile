FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
RUN pip install --no-cache-dir ".[postgres]" flower
COPY config ./config
ENV CONFIG_DIR=/app/config SYNDICATION_VAR_DIR=/app/var
# The writable state lives under /app/var, created here and owned by the user the processes run as:
# a named volume mounted on a path of the image starts as a copy of it (owner included), so the files
# outlet can write to /app/var/outlets. A path the image lacks would be created root-owned by Docker.
RUN mkdir -p /app/var/outlets && chown -R nobody:nogroup /app/var
USER nobody
