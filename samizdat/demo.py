"""`samizdat demo`: serve the bundled sample sites on 127.0.0.1, archive them, show what to do next."""

from __future__ import annotations

import json
import shlex
import shutil
import time
from pathlib import Path

import click

from archive.config import load_config
from archive.datadir import MARKER, DataDir
from archive.errors import DataDirError
from samizdat import sample_sites, stages
from search import SearchParams

DEMO_MARKER = "demo.json"
EXAMPLES = (
    ("a word, stemmed", "eviction", {}),
    ("a phrase", '"rent strike"', {}),
    ("a label and a date range", "", {"label": ["Mining"], "from": "2020-01-01"}),
)


def run_demo(data_dir: Path) -> None:
    _prepare(data_dir)
    started = time.monotonic()
    server = sample_sites.start()
    try:
        click.echo("sample sites serving on " + ", ".join(f"{k} {v}" for k, v in server.urls.items()), err=True)
        datadir = DataDir.create(data_dir)
        (datadir.root / DEMO_MARKER).write_text(json.dumps({"sites": server.urls}) + "\n", encoding="utf-8")
        config_path = datadir.root / "sources.toml"
        config_path.write_text(
            sample_sites.sources_toml(server.urls) + "\n[settings]\nprogress_seconds = 2\n", encoding="utf-8"
        )
        summaries, _ = stages.crawl(datadir, load_config(config_path), [], progress=lambda s: click.echo(s, err=True))
    finally:
        server.stop()
    from samizdat.cli import print_summaries

    print_summaries(summaries)
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
    """A previous demo's archive is replaced (its sample sites had other ports); anything else is kept."""
    if not data_dir.exists() or not any(data_dir.iterdir()):
        return
    if (data_dir / DEMO_MARKER).exists() and (data_dir / MARKER).exists():
        shutil.rmtree(data_dir)
        return
    raise DataDirError(f"{data_dir} exists and is not a samizdat demo archive; pass another --data")
