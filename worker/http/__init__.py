"""Every outbound request to a partner: the fetch client, page decoding, per-host rate limits, robots.txt,
the SSRF guard, size caps and total deadlines.

May import: worker.errors, worker.settings, worker.config. Never Celery, flow, ops, web or cli.
"""
