"""The wheel installs one top-level package, samizdat: the repository's folders (archive/, crawler/, search/,
webui/) are its subpackages, so installing samizdat overwrites none of PyPI's packages of those names. `.ci/run`
also installs this wheel alone into a fresh virtualenv and runs the demo from it."""

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("archive", "crawler", "search", "webui")


def build_wheel(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("samizdat-*.whl")
    return wheel


def tracked(*paths: str) -> list[str]:
    return subprocess.run(
        ["git", "ls-files", *paths], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()


def test_the_wheel_holds_one_top_level_package_with_every_module_and_template(tmp_path):
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = next(name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info"))
    assert {name.split("/")[0] for name in names} == {"samizdat", dist_info}
    top_level = zipfile.ZipFile(wheel).read(f"{dist_info}/top_level.txt").decode().split()
    assert top_level == ["samizdat"]

    # Every file of the layers (modules, templates, static files) is in the wheel under samizdat/.
    expected = {f"samizdat/{path}" for path in tracked(*LAYERS)}
    expected |= {path for path in tracked("samizdat") if not Path(ROOT, path).is_symlink()}
    assert expected - set(names) == set()

    entry_points = configparser.ConfigParser()
    entry_points.read_string(zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode())
    assert entry_points["console_scripts"]["samizdat"] == "samizdat.cli:main"
