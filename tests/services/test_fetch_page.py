"""keyset.fetch_page, the one way a listing walked by key reads a page: one row more than the page, to know
without counting whether another follows; the cursor is made from the last row shown, never from the extra one."""

from __future__ import annotations

from strongroom.services import keyset

ROWS = list(range(1, 8))  # a listing of 7 rows


def fetch(n: int | None) -> list[int]:
    asked.append(n)
    return ROWS[:n]


asked: list[int | None] = []


def test_a_page_with_more_after_it_has_the_cursor_of_its_last_row() -> None:
    asked.clear()
    page, cursor = keyset.fetch_page(fetch, 3, lambda r: keyset.encode(r))
    assert list(page) == [1, 2, 3] and asked == [4]
    assert cursor is not None and keyset.decode(cursor, int) == (3,)


def test_the_last_page_has_no_cursor_even_when_full() -> None:
    assert keyset.fetch_page(fetch, 7, str) == (ROWS, None)
    assert keyset.fetch_page(fetch, 10, str) == (ROWS, None)


def test_no_limit_reads_all_and_an_empty_page_has_no_cursor() -> None:
    asked.clear()
    assert keyset.fetch_page(fetch, None, str) == (ROWS, None) and asked == [None]
    assert keyset.fetch_page(fetch, 0, str) == ([], None)
    assert keyset.fetch_page(lambda n: [], 5, str) == ([], None)
