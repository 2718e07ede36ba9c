"""A real, throw-away WordPress for the outlet tests: Debian's `wordpress` package served by `php -S`.

Once per test session: install the packages when missing (apt-get, as root), reuse the MariaDB on
127.0.0.1:3306 or start Debian's on a data directory of the session's own, create a fresh database and user, write a per-instance config and
wp-content (with the project's mu-plugin from contrib/wordpress/), start `php -S` with a router, run the
installer over HTTP the way the browser form posts it, turn on pretty permalinks and create an
Application Password. Everything is removed again at the end of the session.

Why each odd step is there:
- Debian's /usr/share/wordpress/wp-config.php loads /etc/wordpress/config-<name>.php, where <name> is
  $_SERVER['WORDPRESS_CONFIG'] when set; our router sets it, so parallel instances never share a config.
- WP_ENVIRONMENT_TYPE=local: WordPress only offers Application Passwords over https, except on a "local"
  site; the test site is plain http on loopback.
- php -S has no rewrite rules; the router hands every path that is not a file to index.php, which is
  what pretty permalinks (and so /wp-json/) need. PHP_CLI_SERVER_WORKERS lets it answer requests in
  parallel (the concurrency tests and the bench need that).
- Setting the permalink structure must go through $wp_rewrite and a flush: update_option alone leaves
  the stale plain rules in place.

The tests only skip when the `wordpress` package cannot be installed (no root, no package index); any
later failure is an error, because then the outlet cannot be tested and nobody should think it was.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.processes import stop_group

ROOT = Path(__file__).resolve().parents[2]
MU_PLUGIN = ROOT / "contrib" / "wordpress" / "syndication-worker.php"
WP_ROOT = Path("/usr/share/wordpress")
WP_SHARED_CONTENT = Path("/var/lib/wordpress/wp-content")
PACKAGES = [
    "wordpress", "wordpress-theme-twentytwentythree", "php-cli", "php-mysql", "php-curl", "php-gd",
    "php-xml", "php-mbstring", "mariadb-server", "mariadb-client",
]
DB_HOST = os.environ.get("WP_DB_HOST", "127.0.0.1")
DB_PORT = int(os.environ.get("WP_DB_PORT", "3306"))

ROUTER = """<?php
$_SERVER['WORDPRESS_CONFIG'] = %(name)s;
$root = %(root)s;
$content = %(content)s;
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?: '/');
if (strpos($path, '..') !== false) { http_response_code(400); return true; }
if (is_file($root . $path)) return false;
if (is_dir($root . $path)) {
    if (substr($path, -1) !== '/') { header('Location: ' . $path . '/'); return true; }
    return false;
}
if (strncmp($path, '/wp-content/', 12) === 0) {
    $file = $content . substr($path, 11);
    if (is_file($file) && !preg_match('/\\.php$/i', $file)) {
        header('Content-Type: ' . (mime_content_type($file) ?: 'application/octet-stream'));
        header('Content-Length: ' . filesize($file));
        readfile($file);
        return true;
    }
    http_response_code(404); return true;
}
chdir($root);
require $root . '/index.php';
"""

# Run inside WordPress (php -r) after the installer: pretty permalinks and an Application Password.
SETUP_PHP = """
$_SERVER['WORDPRESS_CONFIG'] = getenv('WPT_NAME');
$_SERVER['HTTP_HOST'] = getenv('WPT_HOST');
define('WP_ADMIN', true);
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/admin.php';
global $wp_rewrite;
$wp_rewrite->set_permalink_structure('/%postname%/');
$wp_rewrite->flush_rules(false);
$user = get_user_by('login', getenv('WPT_USER'));
$r = WP_Application_Passwords::create_new_application_password($user->ID, ['name' => 'syndication-tests']);
if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message() . "\\n"); exit(1); }
echo $r[0];
"""


# Run inside WordPress (php -r) with the code of WordPressSite.php after it: the site's own functions,
# for what its REST API cannot do (backdate a post, publish a scheduled one as cron would).
INSIDE_PHP = """
$_SERVER['WORDPRESS_CONFIG'] = getenv('WPT_NAME');
$_SERVER['HTTP_HOST'] = getenv('WPT_HOST');
define('WP_ADMIN', true);
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/admin.php';
"""


# the smallest PNG (1x1, transparent): WordPress checks an upload's bytes, not only its name
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _installed(package: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True,
                            check=False)
    return result.stdout.startswith("install ok installed")


class WordPressUnavailable(Exception):
    """The `wordpress` package is not installed and cannot be: the one reason to skip these tests."""


def ensure_packages(log_dir: Path) -> None:
    missing = [p for p in PACKAGES if not _installed(p)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise WordPressUnavailable(f"WordPress tests need the Debian packages {' '.join(missing)}; "
                                   "installing them needs root and apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = log_dir / "apt.log"
    with open(log, "wb") as out:
        subprocess.run(["apt-get", "update", "-qq"], env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
        installed = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            env=env, stdout=out, stderr=subprocess.STDOUT, check=False,
        )
    if installed.returncode != 0 or not _installed("wordpress"):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:])
        raise WordPressUnavailable(f"the Debian package 'wordpress' cannot be installed here (apt-get said:\n{tail})")


@dataclass
class _MariaDB:
    """Admin access to the database server; starts Debian's server only when nothing listens."""

    run_dir: Path
    process: subprocess.Popen[bytes] | None = None
    command: list[str] = field(default_factory=list)

    def start(self) -> None:
        if not _listening(DB_HOST, DB_PORT):
            if DB_HOST != "127.0.0.1":
                raise RuntimeError(f"no database server listens on {DB_HOST}:{DB_PORT}")
            self._start_server()
        if self.process is None and subprocess.run(["mysql", "-uroot", "-e", "SELECT 1"], capture_output=True,
                                                   check=False).returncode == 0:
            self.command = ["mysql", "-uroot"]  # Debian: root logs in over the unix socket
        else:
            self.command = ["mysql", "--protocol=tcp", f"-h{DB_HOST}", f"-P{DB_PORT}", "-uroot"]
        self.sql("SELECT 1")

    def _start_server(self) -> None:
        """Debian's server on a data directory of its own, under this session's run_dir.

        Never the system's /var/lib/mysql: a server this process cannot reach (one in another network
        namespace, or one stopped half-way) may hold it locked, and tests must not write into it anyway.
        Root gets a password login (empty), so the admin client reaches it over TCP like any other server.
        """
        datadir = self.run_dir / "mariadb-data"
        log = open(self.run_dir / "mariadb.log", "ab")  # noqa: SIM115 - lives as long as the server
        if not (datadir / "mysql").is_dir():
            subprocess.run(["mariadb-install-db", "--no-defaults", "--user=root", f"--datadir={datadir}",
                            "--auth-root-authentication-method=normal", "--skip-test-db"],
                           stdout=log, stderr=subprocess.STDOUT, check=True)
        self.process = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults", "--user=root", f"--datadir={datadir}",
             f"--socket={self.run_dir / 'mariadb.sock'}", f"--pid-file={self.run_dir / 'mariadb.pid'}",
             "--bind-address=127.0.0.1", f"--port={DB_PORT}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not _listening("127.0.0.1", DB_PORT):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"MariaDB did not start; see {self.run_dir / 'mariadb.log'}")
            time.sleep(0.2)

    def sql(self, statements: str) -> None:
        env = {**os.environ, "MYSQL_PWD": os.environ.get("WP_DB_ROOT_PASSWORD", "")}
        result = subprocess.run(self.command, input=statements, text=True, capture_output=True, env=env, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"mysql failed: {result.stderr.strip()}")

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, grace=60)


