"""The `samizdat` command line. Every SamizdatError becomes one clear line and exit status 1."""

from __future__ import annotations

import errno
import html
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from samizdat import __version__, report
from samizdat.archive.config import Config, environment_settings, load_config
from samizdat.archive.datadir import DataDir
from samizdat.archive.errors import SamizdatError

if TYPE_CHECKING:
    from samizdat.archive.store import Store

DEFAULT_DATA = "./samizdat-data"
DEFAULT_CONFIG = "./sources.toml"

data_option = click.option(
    "--data",
    "data_dir",
    envvar="SAMIZDAT_DATA",
    default=DEFAULT_DATA,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory (env SAMIZDAT_DATA).",
)
config_option = click.option(
    "--config",
    "config_path",
    envvar="SAMIZDAT_CONFIG",
    default=DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="sources.toml (env SAMIZDAT_CONFIG).",
)


def optional_config_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--config for the commands that can do without a sources.toml (no default file is assumed)."""
    return click.option(
        "--config",
        "config_path",
        envvar="SAMIZDAT_CONFIG",
        default=None,
        type=click.Path(dir_okay=False, path_type=Path),
        help=help_text,
    )


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The filters shared by `search` and `export`: they select the same documents."""
    options = [
        click.option(
            "--label",
            "labels",
            multiple=True,
            help="Only documents with this label, in any case (repeat: all of them).",
        ),
        click.option("--source", help="Only this source."),
        click.option("--author", help="Only documents whose author's name has these words, in any case and order."),
        click.option("--from", "date_from", metavar="YYYY-MM-DD", help="Published on or after."),
        click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Published on or before."),
        click.option(
            "--sort",
            metavar="relevance|newest|oldest",
            default=None,
            help="Order (default: relevance with a query, newest without).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """SamizdatError, and any OSError a file or directory argument meets (a missing folder, a full disk), as
    one line and exit status 1; a reader that stopped reading (`| head`) ends the command quietly."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SamizdatError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            # Python's own advice: point stdout at /dev/null so that the flush at exit does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:
            raise click.ClickException(os_error_line(exc)) from None

    return wrapper


def os_error_line(exc: OSError) -> str:
    """`PATH: what went wrong` for an OSError, with what to do about the usual ones."""
    where = f"{exc.filename}: " if exc.filename else ""
    what = (exc.strerror or str(exc)).lower()
    advice = {
        errno.ENOSPC: "; make room on that disk and run the command again",
        errno.EDQUOT: "; make room within your disk quota and run the command again",
        errno.EROFS: "; choose a writable place",
        errno.EACCES: "; choose a place you may write to, or fix its permissions",
        errno.EPERM: "; choose a place you may write to, or fix its permissions",
    }.get(exc.errno or 0, "")
    return f"{where}{what}{advice}"


def check_output_file(path: Path, option: str) -> None:
    """Refuse, before any work, a file argument that cannot be written: its folder missing or not a folder,
    a folder where the file should be, a read-only place."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise click.ClickException(f"{option} {path}: is a directory; name a file in it, e.g. {path / 'out'}")
    if not parent.exists():
        raise click.ClickException(f"{option} {path}: the directory {parent} does not exist; create it first")
    if not parent.is_dir():
        raise click.ClickException(f"{option} {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.ClickException(f"{option} {path}: not writable; choose a place you may write to")


def check_data_place(data_dir: Path) -> None:
    """Refuse a data directory that cannot be made because a folder on its way is a file."""
    existing = next((p for p in (data_dir, *data_dir.parents) if p.exists()), None)
    if existing is not None and existing != data_dir and not existing.is_dir():
        raise click.ClickException(f"--data {data_dir}: {existing} is a file, not a directory")


def create_datadir(data_dir: Path) -> DataDir:
    """The data directory for writing, made if needed; a place where it cannot be made is one line."""
    check_data_place(data_dir)
    try:
        return DataDir.create(data_dir)
    except OSError as exc:
        raise click.ClickException(
            f"--data {data_dir}: cannot create the data directory: {os_error_line(exc)}"
        ) from None


@contextmanager
def written_atomically(path: Path, binary: bool) -> Iterator[Any]:
    """A file written whole or not at all: into a hidden neighbour, moved into place once complete (an error
    or a full disk halfway leaves any earlier file as it was, and no half-written one)."""
    part = path.with_name(f".{path.name}.part")
    try:
        with open(part, "wb") if binary else open(part, "w", encoding="utf-8", newline="") as out:
            yield out
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def search_params(
    query: str,
    labels: tuple[str, ...],
    source: str | None,
    author: str | None,
    date_from: str | None,
    date_to: str | None,
    sort: str | None,
    limit: int | None = None,
    page: int = 1,
) -> Any:
    from samizdat.search import SearchParams

    mapping: dict[str, Any] = {
        "q": query,
        "label": list(labels),
        "source": source,
        "author": author,
        "from": date_from,
        "to": date_to,
        "sort": sort,
        "page": str(page),
    }
    if limit is not None:
        mapping["per_page"] = str(limit)
    try:
        return SearchParams.from_mapping({k: v for k, v in mapping.items() if v not in (None, [])})
    except SamizdatError as exc:
        # The library names the parameter as the API does; the CLI names its flag.
        message = re.sub(r"^per_page\b", "--limit", str(exc))
        message = re.sub(r"^(from|to|sort|page|label|source|author)\b", r"--\1", message)
        raise click.ClickException(message) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="samizdat")
def main() -> None:
    """samizdat: preserve campaign blogs and online magazines in WARC files and make them searchable."""


@main.command()
@click.argument("names", nargs=-1)
@config_option
@data_option
@click.option(
    "--watch",
    is_flag=True,
    help="Only what the feeds and sitemaps list as new or changed since the last capture, and posts gone "
    "from the feeds: a quick look between full crawls.",
)
@handle_errors
def crawl(names: tuple[str, ...], config_path: Path, data_dir: Path, watch: bool) -> None:
    """Crawl the sources of sources.toml (all, or those NAMED) into the data directory."""
    from samizdat import stages

    config = load_config(config_path)
    config.select(list(names))  # an unknown name fails before anything is created
    datadir = create_datadir(data_dir)
    summaries, signum = stages.crawl(
        datadir, config, names, progress=lambda line: click.echo(line, err=True), watch=watch
    )
    print_summaries(summaries)
    if signum is not None:
        click.echo(f"stopped by {signal.Signals(signum).name}: run `samizdat crawl` again to resume", err=True)
        sys.exit(128 + signum)  # the shell's convention: 130 after Ctrl-C, 143 after SIGTERM
    full = next((s["disk_full"] for s in summaries if s.get("disk_full")), None)
    if full:
        raise click.ClickException(f"{full}, then run `samizdat crawl` again: the run resumes")
    failed = [s["source"] for s in summaries if s["status"] == "failed"]
    if failed:
        raise click.ClickException(f"{len(failed)} source(s) failed: {', '.join(failed)} (see above)")


def print_summaries(summaries: list[dict[str, Any]]) -> None:
    header = (
        f"{'source':<18} {'kind':<10} {'pages':>6} {'new':>5} {'changed':>8} {'unchanged':>10}  {'status':<12} errors"
    )
    click.echo(header)
    for s in summaries:
        errors = ", ".join(f"{k} x{v}" for k, v in s["errors"].items()) or "-"
        a = s["articles"]
        kind = s["kind"] + ("*" if s["kind_detected"] else "")
        click.echo(
            f"{s['source']:<18} {kind:<10} {s['pages']:>6} {a['new']:>5} {a['changed']:>8} "
            f"{a['unchanged']:>10}  {s['status']:<12} {errors}"
        )
        if s["status"] == "interrupted":
            click.echo(f"    interrupted ({s['interrupted_by']}): `samizdat crawl {s['source']}` resumes it")
        if s["skipped"]:
            click.echo("    skipped: " + ", ".join(f"{k} x{v}" for k, v in s["skipped"].items()))
        if s["failed"]:
            click.echo(f"    FAILED: {s['failure']}")
        for line in (report.requisites_line(s), report.quality_line(s), report.warning_line(s)):
            if line:
                click.echo(f"    {line}")
    if any(s["kind_detected"] for s in summaries):
        click.echo("* kind detected from the site")


@main.command()
@click.argument("query", default="")
@filter_options
@click.option("--limit", type=int, default=None, help="Results to show (default 20, at most 100).")
@click.option("--page", type=int, default=1, help="Page of results.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON object.")
@data_option
@handle_errors
def search(
    query: str,
    labels: tuple[str, ...],
    source: str | None,
    author: str | None,
    date_from: str | None,
    date_to: str | None,
    sort: str | None,
    limit: int | None,
    page: int,
    as_json: bool,
    data_dir: Path,
) -> None:
    """Search the archive: words are ANDed; "phrases", OR, NOT and field:value work."""
    from samizdat import stages

    params = search_params(query, labels, source, author, date_from, date_to, sort, limit, page)
    datadir = stages.open_archive(data_dir)
    with stages.open_search(datadir) as service:
        result = service.search(params)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for warning in result.get("warnings", []):
        click.echo(f"note: {warning}", err=True)
    click.echo(f"{result['total']} article(s)" + (f" for {query!r}" if query else ""))
    first = (result["page"] - 1) * result["per_page"]
    for number, hit in enumerate(result["hits"], first + 1):
        click.echo("")
        click.echo(f"{number:>3}. " + click.style(hit["title"], bold=True) + f"  {hit['published'] or 'undated'}")
        meta = " · ".join(x for x in (hit["source"], hit["author"], ", ".join(hit["labels"])) if x)
        click.echo(f"     {meta}")
        click.echo(f"     {terminal_snippet(hit['snippet'])}")
        click.echo(f"     {hit['url']}")
    if result["total"] > first + len(result["hits"]):
        click.echo(f"\n... more: --page {result['page'] + 1}")


def terminal_snippet(snippet: str) -> str:
    """The API's snippet is escaped HTML with <mark>ed matches; a terminal wants plain text in bold."""
    parts = re.split(r"<mark>(.*?)</mark>", snippet)
    out = [
        html.unescape(p) if i % 2 == 0 else click.style(html.unescape(p), bold=True, underline=True)
        for i, p in enumerate(parts)
    ]
    return " ".join("".join(out).split())


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "warc", "wacz", "cdxj"]),
    default="jsonl",
    show_default=True,
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout).")
@click.option("--query", "-q", default="", help="Full-text query, as for `samizdat search`.")
@click.option(
    "--sign/--no-sign",
    default=True,
    show_default=True,
    help="Sign a WACZ package with the archive's key (DATA/signing-key.pem, made at the first signed export).",
)
@filter_options
@data_option
@handle_errors
def export(
    fmt: str,
    output: Path | None,
    query: str,
    sign: bool,
    labels: tuple[str, ...],
    source: str | None,
    author: str | None,
    date_from: str | None,
    date_to: str | None,
    sort: str | None,
    data_dir: Path,
) -> None:
    """Export the selected articles (all by default) as JSONL, CSV or WARC, or as a WACZ package (a WARC and WACZ
    export holds each article's page requisites too); or, as CDXJ, the index of every capture (of a --source's).
    A JSONL, CSV or WARC file written with -o gets a manifest of SHA-256 digests beside it, FILE.sha256."""
    from samizdat import stages
    from samizdat.archive.export import write_cdxj, write_csv, write_jsonl, write_warc

    if fmt == "cdxj":
        given = {"-q/--query": query, "--label": labels, "--author": author, "--from": date_from, "--to": date_to}
        given["--sort"] = sort
        refused = [name for name, value in given.items() if value]
        if refused:
            verb = "selects articles and does" if len(refused) == 1 else "select articles and do"
            raise click.UsageError(
                f"--format cdxj lists every capture of the archive, sorted by URL; {', '.join(refused)} {verb} "
                "not apply to it (--source does)"
            )
    else:
        params = search_params(query, labels, source, author, date_from, date_to, sort or "oldest")
    if output is not None:
        check_output_file(output, "-o/--output")
    datadir = stages.open_archive(data_dir)
    if fmt != "cdxj":
        docs = stages.matching_documents(datadir, params)  # the search runs now: its errors come before any file
    binary = fmt in ("warc", "wacz")
    if output is not None:
        target = written_atomically(output, binary=binary)
    elif binary:
        target = nullcontext(click.get_binary_stream("stdout"))
    else:
        target = nullcontext(click.get_text_stream("stdout"))
    articles = lambda n: click.echo(f"export: {n} articles", err=True)  # noqa: E731
    package = None
    with target as out:
        if fmt == "cdxj":
            count = write_cdxj(
                datadir.root, out, source, progress=lambda n: click.echo(f"export: {n} captures", err=True)
            )
        elif fmt == "wacz":
            chosen = {"query": query, "label": ", ".join(labels), "source": source, "author": author}
            chosen.update({"from": date_from, "to": date_to})
            selection = "; ".join(f"{name} {value}" for name, value in chosen.items() if value)
            package = export_wacz(datadir, docs, out, output, sign, selection, articles)
            count = package.articles
        elif fmt == "warc":
            count = write_warc(datadir.root, docs, out, progress=articles)
        else:
            count = (write_jsonl if fmt == "jsonl" else write_csv)(docs, out)
    what = "capture(s)" if fmt == "cdxj" else "article(s)"
    click.echo(f"exported {count} {what}" + (f" to {output}" if output else ""), err=True)
    if output is not None and fmt in ("jsonl", "csv", "warc"):
        from samizdat.archive.verify import write_manifest

        click.echo(f"SHA-256 manifest: {write_manifest(output, fmt)} (check with samizdat verify {output})", err=True)
    if package is not None:
        click.echo(f"with {package.requisites} requisite capture(s) of their pages", err=True)
        if package.signed_by:
            click.echo(f"signed with the archive's key {package.signed_by}", err=True)


