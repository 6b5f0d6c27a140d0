"""sources.toml: every kind of mistake gets one line naming the place, the problem and the fix."""

import re
from pathlib import Path

import pytest

from samizdat.archive.config import SETTING_KEYS, Settings, load_config, parse_config
from samizdat.archive.errors import ConfigError
from tests.conftest import run_cli

GOOD = """\
[settings]
timeout_seconds = 10

[[source]]
name = "steppe-notes"
kind = "blogger"
start_urls = ["https://steppe.example.org/"]
labels = ["Kazakhstan"]
schedule = "0 3 * * 1"
max_pages = 500
delay = 0.5
obey_robots = true
include = ["/20\\\\d\\\\d/"]
exclude = ["/tag/"]

[[source]]
name = "tenants"
start_urls = ["http://tenants.example.net:8080/"]
"""


def parse(text: str, environ: dict[str, str] | None = None):
    return parse_config(text, Path("sources.toml"), environ or {})


def test_a_good_file_parses_with_defaults():
    config = parse(GOOD)
    blog, tenants = config.sources
    assert blog.kind == "blogger" and blog.labels == ("Kazakhstan",) and blog.delay == 0.5
    assert blog.scope == ("steppe.example.org",)
    assert tenants.kind is None and tenants.obey_robots is True and tenants.max_pages is None
    assert tenants.scope == ("tenants.example.net:8080",)
    assert config.settings.timeout_seconds == 10
    assert config.settings.max_page_bytes == SETTING_KEYS["max_page_bytes"].default


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ('start_urls = ["http://tenants', 'start_url = ["http://tenants'),
            "sources.toml:18: source 'tenants': unknown key 'start_url'; did you mean \"start_urls\"?",
        ),
        (
            ('kind = "blogger"', 'kind = "bloger"'),
            "sources.toml:6: source 'steppe-notes': kind 'bloger' is not one of blogger, wordpress, magazine, "
            'generic; did you mean "blogger"?',
        ),
        (
            ('name = "tenants"', 'name = "steppe-notes"'),
            "sources.toml:17: source 'steppe-notes': name already used by the source at line 4",
        ),
        (
            ('name = "tenants"', 'name = "Tenants Union"'),
            "sources.toml:17: source 'Tenants Union': name 'Tenants Union' is not a slug",
        ),
        (
            ('start_urls = ["https://steppe', 'start_urls = ["ftp://steppe'),
            "sources.toml:7: source 'steppe-notes': start URL 'ftp://steppe.example.org/' is not an http or https URL",
        ),
        (
            ('start_urls = ["http://tenants.example.net:8080/"]', 'start_urls = "http://tenants.example.net/"'),
            "sources.toml:18: source 'tenants': start_urls must be a list, e.g. start_urls = ",
        ),
        (("max_pages = 500", "max_pages = -1"), "sources.toml:10: source 'steppe-notes': must be positive"),
        (
            ("max_pages = 500", 'max_pages = "500"'),
            "sources.toml:10: source 'steppe-notes': max_pages must be a whole number, not str '500'",
        ),
        (("delay = 0.5", "delay = -2"), "sources.toml:11: source 'steppe-notes': delay must be 0 or more"),
        (
            ("obey_robots = true", 'obey_robots = "no"'),
            "sources.toml:12: source 'steppe-notes': obey_robots must be true or false",
        ),
        (
            ('exclude = ["/tag/"]', 'exclude = ["/tag/("]'),
            "sources.toml:14: source 'steppe-notes': '/tag/(' is not a valid regular expression",
        ),
        (
            ('schedule = "0 3 * * 1"', 'schedule = "every monday"'),
            "sources.toml:9: source 'steppe-notes': schedule 'every monday' is not a cron expression",
        ),
        (('name = "tenants"\n', ""), "sources.toml:16: source #2: missing required key 'name'"),
        (
            ("timeout_seconds = 10", "timeout = 10"),
            "sources.toml:2: [settings]: unknown key 'timeout'; did you mean \"timeout_seconds\"?",
        ),
        (("[settings]", "[setings]"), "sources.toml:1: unknown table or key 'setings'; did you mean \"settings\"?"),
        (('labels = ["Kazakhstan"]', 'labels = ["Kazakhstan"'), "sources.toml: not valid TOML: "),
        (
            ("https://steppe.example.org/", "https://steppe .example.org/"),
            "sources.toml:7: source 'steppe-notes': start URL 'https://steppe .example.org/' has a space in its host "
            "name 'steppe .example.org'",
        ),
        (
            ("http://tenants.example.net:8080/", "http://tenants.example.net:80800/"),
            "sources.toml:18: source 'tenants': start URL 'http://tenants.example.net:80800/' has a port that is not",
        ),
        (
            ('labels = ["Kazakhstan"]', 'allowed_domains = ["steppe.example.org blog.example.org"]'),
            "sources.toml:8: source 'steppe-notes': allowed domain 'steppe.example.org blog.example.org' has a space "
            'in it; write one host name per string, e.g. ["a.org", "b.org"]',
        ),
        (
            ('labels = ["Kazakhstan"]', 'allowed_domains = ["blog.example.org"]'),
            "sources.toml:8: source 'steppe-notes': start URL 'https://steppe.example.org/' is outside "
            "allowed_domains (blog.example.org): nothing could be crawled; add 'steppe.example.org' to allowed_domains",
        ),
        (
            ('labels = ["Kazakhstan"]', 'allowed_domains = ["*.example.org"]'),
            "sources.toml:8: source 'steppe-notes': allowed domain '*.example.org': write 'example.org' (its "
            "subdomains are included)",
        ),
    ],
)
def test_each_mistake_names_line_source_field_and_fix(edit, expected):
    old, new = edit
    assert old in GOOD
    with pytest.raises(ConfigError) as info:
        parse(GOOD.replace(old, new, 1))
    assert str(info.value).startswith(expected), str(info.value)
    assert "\n" not in str(info.value)