@dataclass
class WordPressSite:
    """A running WordPress: where it is, who may write to it, and a REST session to read it back."""

    url: str
    user: str
    password: str
    app_password: str
    datadir: Path
    api: requests.Session = field(default_factory=requests.Session)
    #: the name Debian's wp-config.php picks this instance's config by (WORDPRESS_CONFIG)
    config_name: str = ""

    def rest(self, route: str, method: str = "GET", **kwargs: Any) -> Any:
        """Call /wp-json<route> as the admin and return the decoded JSON; fails the test on an error."""
        response = self.api.request(method, f"{self.url}/wp-json{route}", timeout=30, **kwargs)
        assert response.status_code < 300, (method, route, response.status_code, response.text[:500])
        return response.json()

    def posts(self, **params: Any) -> list[dict[str, Any]]:
        """Every post (any status but trash) matching `params`, in edit context (raw fields, meta)."""
        return list(self.rest("/wp/v2/posts", params={"status": "any", "context": "edit", "per_page": 100, **params}))

    def php(self, code: str) -> str:
        """Run PHP inside this WordPress (its functions and $wpdb loaded) and return what it printed."""
        host = self.url.split("://", 1)[1]
        result = subprocess.run(["php", "-d", "display_errors=stderr", "-r", INSIDE_PHP + code], capture_output=True,
                                text=True, timeout=60, check=False,
                                env={**os.environ, "WPT_NAME": self.config_name, "WPT_HOST": host})
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    @contextmanager
    def permalinks(self, structure: str) -> Iterator[None]:
        """The site with another permalink structure ('' is WordPress's plain `?p=123` links, where
        /wp-json/ is not routed), the one before restored on exit: the site is shared by the session."""
        switch = ("global $wp_rewrite; echo get_option('permalink_structure');"
                  "$wp_rewrite->set_permalink_structure(%s); $wp_rewrite->flush_rules(false);")
        before = self.php(switch % _php_string(structure))
        try:
            yield
        finally:
            self.php(switch % _php_string(before))


