"""search/: a real Whoosh index built from hand-made Documents, queried through SearchService."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from samizdat.archive.config import Source
from samizdat.archive.datadir import DataDir
from samizdat.archive.document import Document
from samizdat.archive.errors import DataDirError, QueryError
from samizdat.archive.extract import extract
from samizdat.archive.store import Store
from samizdat.archive.warc import Capture
from samizdat.search import Indexer, SearchParams, SearchService, catch_up
from samizdat.search.query import parse_text_query
from samizdat.webui import create_app
from tests.conftest import run_cli

# slug, source, author, published, labels, title, text
CORPUS: list[tuple[str, str, str | None, str | None, list[str], str, str]] = [
    ("rent-strike-begins", "tenants-voice", "Ada Okonkwo", "2012-03-05", ["Rent strike", "Housing"],
     "Rent strike begins on Harbour Street",
     "Forty tenants on Harbour Street began a rent strike this morning. The landlord has refused repairs "
     "for two winters."),
    ("strike-week-two", "tenants-voice", "Ada Okonkwo", "2012-03-19", ["Rent strike"],
     "Second week of the strike",
     "The rent strike enters its second week. Tenants held a meeting in the laundry room and voted to "
     "continue."),
    ("landlord-replies", "tenants-voice", "Marek Nowak", "2012-04-02", ["Rent strike", "Housing"],
     "The landlord replies",
     "A letter from the landlord threatens eviction for every household withholding rent."),
    ("first-evicted", "tenants-voice", "Ada Okonkwo", "2012-05-14", ["Eviction", "Housing"],
     "A family is evicted",
     "Bailiffs evicted the Mensah family on Monday while neighbours blocked the stairwell."),
    ("eviction-court", "tenants-voice", "Marek Nowak", "2012-06-11", ["Eviction"],
     "Eviction hearing postponed",
     "The court postponed the hearing. Lawyers for the tenants argued the notices were defective."),
    ("evictions-rise", "tenants-voice", "Lin Wei", "2013-01-08", ["Eviction", "Statistics"],
     "Evictions rise across the city",
     "Council figures show repossessions doubled in a year."),
    ("bakery-union", "tenants-voice", "Lin Wei", "2013-02-20", ["Union", "Strikes"],
     "Bakery workers form a union",
     "Night-shift workers at the Crumb bakery signed union cards in secret."),
    ("shipyard-walkout", "tenants-voice", "Marek Nowak", "2013-03-03", ["Strikes"],
     "Shipyard walkout",
     "Welders at the shipyard walked out over unpaid overtime. The strike spread to the dry dock."),
    ("strike-fund", "tenants-voice", "Ada Okonkwo", "2013-03-15", ["Strikes", "Union"],
     "Strike fund appeal",
     "The union asked for donations to the strike fund; rent for the hall is due Friday."),
    ("police-at-picket", "tenants-voice", "Lin Wei", "2013-04-01", ["Police", "Strikes"],
     "Police at the picket line",
     "Officers photographed the shipyard pickets. Three people were arrested and released without charge."),
    ("script-title", "tenants-voice", None, "2013-05-05", ["Security"],
     "Why we escape <script> tags",
     "Paste this into your page: <script>alert('x')</script> and see what happens to the picket map."),
    ("undated-leaflet", "tenants-voice", "Ada Okonkwo", None, ["Housing"],
     "Know your rights leaflet",
     "A leaflet for tenants facing eviction: do not leave, ask for the notice in writing."),
    ("undated-minutes", "tenants-voice", "Marek Nowak", None, [],
     "Meeting minutes",
     "Minutes of the general meeting of tenants. Apologies from the treasurer."),
    ("housing-crisis-2011", "red-press", "Lin Wei", "2011-11-30", ["Housing"],
     "The housing crisis explained",
     "Rents have risen faster than wages for a decade."),
    ("miners-remembered", "red-press", "Tomasz Zielinski", "2011-12-12", ["History", "Strikes"],
     "Miners remembered",
     "Thirty years after the great strike, the mining villages remember."),
    ("editorial-2012", "red-press", "Tomasz Zielinski", "2012-01-01", ["Editorial"],
     "Editorial: a year of organising",
     "This year we will cover every rent strike and every picket."),
    ("interview-okonkwo", "red-press", "Lin Wei", "2012-07-07", ["Interview", "Rent strike"],
     "Interview with a rent striker",
     "Ada Okonkwo on how the Harbour Street rent strike was organised."),
    ("dockers-1972", "red-press", "Tomasz Zielinski", "2012-08-08", ["History"],
     "Dockers in 1972",
     "The dockers' strike of 1972 closed every port."),
    ("bakery-victory", "red-press", "Lin Wei", "2013-06-06", ["Union", "Strikes"],
     "Victory at the bakery",
     "The bakery union won a pay rise after a two-day strike."),
    ("review-book", "red-press", "Tomasz Zielinski", "2013-07-07", ["Review", "Squatting, history of"],
     "Review: Walls and Doors",
     "A book about squatting and the housing movement."),
    ("police-powers", "red-press", "Lin Wei", "2014-01-15", ["Police"],
     "New police powers",
     "The new law lets police disperse any picket of more than six people."),
    ("rent-strike-history", "red-press", "Tomasz Zielinski", "2014-02-02", ["History", "Rent strike"],
     "A short history of rent strikes",
     "From Glasgow in 1915 to today, rent strikes have won real concessions."),
    ("undated-notice", "red-press", None, None, ["Editorial"],
     "Notice to readers",
     "The magazine will be printed monthly from now on."),
    ("letters-page", "red-press", "Lin Wei", "2014-03-03", ["rent strike"],
     "Letters page",
     "Readers write about the rent strike and the bakery."),
    ("oil-strike", "kz-news", "Aigul Bekova", "2011-05-16", ["Strikes"],
     "Oil workers strike in the west",
     "Oil workers in Zhanaozen demanded higher wages."),
    ("trial-opens", "kz-news", "Aigul Bekova", "2012-03-27", ["Police", "Trial"],
     "Trial of the strike leaders",
     "The trial of the strike leaders opened behind closed doors."),
    ("amnesty-appeal", "kz-news", "Aigul Bekova", "2012-03-30", ["Trial"],
     "Amnesty appeal",
     "An appeal for amnesty was signed by two hundred people."),
    ("note-a", "kz-news", "Aigul Bekova", "2013-09-01", [],
     "Short note A",
     "A short note about the weather in the capital."),
    ("note-b", "kz-news", "Aigul Bekova", "2013-09-01", [],
     "Short note B",
     "Another short note about the weather in the capital."),
    ("zabastovka", "kz-news", "Aigul Bekova", "2013-10-10", ["Strikes"],
     "Забастовка",
     "Рабочие объявили забастовку. Workers announced a strike."),
]  # fmt: skip

UNDATED = {"undated-leaflet", "undated-minutes", "undated-notice"}


def make_doc(slug: str, source: str, author: str | None, published: str | None, labels: list[str],
             title: str, text: str) -> Document:  # fmt: skip
    return Document(
        url=f"https://{source}.example/{slug}",
        source=source,
        kind="blogger" if source == "tenants-voice" else "wordpress",
        title=title,
        text=text,
        author=author,
        published=published,
        labels=labels,
        language="en",
    )


DOCS = [make_doc(*row) for row in CORPUS]
SLUG = {doc.id: row[0] for doc, row in zip(DOCS, CORPUS, strict=True)}
ROWS = {row[0]: row for row in CORPUS}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    index_dir = tmp_path_factory.mktemp("index")
    with Indexer(index_dir) as indexer:
        assert indexer.update(DOCS, batch_size=7) == len(DOCS)
    with SearchService(index_dir) as svc:
        yield svc


def run(svc: SearchService, **params: Any) -> dict[str, Any]:
    params.setdefault("per_page", 100)
    return svc.search(SearchParams(**params))


def slugs(svc: SearchService, **params: Any) -> set[str]:
    result = run(svc, **params)
    assert result["total"] == len(result["hits"]), "test queries must fit on one page"
    return {SLUG[hit["id"]] for hit in result["hits"]}


def ordered_slugs(svc: SearchService, **params: Any) -> list[str]:
    return [SLUG[hit["id"]] for hit in run(svc, **params)["hits"]]


def where(predicate: Any) -> set[str]:
    """Slugs of the corpus rows for which predicate(row) holds: expectations computed from the data."""
    return {row[0] for row in CORPUS if predicate(row)}


# --- the query language --------------------------------------------------------------------------------


def test_words_are_anded_by_default(service: SearchService) -> None:
    assert slugs(service, q="tenants meeting") == {"strike-week-two", "undated-minutes"}
    assert len(slugs(service, q="tenants OR meeting")) > 2


def test_phrase_needs_adjacent_words(service: SearchService) -> None:
    phrase = slugs(service, q='"rent strike"')
    assert phrase == {
        "rent-strike-begins", "strike-week-two", "editorial-2012", "interview-okonkwo",
        "rent-strike-history", "letters-page",
    }  # fmt: skip
    assert "strike-fund" in slugs(service, q="rent strike")  # both words, not side by side


def test_or(service: SearchService) -> None:
    assert slugs(service, q="bakery OR shipyard") == {
        "bakery-union", "shipyard-walkout", "bakery-victory", "police-at-picket", "letters-page",
    }  # fmt: skip


def test_not(service: SearchService) -> None:
    strike = slugs(service, q="strike")
    without = slugs(service, q="strike NOT bakery")
    assert {"bakery-victory", "letters-page"} <= strike
    assert without == strike - {"bakery-victory", "letters-page"}


def test_author_field_is_not_searched_by_default(service: SearchService) -> None:
    assert slugs(service, q="author:okonkwo") == where(lambda row: row[2] == "Ada Okonkwo")
    assert slugs(service, q="okonkwo") == {"interview-okonkwo"}  # named in the text only


def test_label_field_ignores_case_and_has_an_alias(service: SearchService) -> None:
    rent_strike = where(lambda row: any(label.lower() == "rent strike" for label in row[4]))
    assert len(rent_strike) == 6
    assert slugs(service, q='label:"rent strike"') == rent_strike
    assert slugs(service, q='labels:"Rent Strike"') == rent_strike
    assert slugs(service, q="label:housing") == where(lambda row: "Housing" in row[4])


def test_source_and_year_fields(service: SearchService) -> None:
    assert slugs(service, q="source:kz-news") == where(lambda row: row[1] == "kz-news")
    assert slugs(service, q="source:kz-news strike") == {"oil-strike", "trial-opens", "zabastovka"}
    assert slugs(service, q="year:2011") == where(lambda row: (row[3] or "").startswith("2011"))


def test_wildcard(service: SearchService) -> None:
    assert slugs(service, q="shipyar*") == {"shipyard-walkout", "police-at-picket"}
    assert slugs(service, q="Bak*") == {"bakery-union", "bakery-victory", "letters-page"}


# Every form of "evict" (evicted, eviction, Evictions) in a title or text.
EVICTION_SLUGS = {"landlord-replies", "first-evicted", "eviction-court", "evictions-rise", "undated-leaflet"}


def test_stemming_finds_other_forms(service: SearchService) -> None:
    assert slugs(service, q="evictions") == EVICTION_SLUGS
    assert slugs(service, q="evicted") == EVICTION_SLUGS


def test_non_latin_text_is_searchable(service: SearchService) -> None:
    assert slugs(service, q="забастовку") == {"zabastovka"}


# --- languages -----------------------------------------------------------------------------------------

# Our own words. slug, language, title, text
MULTILINGUAL: list[tuple[str, str, str, str]] = [
    ("zavod", "ru", "Забастовка на заводе",
     "Рабочие металлургического завода в Темиртау прекратили работу. Они требуют повысить зарплату."),
    ("hleb", "ru", "Очереди в пекарнях",
     "В городе не хватает хлеба. Люди стоят в очередях с утра, а пекарни закрываются к обеду."),
    ("ereuil", "kk", "Жұмысшылар ереуілі",
     "Зауыт жұмысшылары жалақыны көтеруді талап етті. Ереуіл үш күнге созылды. Олар орысша "
     "«Мы требуем хлеба и работы» деп жазылған плакат ұстады."),
]  # fmt: skip


def make_multilingual(slug: str, language: str, title: str, text: str) -> Document:
    return Document(url=f"https://kz-news.example/{slug}", source="kz-news", kind="wordpress", title=title,
                    text=text, author="Yerlan Dzhaksybekov", published="2014-05-01", labels=["Mining"],
                    language=language)  # fmt: skip


MULTI_DOCS = [make_multilingual(*row) for row in MULTILINGUAL]
MULTI_SLUG = {**SLUG, **{doc.id: row[0] for doc, row in zip(MULTI_DOCS, MULTILINGUAL, strict=True)}}


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    """The English corpus and a few Russian and Kazakh documents, in one index."""
    index_dir = tmp_path_factory.mktemp("multilingual")
    with Indexer(index_dir) as indexer:
        indexer.update([*DOCS, *MULTI_DOCS], batch_size=9)
    with SearchService(index_dir) as svc:
        yield svc


def found(svc: SearchService, q: str) -> dict[str, dict[str, Any]]:
    result = run(svc, q=q)
    assert result["total"] == len(result["hits"])
    return {MULTI_SLUG[hit["id"]]: hit for hit in result["hits"]}


@pytest.mark.parametrize(
    ("q", "expected", "marked"),
    [
        ("завод", {"zavod"}, "<mark>завода</mark>"),  # the text says "завода", the title "заводе"
        ("заводе", {"zavod"}, "<mark>завода</mark>"),
        ("хлеб", {"hleb", "ereuil"}, "<mark>хлеба</mark>"),  # Russian words in a Kazakh page too
        ("хлебом", {"hleb", "ereuil"}, "<mark>хлеба</mark>"),
        ("Пекарня", {"hleb"}, "<mark>пекарни</mark>"),
        ("рабочих зарплата", {"zavod"}, "<mark>Рабочие</mark>"),
    ],
)
def test_russian_is_found_by_other_word_forms_and_the_form_is_marked(
    multilingual: SearchService, q: str, expected: set[str], marked: str
) -> None:
    hits = found(multilingual, q)
    assert set(hits) == expected
    assert marked in hits[sorted(expected)[-1]]["snippet"]


def test_russian_phrases_fields_and_wildcards(multilingual: SearchService) -> None:
    assert set(found(multilingual, '"не хватает хлеба"')) == {"hleb"}
    assert set(found(multilingual, '"хватает хлебом"')) == {"hleb"}  # a phrase of stems
    assert set(found(multilingual, "text:заводом")) == {"zavod"}
    assert set(found(multilingual, "title:заводы")) == {"zavod"}
    assert set(found(multilingual, "title:зарплата")) == set()  # only in the text
    assert set(found(multilingual, "пекар*")) == {"hleb"}
    # "zabastovka" is an English document titled "Забастовка": matched as written, unstemmed.
    assert set(found(multilingual, "забастовка OR хлеб NOT пекарни")) == {"zavod", "ereuil", "zabastovka"}
    assert set(found(multilingual, "забастовку")) == {"zavod", "zabastovka"}  # its text says "забастовку"


def test_kazakh_words_are_found_as_written_or_by_prefix(multilingual: SearchService) -> None:
    hits = found(multilingual, "ереуіл")
    assert set(hits) == {"ereuil"}
    assert "<mark>Ереуіл</mark>" in hits["ereuil"]["snippet"]
    assert set(found(multilingual, "жұмыс*")) == {"ereuil"}


def test_english_stemming_is_unchanged_beside_russian(multilingual: SearchService) -> None:
    assert set(found(multilingual, "evictions")) == EVICTION_SLUGS
    hits = found(multilingual, "evicted")
    assert "<mark>evicted</mark>" in hits["first-evicted"]["snippet"]
    # Stop words are the same in every language's fields, so they never make a query one-language-only.
    assert found(multilingual, "the strike").keys() == found(multilingual, "strike").keys() != set()
    assert run(multilingual, q="the of")["total"] == 0


def test_a_query_is_parsed_over_the_languages_the_index_holds() -> None:
    english_only, _ = parse_text_query("завод")
    both, _ = parse_text_query("завод", ("ru",))
    assert english_only is not None and both is not None
    assert {leaf.field() for leaf in english_only.leaves()} == {"title", "text"}
    assert {leaf.field() for leaf in both.leaves()} == {"title", "text", "title_ru", "text_ru"}
    assert {leaf.text for leaf in both.leaves() if leaf.field() == "text_ru"} == {"завод"}
    assert ["заводе" in leaf.text for leaf in both.leaves() if leaf.field() == "text"] == [False]


def test_languages_are_detected_per_searcher(service: SearchService, multilingual: SearchService) -> None:
    assert service.search(SearchParams(q="завод"))["total"] == 0
    states = [svc._current() for svc in (service, multilingual)]
    assert [state.languages() if state else None for state in states] == [(), ("ru",)]


def test_a_russian_document_keeps_its_stored_text_and_filters(multilingual: SearchService) -> None:
    doc = MULTI_DOCS[0]
    record = multilingual.get(doc.id)
    assert record is not None
    assert (record["title"], record["text"], record["language"]) == (doc.title, doc.text, "ru")
    result = run(multilingual, q="заводах", labels=["mining"], author="yerlan")
    assert [hit["title"] for hit in result["hits"]] == ["Забастовка на заводе"]
    assert facet(result, "labels") == {"Mining": 1}
    assert facet(result, "authors") == {"Yerlan Dzhaksybekov": 1}


# --- filters -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose store holds the English corpus and the Russian and Kazakh documents;
    the index is built from the store by catch-up, as every command does."""
    datadir = DataDir.create(tmp_path_factory.mktemp("archive"))
    with Store(datadir.store_path) as store:
        for doc in [*DOCS, *MULTI_DOCS]:
            store.upsert(dataclasses.replace(doc, fetched_at="2025-01-10T12:00:00Z"))
    catch_up(datadir.store_path, datadir.index_dir)
    return datadir.root


