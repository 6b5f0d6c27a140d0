"""The archivists' area with Flask's test client: accounts made with `samizdat user`, sign-in, sessions,
and every refusal (no session, no CSRF token, a wrong one, a foreign Origin, too many failed sign-ins)
checked on disk to have changed nothing; a private archive shows nothing but the sign-in page."""

from __future__ import annotations

import json
import re
import shutil
import stat
import tomllib

import pytest

from samizdat.archive.accounts import Accounts
from samizdat.archive.config import load_config, parse_config
from samizdat.archive.datadir import DataDir
from samizdat.archive.errors import ConfigError
from samizdat.archive.store import Store
from samizdat.scheduler import Scheduler
from samizdat.webui import create_app
from tests.conftest import run_cli
from tests.test_durable import wait_for
from tests.test_scheduler import settle

PASSWORD = "a long enough passphrase"


def add_user(data, name: str = "ana", password: str = PASSWORD):
    result = run_cli_input(["user", "add", name, "--data", data], password + "\n")
    assert result.returncode == 0, result.stderr
    return result


def run_cli_input(args, text):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "samizdat", *map(str, args)], input=text, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def archive_copy(crawl, tmp_path_factory):
    """The session's crawl, copied: accounts and the session key are written into it."""
    data = tmp_path_factory.mktemp("admin") / "data"
    shutil.copytree(crawl.data, data)
    add_user(data)
    return data


def token(client, path="/admin/sign-in", **options) -> str:
    page = client.get(path, **options).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client, name="ana", password=PASSWORD, options=None, **extra):
    options = options or {}
    form = {"csrf_token": token(client, **options), "name": name, "password": password, **extra}
    return client.post("/admin/sign-in", data=form, **options)


def test_user_commands_add_list_and_remove_accounts(tmp_path):
    data = tmp_path / "data"
    add_user(data, "bea")
    assert run_cli_input(["user", "add", "bea", "--data", data], PASSWORD + "\n").returncode == 1
    short = run_cli_input(["user", "add", "cy", "--data", data], "short\n")
    assert short.returncode == 1 and "too short" in short.stderr and "Traceback" not in short.stderr
    bad = run_cli_input(["user", "add", "Not A Name", "--data", data], PASSWORD + "\n")
    assert bad.returncode == 1 and "user name" in bad.stderr
    listed = json.loads(run_cli("user", "list", "--json", "--data", data).stdout)["users"]
    assert [u["name"] for u in listed] == ["bea"] and listed[0]["last_sign_in"] is None
    with Accounts(data / "accounts.sqlite") as accounts:
        stored = accounts.db.execute("SELECT password FROM users").fetchone()[0]
        assert stored.startswith("scrypt:") and PASSWORD not in stored
    assert run_cli("user", "remove", "bea", "--data", data).returncode == 0
    assert run_cli("user", "remove", "bea", "--data", data).returncode == 1


