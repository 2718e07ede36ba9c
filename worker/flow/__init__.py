"""The stages of the flow: poll, ingest, deliver, withdraw, routing, schedule, sweep, and the Services
they share. Called by the thin Celery tasks (worker.tasks); Celery itself stays out of here except time limits.

May import: the core (schema, config, http, discover, extract, store, outlets). Never ops, web or cli.
"""