def _write_config(name: str, database: str, db_user: str, db_password: str, url: str, content: Path) -> Path:
    keys = ["AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT", "NONCE_SALT"]
    lines = ["<?php", "// Written by tests/plugins/wordpress.py; removed when the test session ends."]
    constants: dict[str, str | bool] = {
        "DB_NAME": database, "DB_USER": db_user, "DB_PASSWORD": db_password, "DB_HOST": f"{DB_HOST}:{DB_PORT}",
        "DB_CHARSET": "utf8mb4", "DB_COLLATE": "",
        **{key: secrets.token_hex(32) for key in keys},
        "WP_HOME": url, "WP_SITEURL": url, "WP_CONTENT_DIR": str(content), "WP_CONTENT_URL": f"{url}/wp-content",
        "WP_ENVIRONMENT_TYPE": "local", "WP_ALLOW_MULTISITE": False, "DISABLE_WP_CRON": True,
        "AUTOMATIC_UPDATER_DISABLED": True, "WP_HTTP_BLOCK_EXTERNAL": True, "WP_DEBUG": False,
    }
    for key, value in constants.items():
        php_value = ("true" if value else "false") if isinstance(value, bool) else _php_string(value)
        lines.append(f"define('{key}', {php_value});")
    path = Path(f"/etc/wordpress/config-{name}.php")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o640)
    return path