def test_a_file_without_sources_is_an_error():
    with pytest.raises(ConfigError, match=r"no \[\[source\]\] table"):
        parse("[settings]\ntimeout_seconds = 3\n")


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "sources.toml")


def test_environment_overrides_the_file_and_flags_override_both():
    config = parse(GOOD, {"SAMIZDAT_TIMEOUT_SECONDS": "4", "SAMIZDAT_RETRY_TIMES": "5"})
    assert config.settings.timeout_seconds == 4.0 and config.settings.retry_times == 5
    assert config.settings.override(retry_times=1, timeout_seconds=None).retry_times == 1
    with pytest.raises(ConfigError, match="SAMIZDAT_RETRY_TIMES: retry_times must be a whole number"):
        parse(GOOD, {"SAMIZDAT_RETRY_TIMES": "many"})


def test_allowed_domains_take_subdomains_and_ports_of_the_start_urls():
    text = GOOD.replace('labels = ["Kazakhstan"]', 'allowed_domains = ["example.org"]')
    text = text.replace(
        'start_urls = ["http://tenants', 'allowed_domains = ["tenants.example.net:8080"]\nstart_urls = ["http://tenants'
    )
    steppe, tenants = parse(text).sources
    assert steppe.scope == ("example.org",) and tenants.scope == ("tenants.example.net:8080",)
    with pytest.raises(ConfigError, match=re.escape("'http://tenants.example.net:8080/' is outside allowed_domains")):
        parse(text.replace('"tenants.example.net:8080"]', '"tenants.example.net:9090"]'))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SAMIZDAT_TIMOUT_SECONDS", 'did you mean "SAMIZDAT_TIMEOUT_SECONDS"?'),
        ("SAMIZDAT_TIMEOUT", 'did you mean "SAMIZDAT_TIMEOUT_SECONDS"?'),
        ("SAMIZDAT_DATA_DIR", 'did you mean "SAMIZDAT_DATA"?'),
        ("samizdat_retry_times", 'did you mean "SAMIZDAT_RETRY_TIMES"?'),
        ("SAMIZDAT_COLOUR", "unset it"),
    ],
)
def test_a_misspelt_environment_variable_is_named_with_the_closest_known_one(name, expected):
    with pytest.raises(ConfigError) as info:
        parse(GOOD, {name: "3"})
    assert str(info.value) == f"environment variable {name}: not a samizdat setting; {expected}"
    parse(GOOD, {"SAMIZDAT_DATA": "/srv/archive", "SAMIZDAT_CONFIG": "x.toml", "OTHER_TIMOUT": "1"})  # all fine


def test_unknown_source_name_suggests_the_closest():
    config = parse(GOOD)
    assert [s.name for s in config.select(["tenants"])] == ["tenants"]
    with pytest.raises(ConfigError, match="no source named 'steppe-note'; did you mean \"steppe-notes\""):
        config.select(["steppe-note"])


def test_every_setting_is_declared_once_with_help():
    assert set(SETTING_KEYS) == set(Settings.__dataclass_fields__)
    assert all(key.help for key in SETTING_KEYS.values())


