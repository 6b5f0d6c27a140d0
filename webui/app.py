"""The Flask application: `create_app(settings)` wires the archive, the pages, the API and the headers."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from samizdat.archive.config import environment_settings, load_config
from samizdat.archive.datadir import DataDir
from samizdat.search import SearchService
from samizdat.webui import admin, api, auth, errors, exports, pages, security, takedowns, wayback
from samizdat.webui.formatting import FILTERS
from samizdat.webui.state import EXTENSION, Archive, close_store

# Archived titles, labels and snippets are hostile markup; in the API's JSON the characters that could
# start a tag or an entity are \u escapes (as Flask's `tojson` writes them), so that a JSON body holds no
# markup even for a client that sniffs it as HTML or pastes it into a page. The JSON value is the same.
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", ord("'"): "\\u0027"}


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, in the contract's field order, UTF-8, with markup characters escaped."""

    sort_keys = False  # keep the contract's field order
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return super().dumps(obj, **kwargs).translate(_JSON_ESCAPES)


@dataclasses.dataclass(frozen=True)
class WebSettings:
    """What the web app reads from the settings it is given (a mapping or an object with attributes)."""

    data_dir: Path
    config_path: Path | None = None  # sources.toml, for schedules and given kinds; optional
    refresh_seconds: float = 1.0  # how often the search service looks for a newer index


def read_settings(settings: Any) -> WebSettings:
    def pick(name: str, default: Any = None) -> Any:
        if isinstance(settings, Mapping):
            return settings.get(name, default)
        return getattr(settings, name, default)

    data_dir = pick("data_dir")
    if data_dir is None:
        raise TypeError("create_app(settings): settings need a data_dir")
    config_path = pick("config_path")
    refresh = pick("refresh_seconds")
    return WebSettings(
        data_dir=Path(data_dir),
        config_path=Path(config_path) if config_path else None,
        refresh_seconds=float(refresh) if refresh is not None else WebSettings.refresh_seconds,
    )


def create_app(settings: Any) -> Flask:
    """The web UI and JSON API on one data directory.

    `settings`: a mapping or an object with `data_dir` (required: a samizdat data directory; DataDirError
    otherwise), `config_path` (optional sources.toml; ConfigError when it is given but bad) and
    `refresh_seconds` (optional). Debug mode is always off. One SearchService is created here and shared by
    every request and thread for the app's life; each request opens its own Store.
    """
    conf = read_settings(settings)
    datadir = DataDir.open(conf.data_dir)
    config = load_config(conf.config_path) if conf.config_path else None

    app = Flask(__name__)
    app.json = JSONProvider(app)
    app.url_map.converters["int"] = security.BoundedInt  # before any route is added
    app.config.update(DEBUG=False, TESTING=False, PROPAGATE_EXCEPTIONS=False, MAX_CONTENT_LENGTH=64 * 1024)
    app.debug = False
    app.extensions[EXTENSION] = Archive(
        datadir=datadir,
        search=SearchService(datadir.index_dir, refresh_seconds=conf.refresh_seconds),
        config_path=conf.config_path,
        _config=config,
    )
    app.jinja_env.filters.update(FILTERS)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(wayback.blueprint)
    app.extensions["samizdat.private_passes"] = (wayback.passes_private_guard,)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(exports.blueprint)
    auth.setup(app, private=(config.settings if config else environment_settings()).private)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(takedowns.blueprint)
    app.after_request(security.add_headers)
    app.teardown_appcontext(close_store)
    errors.register(app)
    return app
