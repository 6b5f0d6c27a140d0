"""webui/: Flask's test client against the real crawl of the sample sites (tests/conftest.py `crawl`).

Every route and every error path: search with filters, facets, the date histogram, chips, paging,
sorting, warnings, bad parameters (HTML and JSON), documents, captures and their changes, the page as
captured (sandboxed and inert), /go, sources, exports, the security headers, and the XSS sample post.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from warcio.archiveiterator import ArchiveIterator

from samizdat.archive.config import load_config
from samizdat.archive.document import EXPORT_FIELDS, Document
from samizdat.archive.errors import DataDirError
from samizdat.archive.store import Store
from samizdat.search import SearchParams, SearchService, catch_up
from samizdat.webui import create_app
from samizdat.webui.captured import sanitize
from samizdat.webui.formatting import format_count, month_name, published_as
from samizdat.webui.security import PAGE_CSP
from tests.conftest import run_cli

XSS_TITLE = 'Why the <script>alert("samizdat")</script> ban failed'
WEBUI = Path(__file__).resolve().parent.parent / "webui"


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(crawl):
    app = create_app({"data_dir": crawl.data, "config_path": crawl.config})
    yield app
    app.extensions["samizdat"].search.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def xss_id(app) -> str:
    hits = app.test_client().get("/api/search", query_string={"q": "ban", "per_page": 100}).json["hits"]
    (doc_id,) = [hit["id"] for hit in hits if hit["title"] == XSS_TITLE]
    return doc_id


@pytest.fixture(scope="module")
def versioned(crawl, xss_id, tmp_path_factory):
    """A copy of the crawl in which the XSS post has a second, edited version captured later."""
    data = tmp_path_factory.mktemp("versioned") / "data"
    shutil.copytree(crawl.data, data)
    with Store(data / "store.sqlite") as store:
        old = store.get(xss_id)
        paragraphs = old.text.split("\n\n")
        paragraphs[1] = paragraphs[1].replace("Several editors asked", "Two editors asked")
        paragraphs.insert(2, "The fine was set at <b>ten</b> monthly wages.")
        new = dataclasses.replace(
            old,
            title=old.title + " (updated)",
            labels=[*old.labels, "Censorship"],
            text="\n\n".join(paragraphs),
            fetched_at="2099-01-01T00:00:00Z",
        )
        assert store.upsert(new) == "changed"
        store.upsert(HOSTILE)
    app = create_app({"data_dir": data})
    yield app.test_client(), old, new
    app.extensions["samizdat"].search.close()


# A stored document as hostile as an archived page can make one: every field carries markup.
HOSTILE = Document(
    url="javascript:alert(document.domain)//",
    source="steppe-notes",
    kind="blogger",
    title="<img src=x onerror=alert(1)>",
    text='First <script>alert(2)</script> paragraph.\n\n"><svg onload=alert(3)>',
    author='"><script>alert(4)</script>',
    published="2024-01-01",
    labels=["<b onmouseover=alert(5)>x</b>"],
    fetched_at="2024-01-02T00:00:00Z",
    warc_file="../../../../etc/passwd",
    warc_offset=0,
)


def api(client, path: str, **params) -> dict:
    response = client.get(path, query_string=params or None)
    assert response.status_code == 200, response.data
    return response.json


def page(client, path: str, status: int = 200, **params) -> str:
    response = client.get(path, query_string=params or None)
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "text/html"
    return response.data.decode("utf-8")


def links(html: str) -> list[str]:
    return [a.get("href") for a in lxml.html.fromstring(html).iter("a") if a.get("href")]


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# --- the app -------------------------------------------------------------------------------------------


def test_create_app_refuses_a_folder_that_is_not_a_data_directory(tmp_path):
    with pytest.raises(DataDirError, match="not a samizdat data directory"):
        create_app({"data_dir": tmp_path})


def test_create_app_takes_an_object_with_attributes_and_works_without_sources_toml(crawl):
    @dataclasses.dataclass
    class Settings:
        data_dir: Path
        debug: bool = True

    app = create_app(Settings(crawl.data))
    try:
        assert app.debug is False
        assert app.test_client().get("/api/search").json["total"] > 0
    finally:
        app.extensions["samizdat"].search.close()


def test_one_search_service_serves_every_request(app, client):
    service = app.extensions["samizdat"].search
    client.get("/?q=strike")
    client.get("/api/search?q=eviction")
    assert app.extensions["samizdat"].search is service
    assert isinstance(service, SearchService)


# --- search page and API -------------------------------------------------------------------------------


def test_api_search_returns_exactly_the_service_dict(app, client, crawl):
    result = api(client, "/api/search", q="strike", per_page=5)
    assert list(result) == ["total", "page", "per_page", "hits", "facets", "warnings"]
    assert set(result["facets"]) == {"labels", "sources", "authors", "years", "months"}
    assert result["hits"] and all(
        list(hit) == ["id", "url", "title", "published", "labels", "source", "author", "snippet", "date_precision"]
        for hit in result["hits"]
    )
    assert all(set(v) == {"value", "count"} for facet in result["facets"].values() for v in facet)
    with SearchService(crawl.data / "index") as service:
        assert result == service.search(SearchParams(q="strike", per_page=5))


def test_search_page_shows_total_hits_and_their_details(client):
    result = api(client, "/api/search", q="strike")
    html = page(client, "/", q="strike")
    assert f"<strong>{result['total']}</strong> articles" in html
    doc = lxml.html.fromstring(html)
    titles = [a.text_content() for a in doc.cssselect(".hit h2 a")]
    assert titles == [hit["title"] for hit in result["hits"]]
    assert [a.get("href") for a in doc.cssselect(".hit h2 a")] == [f"/documents/{h['id']}" for h in result["hits"]]
    first = doc.cssselect(".hit")[0]
    hit = result["hits"][0]
    assert hit["source"] in first.text_content() and hit["published"] in first.text_content()
    assert all(label in first.text_content() for label in hit["labels"])
    assert first.cssselect(".snippet mark"), "matched words are marked"


@pytest.mark.parametrize(
    ("param", "value", "check"),
    [
        ("source", "red-lantern", lambda hit: hit["source"] == "red-lantern"),
        ("author", "Priya Nandakumar", lambda hit: hit["author"] == "Priya Nandakumar"),
        ("label", "Mining", lambda hit: "Mining" in hit["labels"]),
        ("from", "2023-06-01", lambda hit: hit["published"] and hit["published"] >= "2023-06-01"),
        ("to", "2021-12-31", lambda hit: hit["published"] and hit["published"] <= "2021-12-31"),
        ("year", "2023", lambda hit: (hit["published"] or "").startswith("2023")),
        ("month", "2023-11", lambda hit: (hit["published"] or "").startswith("2023-11")),
    ],
)
def test_each_filter_selects_matching_documents_and_shows_a_chip(client, param, value, check):
    everything = api(client, "/api/search", per_page=100)["total"]
    result = api(client, "/api/search", per_page=100, **{param: value})
    assert 0 < result["total"] < everything
    assert len(result["hits"]) == result["total"] and all(check(hit) for hit in result["hits"])
    html = page(client, "/", **{param: value})
    chip = lxml.html.fromstring(html).cssselect(".chips a.chip")[0]
    assert f"{param}: {value}" in chip.text_content()
    assert param not in query_of(chip.get("href")), "the chip links to the search without its filter"


def test_repeated_labels_are_all_required(client):
    both = api(client, "/api/search", per_page=100, label=["Mining", "Protest"])
    mining = api(client, "/api/search", per_page=100, label="Mining")["total"]
    assert 0 < both["total"] < mining
    assert all({"Mining", "Protest"} <= set(hit["labels"]) for hit in both["hits"])


def test_chips_remove_one_filter_each_and_keep_the_others(client):
    html = page(client, "/", q="strike", label="Organising", source="tenants-voice")
    chips = {
        a.text_content().split(" ×")[0].strip(): a.get("href") for a in lxml.html.fromstring(html).cssselect("a.chip")
    }
    assert query_of(chips["label: Organising"]) == {"q": ["strike"], "source": ["tenants-voice"]}
    assert query_of(chips["source: tenants-voice"]) == {"q": ["strike"], "label": ["Organising"]}
    assert query_of(chips["clear all"]) == {"q": ["strike"]}


def test_facets_follow_the_query_and_the_filters(client):
    everything = api(client, "/api/search")["facets"]
    filtered = api(client, "/api/search", source="steppe-notes")
    assert [f["value"] for f in filtered["facets"]["sources"]] == ["steppe-notes"]
    assert filtered["facets"]["labels"] != everything["labels"]
    labels = {f["value"]: f["count"] for f in filtered["facets"]["labels"]}
    assert labels["Kazakhstan"] == filtered["total"]  # the source's own label is on every document
    html = page(client, "/", source="steppe-notes")
    facet_links = {
        a.text_content().split()[0]: a.get("href") for a in lxml.html.fromstring(html).cssselect(".facet-values a")
    }
    assert query_of(facet_links["Mining"]) == {"source": ["steppe-notes"], "label": ["Mining"]}
    assert query_of(facet_links["steppe-notes"]) == {}, "an active facet value links to its removal"


def test_year_bars_link_to_the_year_and_then_to_its_months(client):
    years = api(client, "/api/search")["facets"]["years"]
    html = page(client, "/")
    bars = [a.get("href") for a in lxml.html.fromstring(html).cssselect(".bars a")]
    assert {query_of(url)["year"][0] for url in bars} == {y["value"] for y in years}
    year = max(years, key=lambda y: y["count"])["value"]
    html = page(client, "/", year=year)
    doc = lxml.html.fromstring(html)
    assert f"Published in {year}, by month" in html
    assert len(doc.cssselect(".bars li")) == 12, "a year shows all twelve months"
    months = api(client, "/api/search", year=year)["facets"]["months"]
    month_links = [query_of(a.get("href")) for a in doc.cssselect(".bars a")]
    assert [q["month"][0] for q in month_links] == [m["value"] for m in months]
    assert all(q["year"] == [year] for q in month_links)
    assert all(re.fullmatch(r"bar w-\d+", bar.get("class")) for bar in doc.cssselect(".bars .bar"))
    month = months[0]["value"]
    html = page(client, "/", year=year, month=month)
    assert f"Published in {month_name(month)}" in html
    result = api(client, "/api/search", year=year, month=month, per_page=100)
    assert result["total"] == months[0]["count"]
    assert all(hit["published"].startswith(month) for hit in result["hits"])


def test_pagination_links_cover_the_result_set(client):
    total = api(client, "/api/search", per_page=100)["total"]
    html = page(client, "/", per_page=10)
    nav = lxml.html.fromstring(html).cssselect("nav.pagination")[0]
    numbers = [a.text_content() for a in nav.cssselect("ol a")]
    last = -(-total // 10)
    assert str(last) in numbers and "2" in numbers
    next_url = nav.cssselect("a[rel=next]")[0].get("href")
    assert query_of(next_url) == {"per_page": ["10"], "page": ["2"]}
    page_one = [h["id"] for h in api(client, "/api/search", per_page=10)["hits"]]
    page_two = [h["id"] for h in api(client, "/api/search", per_page=10, page=2)["hits"]]
    assert len(page_two) == 10 and not set(page_one) & set(page_two)
    html = page(client, "/", per_page=10, page=2)
    nav = lxml.html.fromstring(html).cssselect("nav.pagination")[0]
    assert query_of(nav.cssselect("a[rel=prev]")[0].get("href")) == {"per_page": ["10"]}
    assert nav.cssselect("[aria-current=page]")[0].text_content() == "2"
    html = page(client, "/", per_page=10, page=last + 5)
    assert "past the last page" in html


@pytest.mark.parametrize(("sort", "reverse"), [("newest", True), ("oldest", False)])
def test_sorting_by_date(client, sort, reverse):
    hits = api(client, "/api/search", sort=sort, per_page=100)["hits"]
    dates = [hit["published"] for hit in hits if hit["published"]]
    assert len(dates) > 10 and dates == sorted(dates, reverse=reverse)
    html = page(client, "/", sort=sort)
    assert (
        lxml.html.fromstring(html).cssselect(f"select[name=sort] option[value={sort}]")[0].get("selected") is not None
    )


def selected_sort(html: str) -> tuple[str, str]:
    (option,) = lxml.html.fromstring(html).cssselect("select[name=sort] option[selected]")
    return option.get("value"), option.text_content()


@pytest.mark.parametrize(
    ("params", "value", "text"),
    [
        ({}, "relevance", "Newest first"),  # what the results are in; a query typed next is ranked by relevance
        ({"sort": "relevance"}, "relevance", "Newest first"),
        ({"sort": "newest"}, "newest", "Newest first"),
        ({"sort": "oldest"}, "oldest", "Oldest first"),
        ({"q": "strike"}, "relevance", "Relevance"),
        ({"q": "strike", "sort": "newest"}, "newest", "Newest first"),
    ],
)
def test_the_sort_menu_names_the_order_the_results_are_in(client, params, value, text):
    html = page(client, "/", **params)
    assert selected_sort(html) == (value, text)
    options = [o.text_content() for o in lxml.html.fromstring(html).cssselect("select[name=sort] option")]
    assert len(options) == len(set(options)), options  # never two options that read alike
    assert ("Relevance" in options) == bool(params.get("q"))
    shown = [hit["published"] for hit in api(client, "/api/search", per_page=100, **params)["hits"]]
    dated = [date for date in shown if date]
    assert dated == sorted(dated, reverse=text != "Oldest first") or text == "Relevance"


def test_relevance_puts_title_matches_first(client):
    hits = api(client, "/api/search", q="tailings")["hits"]
    assert "tailings" in hits[0]["title"].lower()


def test_a_malformed_query_is_searched_and_the_warning_shown(client):
    result = api(client, "/api/search", q='"rent strike')
    assert result["total"] > 0 and any("unbalanced quote" in w for w in result["warnings"])
    html = page(client, "/", q='"rent strike')
    assert "Your query was read differently" in html and "unbalanced quote" in html


def test_the_search_form_keeps_filters_and_offers_syntax_help(client):
    html = page(client, "/", q="strike", label="Organising", sort="newest")
    doc = lxml.html.fromstring(html)
    form = doc.get_element_by_id("search")
    assert form.cssselect("input[name=q]")[0].get("value") == "strike"
    assert form.cssselect("input[type=hidden][name=label]")[0].get("value") == "Organising"
    assert doc.cssselect("select[name=sort][form=search]") and doc.cssselect("input[name=from][form=search]")
    assert doc.cssselect("details.help summary")


@pytest.mark.parametrize(
    ("param", "value", "words"),
    [
        ("from", "2023-13", "From date"),
        ("to", "yesterday", "To date"),
        ("sort", "best", "Sort"),
        ("page", "0", "Page"),
        ("page", "two", "Page"),
        ("per_page", "0", "Results per page"),
        ("per_page", "101", "Results per page"),
        ("year", "23", "Year"),
        ("month", "2023-13", "Month"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(client, param, value, words):
    response = client.get("/api/search", query_string={param: value})
    assert response.status_code == 400
    assert list(response.json) == ["error", "detail"]
    assert response.json["detail"].startswith(f"{param}: ") and value in response.json["detail"]
    html = page(client, "/", status=400, **{param: value})
    assert "That search could not run" in html and words in html and "Traceback" not in html
    form_fields = [(i.get("name"), i.get("value")) for i in lxml.html.fromstring(html).cssselect("input[form=search]")]
    hidden = [
        (i.get("name"), i.get("value")) for i in lxml.html.fromstring(html).cssselect("#search input[type=hidden]")
    ]
    assert (param, value) not in hidden, "searching again does not resend the value at fault"
    if param in ("from", "to"):
        assert (param, value) in form_fields, "the date is there to be corrected"


def test_dates_in_the_wrong_order_name_the_parameter(client):
    response = client.get("/api/search?from=2024&to=2023")
    assert response.status_code == 400 and response.json["detail"].startswith("from: ")


def test_per_page_is_at_most_100(client):
    assert api(client, "/api/search", per_page=100)["per_page"] == 100
    response = client.get("/api/search?per_page=1000")
    assert response.status_code == 400 and "100" in response.json["detail"]


def test_an_overlong_query_is_a_400(client):
    response = client.get("/api/search", query_string={"q": "strike " * 500})
    assert response.status_code == 400 and response.json["detail"].startswith("q: ")


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("*trike", "wildcard"),
        (" OR ".join(f"w{n}" for n in range(33)), "33 alternatives joined by OR"),
        (" ".join(f"w{n}" for n in range(65)), "65 words and phrases"),
        ("strike " * 143, "characters long"),
    ],
)
def test_a_query_the_index_refuses_keeps_the_search_form_and_says_why(client, query, why):
    """The cost guard's refusals (search/query.py) on the search page: the form with the query kept to be
    corrected and the reason, a 400, not the generic error page."""
    html = page(client, "/", status=400, q=query, label="Organising")
    doc = lxml.html.fromstring(html)
    assert doc.get_element_by_id("search").cssselect("input[name=q]")[0].get("value") == query
    notice = doc.cssselect(".notice.error")[0].text_content()
    assert "That search could not run" in notice and "Query: " in notice and why in notice, notice
    assert "Change the query above" in notice
    hidden = [(i.get("name"), i.get("value")) for i in doc.cssselect("#search input[type=hidden]")]
    assert ("label", "Organising") in hidden, "the filters stay"
    assert "Traceback" not in html and not doc.cssselect(".results")
    response = client.get("/api/search", query_string={"q": query})
    assert response.status_code == 400 and response.json["detail"].startswith("q: ")


# --- documents -----------------------------------------------------------------------------------------


def test_api_document_is_the_export_record(client, crawl, xss_id):
    record = api(client, f"/api/documents/{xss_id}")
    assert list(record) == list(EXPORT_FIELDS)
    with Store(crawl.data / "store.sqlite") as store:
        assert record == store.get(xss_id).to_record()


def test_document_page_shows_metadata_text_and_links(client, crawl):
    hit = api(client, "/api/search", q="tailings")["hits"][0]
    record = api(client, f"/api/documents/{hit['id']}")
    html = page(client, f"/documents/{hit['id']}")
    doc = lxml.html.fromstring(html)
    assert doc.cssselect("h1")[0].text_content() == record["title"]
    hrefs = links(html)
    assert f"/sources/{record['source']}" in hrefs
    for label in record["labels"]:
        assert any(query_of(h) == {"label": [label]} for h in hrefs if h.startswith("/?")), label
    assert any(query_of(h) == {"source": [record["source"]]} for h in hrefs if h.startswith("/?"))
    external = [a for a in doc.iter("a") if a.get("href") == record["url"]]
    assert external and all(a.get("rel") == "noopener noreferrer nofollow" for a in external)
    assert record["author"] in html and record["published"] in html and record["language"] in html
    assert record["fetched_at"][:10] in html
    paragraphs = [p.text_content() for p in doc.cssselect(".text p")]
    assert paragraphs == [" ".join(p.split()) for p in record["text"].split("\n\n") if p.strip()]
    assert f"/documents/{hit['id']}/captured" in hrefs


def test_a_magazine_article_is_dated_as_precisely_as_its_issue(client):
    """An issue dated "March 2024" gives 2024-03-01 at month precision: shown as the month, in the results
    and on the document page, with the ISO date kept in `datetime`; a post keeps its day."""
    hits = api(client, "/api/search", source="red-lantern", per_page=100)["hits"]
    monthly = [h for h in hits if h["date_precision"] == "month"]
    assert monthly and all(h["published"].endswith("-01") for h in monthly)
    hit = monthly[0]
    shown = month_name(hit["published"])
    results = lxml.html.fromstring(page(client, "/", source="red-lantern", per_page=100))
    times = {t.get("datetime"): t.text_content() for t in results.cssselect("time")}
    assert times[hit["published"]] == shown
    time = lxml.html.fromstring(page(client, f"/documents/{hit['id']}")).cssselect("dl.metadata dd time")[0]
    assert (time.get("datetime"), time.text_content()) == (hit["published"], shown)
    post = api(client, "/api/search", source="steppe-notes")["hits"][0]
    assert post["date_precision"] == "day"
    time = lxml.html.fromstring(page(client, f"/documents/{post['id']}")).cssselect("dl.metadata dd time")[0]
    assert time.text_content() == post["published"]


@pytest.mark.parametrize(
    ("published", "precision", "shown"),
    [
        ("2012-07-01", "month", "July 2012"),
        ("2013-03-01", "season", "Spring 2013"),
        ("2013-12-01", "season", "Winter 2013"),
        ("2011-01-01", "year", "2011"),
        ("2024-03-05", "day", "2024-03-05"),
        ("2024-03-05", None, "2024-03-05"),
        ("2013-02-01", "season", "2013-02-01"),  # not a season's first month: as stored
    ],
)
def test_published_dates_are_shown_as_precisely_as_the_site_gave_them(published, precision, shown):
    assert published_as(published, precision) == shown


def test_document_page_lists_its_single_capture(client, xss_id):
    html = page(client, f"/documents/{xss_id}")
    versions = lxml.html.fromstring(html).cssselect("ol.versions li")
    assert len(versions) == 1 and "first capture" in versions[0].text_content()
    rows = api(client, f"/api/documents/{xss_id}/versions")["versions"]
    assert [row["number"] for row in rows] == [1]


@pytest.mark.parametrize(
    "path",
    [
        "/documents/0123456789abcdef",
        "/documents/not-an-id",
        "/documents/0123456789ABCDEF",
        "/documents/0123456789abcdef/captured",
        "/documents/0123456789abcdef/raw",
        "/documents/0123456789abcdef/changes",
    ],
)
def test_unknown_documents_are_404_pages(client, path):
    html = page(client, path, status=404)
    assert "Document not found" in html and "Traceback" not in html


@pytest.mark.parametrize("path", ["/api/documents/0123456789abcdef", "/api/documents/xyz/versions"])
def test_unknown_documents_are_404_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json["error"] == "document not found" and list(response.json) == ["error", "detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/documents/../samizdat.json",
        "/documents/..%2F..%2Fsamizdat.json",
        "/documents/%2e%2e%2fsamizdat.json/raw",
        "/api/documents/..%2Fstore.sqlite",
        "/api/documents/../../etc/passwd",
        "/documents/....%2f....%2fetc%2fpasswd/raw/1",
        "/sources/..%2F..%2Fetc",
        "/static/..%2Fapp.py",
    ],
)
def test_path_traversal_reaches_nothing(client, path):
    response = client.get(path)
    assert response.status_code == 404
    body = response.data.decode("utf-8", "replace")
    assert '"samizdat": 1' not in body and "root:" not in body and "SQLite format" not in body
    assert "create_app" not in body


def test_captured_page_frames_the_capture_without_scripts(client, xss_id):
    html = page(client, f"/documents/{xss_id}/captured")
    (frame,) = lxml.html.fromstring(html).iter("iframe")
    assert frame.get("sandbox") is not None and "allow-scripts" not in frame.get("sandbox")
    assert "allow-same-origin" not in frame.get("sandbox")
    assert frame.get("src") == f"/documents/{xss_id}/raw/1"
    assert client.get(f"/documents/{xss_id}/captured/1").data == client.get(f"/documents/{xss_id}/captured").data
    assert client.get(f"/documents/{xss_id}/captured/2").status_code == 404


def test_raw_capture_is_inert_and_sandboxed(client, xss_id):
    response = client.get(f"/documents/{xss_id}/raw/1")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.mimetype_params["charset"] == "utf-8"
    csp = response.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert "allow-scripts" not in directives["sandbox"] and "allow-same-origin" not in directives["sandbox"]
    # Styles, images and fonts from our own server (the archived copies) and inline; no script source at all.
    assert directives["default-src"] == ["'none'"] and directives["img-src"] == ["'self'", "data:"]
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"] and directives["font-src"] == ["'self'", "data:"]
    assert "script-src" not in directives and directives["frame-ancestors"] == ["'self'"]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = response.data.decode("utf-8")
    doc = lxml.html.fromstring(html)
    assert not list(doc.iter("script", "iframe", "object", "embed", "base"))
    assert all(link.get("href", "").startswith("/web/") for link in doc.iter("link")), "only archived copies"
    assert not [(el.tag, name) for el in doc.iter() for name in el.attrib if name.lower().startswith("on")]
    assert "<script" not in html.lower() and "pwned" not in html
    # The post's image from elsewhere is asked of the archive (which answers "not archived"), never of its host.
    foreign = [value for el in doc.iter() for value in el.attrib.values() if "evil.invalid" in value]
    assert foreign and all(value.startswith("/web/") for value in foreign)
    assert "evil.invalid" not in re.sub(r'"/web/[^"]*"', "", html)
    assert not [m for m in doc.iter("meta") if m.get("http-equiv")]
    hrefs = [a.get("href") for a in doc.iter("a") if a.get("href")]
    assert hrefs and all(h.startswith(("/go?", "/web/", "#")) for h in hrefs)
    assert "Why the &lt;script&gt;" in html, "the archived text is still there, escaped"


def test_raw_capture_links_lead_to_the_archived_documents(client, xss_id):
    record = api(client, f"/api/documents/{xss_id}")
    doc = lxml.html.fromstring(client.get(f"/documents/{xss_id}/raw").data)
    hrefs = [a.get("href") or "" for a in doc.iter("a")]
    # An archived target: its copy nearest to this capture, under /web/; one not archived: /go, which says so.
    own = [h for h in hrefs if h.startswith("/web/") and h.endswith("/" + record["url"])]
    assert own and re.match(r"^/web/\d{14}/", own[0])
    assert client.get(own[0]).status_code in (200, 302)
    outside = [query_of(h) for h in hrefs if h.startswith("/go?")]
    assert outside and all(t["view"] == ["captured"] for t in outside)
    assert client.get("/go", query_string={"url": outside[0]["url"][0]}).status_code == 404
    response = client.get(f"/go?url={record['url']}&view=captured")
    assert response.status_code == 303 and response.headers["Location"] == f"/documents/{xss_id}/captured"


def test_raw_capture_is_decoded_as_declared_and_served_as_utf8(client):
    russian = [
        h for h in api(client, "/api/search", source="red-lantern", per_page=100)["hits"] if h["title"][:1] > "z"
    ]
    assert len(russian) == 3, "the magazine's windows-1251 and KOI8-R pages"
    for hit in russian:
        response = client.get(f"/documents/{hit['id']}/raw")
        html = response.data.decode("utf-8")
        assert hit["title"] in html
        metas = [m.get("charset") for m in lxml.html.fromstring(html).iter("meta") if m.get("charset")]
        assert metas == ["utf-8"] and "windows-1251" not in html.lower() and "koi8" not in html.lower()


def test_sanitize_removes_everything_active():
    hostile = """<!doctype html><html><head>
    <meta http-equiv="refresh" content="0;url=https://live.example/">
    <meta charset="windows-1251"><base href="https://elsewhere.example/">
    <link rel="dns-prefetch" href="//tracker.example"><link rel="stylesheet" href="/s.css">
    <style>body { background: url(https://tracker.example/bg.png) } @import "x.css";</style>
    <script>alert(1)</script></head>
    <body onload="alert(2)"><a href="javascript:alert(3)">js</a><a href="/page">rel</a><a href="#top">top</a>
    <img src="https://tracker.example/p.gif" srcset="a.png 2x" onerror="alert(4)" alt="pic">
    <img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">
    <iframe src="https://live.example/"></iframe><object data="x.swf"></object><embed src="y.swf">
    <svg><a xlink:href="javascript:alert(5)"><animate attributeName="href" values="javascript:alert(6)"/>
    <text>svg</text></a></svg><form action="https://live.example/post"><button formaction="/x">go</button></form>
    <p style="background: url(https://tracker.example/q.png)">text stays</p><noscript><img src="n.gif"></noscript>
    </body></html>"""
    out = sanitize(hostile, "https://blog.example/2024/01/post.html", lambda url: "/go?url=" + url)
    doc = lxml.html.fromstring(out)
    assert out.startswith("<!doctype html>")
    assert not list(doc.iter("script", "iframe", "object", "embed", "base", "link", "animate", "noscript"))
    assert [m.get("charset") for m in doc.iter("meta")] == ["utf-8"]
    assert not [(el.tag, a) for el in doc.iter() for a in el.attrib if a.startswith("on")]
    assert "javascript:" not in out and "tracker.example" not in out and "live.example" not in out
    hrefs = [a.get("href") for a in doc.iter("a") if a.get("href")]
    assert hrefs == ["/go?url=https://elsewhere.example/page", "#top"], "relative links resolve against <base>"
    assert [img.get("src") for img in doc.iter("img")] == [None, "data:image/png;base64,iVBORw0KGgo="]
    assert "text stays" in out and "pic" in out


def test_sanitize_survives_empty_and_odd_payloads():
    for text in ("", "   ", '<?xml version="1.0" encoding="utf-8"?><html><body><p>x</p></body></html>', "plain"):
        out = sanitize(text, "https://a.example/", lambda url: url)
        assert "<script" not in out and out.strip()


# --- captures over time --------------------------------------------------------------------------------


def test_a_changed_capture_is_listed_with_what_changed(versioned, xss_id):
    client, _old, _new = versioned
    html = page(client, f"/documents/{xss_id}")
    versions = lxml.html.fromstring(html).cssselect("ol.versions li")
    assert len(versions) == 2
    assert "changed: title, labels, text" in versions[1].text_content()
    assert f"/documents/{xss_id}/changes?from=1&to=2" in links(html)
    rows = api(client, f"/api/documents/{xss_id}/versions")["versions"]
    assert [r["number"] for r in rows] == [1, 2] and rows[0]["content_hash"] != rows[1]["content_hash"]
    assert rows[1]["fetched_at"] == "2099-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def same_minute(crawl, tmp_path_factory):
    """A copy of the crawl with a document captured twice within one minute, its text changed between."""
    data = tmp_path_factory.mktemp("same-minute") / "data"
    shutil.copytree(crawl.data, data)
    first = dataclasses.replace(
        HOSTILE,
        url="https://steppe-notes.example/2031/04/zanzibarite.html",
        title="Zanzibarite found in the old quarry",
        text="A geologist found zanzibarite in the old quarry.\n\nNobody believed her.",
        author="Aigerim Sadykova",
        labels=["Mining"],
        fetched_at=SAME_MINUTE[0],
    )
    second = dataclasses.replace(first, text=first.text + "\n\nA correction.", fetched_at=SAME_MINUTE[1])
    with Store(data / "store.sqlite") as store:
        assert store.upsert(first) == "new" and store.upsert(second) == "changed"
    catch_up(data / "store.sqlite", data / "index")
    app = create_app({"data_dir": data})
    yield app.test_client(), first.id
    app.extensions["samizdat"].search.close()


SAME_MINUTE = ("2031-04-05T06:07:08Z", "2031-04-05T06:07:51Z")
SHOWN = ("2031-04-05 06:07:08 UTC", "2031-04-05 06:07:51 UTC")


def test_capture_times_show_seconds_so_two_in_one_minute_differ(same_minute):
    client, doc_id = same_minute
    document = lxml.html.fromstring(page(client, f"/documents/{doc_id}"))
    versions = [t.text_content() for t in document.cssselect("ol.versions time")]
    assert versions == list(SHOWN)
    captured = [t.text_content() for t in document.cssselect(".metadata time")]
    assert SHOWN[1] in captured  # the newest capture, in the document's metadata
    for number, shown in enumerate(SHOWN, 1):
        view = lxml.html.fromstring(page(client, f"/documents/{doc_id}/captured/{number}"))
        assert [t.text_content() for t in view.cssselect(".captured-head time")] == [shown]
    changes = lxml.html.fromstring(page(client, f"/documents/{doc_id}/changes"))
    assert [t.text_content() for t in changes.cssselect("time")][-2:] == list(SHOWN)
    options = [o.text_content() for o in changes.cssselect("select[name=from] option")]
    assert options == [f"1 · {SHOWN[0]}", f"2 · {SHOWN[1]}"]


def test_the_diff_between_versions_marks_words_and_stays_escaped(versioned, xss_id):
    client, _old, _new = versioned
    html = page(client, f"/documents/{xss_id}/changes", **{"from": 1, "to": 2})
    assert html == page(client, f"/documents/{xss_id}/changes"), "the two newest versions by default"
    doc = lxml.html.fromstring(html)
    deleted = [d.text_content() for d in doc.cssselect(".diff.text del")]
    inserted = [i.text_content() for i in doc.cssselect(".diff.text ins")]
    assert "Several" in deleted and "Two" in inserted
    assert any("The fine was set at <b>ten</b> monthly wages." in text for text in inserted)
    assert "&lt;b&gt;ten&lt;/b&gt;" in html and "<b>ten</b>" not in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    fields = {row.cssselect("th")[0].text_content(): row for row in doc.cssselect("table.field-changes tbody tr")}
    assert set(fields) == {"Title", "Labels"}
    assert fields["Title"].cssselect("ins")[0].text_content().strip() == "(updated)"
    assert [i.text_content() for i in fields["Labels"].cssselect("ins")] == ["Censorship"]
    assert doc.cssselect(".folded"), "unchanged paragraphs far from a change fold away"
    same = page(client, f"/documents/{xss_id}/changes", **{"from": 2, "to": 2})
    assert "no differences" in same


@pytest.mark.parametrize(("params", "param"), [({"from": "x"}, "from"), ({"to": "3"}, "to"), ({"from": "0"}, "from")])
def test_bad_version_numbers_are_a_400(versioned, xss_id, params, param):
    client, _old, _new = versioned
    html = page(client, f"/documents/{xss_id}/changes", status=400, **params)
    assert f"{param}: " in html


def test_each_version_can_be_seen_as_captured(versioned, xss_id):
    client, _old, _new = versioned
    html = page(client, f"/documents/{xss_id}/captured/2")
    assert "Version 2 of 2" in html and f"/documents/{xss_id}/raw/2" in html
    assert client.get(f"/documents/{xss_id}/raw/2").status_code == 200
    assert client.get(f"/documents/{xss_id}/raw/3").status_code == 404


def test_a_hostile_stored_document_renders_as_text(versioned):
    client, _old, _new = versioned
    html = page(client, f"/documents/{HOSTILE.id}")
    doc = lxml.html.fromstring(html)
    assert doc.cssselect("h1")[0].text_content() == HOSTILE.title
    assert [s.get("src") for s in doc.iter("script")] == ["/static/app.js"]
    assert not [(el.tag, a) for el in doc.iter() for a in el.attrib if a.startswith("on")]
    assert not doc.cssselect("svg, img, b"), "no archived markup became an element"
    assert not [h for h in links(html) if h.lower().startswith("javascript")], "a javascript: URL is never a link"
    assert HOSTILE.url in doc.text_content()
    raw = client.get(f"/documents/{HOSTILE.id}/raw")
    assert raw.status_code == 404 and b"root:" not in raw.data, "WARC paths cannot leave the data directory"


# --- /go -----------------------------------------------------------------------------------------------


def test_go_redirects_to_the_archived_document(client, xss_id):
    url = api(client, f"/api/documents/{xss_id}")["url"]
    response = client.get("/go", query_string={"url": url})
    assert response.status_code == 303 and response.headers["Location"] == f"/documents/{xss_id}"
    tracked = client.get("/go", query_string={"url": url + "?utm_source=feed#comments"})
    assert tracked.headers["Location"] == f"/documents/{xss_id}", "variants of the canonical URL count"


def test_go_says_when_a_page_is_not_archived_without_linking_to_it(client):
    url = "https://live.example.org/somewhere?x=<b>1</b>"
    response = client.get("/go", query_string={"url": url})
    assert response.status_code == 404 and "Location" not in response.headers
    html = response.data.decode("utf-8")
    assert "Not in the archive" in html and "https://live.example.org/somewhere?x=&lt;b&gt;1&lt;/b&gt;" in html
    assert not [h for h in links(html) if "live.example" in h]


@pytest.mark.parametrize("query", ["", "?url=", "?url=javascript:alert(1)", "?url=file:///etc/passwd", "?url=nohost"])
def test_go_refuses_what_is_not_a_web_address(client, query):
    html = page(client, f"/go{query}", status=400)
    assert "url: " in html


# --- sources -------------------------------------------------------------------------------------------


def test_sources_page_lists_every_source(client, crawl):
    names = [s.name for s in load_config(crawl.config).sources]
    html = page(client, "/sources")
    assert [a.get("href") for a in lxml.html.fromstring(html).cssselect("table.sources tbody th a")] == [
        f"/sources/{name}" for name in names
    ]


def test_api_sources_has_the_figures_of_each_source(client, crawl):
    rows = api(client, "/api/sources")["sources"]
    assert [r["source"] for r in rows] == [s.name for s in load_config(crawl.config).sources]
    with Store(crawl.data / "store.sqlite") as store:
        for row in rows:
            assert row["archived"] == store.count(row["source"]) > 0
            assert row["kind"] in {"blogger", "wordpress", "magazine", "generic"} and row["kind_detected"] is False
            assert set(row["quality"]["shares"]) == {"date", "author", "labels", "text"}
            assert row["last_crawl"]["pages"] > 0 and isinstance(row["last_crawl"]["skipped"], dict)


def test_source_page_shows_kind_crawl_quality_skips_errors_and_history(client, crawl):
    figures = api(client, "/api/sources/steppe-notes")
    with Store(crawl.data / "store.sqlite") as store:
        last = store.last_crawls()["steppe-notes"]
    html = page(client, "/sources/steppe-notes")
    text = " ".join(lxml.html.fromstring(html).text_content().split())
    assert "blogger (given in sources.toml)" in text
    assert f"{figures['archived']} articles" in text
    for reason, count in last["skipped"].items():
        assert f"{reason} {count:,}" in text
    for kind, count in last["errors"].items():
        assert f"{kind} {count:,}" in text
    assert f"The last crawl found {last['quality']['articles']} articles" in text
    assert "with a date" in text and "with a full text" in text
    assert len(lxml.html.fromstring(html).cssselect("table.history tbody tr")) == len(figures["history"]) == 1
    assert any(query_of(h).get("year") for h in links(html)), "the years histogram links to searches"


def test_source_page_without_sources_toml_uses_the_crawl_record(crawl):
    app = create_app({"data_dir": crawl.data})
    try:
        client = app.test_client()
        figures = api(client, "/api/sources/red-lantern")
        assert figures["defined_by"] == "crawl record"
        assert figures["kind"] == "magazine" and figures["start_urls"]
        assert "magazine" in page(client, "/sources/red-lantern")
        names = [row["source"] for row in api(client, "/api/sources")["sources"]]
        assert sorted(names) == sorted(s.name for s in load_config(crawl.config).sources)
    finally:
        app.extensions["samizdat"].search.close()


def test_unknown_sources_are_404(client):
    assert "Source not found" in page(client, "/sources/no-such-source", status=404)
    response = client.get("/api/sources/no-such-source")
    assert response.status_code == 404 and response.json["error"] == "source not found"


# --- exports -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"q": "strike"}, {"label": "Mining", "sort": "oldest"}])
def test_jsonl_export_has_one_record_per_result(client, params):
    total = api(client, "/api/search", **params)["total"]
    response = client.get("/export.jsonl", query_string={**params, "page": 3, "per_page": 1})
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    records = [json.loads(line) for line in response.data.decode("utf-8").splitlines()]
    assert len(records) == total > 0 and all(list(r) == list(EXPORT_FIELDS) for r in records)
    ids = [h["id"] for h in api(client, "/api/search", **params, per_page=100)["hits"]]
    assert [r["id"] for r in records] == ids, "the export keeps the search's order"


def test_csv_export_has_the_contract_columns(client):
    total = api(client, "/api/search", source="tenants-voice")["total"]
    response = client.get("/export.csv?source=tenants-voice")
    assert response.mimetype == "text/csv" and response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8"))))
    assert tuple(rows[0]) == EXPORT_FIELDS and len(rows) - 1 == total


def test_warc_export_is_a_valid_warc_of_the_results(client):
    total = api(client, "/api/search", q="eviction")["total"]
    response = client.get("/export.warc?q=eviction")
    assert response.mimetype == "application/warc" and response.headers["Content-Disposition"].startswith("attachment;")
    records = [
        (r.rec_type, r.rec_headers.get_header("WARC-Resource-Type")) for r in ArchiveIterator(io.BytesIO(response.data))
    ]
    types = [t for t, kind in records if kind in (None, "document")]  # the articles' own; their requisites come too
    assert types[0] == "warcinfo" and types.count("response") == total > 0 and types.count("request") == total
    assert any(kind == "stylesheet" for _t, kind in records)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "warc"])
def test_exports_match_the_command_line_export(client, crawl, tmp_path, fmt):
    out = tmp_path / f"cli.{fmt}"
    result = run_cli("export", "--format", fmt, "--label", "Mining", "-o", out, "--data", crawl.data)
    assert result.returncode == 0, result.stderr
    web = client.get(f"/export.{fmt}?label=Mining&sort=oldest").data
    if fmt != "warc":
        assert web == out.read_bytes()
        return

    def records(data: bytes) -> list[tuple[str, str, bytes]]:
        return [
            (r.rec_type, r.rec_headers.get_header("WARC-Record-ID"), r.content_stream().read())
            for r in ArchiveIterator(io.BytesIO(data))
            if r.rec_type != "warcinfo"  # each export's own, with its own id and date
        ]

    assert records(web) == records(out.read_bytes()) and records(web)


def test_export_links_on_the_search_page_carry_the_search(client):
    html = page(client, "/", q="strike", label="Organising", page=1, per_page=10)
    exports = [h for h in links(html) if h.startswith("/export.")]
    assert sorted(urlsplit(h).path for h in exports) == ["/export.csv", "/export.jsonl", "/export.wacz", "/export.warc"]
    assert all(query_of(h) == {"q": ["strike"], "label": ["Organising"]} for h in exports)


# Count phrases: every number a page shows with a noun, singular when it is one.
ONE_PLURAL = re.compile(r"(?<![\d,.])1 (articles|results|versions|requests|revisits|bytes|pages|words|paragraphs)\b")


def test_one_result_reads_in_the_singular(same_minute):
    client, doc_id = same_minute
    html = page(client, "/", q="Zanzibarite")
    text = " ".join(lxml.html.fromstring(html).text_content().split())
    assert "1 article," in text or "1 article " in text, text[:400]
    assert "Download this article:" in text and "Download these" not in text
    assert not ONE_PLURAL.search(text), ONE_PLURAL.search(text)
    several = " ".join(lxml.html.fromstring(page(client, "/", q="strike")).text_content().split())
    assert re.search(r"Download these \d+ articles:", several)
    for path in (f"/documents/{doc_id}", f"/documents/{doc_id}/captured/1", f"/documents/{doc_id}/changes"):
        assert not ONE_PLURAL.search(lxml.html.fromstring(page(client, path)).text_content())


def test_counts_are_singular_for_one():
    assert [format_count(n, "article") for n in (0, 1, 2, 1204)] == [
        "0 articles", "1 article", "2 articles", "1,204 articles"
    ]  # fmt: skip
    assert format_count(1, "revisit") == "1 revisit" and format_count(3, "byte") == "3 bytes"


def test_export_errors(client):
    assert client.get("/export.exe").status_code == 404
    response = client.get("/export.csv?from=soon")
    assert response.status_code == 400 and response.mimetype == "text/html"


# --- errors and headers ---------------------------------------------------------------------------------


def test_unknown_routes_and_methods_keep_the_error_shape(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and list(response.json) == ["error", "detail"]
    response = client.post("/api/search")
    assert response.status_code == 405 and response.json["error"] == "method not allowed"
    assert "GET" in response.headers["Allow"]
    html = page(client, "/nothing-here", status=404)
    assert "Not found" in html and "there is no page at this address" in html


def test_an_unexpected_failure_is_a_500_without_a_traceback(crawl):
    app = create_app({"data_dir": crawl.data})
    try:

        @app.get("/api/boom")
        def boom():
            raise RuntimeError("secret internals")

        response = app.test_client().get("/api/boom")
        assert response.status_code == 500 and response.json["error"] == "internal error"
        assert "secret" not in response.data.decode() and "Traceback" not in response.data.decode()
    finally:
        app.extensions["samizdat"].search.close()


HOSTILE_INPUTS = [
    "/?q=%00%ff%fe",
    "/?q=((((",
    "/?q=title:",
    "/?q=*",
    "/?q=" + "a" * 900,
    "/?label=&source=&author=",
    "/?label=%3Cscript%3E",
    "/?page=99999999999999999999",
    "/?per_page=-1",
    "/?from=0000-00-00",
    "/?from=2024-02-30",
    "/?year=0000",
    "/?month=2024-00",
    "/?sort=",
    "/api/search?q=%22",
    "/api/search?q=NOT",
    "/api/search?page=1.5",
    "/api/search?label=a&label=b&label=c",
    "/documents/%00",
    "/documents/0123456789abcdef/changes?from=1&to=1",
    "/documents/0123456789abcdef/captured/0",
    "/go?url=http://%5B::1",
    "/go?url=http://" + "a" * 5000,
    "/sources/%00",
    "/export.jsonl?q=(",
    "/export.csv?per_page=9999",
    "/api/documents/%F0%9F%92%A9",
]


@pytest.mark.parametrize("path", HOSTILE_INPUTS)
def test_no_input_yields_a_500(client, path):
    response = client.get(path)
    assert response.status_code < 500, (path, response.data[:300])
    assert b"Traceback" not in response.data


def test_every_response_carries_the_security_headers(client, xss_id):
    paths = [
        "/",
        "/?q=strike",
        "/?from=bad",
        "/api/search",
        "/api/search?page=0",
        f"/documents/{xss_id}",
        f"/documents/{xss_id}/captured",
        f"/documents/{xss_id}/changes",
        "/documents/0123456789abcdef",
        "/go?url=https://nowhere.example/",
        "/sources",
        "/sources/steppe-notes",
        "/api/sources",
        "/export.jsonl?q=strike",
        "/static/style.css",
        "/static/app.js",
        "/nothing",
    ]
    for path in paths:
        response = client.get(path)
        assert response.headers["Content-Security-Policy"] == PAGE_CSP, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["Referrer-Policy"] == "same-origin", path  # other sites learn nothing
    raw = client.get(f"/documents/{xss_id}/raw")
    assert raw.headers["Content-Security-Policy"].startswith("sandbox")
    assert raw.headers["X-Content-Type-Options"] == "nosniff" and raw.headers["Referrer-Policy"] == "no-referrer"


def test_the_page_policy_allows_no_inline_script():
    directives = {d.split()[0]: d.split()[1:] for d in PAGE_CSP.split("; ")}
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]


def test_templates_have_no_inline_script_style_or_handlers():
    for path in (WEBUI / "templates").glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert not re.search(r"\sstyle=", text) and "<style" not in text, path
        assert not re.search(r"\son[a-z]+=", text), path
        assert "|safe" not in text.replace("hit.snippet|safe", ""), f"{path}: only the escaped snippet is |safe"


# --- the XSS sample post -------------------------------------------------------------------------------


def test_xss_title_is_escaped_on_the_search_page(client):
    html = page(client, "/", q="ban")
    assert "Why the &lt;script&gt;alert(" in html
    assert "<script>alert" not in html
    titles = [a.text_content() for a in lxml.html.fromstring(html).cssselect(".hit h2 a")]
    assert XSS_TITLE in titles, "the title reads as written, as text"
    scripts = [s for s in lxml.html.fromstring(html).iter("script")]
    assert [s.get("src") for s in scripts] == ["/static/app.js"]


def test_xss_text_is_escaped_on_the_document_page(client, xss_id):
    html = page(client, f"/documents/{xss_id}")
    doc = lxml.html.fromstring(html)
    assert doc.cssselect("h1")[0].text_content() == XSS_TITLE
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert not [(el.tag, a) for el in doc.iter() for a in el.attrib if a.startswith("on")]
    assert [s.get("src") for s in doc.iter("script")] == ["/static/app.js"]


def test_snippets_are_rendered_as_html_only_because_they_are_escaped(client):
    result = api(client, "/api/search", q="onerror")
    snippet = result["hits"][0]["snippet"]
    assert "&lt;img" in snippet and "<img" not in snippet and "<mark>" in snippet
    html = page(client, "/", q="onerror")
    doc = lxml.html.fromstring(html)
    (first,) = doc.cssselect(".hit")[:1]
    assert first.cssselect(".snippet mark") and not first.cssselect(".snippet img")
    assert "<img src=x" not in html
