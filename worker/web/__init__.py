"""The operator's HTTP API, web console and /metrics (FastAPI); `syndicate serve` runs it (server.py).

May import: worker.ops (everything an operator can do), worker.store, worker.schema, worker.config,
worker.settings; never worker.tasks (tasks are queued through worker.ops).
"""