MINING = {row[0] for row in MULTILINGUAL}  # labelled "Mining", by Yerlan Dzhaksybekov


def test_label_and_author_filters_ignore_case_through_the_api_page_and_export(archive_dir: Path) -> None:
    client = create_app({"data_dir": archive_dir}).test_client()
    for query in ("label=mining", "label=MINING", "author=yerlan", "author=DZHAKSYBEKOV%20yerlan"):
        body = client.get(f"/api/search?{query}&per_page=100").get_json()
        assert {MULTI_SLUG[hit["id"]] for hit in body["hits"]} == MINING, query
        assert body["facets"]["labels"] == [{"value": "Mining", "count": 3}]  # as the site wrote it
        assert body["facets"]["authors"] == [{"value": "Yerlan Dzhaksybekov", "count": 3}]
    body = client.get("/api/search?q=хлеб&label=mining&author=yerlan").get_json()
    assert {MULTI_SLUG[hit["id"]] for hit in body["hits"]} == {"hleb", "ereuil"}
    page = client.get("/?label=mining&q=заводу")
    assert page.status_code == 200
    assert "<mark>завода</mark>" in page.get_data(as_text=True)
    export = client.get("/export.jsonl?label=mining&author=yerlan&q=хлебом")
    titles = {json.loads(line)["title"] for line in export.get_data(as_text=True).splitlines()}
    assert titles == {"Очереди в пекарнях", "Жұмысшылар ереуілі"}