def export_wacz(
    datadir: DataDir,
    docs: Any,
    out: Any,
    output: Path | None,
    sign: bool,
    selection: str,
    progress: Callable[[int], None],
) -> Any:
    """`export --format wacz`: the package, signed with the archive's key unless --no-sign."""
    from samizdat.archive.signing import load_or_create_key
    from samizdat.archive.wacz import write_wacz

    key = None
    if sign:
        try:
            key, path, made = load_or_create_key(datadir.root)
        except OSError as exc:
            raise click.ClickException(
                f"cannot make the archive's signing key: {os_error_line(exc)}; or export with --no-sign"
            ) from None
        if made:
            click.echo(f"made the archive's signing key {path} (readable by you only; back it up)", err=True)
    return write_wacz(
        datadir.root,
        docs,
        out,
        key=key,
        title=f"samizdat export of {datadir.root.name}",
        description=f"The articles selected by {selection}" if selection else "Every article of the archive",
        work_dir=output.parent if output is not None else None,
        progress=progress,
    )


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify(file: Path) -> None:
    """Check an export's digests: a WACZ package (its files, datapackage digest, signature and WARC record
    digests), or a JSONL, CSV or WARC export against its manifest FILE.sha256. Exit 0 with one OK line when all
    match, 1 with one line per mismatch, 2 for a file that is none of these."""
    from samizdat.archive.verify import NotVerifiable, verify_file

    try:
        report = verify_file(file)
    except NotVerifiable as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        click.echo(f"Error: {os_error_line(exc)}", err=True)
        sys.exit(2)
    if report.ok:
        click.echo(report.summary)
        return
    for problem in report.problems:
        click.echo(f"MISMATCH: {problem}")
    sys.exit(1)