def test_the_admin_area_needs_a_session_and_shows_sources_runs_and_logs(archive_copy):
    client = create_app({"data_dir": archive_copy}).test_client()
    for path in ("/admin/", "/admin/runs/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/sign-in?next=" in response.headers["Location"]
    assert client.get("/").status_code == 200  # researchers need no account

    response = sign_in(client, next="/admin/runs/1")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/runs/1"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain http here
    page = client.get("/admin/").get_data(as_text=True)
    for name in ("steppe-notes", "tenants-voice", "red-lantern", "field-notes"):
        assert name in page
    assert "Signed in as <strong>ana</strong>" in page and "finished" in page
    run = client.get("/admin/runs/1").get_data(as_text=True)
    assert "Run 1:" in run and '<pre class="log">' in run and "Spider opened" in run
    assert client.get("/admin/runs/999").status_code == 404
    # Signing out ends the session.
    assert client.post("/admin/sign-out", data={"csrf_token": token(client, "/admin/")}).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_refused_requests_change_nothing(archive_copy):
    client = create_app({"data_dir": archive_copy}).test_client()
    before = (archive_copy / "accounts.sqlite").read_bytes()
    form = {"name": "ana", "password": PASSWORD}
    no_token = client.post("/admin/sign-in", data=form)
    assert no_token.status_code == 400 and "security token" in no_token.get_data(as_text=True)
    wrong = client.post("/admin/sign-in", data={**form, "csrf_token": "forged"})
    assert wrong.status_code == 400
    foreign = client.post(
        "/admin/sign-in", data={**form, "csrf_token": token(client)}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and "another site" in foreign.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # none of them signed anyone in
    assert (archive_copy / "accounts.sqlite").read_bytes() == before  # not even a last sign-in recorded
    # A sign-out without a token does not end the session.
    assert sign_in(client).status_code == 302
    assert client.post("/admin/sign-out").status_code == 400 and client.get("/admin/").status_code == 200


def test_failed_sign_ins_are_slowed_down(archive_copy):
    client = create_app({"data_dir": archive_copy}).test_client()
    for _ in range(3):
        failed = sign_in(client, password="not the password")
        assert failed.status_code == 401 and "do not match" in failed.get_data(as_text=True)
    refused = sign_in(client)  # the next try must wait, even with the right password
    assert refused.status_code == 429 and "wait" in refused.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_a_removed_user_is_signed_out(archive_copy):
    add_user(archive_copy, "dan")
    client = create_app({"data_dir": archive_copy}).test_client()
    assert sign_in(client, "dan").status_code == 302 and client.get("/admin/").status_code == 200
    assert run_cli("user", "remove", "dan", "--data", archive_copy).returncode == 0
    assert client.get("/admin/").status_code == 302


def test_a_private_archive_shows_only_the_sign_in_page(archive_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("SAMIZDAT_PRIVATE", "true")
    client = create_app({"data_dir": archive_copy}).test_client()
    for path in ("/", "/sources", "/documents/0123456789abcdef"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/sign-in" in response.headers["Location"], path
    api = client.get("/api/search?q=rent")
    assert api.status_code == 401 and api.get_json()["error"] == "sign-in required"
    assert client.get("/admin/sign-in").status_code == 200
    response = sign_in(client, next="/", options={"base_url": "https://archive.example"})
    assert "Secure" in response.headers["Set-Cookie"]  # over https the cookie says so
    assert sign_in(client, next="/").status_code == 302  # (the test client keeps only non-Secure cookies on http)
    assert client.get("/").status_code == 200 and client.get("/api/search?q=rent").status_code == 200
    key = archive_copy / "session.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32


def newest_run(data, source):
    with Store(data / "store.sqlite") as store:
        runs = store.runs(source, limit=1)
    return runs[0] if runs else None


def test_crawl_now_starts_a_crawl_that_can_be_watched_and_stopped(archive_copy, crawl, tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text(crawl.config.read_text().replace("delay = 0\n", "delay = 0.3\n"), encoding="utf-8")
    client = create_app({"data_dir": archive_copy, "config_path": config}).test_client()
    assert sign_in(client).status_code == 302
    before = newest_run(archive_copy, "tenants-voice")["id"]
    page = client.get("/admin/").get_data(as_text=True)
    assert page.count(">Crawl now</button>") == 4
    started = client.post("/admin/sources/tenants-voice/crawl", data={"csrf_token": token(client, "/admin/")})
    assert started.status_code == 302
    assert "Crawl of tenants-voice started." in client.get("/admin/").get_data(as_text=True)
    # A second click before the crawl holds its lock starts nothing more.
    client.post("/admin/sources/tenants-voice/crawl", data={"csrf_token": token(client, "/admin/")})
    assert "being crawled already" in client.get("/admin/").get_data(as_text=True)
    wait_for(lambda: (run := newest_run(archive_copy, "tenants-voice"))["id"] > before and run.get("pages", 0) > 3)
    run = newest_run(archive_copy, "tenants-voice")
    live = client.get(f"/admin/runs/{run['id']}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in live and "Stop this run" in live  # live while it runs
    stopped = client.post(f"/admin/runs/{run['id']}/stop", data={"csrf_token": token(client, "/admin/")})
    assert stopped.status_code == 302
    wait_for(lambda: newest_run(archive_copy, "tenants-voice")["status"] == "interrupted")
    assert "SIGTERM" in newest_run(archive_copy, "tenants-voice")["interrupted_by"]
    with Accounts(archive_copy / "accounts.sqlite") as accounts:
        assert [(a["user"], a["action"]) for a in accounts.audit()][:2] == [("ana", "stop"), ("ana", "crawl now")]


def test_crawl_now_goes_to_a_running_scheduler_and_never_twice(archive_copy, crawl):
    datadir = DataDir.open(archive_copy)
    client = create_app({"data_dir": archive_copy, "config_path": crawl.config}).test_client()
    # Refused without a session, a token, or from another site: nothing asked for, nothing started.
    anonymous = client.post("/admin/sources/red-lantern/crawl", data={"csrf_token": token(client)})
    assert anonymous.status_code == 302 and "/admin/sign-in" in anonymous.headers["Location"]
    assert sign_in(client).status_code == 302
    assert client.post("/admin/sources/red-lantern/crawl").status_code == 400
    foreign = {"Origin": "https://evil.example"}
    form = {"csrf_token": token(client, "/admin/")}
    assert client.post("/admin/sources/red-lantern/crawl", data=form, headers=foreign).status_code == 403
    assert client.post("/admin/sources/nowhere/crawl", data=form).status_code == 404
    assert not datadir.crawl_requests()

    with datadir.scheduler_lock():
        assert client.post("/admin/sources/red-lantern/crawl", data=form).status_code == 302
        assert datadir.crawl_requests() == [{"source": "red-lantern", "by": "ana"}]
        assert "handed to the scheduler" in client.get("/admin/").get_data(as_text=True)
        with datadir.crawl_lock(["field-notes"]):  # being crawled: not asked for twice
            assert client.post("/admin/sources/field-notes/crawl", data=form).status_code == 302
            assert "being crawled already" in client.get("/admin/").get_data(as_text=True)
        scheduler = Scheduler(crawl.config, datadir)
        before = newest_run(archive_copy, "red-lantern")["id"]
        scheduler.tick()
        assert list(scheduler.running) == ["red-lantern"] and not datadir.crawl_requests()
        settle(scheduler)
    assert newest_run(archive_copy, "red-lantern")["id"] > before
    assert newest_run(archive_copy, "red-lantern")["status"] == "finished"


# -- sources: added, edited, disabled and deleted from the admin area ----------------------------------------

COMMENTED = """# Our sources. Keep this comment.
[settings]
timezone = "UTC"  # where the schedules are read

# The tenants' blog
[[source]]
name = "tenants-voice"  # the slug
kind = "blogger"
start_urls = ["{base}/tenants-voice/"]
delay = 0.0  # the sample site is ours
labels = ["housing"]
# end of the tenants' table

[[source]]
name = "red-lantern"
start_urls = ["{base}/red-lantern/"]
schedule = "0 3 * * *"
"""


@pytest.fixture
def managed(archive_copy, sample_sites, tmp_path):
    """A signed-in client of a server given a hand-written, commented sources.toml."""
    config = tmp_path / "sources.toml"
    config.write_text(COMMENTED.format(base=sample_sites.urls["blogger"]), encoding="utf-8")
    client = create_app({"data_dir": archive_copy, "config_path": config}).test_client()
    assert sign_in(client).status_code == 302
    return client, config, archive_copy


def revision_of(client, path):
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="revision" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def source_form(client, path, **values):
    """The form as the page shows it, with `values` typed over it."""
    page = client.get(path).get_data(as_text=True)
    form = {"csrf_token": token(client, path), "revision": revision_of(client, path)}
    for name, value in re.findall(r'<input id="f-[^"]+" name="([^"]+)" value="([^"]*)"', page):
        form[name] = value
    for name, value in re.findall(r'<textarea id="f-[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', page):
        form[name] = value
    kind = re.search(r'<option value="([^"]*)" selected>', page)
    form["kind"] = kind.group(1) if kind else ""
    if 'name="obey_robots" value="true" checked' in page:
        form["obey_robots"] = "true"
    form.update(values)
    return form


def test_a_source_is_added_from_the_admin_area_keeping_the_file_as_written(managed, sample_sites):
    client, config, data = managed
    before = config.read_text()
    form = source_form(
        client,
        "/admin/sources/new",
        name="field-notes",
        start_urls=f"{sample_sites.urls['blogger']}/field-notes/\n",
        labels="magazine\nbacklist",
        schedule="30 4 * * 1",
        delay="0.5",
        obey_robots="true",
    )
    response = client.post("/admin/sources/new", data=form)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/sources/field-notes"
    text = config.read_text()
    assert text.startswith(before)  # every line as it was, comments included; the new table after them
    added = tomllib.loads(text)["source"][-1]
    assert added == {
        "name": "field-notes",
        "start_urls": [f"{sample_sites.urls['blogger']}/field-notes/"],
        "labels": ["magazine", "backlist"],
        "schedule": "30 4 * * 1",
        "delay": 0.5,
    }  # defaults (obey_robots = true, kind detected) need no line
    assert load_config(config).select(["field-notes"])[0].labels == ("magazine", "backlist")
    page = client.get("/admin/sources/field-notes").get_data(as_text=True)
    assert "30 4 * * 1" in page and "Crawl now" in page
    assert "/admin/sources/field-notes" in client.get("/admin/").get_data(as_text=True)
    with Accounts(data / "accounts.sqlite") as accounts:
        assert (accounts.audit()[0]["action"], accounts.audit()[0]["target"]) == ("add source", "field-notes")


def test_a_bad_source_is_refused_with_the_files_own_message_next_to_its_field(managed, sample_sites):
    client, config, _ = managed
    before = config.read_bytes()
    cases = {
        "schedule": ("every monday", "schedule 'every monday' is not a cron expression"),
        "name": ("Field Notes", "name 'Field Notes' is not a slug"),
        "start_urls": ("ftp://example.org/", "start URL 'ftp://example.org/' is not an http or https URL"),
        "max_pages": ("many", "max_pages must be a whole number, not str 'many'"),
        "include": ("(unclosed", "'(unclosed' is not a valid regular expression"),
    }
    for key, (typed, message) in cases.items():
        values = {"name": "field-notes", "start_urls": f"{sample_sites.urls['blogger']}/field-notes/", key: typed}
        response = client.post("/admin/sources/new", data=source_form(client, "/admin/sources/new", **values))
        page = response.get_data(as_text=True)
        assert response.status_code == 400, key
        error = re.search(r'<p class="field-error" id="f-([a-z_]+)-error" role="alert">([^<]*)</p>', page)
        assert error and error.group(1) == key and message in error.group(2).replace("&#39;", "'"), (key, page)
        assert f'value="{typed}"' in page or f">{typed}</textarea>" in page  # what was typed is kept
        # The same words as `load_config` says of the same mistake in the file.
        with pytest.raises(ConfigError) as raised:
            text = COMMENTED.format(base=sample_sites.urls["blogger"]) + _toml_table(values)
            parse_config(text, config, {})
        assert raised.value.key == key and message in raised.value.problem
    taken = source_form(
        client, "/admin/sources/new", name="red-lantern", start_urls=f"{sample_sites.urls['blogger']}/x/"
    )
    page = client.post("/admin/sources/new", data=taken).get_data(as_text=True)
    assert "name already used by the source at line 14" in page
    assert config.read_bytes() == before  # nothing written


def _toml_table(values):
    lines = ["\n[[source]]"]
    for key, value in values.items():
        if key in ("start_urls", "include"):
            lines.append(f"{key} = {json.dumps([value])}")
        elif key == "max_pages":
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def test_a_source_is_edited_in_place_and_its_comments_kept(managed):
    client, config, _ = managed
    form = source_form(client, "/admin/sources/tenants-voice/edit", delay="2", labels="housing\nrent strike")
    response = client.post("/admin/sources/tenants-voice/edit", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    text = config.read_text()
    assert "delay = 2  # the sample site is ours" in text  # the value changed, its comment stayed
    assert 'name = "tenants-voice"  # the slug' in text and "# end of the tenants' table" in text
    assert text.index('labels = ["housing", "rent strike"]') < text.index("# end of the tenants' table")
    assert "# Our sources. Keep this comment." in text and "# The tenants' blog" in text
    source = load_config(config).select(["tenants-voice"])[0]
    assert source.delay == 2.0 and source.labels == ("housing", "rent strike") and source.kind == "blogger"
    # A source keeps its name: a renamed form field is ignored.
    form = source_form(client, "/admin/sources/tenants-voice/edit", name="other-name", max_pages="50")
    assert client.post("/admin/sources/tenants-voice/edit", data=form).status_code == 302
    assert [s.name for s in load_config(config).sources] == ["tenants-voice", "red-lantern"]
    assert load_config(config).sources[0].max_pages == 50
    # An empty field removes its key; an unticked box says false.
    form = source_form(client, "/admin/sources/tenants-voice/edit", max_pages="")
    del form["obey_robots"]
    form["obey_robots"] = "false"
    assert client.post("/admin/sources/tenants-voice/edit", data=form).status_code == 302
    source = load_config(config).sources[0]
    assert source.max_pages is None and source.obey_robots is False


def test_a_form_shown_before_the_file_changed_writes_nothing(managed):
    client, config, _ = managed
    form = source_form(client, "/admin/sources/tenants-voice/edit", delay="3")
    config.write_text(config.read_text() + "# edited by hand meanwhile\n", encoding="utf-8")
    before = config.read_bytes()
    response = client.post("/admin/sources/tenants-voice/edit", data=form)
    assert response.status_code == 400 and "changed since this page was shown" in response.get_data(as_text=True)
    assert config.read_bytes() == before


def test_a_disabled_source_is_not_crawled_until_enabled_and_a_deleted_one_leaves_the_file(managed):
    client, config, data = managed
    revision = revision_of(client, "/admin/sources/red-lantern")
    form = {"csrf_token": token(client, "/admin/"), "revision": revision}
    assert client.post("/admin/sources/red-lantern/disable", data=form).status_code == 302
    assert "enabled = false" in config.read_text()
    loaded = load_config(config)
    assert [s.name for s in loaded.select([])] == ["tenants-voice"]  # a bare crawl leaves it out
    assert loaded.select(["red-lantern"])[0].enabled is False  # named, it is crawled
    scheduler = Scheduler(config, DataDir.open(data))
    assert "red-lantern" not in [s.name for s in scheduler.startable(lambda source: True)]
    page = client.get("/admin/").get_data(as_text=True)
    assert "disabled" in page and "/admin/sources/red-lantern/crawl" not in page
    assert client.post("/admin/sources/red-lantern/crawl", data=form).status_code == 302
    assert (
        "is disabled" in client.get("/admin/").get_data(as_text=True)
        and newest_run(data, "red-lantern")["status"] != "running"
    )
    form["revision"] = revision_of(client, "/admin/sources/red-lantern")
    assert client.post("/admin/sources/red-lantern/enable", data=form).status_code == 302
    assert "enabled" not in config.read_text() and load_config(config).sources[1].enabled

    confirm = client.get("/admin/sources/red-lantern/delete").get_data(as_text=True)
    assert "stay in the WARC files" in confirm
    form["revision"] = revision_of(client, "/admin/sources/red-lantern/delete")
    assert client.post("/admin/sources/red-lantern/delete", data=form).status_code == 302
    text = config.read_text()
    assert "red-lantern" not in text and "# end of the tenants' table" in text
    assert [s.name for s in load_config(config).sources] == ["tenants-voice"]
    assert newest_run(data, "red-lantern") is not None  # its runs and archive stay
    # The last source cannot go: a sources.toml needs one.
    form["revision"] = revision_of(client, "/admin/sources/tenants-voice/delete")
    client.post("/admin/sources/tenants-voice/delete", data=form)
    assert "no [[source]] table" in client.get("/admin/sources/tenants-voice").get_data(as_text=True)
    assert "tenants-voice" in config.read_text()
    with Accounts(data / "accounts.sqlite") as accounts:
        actions = [a["action"] for a in accounts.audit()][:4]
    assert actions == ["delete source", "enable source", "disable source", "sign in"] or actions[:3] == [
        "delete source",
        "enable source",
        "disable source",
    ]


def test_refused_source_changes_write_nothing(managed, archive_copy, sample_sites):
    client, config, _ = managed
    before = config.read_bytes()
    revision = revision_of(client, "/admin/sources/tenants-voice")
    good = source_form(client, "/admin/sources/new", name="zine", start_urls=f"{sample_sites.urls['blogger']}/zine/")
    posts = {
        "/admin/sources/new": good,
        "/admin/sources/tenants-voice/edit": source_form(client, "/admin/sources/tenants-voice/edit", delay="9"),
        "/admin/sources/tenants-voice/disable": {"revision": revision, "csrf_token": token(client, "/admin/")},
        "/admin/sources/tenants-voice/enable": {"revision": revision, "csrf_token": token(client, "/admin/")},
        "/admin/sources/tenants-voice/delete": {"revision": revision, "csrf_token": token(client, "/admin/")},
    }
    anonymous = create_app({"data_dir": archive_copy, "config_path": config}).test_client()
    for path, form in posts.items():
        unsigned = anonymous.post(path, data={**form, "csrf_token": token(anonymous)})
        assert unsigned.status_code == 302 and "/admin/sign-in" in unsigned.headers["Location"], path
        no_token = client.post(path, data={k: v for k, v in form.items() if k != "csrf_token"})
        assert no_token.status_code == 400, path
        assert client.post(path, data={**form, "csrf_token": "forged"}).status_code == 400, path
        foreign = client.post(path, data=form, headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403, path
        assert config.read_bytes() == before, path
    for path in (
        "/admin/sources/new",
        "/admin/sources/tenants-voice/edit",
        "/admin/sources/tenants-voice/delete",
        "/admin/sources/nowhere",
    ):
        assert anonymous.get(path).status_code == 302
    assert client.get("/admin/sources/nowhere").status_code == 404
    assert client.get("/admin/sources/nowhere/edit").status_code == 404
    # Without a sources.toml there is nothing to manage.
    bare = create_app({"data_dir": archive_copy}).test_client()
    assert sign_in(bare).status_code == 302
    assert bare.get("/admin/sources/new").status_code == 404
    assert "--config" in bare.get("/admin/").get_data(as_text=True)


def test_a_sources_page_lists_its_runs_with_their_logs_and_the_runs_figures_as_json(managed, archive_copy):
    client, _, _ = managed
    page = client.get("/admin/sources/tenants-voice").get_data(as_text=True)
    with Store(archive_copy / "store.sqlite") as store:
        run = store.runs("tenants-voice", limit=-1)[-1]  # the session's first crawl of it
    assert f"/admin/runs/{run['id']}#log" in page and "finished" in page and "housing" in page
    figures = client.get(f"/admin/runs/{run['id']}.json")
    assert figures.status_code == 200 and figures.headers["Cache-Control"] == "no-store"
    body = figures.get_json()
    assert body["source"] == "tenants-voice" and body["pages"] > 10 and body["articles"]["new"] > 0
    assert {"pages_per_second", "queued", "errors", "status"} <= set(body)
    anonymous = create_app({"data_dir": archive_copy}).test_client()
    assert anonymous.get(f"/admin/runs/{run['id']}.json").status_code == 302
    assert client.get("/admin/runs/999.json").status_code == 404
