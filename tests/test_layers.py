"""The layers stay apart: archive imports none of the others, crawler and search only archive."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "archive": {"archive"},
    "crawler": {"archive", "crawler"},
    "search": {"archive", "search"},
    "webui": {"archive", "search", "webui"},
    "samizdat": {"archive", "crawler", "search", "webui", "samizdat"},
}
PACKAGES = set(ALLOWED)


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & PACKAGES


def test_each_package_imports_only_the_layers_below_it():
    problems = []
    for package, allowed in ALLOWED.items():
        assert (ROOT / package).is_dir(), package
        for path in (ROOT / package).rglob("*.py"):
            wrong = imported_packages(path) - allowed
            if wrong:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert problems == []


def test_extraction_never_imports_scrapy_or_whoosh():
    for path in (ROOT / "archive").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import scrapy" not in text and "from scrapy" not in text, path
        assert "whoosh" not in text, path
