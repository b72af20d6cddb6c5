"""Every object's head version as the store lists it for its peers (``ObjectStore.heads``), on the local OCFL root
and on S3: the same answer as parsing every inventory, inventories parsed again only when their sidecar changed,
and never a stale head, whoever changed the inventory (this store, another process on the same root, a crash, a
repair)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from store_support import Store, commit
from test_backends import Death, overwrite, raw_files, reopen

from strongroom.errors import StorageError
from strongroom.store.ocfl import OcflStore
from strongroom.store.paths import object_hash


@pytest.fixture
def store(make_store: Any) -> Store:
    return make_store()  # type: ignore[no-any-return]


IDS = [f"strongroom:au/issn:1234-000{i}/2024" for i in range(4)]


def parsed_heads(store: Store) -> dict[str, int]:
    """What the list said before: every id, then each one's inventory parsed for its head."""
    return {oid: store.head_version(oid) for oid in store.iter_object_ids()}


def listed(store: Store) -> dict[str, int]:
    got = list(store.heads())
    assert len(got) == len({oid for oid, _ in got})
    assert [oid for oid, _ in got] == list(store.iter_object_ids())  # same order as before
    return dict(got)


@pytest.fixture
def many(store: Store, tmp_path: Path) -> Store:
    for n, oid in enumerate(IDS):
        for version in range(n % 3 + 1):
            commit(store, tmp_path, {"a": f"{oid} {version}".encode()}, oid)
    return store


def test_the_list_is_what_parsing_every_inventory_says(many: Store) -> None:
    assert listed(many) == parsed_heads(many) == {oid: n % 3 + 1 for n, oid in enumerate(IDS)}


def test_an_unchanged_inventory_is_not_parsed_again_and_a_changed_one_is(many: Store, tmp_path: Path) -> None:
    listed(many)
    first = many._heads.parsed
    assert first == len(IDS)
    assert listed(many) == parsed_heads(many)
    assert many._heads.parsed == first  # nothing changed: only sidecars were looked at
    commit(many, tmp_path, {"a": b"new"}, IDS[0])
    assert listed(many)[IDS[0]] == 2
    assert many._heads.parsed == first + 1  # only the object that changed


def test_a_version_committed_by_another_process_is_never_answered_with_the_old_head(
    many: Store, tmp_path: Path
) -> None:
    """The store that lists is not the one that writes (another worker on the same root): nothing told it of the
    change but the sidecar itself."""
    before = listed(many)
    other = reopen(many)
    for oid in IDS:
        commit(other, tmp_path, {"a": f"{oid} again".encode()}, oid)
    assert listed(many) == {oid: head + 1 for oid, head in before.items()} == parsed_heads(other)


def test_a_version_installed_from_another_copy_is_listed(many: Store, make_store: Any, tmp_path: Path) -> None:
    copy = make_store("copy")
    oid = IDS[2]
    for number in range(1, many.head_version(oid) + 1):
        data = raw_files(many, oid)
        copy.install_version(oid, data[f"v{number}/inventory.json"], lambda cp, d=data: [d[cp]])
        assert listed(copy) == {oid: number}


def test_a_publish_cut_short_before_the_sidecar_still_lists_the_published_head(many: Store, tmp_path: Path) -> None:
    """A new version is published when the root inventory's sidecar is replaced: one cut short after the
    inventory but before the sidecar is not there yet, and recovering it makes it so."""
    oid = IDS[0]
    listed(many)

    def die(step: str) -> None:
        if step == "inventory-replaced":
            raise Death(step)

    many.fault = die
    with pytest.raises(Death):
        commit(many, tmp_path, {"a": b"cut short"}, oid)
    many.fault = lambda step: None
    assert listed(many)[oid] == 1  # the root inventory is v2's, its sidecar still v1's: v1 is what is published
    if isinstance(many, OcflStore):  # the local store's work directory went in a finally block: put it back
        work = many.staging / f"commit-{object_hash(oid)[:16]}-dead"
        work.mkdir()
        (work / "object-id").write_text(oid)
    assert reopen(many).recover() != []
    assert listed(many)[oid] == 2 == many.head_version(oid)


def test_a_damaged_root_inventory_is_listed_as_its_sidecar_says_and_repaired(many: Store) -> None:
    oid = IDS[1]
    listed(many)
    good = raw_files(many, oid)["inventory.json"]
    overwrite(many, "inventory.json", good.replace(b'"head"', b'"hexd"'), oid)
    # what the sidecar names was read and checked before: the head of the inventory the sidecar vouches for
    assert listed(many)[oid] == 2
    with pytest.raises(StorageError, match="does not match its sidecar"):
        list(reopen(many).heads())  # a store that never read it cannot vouch for it: as head_version, an error
    overwrite(many, "inventory.json", good, oid)  # the repair: the bytes the sidecar names
    assert listed(reopen(many)) == listed(many) == parsed_heads(many)


def test_a_replaced_sidecar_is_read_again(many: Store) -> None:
    """A sidecar rewritten with another digest (a repair from another copy's inventory) is parsed again and
    checked: the index never answers for a sidecar it has not seen."""
    oid = IDS[2]
    listed(many)
    files = raw_files(many, oid)
    older = files["v2/inventory.json"]
    older_sidecar = files["v2/inventory.json.sha512"]
    overwrite(many, "inventory.json", older, oid)
    overwrite(many, "inventory.json.sha512", older_sidecar, oid)
    assert listed(many)[oid] == 2  # the inventory now says v2, and so does the list