@main.command()
@optional_config_option("Apply this sources.toml's labels and kinds instead of those recorded at crawl time.")
@data_option
@handle_errors
def reindex(config_path: Path | None, data_dir: Path) -> None:
    """Rebuild the document store and the index from the WARC files alone."""
    from samizdat import stages

    datadir = DataDir.open(data_dir)
    config: Config | None = load_config(config_path) if config_path else None
    counts = stages.reindex(datadir, config, progress=lambda line: click.echo(line, err=True))
    click.echo(
        f"rebuilt from {counts['files']} WARC file(s): {counts['responses']} responses, {counts['documents']} documents"
    )


@main.command()
@config_option
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print the rows as a JSON object.")
@handle_errors
def sources(config_path: Path, data_dir: Path, as_json: bool) -> None:
    """List the sources: kind, the last crawl's articles and their completeness, flags, last and next run."""
    from samizdat.archive.schedule import read_last_slots

    config = load_config(config_path)
    with open_store(data_dir) as store:
        rows = report.source_rows(config, store, read_last_slots(data_dir))
    if as_json:
        click.echo(json.dumps({"sources": rows}, ensure_ascii=False, indent=2))
    else:
        click.echo(report.format_sources(rows))


@main.command("report")
@click.argument("name")
@config_option
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as a JSON object.")
@handle_errors
def report_command(name: str, config_path: Path, data_dir: Path, as_json: bool) -> None:
    """Report on the crawls of source NAME: last crawl, skipped URLs, quality, drop flag, history."""
    (source,) = load_config(config_path).select([name])
    with open_store(data_dir) as store:
        data = report.source_report(source, store)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(report.format_report(data))


