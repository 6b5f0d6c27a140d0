"""sources.toml and the settings: every key declared once, with its default, type and help.

Precedence, lowest first: defaults < the `[settings]` table of sources.toml < `SAMIZDAT_*` environment
variables < command-line flags (applied by the CLI with `Settings.override`).
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from samizdat.archive.errors import ConfigError
from samizdat.archive.urls import host_port

KINDS = ("blogger", "wordpress", "magazine", "generic")
CAPTURES = ("http", "browser")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Key:
    name: str
    type: type | tuple[type, ...]
    default: Any
    help: str


# The keys of one [[source]] table.
SOURCE_KEYS = {
    k.name: k
    for k in (
        Key("name", str, None, "unique slug naming the source (required)"),
        Key("kind", str, None, "blogger | wordpress | magazine | generic; detected from the site when omitted"),
        Key("start_urls", list, None, "where the crawl starts (required; http and https only)"),
        Key("allowed_domains", list, None, "hosts the crawl may visit (default: the hosts of start_urls)"),
        Key("labels", list, [], "labels added to every document of the source"),
        Key("schedule", str, None, 'cron expression for recurring crawls, e.g. "0 3 * * *"'),
        Key("max_pages", int, None, "fetch at most this many pages per run (default: no cap; robots.txt not counted)"),
        Key(
            "max_minutes",
            (int, float),
            None,
            "stop a crawl after this many minutes, as interrupted: the next crawl resumes it (default: no limit)",
        ),
        Key(
            "watch_minutes",
            (int, float),
            None,
            "between full crawls, `samizdat schedule` looks at the feeds and sitemaps this often for new, "
            "changed and deleted posts (default: no watching)",
        ),
        Key("delay", (int, float), 1.0, "seconds between requests to one host"),
        Key("obey_robots", bool, True, "obey robots.txt"),
        Key("include", list, [], "URL regexes: when given, only matching URLs are followed"),
        Key("exclude", list, [], "URL regexes never followed"),
        Key(
            "enabled",
            bool,
            True,
            "false: never crawled on schedule nor by a bare `samizdat crawl` (only when named); its archive stays",
        ),
        Key(
            "proxy",
            str,
            None,
            "fetch the source's pages through this proxy: http://, https://, socks5:// or socks5h:// (the proxy "
            "resolves host names) [user:password@]host:port; the password is never shown or logged",
        ),
        Key(
            "requisites",
            bool,
            True,
            "also archive what each HTML page needs to render: stylesheets and what they import, fonts, images, "
            "icons (never extracted, searched or exported as articles)",
        ),
        Key(
            "requisite_hosts",
            list,
            [],
            'other hosts requisites may come from (e.g. ["cdn.example.net"]; ["*"] for any host); never used for pages',
        ),
        Key("requisite_scripts", bool, False, "also archive the scripts pages load (replay never runs them)"),
        Key(
            "capture",
            str,
            "http",
            '"http": fetch each page as it is served; "browser": load pages in headless Chromium and archive '
            "everything it fetched, extracting the rendered page (for sites that build their text with JavaScript)",
        ),
    )
}

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
REDACTED = "***"  # what a proxy's password is shown as

# The command line's own variables (click's envvar=): every other SAMIZDAT_* name must be a setting's.
CLI_ENVIRONMENT = ("SAMIZDAT_DATA", "SAMIZDAT_CONFIG")

# Crawl-wide settings: the [settings] table, or SAMIZDAT_<NAME> in the environment.
SETTING_KEYS = {
    k.name: k
    for k in (
        Key("timeout_seconds", (int, float), 30.0, "give up on a response after this many seconds"),
        Key(
            "max_page_bytes",
            int,
            20 * 1024 * 1024,
            "responses larger than this, as received or once decompressed, are not kept for extraction",
        ),
        Key("max_requisites_per_page", int, 100, "requisites archived for one page, at most (the rest are counted)"),
        Key(
            "max_requisite_bytes",
            int,
            5 * 1024 * 1024,
            "a requisite (stylesheet, font, image, script) larger than this, as received or decompressed, is not kept",
        ),
        Key("browser_timeout_seconds", (int, float), 30.0, 'capture = "browser": give up on a page after this long'),
        Key(
            "browser_max_memory_mb",
            int,
            1024,
            'capture = "browser": the browser is restarted past this much memory; a page that needs more is skipped',
        ),
        Key("warc_max_bytes", int, 100 * 1000 * 1000, "start a new WARC file past this size"),
        Key("retry_times", int, 2, "retries after a 5xx or a timeout"),
        Key("concurrency_per_host", int, 4, "parallel requests to one host"),
        Key("depth_limit", int, 40, "links followed from a start URL, at most (0: no limit)"),
        Key("progress_seconds", (int, float), 5.0, "seconds between progress lines while crawling (0: none)"),
        Key("workers", int, 0, "processes extracting pages beside the crawl and the reindex (0: one per core)"),
        Key("extract_timeout_seconds", (int, float), 30.0, "give up extracting one page after this many seconds"),
        Key("timezone", str, "UTC", "the time zone of the sources' schedules (an IANA name, e.g. Europe/Berlin)"),
        Key("max_parallel_crawls", int, 2, "sources `samizdat schedule` crawls at once, at most"),
        Key(
            "stall_minutes",
            (int, float),
            30.0,
            "a scheduled crawl with no progress for this long is stopped and recorded as failed (stalled)",
        ),
        Key(
            "private",
            bool,
            False,
            "the web UI and API only for signed-in archivists (by default search, documents and the API are open)",
        ),
        Key(
            "user_agent",
            str,
            "samizdat/0.1 (web archiving; +https://github.com/samizdat-archive/samizdat)",
            "User-Agent header sent with every request",
        ),
    )
}


@dataclass(frozen=True)
class Source:
    name: str
    start_urls: tuple[str, ...]
    kind: str | None = None
    allowed_domains: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    schedule: str | None = None
    max_pages: int | None = None
    max_minutes: float | None = None
    watch_minutes: float | None = None
    delay: float = 1.0
    obey_robots: bool = True
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    enabled: bool = True
    # repr=False: a source in a log line or a traceback never shows the proxy's password
    proxy: str | None = field(default=SOURCE_KEYS["proxy"].default, repr=False)
    requisites: bool = SOURCE_KEYS["requisites"].default
    requisite_hosts: tuple[str, ...] = ()
    requisite_scripts: bool = SOURCE_KEYS["requisite_scripts"].default
    capture: str = SOURCE_KEYS["capture"].default
    line: int = 0  # where the [[source]] table starts, for messages

    @property
    def scope(self) -> tuple[str, ...]:
        """Hosts (host[:port]) this source may visit."""
        return self.allowed_domains or tuple(dict.fromkeys(host_port(u) for u in self.start_urls))

    def to_dict(self) -> dict[str, Any]:
        """The definition as it is recorded (in each WARC file's warcinfo): the proxy's password redacted."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "line"}
        if self.proxy:
            data["proxy"] = redact_proxy(self.proxy)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Source:
        names = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
        return cls(**kwargs)


def redact_proxy(url: str) -> str:
    """The proxy URL with its password replaced by ***, for anything shown, logged or recorded; never raises,
    whatever the text."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, hostport = rest[:end].rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}:{REDACTED}@{hostport}{rest[end:]}"


def in_scope(netloc: str, scope: tuple[str, ...] | list[str]) -> bool:
    """Whether host[:port] `netloc` is one a source with this scope may visit: a scope entry with a port is
    that host and port only; one without takes the host on any port and its subdomains."""
    host = netloc.split(":")[0]
    return any(netloc == d or (":" not in d and (host == d or host.endswith("." + d))) for d in scope)


@dataclass(frozen=True)
class Settings:
    timeout_seconds: float = SETTING_KEYS["timeout_seconds"].default
    max_page_bytes: int = SETTING_KEYS["max_page_bytes"].default
    max_requisites_per_page: int = SETTING_KEYS["max_requisites_per_page"].default
    max_requisite_bytes: int = SETTING_KEYS["max_requisite_bytes"].default
    browser_timeout_seconds: float = SETTING_KEYS["browser_timeout_seconds"].default
    browser_max_memory_mb: int = SETTING_KEYS["browser_max_memory_mb"].default
    warc_max_bytes: int = SETTING_KEYS["warc_max_bytes"].default
    retry_times: int = SETTING_KEYS["retry_times"].default
    concurrency_per_host: int = SETTING_KEYS["concurrency_per_host"].default
    depth_limit: int = SETTING_KEYS["depth_limit"].default
    progress_seconds: float = SETTING_KEYS["progress_seconds"].default
    workers: int = SETTING_KEYS["workers"].default
    extract_timeout_seconds: float = SETTING_KEYS["extract_timeout_seconds"].default
    timezone: str = SETTING_KEYS["timezone"].default
    max_parallel_crawls: int = SETTING_KEYS["max_parallel_crawls"].default
    stall_minutes: float = SETTING_KEYS["stall_minutes"].default
    private: bool = SETTING_KEYS["private"].default
    user_agent: str = SETTING_KEYS["user_agent"].default

    def override(self, **values: Any) -> Settings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


@dataclass
class Config:
    path: Path
    sources: list[Source] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)

    def select(self, names: tuple[str, ...] | list[str]) -> list[Source]:
        """The named sources (all enabled ones when none are named); an unknown name is an error with a
        suggestion."""
        if not names:
            enabled = [s for s in self.sources if s.enabled]
            if not enabled:
                raise ConfigError(f"{self.path}: every source is disabled (enabled = false); name one to crawl it")
            return enabled
        known = {s.name: s for s in self.sources}
        chosen = []
        for name in names:
            if name not in known:
                raise ConfigError(f"{self.path}: no source named {name!r}{_suggest(name, known)}")
            chosen.append(known[name])
        return chosen


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate sources.toml; any problem raises ConfigError naming the line and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; write one (see README, 'sources.toml') or pass --config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    return parse_config(text, path, os.environ if environ is None else environ)


def environment_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings when there is no sources.toml: defaults and SAMIZDAT_* environment variables."""
    return _parse_settings({}, _LineFinder(""), "", os.environ if environ is None else environ)


def parse_config(text: str, path: Path, environ: Mapping[str, str]) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    lines = _LineFinder(text)
    where = f"{path}:"
    for key in data:
        if key not in ("source", "settings"):
            raise ConfigError(
                f"{where}{lines.top_level(key)}: unknown table or key {key!r}{_suggest(key, ('source', 'settings'))}"
            )
    settings = _parse_settings(data.get("settings", {}), lines, where, environ)
    raw_sources = data.get("source", [])
    if not isinstance(raw_sources, list) or not all(isinstance(s, dict) for s in raw_sources):
        raise ConfigError(f"{where}{lines.top_level('source')}: write each source as a [[source]] table")
    if not raw_sources:
        raise ConfigError(f"{where}1: no [[source]] table; add one per site (see README, 'sources.toml')")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_sources):
        source = _parse_source(raw, index, lines, where)
        if source.name in seen:
            problem = f"name already used by the source at line {seen[source.name]}; names must be unique"
            raise ConfigError(
                f"{where}{lines.key(index, 'name')}: source {source.name!r}: {problem}", key="name", problem=problem
            )
        seen[source.name] = source.line
        sources.append(source)
    return Config(path=path, sources=sources, settings=settings)


