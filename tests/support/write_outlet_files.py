"""Write every kind of file the file-writing outlets make into one directory, then exit.

Run as `python -m tests.support.write_outlet_files DIR` in a child process started with the umask under
test (subprocess's `umask=`): the umask belongs to the whole process, so setting it in the test process
would change it for every other thread there too.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from worker.outlets.feeds import FeedsOptions, FeedsOutlet
from worker.outlets.files import FilesOptions, FilesOutlet
from worker.schema import Author, Image, SourceRef, make_article
from worker.settings import load_settings


def write_all(directory: Path) -> None:
    def article(version: int):  # type: ignore[no-untyped-def]
        return make_article(
            version=version, source=SourceRef(id="p", name="Partner"), attribution="From Partner",
            url="https://partner.example/a.html", headline=f"Headline v{version}", authors=[Author(name="Ann Lee")],
            published=datetime(2020, 1, 1, tzinfo=timezone.utc),
            lead_image=Image(url="https://partner.example/i.jpg", caption="Caption"),
            body_html=f"<p>Body {version}.</p>", body_text=f"Body {version}.",
        )

    settings = load_settings({})
    files = FilesOutlet("files", FilesOptions(directory=str(directory / "files")), settings)
    ref = files.publish(article(1), None)
    files.publish(article(2), ref)  # replaces index.html and article.ninjs.json written by v1
    files.withdraw(ref, "gone at the partner")
    feeds = FeedsOutlet("feeds", FeedsOptions(directory=str(directory / "feeds"), title="T",
                                              link="https://outlet.example/", description="D"), settings)
    feeds.publish(article(1), None)
    feeds.publish(article(2), None)  # re-renders all three feeds and the state over the old files


if __name__ == "__main__":
    write_all(Path(sys.argv[1]))
