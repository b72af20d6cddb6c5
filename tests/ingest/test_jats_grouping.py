"""Which article a file of a JATS package belongs to, when several articles share a folder: the one whose file stem
starts the file's name, the longest such stem winning (found by the name's prefixes, not by every article). The
grouping is worked in the package spool (``PackageSpool.owner``); it is checked here against the rules as they were
when every article was held in a dict (``_reference``, the former ``_group_by_jats``, kept here only as the oracle)."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.ingest.filespool import PackageFile, PackageSpool
from strongroom.ingest.package import _group_by_jats, _jats_items

Articles = dict[str, tuple[str | None, int]]
Grouping = tuple[list[tuple[str, str | None, list[str], int | None]], dict[str, str | None]]


def _reference(articles: Articles, relpaths: list[str]) -> Grouping:
    """The rules as the dict-based grouping had them: items in the order of their paths, and each file's item."""
    items: dict[str, tuple[str, list[str]]] = {}
    per_dir: dict[str, list[str]] = {}
    for rel in articles:
        per_dir.setdefault(str(PurePosixPath(rel).parent), []).append(rel)
    stems: dict[str, dict[str, str]] = {}
    for folder, candidates in per_dir.items():
        if len(candidates) > 1:
            own = stems[folder] = {}
            for c in candidates:
                own.setdefault(PurePosixPath(c).stem, c)
    for rel, (doi, _at) in sorted(articles.items()):
        items[rel] = (doi or rel, [rel])
    for rel in relpaths:
        if rel in articles:
            continue
        path = PurePosixPath(rel)
        owner = None
        for parent in [path.parent, *path.parent.parents]:
            candidates = per_dir.get(str(parent), [])
            if len(candidates) == 1:
                owner = candidates[0]
            elif candidates:
                own = stems[str(parent)]
                name = path.name
                owner = next((own[name[:n]] for n in range(len(name), 0, -1) if name[:n] in own), None)
            if candidates:
                break
        if owner is not None:
            items[owner][1].append(rel)
    listed = [(key, rel, sorted(files), articles[rel][1]) for rel, (key, files) in items.items()]
    owners: dict[str, str | None] = dict.fromkeys(relpaths)
    owners.update({f: key for key, _rel, files, _at in listed for f in files})
    return listed, owners


def _spooled(articles: Articles, relpaths: list[str]) -> Grouping:
    """The same, worked in a package spool as a deposit works it."""
    with tempfile.TemporaryDirectory() as tmp:
        spool = PackageSpool(Path(tmp) / "package.sqlite")
        try:
            # Articles in the order _read_jats reads them (by path), as their files are hashed.
            for rel in sorted(relpaths):
                spool.add_file(PackageFile(rel, Path(tmp) / rel, 1, "0" * 128, "0" * 64, "application/pdf"))
            for rel in sorted(articles):
                spool.add_article(rel, *articles[rel])
            _group_by_jats(spool)
            listed = [(i.key, i.metadata_file, i.files, i.meta_at) for i in _jats_items(spool, 0)]
            owners = {f.relpath: f.item_key for f in spool.files()}
        finally:
            spool.close()
    return listed, owners


def test_files_in_a_shared_folder_go_to_the_article_with_the_longest_stem_that_starts_their_name() -> None:
    articles: Articles = {
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
    items, owners = _spooled(articles, sorted([*articles, *files]))
    owned = {metadata_file: files for _key, metadata_file, files, _at in items}
    assert owned == {
        "issue/a.xml": ["issue/a.pdf", "issue/a.xml"],
        "issue/ab.xml": ["issue/ab-fig1.png", "issue/ab.pdf", "issue/ab.xml", "issue/abc.pdf"],
        "issue/b.xml": ["issue/b.xml", "issue/b1.pdf"],
        "solo/only.xml": ["solo/anything.pdf", "solo/figures/f1.png", "solo/only.xml"],
    }
    assert [key for key, *_ in items] == ["10.1/a", "10.1/ab", "issue/b.xml", "10.1/only"]
    assert owners["issue/c.pdf"] is None and owners["issue/abc.pdf"] == "10.1/ab"


# Small alphabets, so that folders nest and repeat, stems prefix each other and names start with stems.
FOLDERS = st.lists(st.sampled_from(["a", "b", "ab", "a-b"]), max_size=3).map("/".join)
STEMS = st.text("ab-.", min_size=1, max_size=4).filter(lambda s: s.strip(".") != "")
NAMES = st.tuples(st.text("ab-._", min_size=1, max_size=6), st.sampled_from(["", ".pdf", ".png", ".xml"])).map("".join)


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


@st.composite
def trees(draw: st.DrawFn) -> tuple[Articles, list[str]]:
    """Articles (some of them alone in their folder, some sharing one, two sometimes with one stem: a.xml and
    a.XML) with DOIs or none, and files around them, some in folders no article's folder holds."""
    articles: Articles = {}
    drawn = draw(st.lists(st.tuples(FOLDERS, STEMS, st.booleans(), st.booleans()), max_size=12))
    for n, (folder, stem, twin, has_doi) in enumerate(drawn):
        for ext in [".xml", ".XML"] if twin else [".xml"]:
            doi = f"10.1/{n}{ext}" if has_doi else None
            articles.setdefault(_join(folder, stem + ext), (doi, len(articles)))
    files = {_join(folder, name) for folder, name in draw(st.lists(st.tuples(FOLDERS, NAMES), max_size=30))}
    files = {f for f in files if PurePosixPath(f).name.strip(".") != ""} - set(articles)
    # In the order _read_jats met them (by path), as the dict grouping took "the first article of a stem".
    return dict(sorted(articles.items())), sorted([*articles, *files])


@settings(max_examples=300, deadline=None)
@given(trees())
def test_the_spooled_grouping_follows_the_rules_of_the_dict_grouping(tree: tuple[Articles, list[str]]) -> None:
    articles, relpaths = tree
    assert _spooled(articles, relpaths) == _reference(articles, relpaths)


def _reference_duplicates(claims: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """The duplicate-key check as it was, over ``(key, where)`` in the items' order."""
    seen: dict[str, str] = {}
    found = []
    for key, where in claims:
        if key in seen:
            found.append((where, key, seen[key]))
        seen[key] = where
    return found


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["10.1/a", "10.1/b", "c.xml", "d"]), max_size=12))
def test_duplicate_keys_are_found_in_the_items_order_naming_the_last_claim_before(keys: list[str]) -> None:
    claims = [(key, f"where-{n}") for n, key in enumerate(keys)]
    with tempfile.TemporaryDirectory() as tmp:
        spool = PackageSpool(Path(tmp) / "package.sqlite")
        try:
            spool.claim(claims)
            found = list(spool.duplicate_claims())
        finally:
            spool.close()
    assert found == _reference_duplicates(claims)
