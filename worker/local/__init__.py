"""Running it here: the demo and its sample partner site.

May import: worker.settings, worker.errors, worker.app, worker.ops, worker.store.
"""