def _parse_source(raw: dict[str, Any], index: int, lines: _LineFinder, where: str) -> Source:
    name = raw.get("name")
    label = f"source {name!r}" if isinstance(name, str) else f"source #{index + 1}"

    def fail(key: str | None, problem: str) -> ConfigError:
        line = lines.key(index, key) if key else lines.table(index)
        return ConfigError(f"{where}{line}: {label}: {problem}", key=key, problem=problem)

    for key in raw:
        if key not in SOURCE_KEYS:
            raise fail(key, f"unknown key {key!r}{_suggest(key, SOURCE_KEYS)}")
    for required in ("name", "start_urls"):
        if required not in raw:
            raise fail(None, f"missing required key {required!r} ({SOURCE_KEYS[required].help})")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        spec = SOURCE_KEYS[key]
        if spec.type is list:
            if isinstance(value, str):
                raise fail(key, f'{key} must be a list, e.g. {key} = ["{value}"]')
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise fail(key, f"{key} must be a list of strings")
            values[key] = tuple(value)
        elif not isinstance(value, spec.type) or (spec.type is not bool and isinstance(value, bool)):
            raise fail(key, f"{key} must be {_type_name(spec.type)}, not {type(value).__name__} {value!r}")
        else:
            values[key] = value
    for key, check in _SOURCE_CHECKS.items():
        if key in values:
            problem = check(values[key])
            if problem:
                raise fail(key, problem)
    for url in values["start_urls"] if values.get("allowed_domains") else ():
        netloc = host_port(url)
        if not in_scope(netloc, values["allowed_domains"]):
            domains = ", ".join(values["allowed_domains"])
            problem = (
                f"start URL {url!r} is outside allowed_domains ({domains}): nothing could be crawled; "
                f"add {netloc.split(':')[0]!r} to allowed_domains"
            )
            raise fail("allowed_domains", problem)
    if values.get("proxy", "").startswith("https:") and any(u.startswith("https:") for u in values["start_urls"]):
        # Scrapy's HTTP/1.1 handler opens no TLS tunnel inside a TLS connection to the proxy.
        problem = (
            f"proxy {redact_proxy(values['proxy'])!r}: pages on https sites cannot be fetched through an https:// "
            "proxy; write http:// to the same proxy (the pages are still encrypted end to end, through a tunnel)"
        )
        raise fail("proxy", problem)
    values["delay"] = float(values.get("delay", SOURCE_KEYS["delay"].default))
    for key in ("max_minutes", "watch_minutes"):
        if key in values:
            values[key] = float(values[key])
    return Source(line=lines.table(index), **values)


