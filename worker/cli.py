"""`syndicate`: the operator's commands.

Every command works on the embedded defaults (private Redis, SQLite under ./var, ./config) and on a
real deployment (REDIS_URL, DATABASE_URL, CONFIG_DIR). Errors are one readable line on stderr and exit
status 2; nothing is half-done behind them.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

from worker.errors import SyndicationError

EPILOG = """\
environment:
  REDIS_URL      broker (default: a private redis-server that `syndicate worker` starts under ./var/redis)
  DATABASE_URL   store (default: sqlite:///./var/syndication.db; PostgreSQL: postgresql+psycopg://...)
  CONFIG_DIR     folder with sources.yaml and outlets.yaml (default: ./config)
  SYNDICATION_API_TOKEN  bearer token of the API and the console login (required off loopback)

examples:
  syndicate demo                                  # the whole path on a bundled sample partner site
  syndicate extract page.html --url https://partner.example/a.html --format text
  syndicate worker                                # terminal 1
  syndicate import https://partner.example/a.html --source partner --wait   # terminal 2
  syndicate articles list
  syndicate serve                                 # console at http://127.0.0.1:8080/console/
"""


def _print_article(article: object, fmt: str) -> None:
    from worker.outlets.render import render_article_html
    from worker.schema import Article, to_ninjs

    assert isinstance(article, Article)
    if fmt == "json":
        print(article.model_dump_json(indent=2))
    elif fmt == "ninjs":
        print(json.dumps(to_ninjs(article), indent=2, ensure_ascii=False))
    elif fmt == "html":
        print(render_article_html(article))
    else:
        print(article.headline)
        print()
        print(article.body_text)
        print()
        print(article.attribution)


def cmd_extract(args: argparse.Namespace) -> int:
    """Pure extraction: read a file (or fetch a URL) and print the canonical article."""
    from worker.ops.preview import preview
    from worker.settings import load_settings

    settings = load_settings()
    target = args.file_or_url
    if urlsplit(target).scheme in ("http", "https"):
        article = preview(settings, args.source, url=target, page_url=args.url)
    else:
        path = Path(target)
        if not path.is_file():
            raise SyndicationError(f"{target}: no such file (give a path to an HTML file or an http(s) URL)")
        # a file has no http(s) address of its own: links resolve against a placeholder on the reserved
        # .invalid domain, and the article takes the page's canonical link when it declares one
        article = preview(settings, args.source, html=path.read_bytes(),
                          page_url=args.url or f"https://file.invalid/{quote(path.name)}")
    _print_article(article, args.format)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from worker.schema import article_json_schema

    print(json.dumps(article_json_schema(), indent=2))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from worker.config import describe_source_files, load_config
    from worker.settings import load_settings

    settings = load_settings()
    config = load_config(settings.config_dir)
    print(f"{settings.config_dir}: {len(config.sources)} sources, {len(config.outlets)} outlets: OK")
    for line in describe_source_files(settings.config_dir, config):  # only when sources.d/ holds files
        print(line)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the store's tables up to date (workers also do this at start; this is for deploy scripts)."""
    from worker.settings import load_settings
    from worker.store import Store

    settings = load_settings()
    Store(settings.database_url).migrate()
    print(f"store at {settings.database_url.split('@')[-1]}: migrated to the latest schema")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a Celery worker; without REDIS_URL, start a private Redis first and stop it on exit."""
    from worker.config import load_config
    from worker.embedded_redis import EmbeddedRedis
    from worker.settings import load_settings

    settings = load_settings()
    # refuse to start on a broken config: every task it took would fail, and the operator would
    # learn of it only from failed imports
    load_config(settings.config_dir)
    embedded = None
    if not settings.redis_url:
        embedded = EmbeddedRedis(settings.var_dir / "redis")
        os.environ["REDIS_URL"] = embedded.start()
        print(f"started a private Redis at {embedded.url} (stops with this worker)", file=sys.stderr)
    try:
        from worker.app import app

        argv = ["worker", "-Q", args.queues, "--loglevel", args.loglevel, "-c", str(args.concurrency)]
        if args.pool:
            argv += ["--pool", args.pool]
        if args.hostname:
            argv += ["--hostname", args.hostname]
        if args.beat:
            settings.var_dir.mkdir(parents=True, exist_ok=True)
            # an embedded beat; safe beside others: each poll is claimed once in Redis (worker/flow/schedule.py)
            # each embedded beat keeps its own schedule file: two beats sharing one would corrupt it
            schedule = settings.var_dir / f"celerybeat-schedule-{socket.gethostname()}-{os.getpid()}"
            argv += ["--beat", "--schedule", str(schedule)]
        if args.events:
            argv += ["--task-events"]
        app.worker_main(argv)
    finally:
        if embedded:
            embedded.stop()
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from worker.ops.imports import import_url

    return import_url(args.url, args.source, args.outlet or None, wait=args.wait, timeout=args.timeout)


def cmd_articles(args: argparse.Namespace) -> int:
    from worker.settings import load_settings
    from worker.store import Store

    store = Store(load_settings().database_url)
    store.migrate()
    if args.action == "show":
        if not args.id:
            raise SyndicationError("articles show needs an article id (see `syndicate articles list`)")
        article = store.get_article(args.id, args.version)
        if article is None:
            raise SyndicationError(f"no article {args.id}" + (f" version {args.version}" if args.version else ""))
        _print_article(article, args.format)
        for row in store.deliveries(article_id=article.id):
            print(f"# v{row.version} -> {row.outlet_id}: {row.state.value} ({row.attempts} attempts) "
                  f"{row.remote_url or ''} {row.last_error or ''}", file=sys.stderr)
        return 0
    rows = store.list_articles(limit=args.limit, source_id=args.source)
    print(f"{'id':<24}  {'v':>2}  {'source':<16}  {'published':<16}  headline")
    for article in rows:
        published = article.published.strftime("%Y-%m-%d %H:%M") if article.published else "-"
        print(f"{article.id:<24}  {article.version:>2}  {article.source.id:<16.16}  {published:<16}  {article.headline}")
    failures = store.ingest_failures(source_id=args.source)
    if failures:
        print(f"\n{len(failures)} failed imports:")
        for failure in failures:
            print(f"  {failure.source_id}  {failure.url}  {failure.code}: {failure.last_error}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from worker.config import describe_source_files
    from worker.ops.sources import print_sources
    from worker.settings import load_settings

    origins = describe_source_files(load_settings().config_dir)  # only when sources.d/ holds files
    if origins:
        print("sources from:\n" + "\n".join(origins), file=sys.stderr)
    return print_sources()


def cmd_poll(args: argparse.Namespace) -> int:
    from worker.ops.sources import poll

    return poll(args.source_id, wait=args.wait, timeout=args.timeout)


def _date(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-29 or 2026-11-29T08:00+01:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def cmd_reimport(args: argparse.Namespace) -> int:
    from worker.ops.sources import print_reimport

    return print_reimport(args.source_id, args.since)


def cmd_deliveries(args: argparse.Namespace) -> int:
    from worker.ops.deliveries import print_deliveries, retry_deliveries

    if args.action == "retry":
        if not args.ids and not args.all_failed:
            raise SyndicationError("deliveries retry needs delivery ids or --all-failed (see `syndicate deliveries`)")
        return retry_deliveries(args.ids, args.all_failed)
    return print_deliveries(args.state, args.limit)


def cmd_outlets(args: argparse.Namespace) -> int:
    from worker.ops.deliveries import check_outlets

    return check_outlets(args.ids or None)


def cmd_serve(args: argparse.Namespace) -> int:
    """The HTTP API, the operator console and /metrics (uvicorn)."""
    from worker.web.server import serve

    return serve(args.host, args.port, log_level=args.log_level)


def cmd_demo(args: argparse.Namespace) -> int:
    from worker.local.demo import run_demo

    return run_demo(keep_running=args.keep_running)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syndicate",
        description="Turn partner article pages into clean canonical articles and deliver them to outlets.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("extract", help="print the canonical article for a page (no queue, no store)")
    p.add_argument("file_or_url", help="an HTML file, or an http(s) URL to fetch")
    p.add_argument("--url", help="the page's URL, to resolve links and name the article (default for a file: its canonical link, relative links resolved against https://file.invalid/)")
    p.add_argument("--source", help="source id from sources.yaml (selectors, name, attribution)")
    p.add_argument("--format", choices=["json", "ninjs", "html", "text"], default="json")
    p.set_defaults(func=cmd_extract)

    p = commands.add_parser("import", help="queue a partner URL for ingest (and delivery)")
    p.add_argument("url")
    p.add_argument("--source", required=True, help="source id from sources.yaml")
    p.add_argument("--outlet", action="append", metavar="ID", help="deliver only to this outlet (repeatable)")
    p.add_argument("--wait", action="store_true", help="show progress until stored and delivered")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait with --wait (default 120)")
    p.set_defaults(func=cmd_import)

    p = commands.add_parser("worker", help="run a Celery worker (starts a private Redis when REDIS_URL is unset)")
    p.add_argument("-Q", "--queues", default="schedule,poll,ingest,deliver",
                   help="queues to consume (default: schedule,poll,ingest,deliver)")
    p.add_argument("-c", "--concurrency", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--pool", choices=["prefork", "solo", "threads"], help="Celery pool (default prefork)")
    p.add_argument("--hostname", help="Celery node name (default: celery@HOST)")
    p.add_argument("--loglevel", default="INFO")
    p.add_argument("--beat", action="store_true", help="also run the polling schedule in this worker (one laptop)")
    p.add_argument("--events", action="store_true",
                   help="send task events for monitors (off by default: they cost CPU per task; Flower turns them on)")
    p.set_defaults(func=cmd_worker)

    p = commands.add_parser("articles", help="list stored articles or show one")
    p.add_argument("action", choices=["list", "show"], nargs="?", default="list")
    p.add_argument("id", nargs="?")
    p.add_argument("--version", type=int)
    p.add_argument("--source")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=["json", "ninjs", "html", "text"], default="text")
    p.set_defaults(func=cmd_articles)

    p = commands.add_parser("sources", help="every source (sources.yaml, sources.d/) with its polling health "
                                            "(ok, failing, idle)")
    p.set_defaults(func=cmd_sources)

    p = commands.add_parser("poll", help="poll one source now (the Run Now button)")
    p.add_argument("source_id")
    p.add_argument("--wait", action="store_true", help="wait for the poll and print what it queued")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait with --wait (default 300)")
    p.set_defaults(func=cmd_poll)

    p = commands.add_parser("reimport", help="queue a source's known articles for ingest again")
    p.add_argument("source_id")
    p.add_argument("--since", type=_date, help="only articles published (or first seen) since this date")
    p.set_defaults(func=cmd_reimport)

    p = commands.add_parser("deliveries", help="list deliveries with their state and reason, or retry them")
    p.add_argument("action", choices=["list", "retry"], nargs="?", default="list")
    p.add_argument("ids", nargs="*", type=int, metavar="ID", help="with retry: ledger ids to replay")
    p.add_argument("--all-failed", action="store_true", help="with retry: every failed or dead delivery")
    p.add_argument("--state", choices=["pending", "in_progress", "delivered", "retrying", "failed", "dead"])
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=cmd_deliveries)

    p = commands.add_parser("outlets", help="check each outlet's credentials and reachability")
    p.add_argument("action", choices=["check"])
    p.add_argument("ids", nargs="*", metavar="ID", help="only these outlets")
    p.set_defaults(func=cmd_outlets)

    p = commands.add_parser("schema", help="print the canonical article's JSON Schema")
    p.set_defaults(func=cmd_schema)

    p = commands.add_parser("check", help="validate config/sources.yaml, config/sources.d/*.yaml and "
                                          "config/outlets.yaml")
    p.set_defaults(func=cmd_check)

    p = commands.add_parser("migrate", help="create or upgrade the store's tables (DATABASE_URL)")
    p.set_defaults(func=cmd_migrate)

    p = commands.add_parser("serve", help="run the HTTP API and the operator console (/console/, /docs, /metrics)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other address needs SYNDICATION_API_TOKEN)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=cmd_serve)

    p = commands.add_parser("demo", help="run the whole path on a bundled sample partner site")
    p.add_argument("--keep-running", action="store_true", help="leave the site, Redis and worker up until Ctrl-C")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SyndicationError as exc:
        print(f"error: {exc.reason if hasattr(exc, 'reason') else exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
