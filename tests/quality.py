"""The quality scorer: an export compared with the sample sites' truth, figure by figure, site by site."""

from __future__ import annotations

import re
import urllib.request
from collections import Counter
from typing import Any

from protego import Protego

from samizdat.archive.urls import url_key

# The figures the gate pins, and whether higher is better.
FIGURES = (
    "recall", "precision", "title exact", "date accuracy", "author accuracy", "label F1", "body token F1",
    "complete texts", "boilerplate leaks", "duplicates", "robots violations", "requests per page",
)  # fmt: skip


def _norm(text: str) -> str:
    return " ".join(text.split())


def _tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.casefold()))


def token_f1(got: str, want: str) -> float:
    a, b = _tokens(got), _tokens(want)
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


WRONG_FIELDS = ("title", "published", "date_precision", "author")


def _same_date(record: dict[str, Any], truth: dict[str, Any]) -> bool:
    if record["published"] != truth["published"]:
        return False
    return "date_precision" not in truth or record.get("date_precision") == truth["date_precision"]


def score(records: list[dict[str, Any]], truth: list[dict[str, Any]], source_labels: dict[str, set[str]]) -> dict:
    """Figures for one site (or all): `records` are the export rows of that site's source."""
    by_key = {url_key(t["url"]): t for t in truth}
    keys = Counter(url_key(r["url"]) for r in records)
    matched = [(r, by_key[url_key(r["url"])]) for r in records if url_key(r["url"]) in by_key]
    found = {url_key(r["url"]) for r, _ in matched}
    n = max(len(matched), 1)
    tp = fp = fn = 0
    leaks: list[str] = []
    complete = 0
    f1s = []
    for record, expected in matched:
        got = set(record["labels"]) - source_labels.get(record["source"], set())
        want = set(expected["labels"])
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
        text = _norm(record["text"])
        if _norm(expected["first_sentence"]) in text and _norm(expected["last_sentence"]) in text:
            complete += 1
        if "text" in expected:
            f1s.append(token_f1(record["text"], expected["text"]))
        leaks += [f"{record['url']}: {p!r}" for p in expected["must_not_contain"] if _norm(p) in text]
    return {
        "articles": len(truth),
        "records": len(records),
        "recall": len(found) / max(len(truth), 1),
        "precision": len(matched) / max(len(records), 1),
        "title exact": sum(r["title"] == t["title"] for r, t in matched) / n,
        # the date and how much of it the site gave ("2012-07-01" of a July/August issue is a month)
        "date accuracy": sum(_same_date(r, t) for r, t in matched) / n,
        "author accuracy": sum(r["author"] == t["author"] for r, t in matched) / n,
        "label F1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
        "body token F1": sum(f1s) / len(f1s) if f1s else 1.0,
        "complete texts": complete / n,
        "boilerplate leaks": len(leaks),
        "duplicates": sum(c - 1 for c in keys.values()),
        "_leaks": leaks,
        "_missing": sorted(t["url"] for k, t in by_key.items() if k not in found),
        "_extra": sorted(r["url"] for r in records if url_key(r["url"]) not in by_key),
        "_wrong": [
            {
                "url": r["url"],
                **{f: (r.get(f), t[f]) for f in (*WRONG_FIELDS, "labels") if f in t and r.get(f) != t[f]},
            }
            for r, t in matched
            if any(r.get(f) != t[f] for f in WRONG_FIELDS if f in t)
            or set(r["labels"]) - source_labels.get(r["source"], set()) != set(t["labels"])
        ],
    }


def requests_per_page(requests: list[dict[str, Any]], base: str) -> float:
    """Requests the crawl made of a site, per distinct page (URL variants count as the same page)."""
    keys = {url_key(base + r["path"]) for r in requests}
    return len(requests) / max(len(keys), 1)


def robots_violations(requests: list[dict[str, Any]], urls: dict[str, str]) -> list[str]:
    """Requests the site's robots.txt disallowed for our user agent, from the server's own log."""
    parsers = {}
    for site, base in urls.items():
        with urllib.request.urlopen(base + "/robots.txt") as response:
            parsers[site] = Protego.parse(response.read().decode("utf-8"))
    return [
        f"{r['site']} {r['path']}"
        for r in requests
        if r["path"] != "/robots.txt" and not parsers[r["site"]].can_fetch(urls[r["site"]] + r["path"], "samizdat")
    ]


def format_table(columns: dict[str, dict[str, Any]]) -> str:
    """One column per site: the figures as rows."""
    names = list(columns)
    lines = [f"{'':<20}" + "".join(f"{n:>12}" for n in names)]
    for figure in ("articles", "records", *FIGURES):
        cells = []
        for name in names:
            value = columns[name].get(figure, "")
            cells.append(f"{value:>12.3f}" if isinstance(value, float) else f"{value!s:>12}")
        lines.append(f"{figure:<20}" + "".join(cells))
    return "\n".join(lines)