def _check_name(name: str) -> str | None:
    if not SLUG.match(name):
        return f"name {name!r} is not a slug; use lower-case letters, digits, '-' and '_'"
    return None


def _check_kind(kind: str) -> str | None:
    return None if kind in KINDS else f"kind {kind!r} is not one of {', '.join(KINDS)}{_suggest(kind, KINDS)}"


def _check_urls(urls: tuple[str, ...]) -> str | None:
    if not urls:
        return "start_urls is empty; give at least one URL"
    for url in urls:
        if url != url.strip():
            return f"start URL {url!r} has spaces around it; remove them"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"start URL {url!r} is not an http or https URL"
        problem = _host_problem(parts.hostname)
        if problem:
            return f"start URL {url!r} {problem}"
        try:
            parts.port  # noqa: B018  (urlsplit checks the port only when asked for it)
        except ValueError:
            return f"start URL {url!r} has a port that is not a number from 0 to 65535"
    return None


def _check_domains(domains: tuple[str, ...]) -> str | None:
    for domain in domains:
        if " " in domain.strip():
            return (
                f'allowed domain {domain!r} has a space in it; write one host name per string, e.g. ["a.org", "b.org"]'
            )
        host, _, port = domain.strip().partition(":")
        if not host or "/" in domain:
            return f"allowed domain {domain!r} should be a host name such as 'example.org'"
        if host.startswith("*."):
            return f"allowed domain {domain!r}: write {host[2:]!r} (its subdomains are included)"
        problem = _host_problem(host)
        if problem:
            return f"allowed domain {domain!r} {problem}"
        if port and not (port.isdigit() and int(port) <= 65535):
            return f"allowed domain {domain!r} has a port that is not a number from 0 to 65535"
        if domain != domain.strip():
            return f"allowed domain {domain!r} has spaces around it; remove them"
    return None


