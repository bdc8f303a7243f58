"""The plugin-author guides quote the example plugins; this keeps every quote true to the file."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ["docs/writing-a-metric-pack.md", "docs/publishing-a-plugin.md"]
# <!-- from: path --> then a fenced code block, possibly indented inside a list item.
QUOTE = re.compile(r"<!-- from: (?P<path>\S+) -->\n(?P<indent>[ ]*)```\w*\n(?P<code>.*?)\n(?P=indent)```", re.S)
LINK = re.compile(r"\]\((?P<target>\.\./[^)#]+|[\w-]+\.md)\)")


@pytest.mark.parametrize("guide", GUIDES)
def test_quoted_code_is_in_the_file_it_names(guide: str) -> None:
    text = (ROOT / guide).read_text(encoding="utf-8")
    quotes = list(QUOTE.finditer(text))
    assert quotes, f"{guide} quotes no example code"
    for q in quotes:
        source = ROOT / q["path"]
        assert source.is_file(), f"{guide} quotes {q['path']}, which does not exist"
        code = "\n".join(line[len(q["indent"]):] for line in q["code"].splitlines())
        assert code in source.read_text(encoding="utf-8"), (
            f"{guide}: the code quoted from {q['path']} is no longer in that file; copy it again:\n{code}")


@pytest.mark.parametrize("guide", GUIDES)
def test_relative_links_resolve(guide: str) -> None:
    text = (ROOT / guide).read_text(encoding="utf-8")
    for link in LINK.finditer(text):
        assert (ROOT / guide).parent.joinpath(link["target"]).resolve().exists(), f"{guide}: broken link {link[0]}"
