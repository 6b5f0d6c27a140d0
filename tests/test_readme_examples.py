"""Every example in README.md finds something on the demo archive (`samizdat demo --no-serve`), run as a
reader runs it: the `samizdat search` and `samizdat export` commands of its code blocks on the command line,
its `curl .../api/search` lines against a real `samizdat serve`, and the queries and filters the prose gives
as examples through the search service. The examples are read from the README itself, so a new one is
tried as soon as it is written."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from samizdat.archive.datadir import DataDir
from samizdat.search import SearchParams, SearchService
from tests.conftest import Server, run_cli
from tests.test_search import repeated_passages

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")

# Backticked words of the query-syntax paragraph that name syntax rather than being queries to run.
SYNTAX = {"OR", "NOT", "field:value", "title", "text", "author", "source", "label", "language", "kind", "year",
          "month", "published", '"exact phrase"', "*"}  # fmt: skip
# Examples of what the demo cannot hold: it has no Kazakh page (its one Russian-language magazine is Russian).
NOT_IN_THE_DEMO = {"жұмыс*"}


def code_lines() -> list[str]:
    """The lines of the README's fenced code blocks, a `$ ` prompt removed."""
    lines, inside = [], False
    for line in README.splitlines():
        if line.startswith("```"):
            inside = not inside
        elif inside:
            lines.append(line.removeprefix("$ "))
    return lines


def command_examples() -> list[str]:
    """`samizdat search ...`, and `samizdat export ...` with a filter, as the README's code blocks give them."""
    filters = ("-q", "--query", "--label", "--source", "--author", "--from", "--to")
    return [
        line.strip()
        for line in code_lines()
        if line.startswith("samizdat search ")
        or (line.startswith("samizdat export ") and any(arg in filters for arg in shlex.split(line)))
    ]


def curl_examples() -> list[str]:
    """The `/api/search` addresses of the README's curl lines whose example answer is not an error."""
    lines = code_lines()
    return [
        re.search(r"'([^']+)'", line).group(1)
        for line, answer in zip(lines, [*lines[1:], ""], strict=True)
        if line.startswith("curl ") and "/api/search" in line and '"error"' not in answer
    ]


def paragraph(starting: str) -> str:
    (found,) = [p for p in re.split(r"\n\s*\n", README) if p.startswith(starting)]
    return found


def query_examples() -> list[str]:
    """The queries the query-syntax paragraph gives as examples (its backticked spans that are not syntax,
    a Kazakh suffix, or what the demo cannot hold)."""
    spans = re.findall(r"`([^`]+)`", paragraph("Query syntax:"))
    return [s for s in dict.fromkeys(spans) if s not in SYNTAX | NOT_IN_THE_DEMO and not s.startswith("-")]


def finds_claims() -> list[tuple[str, list[str]]]:
    """ "`eviction` finds `evicted`": the query, and the word forms the README says it finds."""
    text = paragraph("Query syntax:")
    return [
        (query, re.findall(r"`([^`]+)`", forms))
        for query, forms in re.findall(r"`([^`]+)` finds\s+(`[^`]+`(?:\s+and\s+`[^`]+`)*)", text)
    ]


def filter_examples() -> list[str]:
    """`--label mining`, `--author yerlan`: the filters the paragraph on filters gives as examples."""
    found = re.findall(r"`(--(?:label|author|source) [^`]+)`", paragraph("Filters (search and export):"))
    return [flag for flag in found if not re.fullmatch(r"--\w+ [A-Z]", flag)]  # `--label L` is a placeholder


def test_the_readme_has_the_examples_this_test_runs():
    assert len(command_examples()) >= 2 and len(curl_examples()) >= 1
    assert {"rent strike", "evict*", "published:2012-03"} <= set(query_examples())
    assert dict(finds_claims())["eviction"] == ["evicted"] and len(finds_claims()) >= 3
    assert {"--label mining", "--author yerlan"} <= set(filter_examples())


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("readme") / "samizdat-demo"
    result = run_cli("demo", "--no-serve", "--data", data)
    assert result.returncode == 0, result.stdout + result.stderr
    return data


@pytest.fixture(scope="module")
def service(demo) -> Iterator[SearchService]:
    with SearchService(DataDir(demo).index_dir) as svc:
        yield svc


@pytest.mark.parametrize("command", command_examples())
def test_each_command_example_finds_something(demo, tmp_path, command):
    args = shlex.split(command)[1:]
    if "-o" in args:  # written where the test can read it
        args[args.index("-o") + 1] = str(tmp_path / Path(args[args.index("-o") + 1]).name)
    result = run_cli(*args, *(["--json"] if args[0] == "search" else []), "--data", demo)
    assert result.returncode == 0, result.stderr
    if args[0] == "search":
        found = json.loads(result.stdout)["total"]
    else:
        out = Path(args[args.index("-o") + 1]).read_text(encoding="utf-8") if "-o" in args else result.stdout
        fmt = args[args.index("--format") + 1]
        found = len(list(csv.DictReader(io.StringIO(out)))) if fmt == "csv" else len(out.splitlines())
    assert found >= 1, f"{command!r} finds nothing on the demo archive"


def test_each_api_example_finds_something(demo):
    server = Server("serve", "--port", "0", "--data", demo)
    try:
        for address in curl_examples():
            parts = urlsplit(address)
            with urllib.request.urlopen(f"{server.url}{parts.path.lstrip('/')}?{parts.query}", timeout=30) as answer:
                assert json.load(answer)["total"] >= 1, f"{address} finds nothing on the demo archive"
    finally:
        server.stop()


@pytest.mark.parametrize("query", query_examples())
def test_each_query_example_finds_something(service, query):
    assert service.search(SearchParams(q=query))["total"] >= 1, f"{query!r} finds nothing on the demo archive"


@pytest.mark.parametrize(("query", "forms"), finds_claims())
def test_each_word_form_the_readme_says_a_query_finds_is_found_and_marked(service, query, forms):
    hits = service.search(SearchParams(q=query, per_page=100))["hits"]
    marked = {word.lower() for hit in hits for word in re.findall(r"<mark>([^<]+)</mark>", hit["snippet"])}
    assert {form.lower() for form in forms} <= marked, f"{query!r} marks {sorted(marked)} on the demo archive"


@pytest.mark.parametrize("flag", filter_examples())
def test_each_filter_example_selects_something(service, flag):
    name, value = flag.removeprefix("--").split(" ", 1)
    params = SearchParams.from_mapping({name: value})
    assert service.search(params)["total"] >= 1, f"{flag!r} selects nothing on the demo archive"


def test_no_snippet_on_the_demo_repeats_a_passage(service):
    """`strike` on the demo once gave a snippet whose passage was shown twice, the first time unmarked."""
    hits = service.search(SearchParams(q="strike", per_page=100))["hits"]
    assert len(hits) >= 5
    for hit in hits:
        assert repeated_passages(hit["snippet"]) == [], hit["snippet"]
        assert all("<mark>" in passage for passage in hit["snippet"].split(" … ")), hit["snippet"]