_HOST = re.compile(r"^[\w-]+(\.[\w-]+)*\.?$")  # labels of letters (any script), digits, '-' and '_'


def _host_problem(host: str) -> str | None:
    """What is wrong with a host name, as the end of a sentence; None when it is a host name or an address."""
    if any(c.isspace() for c in host):
        return f"has a space in its host name {host!r}"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if not _HOST.match(host):
        return f"has a host name {host!r} with characters no host name has"
    return None


def _check_proxy(url: str) -> str | None:
    shown = redact_proxy(url)  # a message names the proxy, never its password
    example = 'e.g. "socks5h://127.0.0.1:1080" or "http://user:password@proxy.example.org:3128"'
    if url != url.strip():
        return f"proxy {shown!r} has spaces around it; remove them"
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [ of an IPv6 address
        return f"proxy {shown!r} is not a URL; {example}"
    if parts.scheme not in PROXY_SCHEMES:
        return f"proxy {shown!r} is not an http://, https://, socks5:// or socks5h:// URL; {example}"
    if not parts.hostname:
        return f"proxy {shown!r} has no host; {example}"
    problem = _host_problem(parts.hostname)
    if problem:
        return f"proxy {shown!r} {problem}"
    try:
        port = parts.port
    except ValueError:
        return f"proxy {shown!r} has a port that is not a number from 1 to 65535"
    if not port:
        return f"proxy {shown!r} has no port; add it after the host, {example}"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"proxy {shown!r} has something after the port; write only scheme://[user:password@]host:port"
    if parts.password == REDACTED:
        return f"proxy {shown!r}: {REDACTED} stands for a password that is not shown; type the password itself"
    if parts.scheme.startswith("socks") and any(
        len(unquote(part).encode()) > 255 for part in (parts.username or "", parts.password or "")
    ):
        return f"proxy {shown!r}: a SOCKS5 user name and password are 255 bytes each at most"
    return None


def _check_regexes(patterns: tuple[str, ...]) -> str | None:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            return f"{pattern!r} is not a valid regular expression: {exc}"
    return None


def _check_schedule(expr: str) -> str | None:
    from croniter import croniter  # only needed when a schedule is given

    if not croniter.is_valid(expr):
        return f'schedule {expr!r} is not a cron expression; e.g. "0 3 * * 1" (Mondays at 03:00)'
    return None


def _check_positive(value: float) -> str | None:
    return None if value > 0 else f"must be positive, not {value}"


def _check_requisite_hosts(hosts: tuple[str, ...]) -> str | None:
    if "*" in hosts:
        return None if len(hosts) == 1 else 'requisite_hosts: "*" (any host) stands alone; remove the other hosts'
    for host in hosts:
        if not host or "/" in host or host != host.strip() or " " in host:
            return f'requisite_hosts: {host!r} is not a host name; write e.g. "cdn.example.net" (no scheme or path)'
    return None


def _check_capture(value: str) -> str | None:
    return None if value in CAPTURES else f"capture must be {' or '.join(repr(c) for c in CAPTURES)}, not {value!r}"


def _check_not_negative(value: float) -> str | None:
    return None if value >= 0 else f"delay must be 0 or more seconds, not {value}"


_SOURCE_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "name": _check_name,
    "kind": _check_kind,
    "start_urls": _check_urls,
    "allowed_domains": _check_domains,
    "include": _check_regexes,
    "exclude": _check_regexes,
    "schedule": _check_schedule,
    "max_pages": _check_positive,
    "max_minutes": _check_positive,
    "watch_minutes": _check_positive,
    "delay": _check_not_negative,
    "proxy": _check_proxy,
    "requisite_hosts": _check_requisite_hosts,
    "capture": _check_capture,
}


