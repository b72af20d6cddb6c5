"""Which article a file of a JATS package belongs to, when several articles share a folder: the one whose file stem
starts the file's name, the longest such stem winning (found by the name's prefixes, not by every article)."""

from __future__ import annotations

from strongroom.ingest.package import _group_by_jats


def test_files_in_a_shared_folder_go_to_the_article_with_the_longest_stem_that_starts_their_name() -> None:
    articles: dict[str, tuple[str | None, int]] = {
        "issue/a.xml": ("10.1/a", 0),
        "issue/ab.xml": ("10.1/ab", 1),
        "issue/b.xml": (None, 2),
        "solo/only.xml": ("10.1/only", 3),
    }
    files = [
        "issue/a.pdf",
        "issue/ab.pdf",
        "issue/ab-fig1.png",
        "issue/abc.pdf",  # "ab" is the longest stem that starts it, not "a"
        "issue/b1.pdf",
        "issue/c.pdf",  # no article's stem starts it: it belongs to none
        "solo/anything.pdf",  # the folder's only article owns every file in it
        "solo/figures/f1.png",  # and those of its sub-folders
    ]
    items = _group_by_jats(articles, sorted([*articles, *files]))
    owned = {item.metadata_file: sorted(item.files) for item in items}
    assert owned == {
        "issue/a.xml": ["issue/a.pdf", "issue/a.xml"],
        "issue/ab.xml": ["issue/ab-fig1.png", "issue/ab.pdf", "issue/ab.xml", "issue/abc.pdf"],
        "issue/b.xml": ["issue/b.xml", "issue/b1.pdf"],
        "solo/only.xml": ["solo/anything.pdf", "solo/figures/f1.png", "solo/only.xml"],
    }
    assert {item.key for item in items} == {"10.1/a", "10.1/ab", "issue/b.xml", "10.1/only"}
