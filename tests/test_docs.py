"""README.md and docs/: every relative link and #anchor resolves, and every generated table is
what `make docs` writes from the committed files."""

import re
from pathlib import Path

import pytest
from conftest import ROOT

from tools import docs

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The text outside fenced blocks and inline code, where a `[x](y)` is a link."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def anchors(page: Path) -> set[str]:
    """GitHub's anchor for each heading: lower case, punctuation dropped, spaces to hyphens;
    a repeated heading gets -1, -2, ..."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", FENCE.sub("", page.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z][\w+.-]*:", target):  # https:, mailto: ...: not ours to check offline
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with that anchor in {resolved.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_link_check_sees_a_broken_link_and_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## A `code` heading: yes\n\n```\n# not a heading\n```\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n\n[ok](other.md#a-code-heading-yes) [ok](#top) ![img](other.md) [web](https://example.com/x)\n"
        "`[code](missing.md)` [gone](missing.md) [bad](other.md#not-a-heading) [self](#nowhere)\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#not-a-heading: no heading with that anchor in other.md",
        "#nowhere: no heading with that anchor in page.md",
    ]


def test_readme_is_a_front_page() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_generated_tables_are_up_to_date(page: Path) -> None:
    text = page.read_text()
    assert docs.render(text, docs.generators()) == text, f"{page.relative_to(ROOT)} is stale: run `make docs`"


def test_a_stale_table_is_rewritten() -> None:
    page = "a\n<!-- generated: module-stages (make docs) -->\n| old | table |\n<!-- end generated -->\nb\n"
    rendered = docs.render(page, docs.generators())
    assert "| old | table |" not in rendered and "| `pipeline/lib/cli.py` | check, download, " in rendered
    assert docs.render(rendered, docs.generators()) == rendered
