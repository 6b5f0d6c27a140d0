"""The README documents every setting, every source key, every command and every export field."""

from pathlib import Path

from click.testing import CliRunner

from samizdat.archive.config import SETTING_KEYS, SOURCE_KEYS
from samizdat.archive.document import EXPORT_FIELDS
from samizdat.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_source_key_and_setting_is_documented():
    for key in [*SOURCE_KEYS, *SETTING_KEYS]:
        assert f"`{key}`" in README, key


def test_every_command_is_documented():
    for name in main.commands:
        assert f"samizdat {name}" in README, name


def test_every_export_field_is_documented():
    for name in EXPORT_FIELDS:
        assert f"| `{name}` |" in README, name


def test_the_first_screen_has_the_two_setup_commands():
    first_screen = "\n".join(README.splitlines()[:25])
    assert "pip install -e . && samizdat demo" in first_screen
    assert 'apt-get install -y chromium && pip install -e ".[test]" && python -m pytest' in first_screen


def test_help_works_for_every_command():
    runner = CliRunner()
    for name in main.commands:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