def test_a_facet_selected_by_a_filter_in_another_case_shows_as_selected(archive_dir: Path) -> None:
    client = create_app({"data_dir": archive_dir}).test_client()
    page = client.get("/?label=mining&author=yerlan").get_data(as_text=True)
    for value in ("Mining", "Yerlan Dzhaksybekov"):
        link = re.search(rf'<li class="active"><a href="([^"]*)"[^>]*><span class="name">{value}</span>', page)
        assert link, value  # selected, and its link removes the filter that selects it, not a second one
        assert "label=" not in html.unescape(link.group(1)) if value == "Mining" else "author=" not in link.group(1)


def test_label_and_author_filters_ignore_case_on_the_command_line(archive_dir: Path) -> None:
    result = run_cli("search", "--label", "mining", "--author", "yerlan", "--json", "--data", archive_dir)
    assert result.returncode == 0, result.stderr
    assert {MULTI_SLUG[hit["id"]] for hit in json.loads(result.stdout)["hits"]} == MINING
    result = run_cli("search", "завод", "--label", "MINING", "--data", archive_dir)
    assert result.returncode == 0, result.stderr
    assert "1 article(s)" in result.stdout and "Забастовка на заводе" in result.stdout


def test_label_filters_are_anded_and_ignore_case(service: SearchService) -> None:
    assert slugs(service, labels=["Rent strike", "Housing"]) == {"rent-strike-begins", "landlord-replies"}
    rent_strike = where(lambda row: any(label.lower() == "rent strike" for label in row[4]))
    assert "letters-page" in rent_strike  # written "rent strike" there, "Rent strike" elsewhere
    assert slugs(service, labels=["rent strike"]) == slugs(service, labels=["RENT STRIKE"]) == rent_strike
    assert slugs(service, labels=["housing", "rent  STRIKE"]) == {"rent-strike-begins", "landlord-replies"}
    assert slugs(service, labels=["Squatting, history of"]) == slugs(service, labels=["squatting, HISTORY of"])
    assert slugs(service, labels=["Squatting, history of"]) == {"review-book"}
    assert slugs(service, labels=["rent"]) == set()  # a whole label, not a word of one