@contextmanager
def open_store(data_dir: Path) -> Iterator[Store | None]:
    """The data directory's store for reading, or None when nothing was crawled into it yet."""
    from samizdat import stages
    from samizdat.archive.store import Store

    if not (data_dir / "store.sqlite").exists():
        yield None
        return
    with Store(stages.open_archive(data_dir).store_path) as store:
        yield store


@main.command()
@click.argument("name", required=False)
@data_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000), help="Runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON object.")
@handle_errors
def runs(name: str | None, data_dir: Path, limit: int, as_json: bool) -> None:
    """List the crawl runs (of source NAME, or all), newest first: status, times, pages, articles, errors."""
    with open_store(data_dir) as store:
        rows = [report.describe_run(run) for run in (store.runs(name, limit=limit) if store else [])]
    if as_json:
        click.echo(json.dumps({"runs": rows}, ensure_ascii=False, indent=2))
    else:
        click.echo(report.format_runs(rows))


@main.command()
@config_option
@handle_errors
def init(config_path: Path) -> None:
    """Write a commented starter sources.toml (never over an existing file)."""
    from importlib.resources import files

    if config_path.exists() and not config_path.is_dir():
        raise click.ClickException(f"{config_path} exists already; edit it, or pass --config NEWFILE")
    check_output_file(config_path, "--config")
    config_path.write_text(files("samizdat").joinpath("starter.toml").read_text(encoding="utf-8"), encoding="utf-8")
    load_config(config_path)  # the starter is a valid file
    click.echo(f"wrote {config_path}: edit the example source, then run `samizdat crawl --config {config_path}`")


