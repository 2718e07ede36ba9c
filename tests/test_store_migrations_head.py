"""A store already at the newest revision is opened without importing Alembic (about 11 MB of resident
memory in every worker process): the head is read from the migration scripts themselves, and must be the
head Alembic itself finds."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from worker.store import Store
from worker.store.engine import alembic_config, head_revision

ROOT = Path(__file__).resolve().parents[1]


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_opening_a_store_at_head_does_not_import_alembic_and_a_new_one_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    probe = ("import sys; from worker.store import Store; Store(sys.argv[1]).migrate(); "
             "print('alembic' in sys.modules)")

    def run() -> str:
        done = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, cwd=ROOT,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run() == "True"   # a new store: Alembic creates every table
    assert run() == "False"  # at head: nothing to do, and Alembic never loaded
    assert Store(url).list_articles() == []
