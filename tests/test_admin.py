"""The archivists' area with Flask's test client: accounts made with `samizdat user`, sign-in, sessions,
and every refusal (no session, no CSRF token, a wrong one, a foreign Origin, too many failed sign-ins)
checked on disk to have changed nothing; a private archive shows nothing but the sign-in page."""

from __future__ import annotations

import json
import re
import shutil
import stat

import pytest

from archive.accounts import Accounts
from archive.datadir import DataDir
from archive.store import Store
from samizdat.scheduler import Scheduler
from tests.conftest import run_cli
from tests.test_durable import wait_for
from tests.test_scheduler import settle
from webui import create_app

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