def test_facets_keep_labels_and_names_as_written(service: SearchService) -> None:
    result = run(service, labels=["rent strike"])
    assert facet(result, "labels")["Rent strike"] == 5
    assert facet(result, "labels")["rent strike"] == 1  # each spelling as the site wrote it
    assert facet(run(service, author="okonkwo"), "authors") == {"Ada Okonkwo": 5}
    assert {hit["author"] for hit in run(service, author="ADA")["hits"]} == {"Ada Okonkwo"}


def test_a_sources_own_label_keeps_its_spelling_beside_the_sites(tmp_path: Path) -> None:
    # The site files the post under "magazine" and "Mining"; the source's own label is "Magazine".
    page = (
        "<html><head><meta name='generator' content='blogger'></head><body><div class='post hentry'>"
        "<h3 class='post-title entry-title'>Night shift</h3><div class='post-body entry-content'>"
        + "".join(
            f"<p>On night {n} the miners of the shift met the manager and were sent home without pay.</p>"
            for n in range(4)
        )
        + "</div><div class='post-footer'><abbr class='published' title='2024-03-05T02:40:00+06:00'>2:40</abbr>"
        "<span class='post-labels'><a rel='tag' href='/search/label/magazine'>magazine</a>, "
        "<a rel='tag' href='/search/label/Mining'>Mining</a></span></div></div></body></html>"
    )
    capture = Capture(url="http://site.test/2024/03/night.html", status=200,
                      headers=[("Content-Type", "text/html; charset=utf-8")], payload=page.encode(),
                      fetched_at="2025-01-10T12:00:00Z")  # fmt: skip
    source = Source(name="steppe", start_urls=("http://site.test/",), labels=("Magazine", "Steppe"))
    doc = extract(capture, source, "blogger").document
    assert doc is not None
    assert doc.labels == ["Magazine", "Mining", "Steppe"]  # one "Magazine", in the source's spelling
    with Indexer(tmp_path) as indexer:
        indexer.update([doc])
    with SearchService(tmp_path) as svc:
        for label in ("magazine", "Magazine", "MINING"):
            assert svc.search(SearchParams(labels=[label]))["total"] == 1
        assert facet(svc.search(SearchParams()), "labels") == {"Magazine": 1, "Mining": 1, "Steppe": 1}


