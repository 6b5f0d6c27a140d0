"""The quality scorer: an export compared with the sample sites' truth, figure by figure."""

from __future__ import annotations

import urllib.request
from collections import Counter
from typing import Any

from protego import Protego

from archive.urls import url_key


def _norm(text: str) -> str:
    return " ".join(text.split())


def score(records: list[dict[str, Any]], truth: list[dict[str, Any]], source_labels: dict[str, set[str]]) -> dict:
    by_key = {url_key(t["url"]): t for t in truth}
    keys = Counter(url_key(r["url"]) for r in records)
    matched = [(r, by_key[url_key(r["url"])]) for r in records if url_key(r["url"]) in by_key]
    found = {url_key(r["url"]) for r, _ in matched}
    n = max(len(matched), 1)
    tp = fp = fn = 0
    leaks: list[str] = []
    complete = 0
    for record, expected in matched:
        got = set(record["labels"]) - source_labels.get(record["source"], set())
        want = set(expected["labels"])
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
        text = _norm(record["text"])
        if _norm(expected["first_sentence"]) in text and _norm(expected["last_sentence"]) in text:
            complete += 1
        leaks += [f"{record['url']}: {p!r}" for p in expected["must_not_contain"] if _norm(p) in text]
    label_f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return {
        "articles expected": len(truth),
        "records exported": len(records),
        "recall": len(found) / len(truth),
        "precision": len(matched) / max(len(records), 1),
        "title exact": sum(r["title"] == t["title"] for r, t in matched) / n,
        "date accuracy": sum(r["published"] == t["published"] for r, t in matched) / n,
        "author accuracy": sum(r["author"] == t["author"] for r, t in matched) / n,
        "label F1": label_f1,
        "complete texts": complete / n,
        "boilerplate leaks": len(leaks),
        "duplicates": sum(c - 1 for c in keys.values()),
        "_leaks": leaks,
        "_missing": sorted(t["url"] for k, t in by_key.items() if k not in found),
        "_extra": sorted(r["url"] for r in records if url_key(r["url"]) not in by_key),
        "_wrong": [
            {"url": r["url"], **{f: (r[f], t[f]) for f in ("title", "published", "author") if r[f] != t[f]}}
            for r, t in matched
            if any(r[f] != t[f] for f in ("title", "published", "author"))
        ],
    }


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


def format_table(figures: dict[str, Any]) -> str:
    rows = [
        f"{name:<20} {value:>7.3f}" if isinstance(value, float) else f"{name:<20} {value:>7}"
        for name, value in figures.items()
        if not name.startswith("_")
    ]
    return "\n".join(rows)
