"""What an operator can do, each job written once: imports (a one-off import of a URL and following it),
sources (the sources table, poll now, re-import), deliveries (the ledger, replays, the outlets' check),
preview (a page's article, nothing stored); base holds the context they run in and their refusals.

The cli and the web console call these; this is the only operator code that queues tasks, and it does so
through worker/tasks.py's enqueue_* functions. May import: anything but worker.web and worker.cli.
"""
