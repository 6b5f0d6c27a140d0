"""`samizdat demo`: serve the bundled sample sites on 127.0.0.1, archive them, show what to do next."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import time
from pathlib import Path

import click

from samizdat import sample_sites, stages
from samizdat.archive.config import load_config
from samizdat.archive.datadir import MARKER, DataDir
from samizdat.archive.errors import DataDirError
from samizdat.archive.warc import iter_entries
from samizdat.search import SearchParams

DEMO_MARKER = "demo.json"
# The four default sites and the three magazines laid out as real ones are (issue pages, contents pages in
# subfolders, issues that are one page).
DEMO_SITES = (*sample_sites.DEFAULT_SITES, *sample_sites.MAGAZINE_SITES)
EXAMPLES = (
    ("a word, stemmed", "eviction", {}),
    ("a phrase", '"rent strike"', {}),
    ("a label and a date range", "", {"label": ["Mining"], "from": "2020-01-01"}),
    ("one magazine, dated by its issues", "", {"source": "quarry-quarterly"}),
)


def run_demo(data_dir: Path) -> None:
    _prepare(data_dir)
    started = time.monotonic()
    server = sample_sites.start(sites=DEMO_SITES)
    try:
        click.echo("sample sites serving on " + ", ".join(f"{k} {v}" for k, v in server.urls.items()), err=True)
        datadir = DataDir.create(data_dir)
        (datadir.root / DEMO_MARKER).write_text(json.dumps({"sites": server.urls}) + "\n", encoding="utf-8")
        config_path = datadir.root / "sources.toml"
        config_path.write_text(
            sample_sites.sources_toml(server.urls, sites=DEMO_SITES) + "\n[settings]\nprogress_seconds = 2\n",
            encoding="utf-8",
        )
        summaries, signum = stages.crawl(
            datadir, load_config(config_path), [], progress=lambda s: click.echo(s, err=True)
        )
    finally:
        server.stop()
    from samizdat.cli import print_summaries

    print_summaries(summaries)
    if signum is not None:
        click.echo(f"demo stopped by {signal.Signals(signum).name}", err=True)
        raise SystemExit(128 + signum)
    click.echo(f"\narchived the sample sites in {time.monotonic() - started:.0f} s into {datadir.root}\n")
    data = shlex.quote(str(datadir.root))
    with stages.open_search(datadir) as service:
        click.echo("Try these searches:")
        for what, query, filters in EXAMPLES:
            result = service.search(SearchParams.from_mapping({"q": query, **filters}))
            flags = " ".join(
                f"--{k} {shlex.quote(v)}" for k, vs in filters.items() for v in (vs if isinstance(vs, list) else [vs])
            )
            command = " ".join(x for x in ("samizdat search", shlex.quote(query) if query else "", flags) if x)
            click.echo(f"  {command} --data {data}    # {what}: {result['total']} article(s)")
    click.echo(f"  samizdat export --format csv --data {data} -o articles.csv")
    click.echo(f"  samizdat reindex --data {data}")


def _prepare(data_dir: Path) -> None:
    """A previous demo's archive is replaced (its sample sites had other ports); anything else is kept: a
    folder that is not a demo archive, or one holding WARC files the demo did not write, is refused."""
    if not data_dir.exists() or not any(data_dir.iterdir()):
        return
    marker = data_dir / DEMO_MARKER
    if not (marker.exists() and (data_dir / MARKER).exists()):
        raise DataDirError(f"{data_dir} exists and is not a samizdat demo archive; pass another --data")
    try:
        sites = [str(url) for url in json.loads(marker.read_text(encoding="utf-8")).get("sites", {}).values()]
    except (OSError, ValueError, AttributeError):
        sites = []
    foreign = sorted(p.name for p in DataDir(data_dir).warc_dir.glob("*.warc*") if not _demo_wrote(p, sites))
    if foreign:
        raise DataDirError(
            f"{data_dir} holds WARC files the demo did not write ({foreign[0]}"
            f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}); they are kept: pass another --data"
        )
    shutil.rmtree(data_dir)


def _demo_wrote(path: Path, sites: list[str]) -> bool:
    """Whether a WARC file holds a crawl of the demo's sample sites (its warcinfo names the source crawled)."""
    for entry in iter_entries(path, path.name, responses=False):
        source = entry.info.get("samizdat-source") if entry.type == "warcinfo" else None
        urls = source.get("start_urls", []) if isinstance(source, dict) else []
        return bool(urls) and all(any(url.startswith(site) for site in sites) for url in urls)
    return False
