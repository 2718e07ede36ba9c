"""The stages of the flow, one a module: poll, ingest, images (each stored version's pictures), deliver,
withdraw (and routing, schedule, sweep, time_limits), and services.py, the Services they share. Called by the thin Celery tasks (worker.tasks); Celery itself
stays out of here except time limits.

May import: the core (schema, config, http, discover, extract, store, outlets). Never ops, web or cli.
"""