@main.command()
@config_option
@data_option
@click.option(
    "--poll-seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="How often the clock and the crawls are looked at.",
)
@handle_errors
def schedule(config_path: Path, data_dir: Path, poll_seconds: float) -> None:
    """Crawl each source when its `schedule` (cron) says, until SIGTERM or Ctrl-C (crawls stop as interrupted)."""
    import logging

    from samizdat.scheduler import Scheduler

    load_config(config_path)  # a bad file is reported before anything starts
    datadir = create_datadir(data_dir)
    log = logging.getLogger("samizdat.schedule")
    log.setLevel(logging.INFO)
    log.propagate = False
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    for handler in (logging.StreamHandler(sys.stderr), logging.FileHandler(datadir.logs_dir / "scheduler.log")):
        handler.setFormatter(formatter)
        log.addHandler(handler)
    with datadir.scheduler_lock():  # one scheduler per data directory; the web hands it "crawl now"
        scheduler = Scheduler(config_path, datadir)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, scheduler.stop)
        scheduler.run(poll_seconds)


@main.group()
def user() -> None:
    """The archivists who may sign in to the admin area: add, list, remove."""


@user.command("add")
@click.argument("name")
@data_option
@handle_errors
def user_add(name: str, data_dir: Path) -> None:
    """Add archivist NAME. The password is asked twice on a terminal, else read from standard input."""
    from samizdat.archive.accounts import Accounts, check_password

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    check_password(password)
    datadir = create_datadir(data_dir)
    with Accounts(datadir.accounts_path) as accounts:
        accounts.add_user(name, password)
    click.echo(f"added {name}: they can sign in at /admin/sign-in")