def _parse_settings(raw: Any, lines: _LineFinder, where: str, environ: Mapping[str, str]) -> Settings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}{lines.top_level('settings')}: write the settings as a [settings] table")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in SETTING_KEYS:
            raise ConfigError(
                f"{where}{lines.setting(key)}: [settings]: unknown key {key!r}{_suggest(key, SETTING_KEYS)}"
            )
        values[key] = _coerce_setting(key, value, f"{where}{lines.setting(key)}: [settings]")
    _check_environment(environ)
    for key in SETTING_KEYS:
        env = f"SAMIZDAT_{key.upper()}"
        if env in environ:
            values[key] = _coerce_setting(key, environ[env], f"environment variable {env}")
    return Settings(**values)


def _check_environment(environ: Mapping[str, str]) -> None:
    """A SAMIZDAT_* variable that names no setting is a typo that would be ignored: refuse it, naming the
    closest known variable."""
    settings = {f"SAMIZDAT_{key.upper()}": key for key in SETTING_KEYS}
    known = {**settings, **{name: name.removeprefix("SAMIZDAT_").lower() for name in CLI_ENVIRONMENT}}
    for name in sorted(environ):
        if not name.upper().startswith("SAMIZDAT_") or name in known:
            continue
        by_suffix = {suffix: env for env, suffix in known.items()}
        hint = _suggest(name.upper().removeprefix("SAMIZDAT_").lower(), by_suffix)
        for suffix, env in by_suffix.items():
            hint = hint.replace(f'"{suffix}"', f'"{env}"')
        raise ConfigError(f"environment variable {name}: not a samizdat setting{hint or '; unset it'}")


