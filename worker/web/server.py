"""`syndicate serve`: the API, the console and /metrics under uvicorn.

Safe by default: the token comes from SYNDICATION_API_TOKEN; without one the server only listens on a
loopback address and makes up a token for this run (printed once), so even a laptop's console is not
open to other local users or to a web page's cross-site requests. On any other address it refuses
to start without a token.
"""
from __future__ import annotations

import os
import secrets
import sys

from worker.errors import SyndicationError
from worker.web.auth import is_loopback

TOKEN_ENV = "SYNDICATION_API_TOKEN"
#: a second, read-only token that opens /metrics alone (for the Prometheus scrape config)
METRICS_TOKEN_ENV = "SYNDICATION_METRICS_TOKEN"
#: shorter tokens are refused: the token is the only thing between the network and the operator's actions
MIN_TOKEN_LENGTH = 16


def resolve_token(host: str, environ: dict[str, str] | None = None) -> tuple[str, bool]:
    """(token, generated): the configured token, or a fresh one when the server only listens on loopback."""
    env = os.environ if environ is None else environ
    token = (env.get(TOKEN_ENV) or "").strip()
    if token:
        if len(token) < MIN_TOKEN_LENGTH:
            raise SyndicationError(f"{TOKEN_ENV} is too short ({len(token)} characters); use at least "
                                   f"{MIN_TOKEN_LENGTH}, e.g. the output of `python -c 'import secrets; "
                                   f"print(secrets.token_urlsafe(32))'`")
        return token, False
    if not is_loopback(host):
        raise SyndicationError(
            f"refusing to listen on {host} without {TOKEN_ENV}: anyone who can reach it could import, retry "
            f"and read everything. Set {TOKEN_ENV} (a long random string), or listen on 127.0.0.1")
    return secrets.token_urlsafe(32), True


def resolve_metrics_token(environ: dict[str, str] | None = None) -> str | None:
    """The configured metrics token, or None (then only the API token reads /metrics)."""
    env = os.environ if environ is None else environ
    token = (env.get(METRICS_TOKEN_ENV) or "").strip()
    if token and len(token) < MIN_TOKEN_LENGTH:
        raise SyndicationError(f"{METRICS_TOKEN_ENV} is too short ({len(token)} characters); use at least "
                               f"{MIN_TOKEN_LENGTH}")
    if token and token == (env.get(TOKEN_ENV) or "").strip():
        raise SyndicationError(f"{METRICS_TOKEN_ENV} must differ from {TOKEN_ENV}: it is the read-only one")
    return token or None


def serve(host: str = "127.0.0.1", port: int = 8080, log_level: str = "info") -> int:
    """Run the server until interrupted. Broker and store come from the environment, with the embedded
    defaults of every other command (REDIS_URL unset: the private Redis a `syndicate worker` started)."""
    import uvicorn

    from worker.logging_setup import configure_logging
    from worker.settings import load_settings
    from worker.web.app import create_app

    token, generated = resolve_token(host)
    configure_logging(log_level.upper())
    settings = load_settings()
    app = create_app(settings, token, metrics_token=resolve_metrics_token())
    app.state.ctx.store  # noqa: B018 -- migrate now: a broken DATABASE_URL fails the start, not the first page
    shown_host = f"[{host}]" if ":" in host else host
    print(f"console: http://{shown_host}:{port}/console/   API: http://{shown_host}:{port}/docs", file=sys.stderr)
    if generated:
        print(f"no {TOKEN_ENV} set: this run's token (API bearer and console login) is\n  {token}\n"
              f"set {TOKEN_ENV} to keep one across restarts", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_config=None, log_level=log_level, proxy_headers=True,
                server_header=False)
    return 0