def test_init_writes_a_commented_starter_that_loads_and_never_overwrites(tmp_path):
    target = tmp_path / "sources.toml"
    result = run_cli("init", "--config", target)
    assert result.returncode == 0, result.stderr
    text = target.read_text(encoding="utf-8")
    config = load_config(target)
    assert [s.name for s in config.sources] == ["example-blog"] and config.sources[0].schedule
    assert text.count("# [[source]]") >= 2 and "watch_minutes" in text  # the other kinds and keys, commented
    target.write_text("mine\n", encoding="utf-8")
    again = run_cli("init", "--config", target)
    assert again.returncode == 1 and "exists already" in again.stderr
    assert target.read_text(encoding="utf-8") == "mine\n"


# -- proxy ---------------------------------------------------------------------------------------------------


def with_proxy(value: str, start: str = "http://tenants.example.net:8080/") -> str:
    return GOOD.replace('start_urls = ["http://tenants.example.net:8080/"]', f'start_urls = ["{start}"]') + (
        f'proxy = "{value}"\n'
    )


@pytest.mark.parametrize(
    "value",
    [
        "http://127.0.0.1:3128",
        "https://proxy.example.org:443",
        "http://ana:pa%3Ass@proxy.example.org:8080/",
        "socks5://10.0.0.2:1080",
        "socks5h://ana:secret@[::1]:1080",
        "socks5h://user-only@proxy.example.org:1080",
    ],
)
def test_a_proxy_is_an_http_https_socks5_or_socks5h_url(value):
    (_, tenants) = parse(with_proxy(value)).sources
    assert tenants.proxy == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ftp://proxy.example.org:21", "proxy 'ftp://proxy.example.org:21' is not an http://, https://, socks5://"),
        ("socks4://h.example.org:1080", "is not an http://, https://, socks5:// or socks5h:// URL; e.g."),
        ("127.0.0.1:1080", "proxy '127.0.0.1:1080' is not an http://"),
        ("socks5h://ana:s3cret@proxy.example.org", "proxy 'socks5h://ana:***@proxy.example.org' has no port"),
        ("http://proxy.example.org:99999", "has a port that is not a number from 1 to 65535"),
        ("http://proxy.example.org:31x8", "has a port that is not a number from 1 to 65535"),
        ("socks5://:1080", "proxy 'socks5://:1080' has no host"),
        ("socks5://proxy one.example.org:1080", "has a space in its host name 'proxy one.example.org'"),
        ("socks5://prox!y.example.org:1080", "has a host name 'prox!y.example.org' with characters no host name has"),
        ("http://proxy.example.org:3128/path", "has something after the port; write only scheme://"),
        (" http://proxy.example.org:3128", "has spaces around it"),
        ("http://[::1:3128", "is not a URL"),
        ("http://ana:***@proxy.example.org:3128", "*** stands for a password that is not shown; type the password"),
        ("socks5://ana:" + "x" * 256 + "@h.example.org:1080", "255 bytes each at most"),
    ],
)
def test_a_bad_proxy_is_one_line_naming_the_key_and_never_the_password(value, problem):
    with pytest.raises(ConfigError) as info:
        parse(with_proxy(value))
    message = str(info.value)
    assert message.startswith("sources.toml:19: source 'tenants': proxy "), message
    assert problem in message and "\n" not in message
    assert info.value.key == "proxy"
    assert "s3cret" not in message and "x" * 256 not in message


def test_an_https_proxy_cannot_carry_https_sites():
    with pytest.raises(ConfigError, match=r"sources.toml:19: .*https sites cannot be fetched through an https://"):
        parse(with_proxy("https://ana:s3cret@proxy.example.org:443", start="https://tenants.example.net/"))
    (_, tenants) = parse(with_proxy("http://proxy.example.org:3128", start="https://tenants.example.net/")).sources
    assert tenants.proxy == "http://proxy.example.org:3128"


def test_the_proxy_password_is_redacted_wherever_a_source_is_shown():
    from samizdat.archive.config import Source, redact_proxy

    (_, tenants) = parse(with_proxy("socks5h://ana:s3cret@proxy.example.org:1080")).sources
    assert tenants.to_dict()["proxy"] == "socks5h://ana:***@proxy.example.org:1080"  # the WARC's warcinfo
    assert "s3cret" not in repr(tenants) and "s3cret" not in str(tenants.to_dict())
    assert Source.from_dict(tenants.to_dict()).proxy == "socks5h://ana:***@proxy.example.org:1080"
    assert redact_proxy("http://a:b@c@h.example.org:1/") == "http://a:***@h.example.org:1/"  # the last @ ends it
    assert redact_proxy("http://user-only@h.example.org:1") == "http://user-only@h.example.org:1"
    assert redact_proxy("not a url") == "not a url"