def _coerce_setting(key: str, value: Any, where: str) -> Any:
    spec = SETTING_KEYS[key]
    types = spec.type if isinstance(spec.type, tuple) else (spec.type,)
    if bool in types:
        if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "false", "0", "no"):
            value = value.strip().lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, not {value!r}")
        return value
    if isinstance(value, str) and str not in types:
        try:
            value = float(value) if float in types else int(value)
        except ValueError:
            raise ConfigError(f"{where}: {key} must be {_type_name(spec.type)}, not {value!r}") from None
    if not isinstance(value, types) or isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be {_type_name(spec.type)}, not {value!r}")
    if isinstance(value, int | float) and value < 0:
        raise ConfigError(f"{where}: {key} must not be negative")
    check = _SETTING_CHECKS.get(key)
    problem = check(value) if check else None
    if problem:
        raise ConfigError(f"{where}: {key} {problem}")
    return value


def _check_timezone(name: str) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f'{name!r} is not a time zone name; e.g. "UTC" or "Europe/Berlin"'
    return None


def _check_at_least_one(value: int) -> str | None:
    return None if value >= 1 else f"must be 1 or more, not {value}"


_SETTING_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "timezone": _check_timezone,
    "max_parallel_crawls": _check_at_least_one,
    "stall_minutes": _check_positive,
    "browser_timeout_seconds": _check_positive,
    "browser_max_memory_mb": _check_at_least_one,
}


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}
    if isinstance(t, tuple):
        return "a number" if float in t else " or ".join(names[x] for x in t)
    return names[t]


def _suggest(word: str, choices: Any) -> str:
    # A key the word begins ("timeout" for timeout_seconds) before one merely spelled alike ("timezone").
    close = [c for c in choices if c.startswith(word)][:1] or difflib.get_close_matches(
        word, list(choices), n=1, cutoff=0.6
    )
    return f'; did you mean "{close[0]}"?' if close else ""


class _LineFinder:
    """Line numbers for messages: tomllib reports them only for syntax errors."""

    TABLE = re.compile(r"^\s*\[\[\s*source\s*\]\]")
    SETTINGS = re.compile(r"^\s*\[\s*settings\s*\]")
    HEADER = re.compile(r"^\s*\[")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.tables = [i for i, line in enumerate(self.lines) if self.TABLE.match(line)]

    def _block(self, start: int) -> range:
        end = next((i for i in range(start + 1, len(self.lines)) if self.HEADER.match(self.lines[i])), len(self.lines))
        return range(start, end)

    def _find_key(self, block: range, key: str) -> int | None:
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        return next((i + 1 for i in block if pattern.match(self.lines[i])), None)

    def table(self, index: int) -> int:
        return self.tables[index] + 1 if index < len(self.tables) else 1

    def key(self, index: int, key: str | None) -> int:
        if index >= len(self.tables) or key is None:
            return self.table(index)
        return self._find_key(self._block(self.tables[index]), key) or self.table(index)

    def setting(self, key: str) -> int:
        start = next((i for i, line in enumerate(self.lines) if self.SETTINGS.match(line)), None)
        if start is None:
            return 1
        return self._find_key(self._block(start), key) or start + 1

    def top_level(self, key: str) -> int:
        first_header = next((i for i, line in enumerate(self.lines) if self.HEADER.match(line)), len(self.lines))
        found = self._find_key(range(first_header), key)
        if found:
            return found
        pattern = re.compile(rf"^\s*\[+\s*{re.escape(key)}\s*\]+")
        return next((i + 1 for i, line in enumerate(self.lines) if pattern.match(line)), 1)