def test_source_and_author_filters(service: SearchService) -> None:
    assert slugs(service, source="kz-news") == where(lambda row: row[1] == "kz-news")
    assert slugs(service, source="KZ-News") == where(lambda row: row[1] == "kz-news")
    assert slugs(service, author="Lin Wei", q="strike") == {
        "interview-okonkwo",
        "bakery-victory",
        "letters-page",
    }


def test_author_filter_matches_words_of_the_name_in_any_case(service: SearchService) -> None:
    okonkwo = where(lambda row: row[2] == "Ada Okonkwo")
    for author in ("Ada Okonkwo", "ada okonkwo", "okonkwo", "ADA", "Okonkwo Ada", " okonkwo,  ada "):
        assert slugs(service, author=author) == okonkwo, author
    assert slugs(service, author="okon") == set()  # words, not parts of words
    assert slugs(service, author="Ada Wei") == set()  # every word, of one name
    assert slugs(service, author="wei", q="bakery") == {"bakery-union", "bakery-victory", "letters-page"}


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [("2012-03-01", "2012-03-31"), ("2012-03", "2012-03"), ("2012-03-05", "2012-03-30")],
)
def test_date_range_inclusive_with_short_forms(service: SearchService, date_from: str, date_to: str) -> None:
    march = {"rent-strike-begins", "strike-week-two", "trial-opens", "amnesty-appeal"}
    assert slugs(service, date_from=date_from, date_to=date_to) == march


def test_open_ended_year_ranges(service: SearchService) -> None:
    assert slugs(service, date_from="2014") == {"police-powers", "rent-strike-history", "letters-page"}
    assert slugs(service, date_to="2011") == {"housing-crisis-2011", "miners-remembered", "oil-strike"}
    assert not UNDATED & slugs(service, date_from="1900")


def test_year_and_month_filters(service: SearchService) -> None:
    assert slugs(service, year="2011") == {"housing-crisis-2011", "miners-remembered", "oil-strike"}
    assert slugs(service, month="2012-03") == {
        "rent-strike-begins", "strike-week-two", "trial-opens", "amnesty-appeal",
    }  # fmt: skip
    assert slugs(service, month="2012-03", q="strike") == {
        "rent-strike-begins",
        "strike-week-two",
        "trial-opens",
    }


# --- order, pages --------------------------------------------------------------------------------------


def dates_of(slug_list: list[str]) -> list[str | None]:
    return [ROWS[slug][3] for slug in slug_list]


def test_newest_first_with_undated_last(service: SearchService) -> None:
    order = ordered_slugs(service, sort="newest")
    assert len(order) == len(CORPUS)
    dated = [d for d in dates_of(order) if d]
    assert dates_of(order)[: len(dated)] == sorted(dated, reverse=True)
    assert set(order[-len(UNDATED) :]) == UNDATED
    assert order[0] == "letters-page"


def test_oldest_first_with_undated_last(service: SearchService) -> None:
    order = ordered_slugs(service, sort="oldest")
    dated = [d for d in dates_of(order) if d]
    assert dates_of(order)[: len(dated)] == sorted(dated)
    assert set(order[-len(UNDATED) :]) == UNDATED
    assert order[0] == "oil-strike"


def test_equal_dates_are_ordered_by_id_both_ways(service: SearchService) -> None:
    ids = {SLUG[doc_id]: doc_id for doc_id in SLUG}
    expected = sorted(["note-a", "note-b"], key=ids.__getitem__)
    for sort in ("newest", "oldest"):
        order = [slug for slug in ordered_slugs(service, sort=sort) if slug in ("note-a", "note-b")]
        assert order == expected


def test_relevance_prefers_title_matches(service: SearchService) -> None:
    assert ordered_slugs(service, q="shipyard") == ["shipyard-walkout", "police-at-picket"]


def test_browsing_without_query_sorts_newest(service: SearchService) -> None:
    assert ordered_slugs(service, sort="relevance") == ordered_slugs(service, sort="newest")


def test_pages_cover_everything_once_with_exact_total(service: SearchService) -> None:
    seen: list[str] = []
    for page in range(1, 6):
        result = service.search(SearchParams(sort="oldest", page=page, per_page=7))
        assert result["total"] == len(CORPUS)
        assert (result["page"], result["per_page"]) == (page, 7)
        seen += [hit["id"] for hit in result["hits"]]
    assert len(result["hits"]) == len(CORPUS) - 4 * 7
    assert seen == list(service.iter_ids(SearchParams(sort="oldest")))
    assert len(set(seen)) == len(CORPUS)
    beyond = service.search(SearchParams(sort="oldest", page=6, per_page=7))
    assert beyond["hits"] == [] and beyond["total"] == len(CORPUS)


def test_pages_of_a_relevance_search_are_stable(service: SearchService) -> None:
    everything = [hit["id"] for hit in run(service, q="strike")["hits"]]
    paged = [hit["id"] for page in (1, 2, 3, 4) for hit in run(service, q="strike", page=page, per_page=5)["hits"]]
    assert paged == everything
    assert list(service.iter_ids(SearchParams(q="strike"))) == everything


def test_iter_ids_ignores_paging(service: SearchService) -> None:
    ids = list(service.iter_ids(SearchParams(q="strike", sort="newest", per_page=2, page=3)))
    assert [SLUG[i] for i in ids] == ordered_slugs(service, q="strike", sort="newest")
    assert len(ids) == run(service, q="strike")["total"] > 6


