"""The repository is a Scrapy project: `scrapy list` works inside it and names the spiders."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_scrapy_list_names_the_generic_spider():
    result = subprocess.run(["scrapy", "list"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "generic" in result.stdout.split()
