"""The documentation's own check: every relative link of README.md, CONTRIBUTING.md and docs/ leads
to a file that exists (and, for a Markdown page, to a heading it has); the README stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.relative_to(ROOT)}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{page.relative_to(ROOT)}: no heading #{anchor}"


def test_the_readme_says_what_this_is_and_where_to_go_in_under_150_lines() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 150
    for heading in ("## The two commands", "## Where to go next"):
        assert heading in text
    assert "make run" in text and "make test" in text


def test_the_spec_and_the_original_are_in_the_repository() -> None:
    spec = ROOT / "docs" / "reference" / "SPEC.md"
    assert "medical-exemption-search.ru.txt" in spec.read_text(encoding="utf-8")
    assert (spec.parent / "medical-exemption-search.ru.txt").is_file()