def _start_php(port: int, content: Path, datadir: Path, name: str) -> subprocess.Popen[bytes]:
    router = datadir / "router.php"
    router.write_text(ROUTER % {"name": _php_string(name), "root": _php_string(str(WP_ROOT)),
                                "content": _php_string(str(content))}, encoding="utf-8")
    env = {**os.environ, "PHP_CLI_SERVER_WORKERS": os.environ.get("PHP_CLI_SERVER_WORKERS", "8")}
    process = subprocess.Popen(
        ["php", "-d", "memory_limit=256M", "-d", "post_max_size=64M", "-d", "upload_max_filesize=64M",
         "-d", "display_errors=0", "-S", f"127.0.0.1:{port}", "-t", str(WP_ROOT), str(router)],
        stdin=subprocess.DEVNULL, stdout=open(datadir / "php.log", "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while not _listening("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"php -S did not start: {(datadir / 'php.log').read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return process


def _run_installer(url: str, user: str, password: str, datadir: Path) -> None:
    response = requests.post(f"{url}/wp-admin/install.php?step=2", timeout=120, data={
        "weblog_title": "Syndication test site", "user_name": user, "admin_password": password,
        "admin_password2": password, "pw_weak": "1", "admin_email": "admin@example.com", "blog_public": "0",
    })
    (datadir / "install.html").write_text(response.text, encoding="utf-8")
    if "Success!" not in response.text:
        raise RuntimeError(f"the WordPress installer did not succeed (HTTP {response.status_code}); see {datadir / 'install.html'}")


@contextmanager
def running_wordpress(datadir: Path) -> Iterator[WordPressSite]:
    """A fresh WordPress with its own database, served from `datadir`, removed again on exit."""
    ensure_packages(datadir)
    started = time.monotonic()
    port = _free_port()
    name = f"syndtest-{port}"
    database = db_user = f"syndtest_{port}"
    db_password = secrets.token_hex(12)
    user, password = "editor-admin", secrets.token_hex(12)
    url = f"http://127.0.0.1:{port}"

    mariadb = _MariaDB(datadir)
    php: subprocess.Popen[bytes] | None = None
    config: Path | None = None
    try:
        mariadb.start()
        mariadb.sql(
            f"DROP DATABASE IF EXISTS `{database}`;"
            f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
            f"CREATE OR REPLACE USER '{db_user}'@'%' IDENTIFIED BY '{db_password}';"
            f"CREATE OR REPLACE USER '{db_user}'@'localhost' IDENTIFIED BY '{db_password}';"
            f"GRANT ALL ON `{database}`.* TO '{db_user}'@'%';"
            f"GRANT ALL ON `{database}`.* TO '{db_user}'@'localhost';"
        )
        content = datadir / "wp-content"
        (content / "uploads").mkdir(parents=True)
        (content / "mu-plugins").mkdir()
        for shared in ("themes", "plugins", "languages"):
            if (WP_SHARED_CONTENT / shared).exists():
                (content / shared).symlink_to(WP_SHARED_CONTENT / shared)
        shutil.copy(MU_PLUGIN, content / "mu-plugins" / MU_PLUGIN.name)
        config = _write_config(name, database, db_user, db_password, url, content)
        php = _start_php(port, content, datadir, name)
        _run_installer(url, user, password, datadir)
        setup = subprocess.run(
            ["php", "-d", "display_errors=stderr", "-r", SETUP_PHP], capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "WPT_NAME": name, "WPT_HOST": f"127.0.0.1:{port}", "WPT_USER": user},
        )
        if setup.returncode != 0 or not setup.stdout.strip():
            raise RuntimeError(f"permalinks / application password setup failed: {setup.stderr.strip()}")
        site = WordPressSite(url=url, user=user, password=password, app_password=setup.stdout.strip(), datadir=datadir,
                             config_name=name)
        site.api.auth = (user, site.app_password)
        me = site.rest("/wp/v2/users/me")
        assert me["slug"] == user, me
        # One upload before the tests: it creates uploads/<year>/<month>, which concurrent first uploads
        # would race to create (WordPress answers 500 to the losers; the outlet would retry, a test not).
        probe = site.rest("/wp/v2/media", method="POST", data=_PNG, headers={
            "Content-Type": "image/png", "Content-Disposition": 'attachment; filename="probe.png"'})
        site.rest(f"/wp/v2/media/{probe['id']}", method="DELETE", params={"force": "true"})
        print(f"\nWordPress ready at {url} in {time.monotonic() - started:.1f}s (data: {datadir})")
        yield site
    finally:
        if php is not None:
            stop_group(php, grace=10)
        if config is not None:
            config.unlink(missing_ok=True)
        if mariadb.command:
            try:
                mariadb.sql(f"DROP DATABASE IF EXISTS `{database}`;"
                            f"DROP USER IF EXISTS '{db_user}'@'%', '{db_user}'@'localhost';")
            except RuntimeError:
                pass  # the server went away; nothing left to clean in it
        mariadb.stop()


@pytest.fixture(scope="session")
def wordpress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPressSite]:
    try:
        with running_wordpress(tmp_path_factory.mktemp("wordpress")) as site:
            yield site
    except WordPressUnavailable as exc:
        pytest.skip(str(exc))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "wordpress: runs against a real WordPress (Debian package, php -S, MariaDB)")
