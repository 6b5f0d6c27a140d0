"""The layers stay apart: archive imports none of the others, crawler and search only archive. Each is a
folder of the repository installed as a subpackage of samizdat (samizdat.archive, ...)."""

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
LAYERS = PACKAGES - {"samizdat"}


def layer(module: str) -> str:
    """samizdat.archive.warc -> archive; samizdat.cli -> samizdat; a top-level `archive` stays itself (wrong)."""
    parts = module.split(".")
    return parts[1] if parts[0] == "samizdat" and len(parts) > 1 and parts[1] in LAYERS else parts[0]


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {layer(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(layer(node.module))
    return names & PACKAGES


def sources(package: str) -> list[Path]:
    """The package's own modules: samizdat/ links to the other folders, which are walked as themselves."""
    root = ROOT / package
    return [path for path in root.rglob("*.py") if not (root / path.relative_to(root).parts[0]).is_symlink()]


def test_the_code_imports_the_layers_only_under_the_samizdat_namespace():
    """Installed, archive/ is samizdat.archive: a bare `import archive` would find PyPI's package of that name."""
    bare = [
        f"{path.relative_to(ROOT)}: {module}"
        for package in PACKAGES
        for path in sources(package)
        for module in top_level_imports(path)
        if module in LAYERS
    ]
    assert bare == []


def top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    return names | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }


def test_each_package_imports_only_the_layers_below_it():
    problems = []
    for package, allowed in ALLOWED.items():
        assert (ROOT / package).is_dir(), package
        for path in sources(package):
            wrong = imported_packages(path) - allowed
            if wrong:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert problems == []


def test_extraction_never_imports_scrapy_or_whoosh():
    for path in (ROOT / "archive").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import scrapy" not in text and "from scrapy" not in text, path
        assert "whoosh" not in text, path
