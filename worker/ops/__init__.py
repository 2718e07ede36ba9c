"""What an operator can do (import, poll now, reimport, retry, preview): the place operator code queues
tasks; the cli and the web console call it.

May import: anything but worker.web and worker.cli.
"""
