"""Which nodes hold an AU: rendezvous hashing over the members, spread over countries first.

Every node computes the same answer from the same signed configuration, with no coordinator: rank members
by sha256(object id, member id); take the best-ranked member of each country until ``min_countries`` are
covered, then the best-ranked of the rest until ``target_copies``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def holders(object_id: str, members: Sequence[tuple[str, str]], target_copies: int, min_countries: int) -> list[str]:
    """Node ids that should hold ``object_id``; ``members`` are (node id, country) pairs."""
    ranked = sorted(members, key=lambda m: hashlib.sha256(f"{object_id}\0{m[0]}".encode()).hexdigest())
    chosen: list[str] = []
    countries: set[str] = set()
    for node_id, country in ranked:
        if len(countries) >= min_countries or len(chosen) >= target_copies:
            break
        if country not in countries:
            chosen.append(node_id)
            countries.add(country)
    for node_id, _ in ranked:
        if len(chosen) >= target_copies:
            break
        if node_id not in chosen:
            chosen.append(node_id)
    return chosen
