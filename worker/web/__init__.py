"""The operator's HTTP API, web console and /metrics (FastAPI); `syndicate serve` runs it (server.py)."""