# --- facets --------------------------------------------------------------------------------------------


def facet(result: dict[str, Any], name: str) -> dict[str, int]:
    return {item["value"]: item["count"] for item in result["facets"][name]}


def test_facets_count_all_documents_when_browsing(service: SearchService) -> None:
    result = run(service)
    assert facet(result, "sources") == {"tenants-voice": 13, "red-press": 11, "kz-news": 6}
    assert facet(result, "years") == {"2011": 3, "2012": 10, "2013": 11, "2014": 3}
    assert [item["value"] for item in result["facets"]["years"]] == ["2011", "2012", "2013", "2014"]
    months = [item["value"] for item in result["facets"]["months"]]
    assert months == sorted(months) and facet(result, "months")["2012-03"] == 4


def test_facets_follow_the_query(service: SearchService) -> None:
    result = run(service, q="strike")
    hits = [ROWS[SLUG[hit["id"]]] for hit in result["hits"]]
    assert facet(result, "sources") == dict(Counter(row[1] for row in hits))
    assert facet(result, "authors") == dict(Counter(row[2] for row in hits if row[2]))
    assert facet(result, "labels") == dict(Counter(label for row in hits for label in row[4]))
    labels = result["facets"]["labels"]
    assert labels == sorted(labels, key=lambda item: (-item["count"], item["value"]))
    assert labels[0] == {"value": "Strikes", "count": 6}


def test_facets_follow_the_filters(service: SearchService) -> None:
    result = run(service, source="red-press", labels=["History"])
    assert result["total"] == 3
    assert facet(result, "sources") == {"red-press": 3}
    assert facet(result, "labels") == {"History": 3, "Strikes": 1, "Rent strike": 1}
    assert facet(result, "years") == {"2011": 1, "2012": 1, "2014": 1}


# --- what a hit looks like -----------------------------------------------------------------------------


def test_hit_has_the_contract_fields(service: SearchService) -> None:
    result = run(service, q="bailiffs")
    assert set(result) >= {"total", "page", "per_page", "hits", "facets", "warnings"}
    assert set(result["facets"]) == {"labels", "sources", "authors", "years", "months"}
    (hit,) = result["hits"]
    assert set(hit) == {"id", "url", "title", "published", "labels", "source", "author", "snippet", "date_precision"}
    assert hit["url"] == "https://tenants-voice.example/first-evicted"
    assert (hit["published"], hit["labels"], hit["author"]) == (
        "2012-05-14",
        ["Eviction", "Housing"],
        "Ada Okonkwo",
    )
    assert "<mark>Bailiffs</mark> <mark>evicted</mark>" not in hit["snippet"]  # only query words are marked
    assert "<mark>Bailiffs</mark>" in hit["snippet"]


def test_snippet_escapes_archived_html_and_marks_matches(service: SearchService) -> None:
    (hit,) = run(service, q="alert")["hits"]
    assert "<mark>alert</mark>" in hit["snippet"]
    assert "&lt;script&gt;" in hit["snippet"]
    assert "<script" not in hit["snippet"]
    assert hit["title"] == "Why we escape <script> tags"  # plain text; the web layer escapes it


def test_snippet_marks_stemmed_forms(service: SearchService) -> None:
    hits = {SLUG[hit["id"]]: hit for hit in run(service, q="evictions")["hits"]}
    assert "<mark>evicted</mark>" in hits["first-evicted"]["snippet"]
    assert "<mark>eviction</mark>" in hits["undated-leaflet"]["snippet"]


def test_snippet_without_query_is_the_escaped_start_of_the_text(service: SearchService) -> None:
    hits = {SLUG[hit["id"]]: hit for hit in run(service, q="")["hits"]}
    assert hits["script-title"]["snippet"].startswith("Paste this into your page: &lt;script&gt;")
    assert "<mark>" not in hits["script-title"]["snippet"]


def test_title_only_match_still_has_a_snippet(service: SearchService) -> None:
    (hit,) = run(service, q="city")["hits"]
    assert hit["snippet"] == "Council figures show repossessions doubled in a year."


# Whoosh 2.7's ContextFragmenter, when a passage's trailing context ends exactly on a token, closes a second,
# empty "passage" at the next token, from the start of the text: this paragraph is such a case for `strike`.
REPEATING = (
    "The dockers met in the union hall on a wet Tuesday night to hear the result of the ballot.\n\n"
    "At the meeting I went to, they were debating a pamphlet about a strike in a Welsh quarry. The chair "
    "thought it was sentimental, the treasurer thought it was accurate, and the youngest member thought both "
    "had missed the point."
)


def repeated_passages(snippet_html: str, words: int = 5) -> list[str]:
    """Runs of `words` words that occur more than once in a snippet's text (marks and escapes undone)."""
    text = html.unescape(re.sub(r"</?mark>", "", snippet_html)).replace("…", " ")
    tokens = re.findall(r"\w+", text.lower())
    runs = Counter(" ".join(tokens[i : i + words]) for i in range(len(tokens) - words + 1))
    return [run for run, count in runs.items() if count > 1]


def test_a_snippet_never_repeats_a_passage(tmp_path: Path) -> None:
    doc = make_doc("pamphlet", "red-press", None, "2014-02-02", [], "A pamphlet debated", REPEATING)
    with Indexer(tmp_path / "index") as indexer:
        indexer.update([doc, *DOCS[:3]])
    with SearchService(tmp_path / "index") as svc:
        (hit,) = [hit for hit in run(svc, q="strike")["hits"] if hit["id"] == doc.id]
    assert repeated_passages(hit["snippet"]) == [], hit["snippet"]
    assert hit["snippet"].count("strike") == 1, hit["snippet"]  # the one occurrence, marked, shown once
    passages = hit["snippet"].split(" … ")
    assert all("<mark>" in passage for passage in passages), hit["snippet"]