@user.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print the users as a JSON object.")
@handle_errors
def user_list(data_dir: Path, as_json: bool) -> None:
    """List the archivists: name, when added, last sign-in."""
    from samizdat.archive.accounts import Accounts

    datadir = DataDir.open(data_dir)
    with Accounts(datadir.accounts_path) as accounts:
        rows = accounts.users()
    if as_json:
        click.echo(json.dumps({"users": rows}, indent=2))
        return
    if not rows:
        click.echo("no users yet (samizdat user add NAME)")
    for row in rows:
        click.echo(f"{row['name']:<24} added {row['created_at']}  last sign-in {row['last_sign_in'] or 'never'}")


@user.command("remove")
@click.argument("name")
@data_option
@handle_errors
def user_remove(name: str, data_dir: Path) -> None:
    """Remove archivist NAME (their sessions end with it)."""
    from samizdat.archive.accounts import Accounts

    datadir = DataDir.open(data_dir)
    with Accounts(datadir.accounts_path) as accounts:
        accounts.remove_user(name)
    click.echo(f"removed {name}")


@main.group()
def takedown() -> None:
    """Hide documents or sources from search, export and the API (kept in the WARC files), or purge them
    from the WARC files; list and lift takedowns. Each is kept with who, when and why."""


def takedown_target(target: str | None, source: str | None) -> str | None:
    """The document id a TARGET names (an id, or an archived page's address); None for --source."""
    from samizdat.archive.document import document_id

    if (target is None) == (source is None):
        raise click.UsageError("name one document (its id or address) or one --source NAME")
    if target is None:
        return None
    if re.fullmatch(r"[0-9a-f]{16}", target):
        return target
    if re.match(r"https?://", target, re.IGNORECASE):
        return document_id(target)
    raise click.UsageError(f"{target!r} is neither a document id (16 hexadecimal characters) nor an http(s) address")


def takedown_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("target", required=False),
        click.option("--source", help="A whole source instead of one document."),
        click.option("--reason", required=True, help="Why (kept with who and when; required)."),
        click.option("--by", default=None, help="Who takes it down (default: the OS user)."),
        data_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def os_user(by: str | None) -> str:
    import getpass

    return by or getpass.getuser()


def audit(datadir: DataDir, by: str, action: str, target: str, detail: str) -> None:
    """Into the admin area's audit log too, when the archive has one."""
    from samizdat.archive.accounts import Accounts

    if datadir.accounts_path.exists():
        with Accounts(datadir.accounts_path) as accounts:
            accounts.record(by, action, target, detail)


@takedown.command("hide")
@takedown_options
@handle_errors
def takedown_hide(target: str | None, source: str | None, reason: str, by: str | None, data_dir: Path) -> None:
    """Hide TARGET (a document id or address) or a --source from search, export and the API."""
    from samizdat.archive.purge import hide_document, hide_source

    doc_id, by = takedown_target(target, source), os_user(by)
    datadir = DataDir.open(data_dir)
    if doc_id is None:
        assert source is not None
        number = hide_source(datadir, source, by, reason)
        what = f"source {source}"
    else:
        number = hide_document(datadir, doc_id, by, reason)
        what = f"document {doc_id}"
    audit(datadir, by, "hide", what, reason)
    click.echo(f"takedown {number}: {what} hidden (lift it with `samizdat takedown lift {number}`)")


@takedown.command("purge")
@takedown_options
@handle_errors
def takedown_purge(target: str | None, source: str | None, reason: str, by: str | None, data_dir: Path) -> None:
    """Purge TARGET or a --source: its records removed from the WARC files, the store and the index. Cannot be
    undone; refused while a crawl or reindex runs."""
    from samizdat import stages

    doc_id, by = takedown_target(target, source), os_user(by)
    datadir = DataDir.open(data_dir)
    result = stages.purge(datadir, by, reason, doc_id=doc_id, source=source)
    what = f"source {source}" if source is not None else f"document {doc_id}"
    audit(datadir, by, "purge", what, reason)
    click.echo(
        f"takedown {result['takedown']}: {what} purged: {len(result['documents'])} document(s), "
        f"{len(result['files_rewritten'])} WARC file(s) rewritten, {len(result['files_removed'])} removed"
    )