# --- validation and warnings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "param", "words"),
    [
        ({"from": "2024-13-01"}, "from", ["'2024-13-01' is not a date", "YYYY-MM-DD"]),
        ({"to": "2023-02-29"}, "to", ["is not a date"]),
        ({"to": "yesterday"}, "to", ["is not a date"]),
        ({"from": "2014", "to": "2012"}, "from", ["after", "swap"]),
        ({"sort": "best"}, "sort", ["relevance, newest, oldest"]),
        ({"page": "0"}, "page", ["1 or more"]),
        ({"page": "two"}, "page", ["whole number"]),
        ({"per_page": "101"}, "per_page", ["more than 100"]),
        ({"per_page": "-5"}, "per_page", ["1 to 100"]),
        ({"year": "12"}, "year", ["YYYY"]),
        ({"month": "2012-13"}, "month", ["YYYY-MM"]),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(mapping: dict[str, str], param: str, words: list[str]) -> None:
    with pytest.raises(QueryError) as caught:
        SearchParams.from_mapping(mapping)
    message = str(caught.value)
    assert message.startswith(f"{param}: ")
    assert getattr(caught.value, "param", None) == param
    for word in words:
        assert word in message


def test_constructor_validates_too() -> None:
    with pytest.raises(QueryError, match=r"^per_page: 500 is more than 100"):
        SearchParams(per_page=500)


def test_from_mapping_reads_every_key() -> None:
    args = MultiDict(
        [("q", " rent "), ("label", "Housing"), ("label", "Rent strike"), ("source", "red-press"),
         ("author", "Lin Wei"), ("from", "2012"), ("to", "2013-06"), ("year", "2012"), ("month", "2012-03"),
         ("sort", "Oldest"), ("page", "2"), ("per_page", "50"), ("unrelated", "x")]
    )  # fmt: skip
    params = SearchParams.from_mapping(args)
    assert params == SearchParams(
        q="rent", labels=["Housing", "Rent strike"], source="red-press", author="Lin Wei", date_from="2012",
        date_to="2013-06", year="2012", month="2012-03", sort="oldest", page=2, per_page=50,
    )  # fmt: skip
    assert str(params.date_range()) == "(datetime.date(2012, 1, 1), datetime.date(2013, 6, 30))"
    plain = SearchParams.from_mapping({"label": ["A", "B"], "from": "", "page": ""})
    assert (plain.labels, plain.date_from, plain.page) == (["A", "B"], None, 1)


@pytest.mark.parametrize(
    ("q", "same_as", "warning"),
    [
        ('"tenants meeting', "tenants meeting", "unbalanced quote"),
        ("(tenants meeting", "tenants meeting", "unbalanced parenthesis"),
        ("tenants meeting)", "tenants meeting", "unbalanced parenthesis"),
        ("tenants meeting AND", "tenants meeting", "'AND' has nothing after it"),
        ("OR tenants meeting", "tenants meeting", "'OR' has nothing before it"),
        ("tenants meeting NOT", "tenants meeting", "'NOT' has nothing after it"),
        ("publisher:tenants meeting", "tenants meeting", "unknown field 'publisher:'"),
        ("author: tenants meeting", "tenants meeting", "'author:' has no value"),
    ],
)
def test_malformed_queries_warn_and_still_search(service: SearchService, q: str, same_as: str, warning: str) -> None:
    result = run(service, q=q)
    assert any(warning in text for text in result["warnings"]), result["warnings"]
    assert {hit["id"] for hit in result["hits"]} == {hit["id"] for hit in run(service, q=same_as)["hits"]}
    assert result["total"] == 2
    assert run(service, q=same_as)["warnings"] == []


def test_query_of_only_common_words_warns_and_finds_nothing(service: SearchService) -> None:
    result = run(service, q="the of")
    assert result["total"] == 0
    assert "nothing searchable" in result["warnings"][0]


def test_well_formed_operators_do_not_warn(service: SearchService) -> None:
    result = run(service, q='(bakery OR shipyard) NOT police label:"Strikes" title:walkout')
    assert result["warnings"] == []
    assert {SLUG[hit["id"]] for hit in result["hits"]} == {"shipyard-walkout"}


# --- get -----------------------------------------------------------------------------------------------


def test_get_returns_stored_fields(service: SearchService) -> None:
    doc = DOCS[19]
    record = service.get(doc.id)
    assert record is not None
    assert record["labels"] == ["Review", "Squatting, history of"]
    assert (record["title"], record["text"], record["kind"]) == (doc.title, doc.text, "wordpress")
    assert service.get("0000000000000000") is None


# --- writing while searching ---------------------------------------------------------------------------


def two_docs() -> list[Document]:
    return [make_doc(*CORPUS[0]), make_doc(*CORPUS[1])]


def test_update_replaces_a_document_with_the_same_id(tmp_path: Path) -> None:
    with Indexer(tmp_path) as indexer:
        indexer.update(two_docs())
        changed = make_doc(*CORPUS[0])
        changed.title = "Rent strike called off"
        # Twice in one batch, and once more in a later call: still one document.
        assert indexer.update([changed, changed]) == 1
        indexer.update([changed])
        assert indexer.count() == 2
    with SearchService(tmp_path) as svc:
        (hit,) = svc.search(SearchParams(q="called off"))["hits"]
        assert hit["title"] == "Rent strike called off"
        assert svc.search(SearchParams(q="begins"))["total"] == 0


def test_rebuild_options_with_two_processes_still_upsert(tmp_path: Path) -> None:
    with Indexer(tmp_path) as indexer:
        assert indexer.update(DOCS, batch_size=0, procs=2, multisegment=True) == len(DOCS)
        indexer.update(DOCS[:12], procs=2, multisegment=True)
        assert indexer.count() == len(DOCS)
    with SearchService(tmp_path) as svc:
        assert slugs(svc, q="evictions") == EVICTION_SLUGS


def test_a_running_service_sees_later_commits(tmp_path: Path) -> None:
    with Indexer(tmp_path) as indexer:
        indexer.update(two_docs())
        with SearchService(tmp_path, refresh_seconds=0) as svc:
            assert svc.search(SearchParams())["total"] == 2
            indexer.update([make_doc(*CORPUS[3])])
            result = svc.search(SearchParams(q="bailiffs"))
            assert result["total"] == 1
            assert facet(svc.search(SearchParams()), "sources") == {"tenants-voice": 3}
            indexer.delete([DOCS[0].id])
            assert svc.search(SearchParams())["total"] == 2
            assert svc.get(DOCS[0].id) is None


def test_refresh_picks_up_a_commit_at_once(tmp_path: Path) -> None:
    with Indexer(tmp_path) as indexer, SearchService(tmp_path, refresh_seconds=3600) as svc:
        indexer.update(two_docs())
        assert svc.search(SearchParams())["total"] == 2
        indexer.update([make_doc(*CORPUS[3])])
        assert svc.search(SearchParams())["total"] == 2  # not checked again within the hour
        svc.refresh()
        assert svc.search(SearchParams())["total"] == 3


def test_clear_empties_the_index(tmp_path: Path) -> None:
    with Indexer(tmp_path) as indexer, SearchService(tmp_path, refresh_seconds=0) as svc:
        indexer.update(two_docs())
        assert svc.search(SearchParams())["total"] == 2
        indexer.clear()
        assert indexer.count() == 0
        assert svc.search(SearchParams())["total"] == 0
        indexer.update(two_docs())
        assert svc.search(SearchParams(q="laundry"))["total"] == 1


def test_a_swapped_in_index_directory_is_picked_up(tmp_path: Path) -> None:
    # As `samizdat reindex` does: build beside, then rename over. Both indexes are at generation 1.
    live, rebuilt = tmp_path / "index", tmp_path / "index.rebuild"
    with Indexer(live) as indexer:
        indexer.update(two_docs())
    with Indexer(rebuilt) as indexer:
        indexer.update(DOCS[10:13])
    with SearchService(live, refresh_seconds=0) as svc:
        assert svc.search(SearchParams())["total"] == 2
        live.rename(tmp_path / "index.old")
        assert svc.search(SearchParams())["total"] == 2  # mid-swap: the old index keeps serving
        rebuilt.rename(live)
        assert {SLUG[hit["id"]] for hit in svc.search(SearchParams())["hits"]} == {row[0] for row in CORPUS[10:13]}


def test_a_directory_without_index_is_an_empty_archive(tmp_path: Path) -> None:
    with SearchService(tmp_path / "index", refresh_seconds=0) as svc:
        result = svc.search(SearchParams(q="strike"))
        assert (result["total"], result["hits"]) == (0, [])
        assert "no search index" in result["warnings"][0]
        assert list(svc.iter_ids(SearchParams())) == []
        with Indexer(tmp_path / "index") as indexer:
            indexer.update(two_docs())
        assert svc.search(SearchParams(q="strike"))["total"] == 2


def test_a_locked_index_gives_a_clear_error(tmp_path: Path) -> None:
    with Indexer(tmp_path) as holder, Indexer(tmp_path, lock_timeout_seconds=0.3) as other:
        # Another writer holds the lock, as a running crawl would.
        with holder._writer(), pytest.raises(DataDirError, match="locked by another writer"):
            other.update(two_docs())
        assert other.update(two_docs()) == 2  # the lock was released


def test_threads_share_one_service_while_the_index_changes(tmp_path: Path) -> None:
    with Indexer(tmp_path) as indexer:
        indexer.update(DOCS[:10])
        errors: list[BaseException] = []
        totals: list[list[int]] = [[] for _ in range(4)]
        with SearchService(tmp_path, refresh_seconds=0) as svc:

            def search_repeatedly(mine: list[int]) -> None:
                try:
                    for _ in range(15):
                        mine.append(svc.search(SearchParams())["total"])
                except BaseException as exc:  # reported below: a thread's exception is otherwise lost
                    errors.append(exc)

            threads = [threading.Thread(target=search_repeatedly, args=(mine,)) for mine in totals]
            for thread in threads:
                thread.start()
            for start in range(10, len(DOCS), 5):
                indexer.update(DOCS[start : start + 5])
            for thread in threads:
                thread.join()
            assert errors == []
            for mine in totals:  # documents are only added: no thread may see the index shrink
                assert len(mine) == 15 and mine == sorted(mine) and mine[0] >= 10
            assert svc.search(SearchParams())["total"] == len(DOCS)


def test_searches_borrow_searchers_from_a_pool_and_a_refresh_retires_the_old_ones(tmp_path: Path) -> None:
    with Indexer(tmp_path) as indexer:
        indexer.update(DOCS[:10])
        with SearchService(tmp_path, refresh_seconds=3600, searchers=2) as svc:
            old = svc._current()
            assert old is not None
            given_back = threading.Event()
            third: list[Any] = []
            with old.borrow() as first, old.borrow() as second:
                assert first.searcher is not second.searcher  # one searcher per thread, never shared

                def borrow_a_third() -> None:
                    with old.borrow() as pooled:
                        third.append(pooled)
                    given_back.set()

                waiter = threading.Thread(target=borrow_a_third)
                waiter.start()
                assert not given_back.wait(timeout=0.2), "the pool is full: the third search waits"
                indexer.update(DOCS[10:12])
                svc.refresh()
                assert svc.search(SearchParams())["total"] == 12  # the new generation, while the old is busy
            waiter.join(timeout=30)
            assert third and third[0].searcher in (first.searcher, second.searcher)
            # Given back after the refresh: the old generation's searchers are closed, the new one serves.
            assert first.searcher.is_closed and second.searcher.is_closed
            assert svc._current() is not old and svc.search(SearchParams(q="strike"))["total"] > 0