@takedown.command("lift")
@click.argument("number", type=int)
@click.option("--by", default=None, help="Who lifts it (default: the OS user).")
@data_option
@handle_errors
def takedown_lift(number: int, by: str | None, data_dir: Path) -> None:
    """Lift hide NUMBER: its document or source is shown again (a purge cannot be lifted)."""
    from samizdat.archive.takedowns import Takedowns

    by = os_user(by)
    datadir = DataDir.open(data_dir)
    with Takedowns(datadir.takedowns_path) as takedowns:
        row = takedowns.lift(number, by)
    what = f"{row['scope']} {row['doc_id'] or row['source']}"
    audit(datadir, by, "lift", what, f"takedown {number}")
    click.echo(f"takedown {number} lifted: {what} is shown again")


@takedown.command("list")
@click.option("--all", "include_lifted", is_flag=True, help="Lifted hides too.")
@click.option("--json", "as_json", is_flag=True, help="Print the takedowns as a JSON object.")
@data_option
@handle_errors
def takedown_list(include_lifted: bool, as_json: bool, data_dir: Path) -> None:
    """The takedowns in force, newest first: what, who, when, why."""
    from samizdat.archive.takedowns import Takedowns

    datadir = DataDir.open(data_dir)
    rows: list[dict[str, Any]] = []
    if datadir.takedowns_path.exists():
        with Takedowns(datadir.takedowns_path) as takedowns:
            rows = takedowns.rows(include_lifted=include_lifted)
    if as_json:
        click.echo(json.dumps({"takedowns": rows}, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no takedowns")
    for row in rows:
        what = f"document {row['doc_id']} {row['url']}" if row["scope"] == "document" else f"source {row['source']}"
        lifted = f" (lifted by {row['lifted_by']} at {row['lifted_at']})" if row["lifted_at"] else ""
        who = f"by {row['by']} at {row['at']}"
        click.echo(f"{row['id']:>4}  {row['action']:<5}  {what}  {who}: {row['reason']}{lifted}")


host_option = click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; the default keeps the archive to this machine.",
)


@main.command()
@host_option
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
@optional_config_option("sources.toml, for the source pages' schedules (default: ./sources.toml if there is one).")
@data_option
@handle_errors
def serve(host: str, port: int, threads: int, config_path: Path | None, data_dir: Path) -> None:
    """Serve the web UI and the JSON API on the archive."""
    from samizdat import stages

    datadir = stages.open_archive(data_dir, progress=lambda line: click.echo(line, err=True))
    if config_path is None and Path(DEFAULT_CONFIG).exists():
        config_path = Path(DEFAULT_CONFIG)
    if config_path is not None:
        load_config(config_path)  # a bad file is reported now, not on the first source page
    serve_archive(datadir, config_path, host, port, threads)


def serve_archive(datadir: DataDir, config_path: Path | None, host: str, port: int, threads: int = 8) -> None:
    from samizdat.serve import serve as run_server
    from samizdat.webui import create_app
    from samizdat.webui.state import EXTENSION

    app = create_app({"data_dir": datadir.root, "config_path": config_path})
    app.extensions[EXTENSION].search.warm()  # the first search then costs what any search costs
    try:
        run_server(
            app,
            host,
            port,
            threads,
            announce=lambda address: click.echo(f"serving {datadir.root} at {address}  (Ctrl-C to stop)"),
        )
    except (OSError, ValueError) as exc:  # waitress says ValueError for a host it cannot resolve
        what = os_error_line(exc) if isinstance(exc, OSError) else "not an address of this machine"
        raise click.ClickException(f"cannot listen on {host}:{port}: {what}; choose another --host or --port") from None


@main.command()
@click.option(
    "--data",
    "data_dir",
    default="./samizdat-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo archive goes.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port of the web UI.")
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve the web UI on the archive at the end.")
@handle_errors
def demo(data_dir: Path, port: int, serve: bool) -> None:
    """Archive the bundled sample sites (offline), show what to do next, then serve the web UI."""
    from samizdat.demo import run_demo

    environment_settings()  # a misspelt SAMIZDAT_* variable is reported before the sites are served
    check_data_place(data_dir)
    run_demo(data_dir)
    if serve:
        click.echo("\nThe web UI on the demo archive (search, facets, documents, captures):")
        serve_archive(DataDir.open(data_dir), Path(data_dir) / "sources.toml", "127.0.0.1", port)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
