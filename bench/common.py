"""What the benchmarks share: a bag of large random files with one JATS record, so OCFL cannot dedupe it."""

from __future__ import annotations

import random
from pathlib import Path

import bagit

JATS = (
    '<?xml version="1.0"?><article><front><journal-meta><journal-title-group><journal-title>Bench Journal'
    "</journal-title></journal-title-group><publisher><publisher-name>Bench Press</publisher-name></publisher>"
    "</journal-meta><article-meta><title-group><article-title>Large files</article-title></title-group>"
    "<pub-date><year>2024</year></pub-date></article-meta></front></article>"
)


def random_bag(dest: Path, total_bytes: int, file_bytes: int, seed: int = 7, journal: str = "Bench Journal") -> Path:
    """A BagIt bag at ``dest`` holding at least ``total_bytes`` in files of ``file_bytes`` random bytes (its AU is
    ``journal``'s 2024 volume: bags for different journals are deposited as different AUs)."""
    dest.mkdir(parents=True)
    rng = random.Random(seed)
    for i in range(max(1, -(-total_bytes // file_bytes))):
        with (dest / f"volume-{i:03d}.bin").open("wb") as fh:
            for _ in range(file_bytes >> 20):
                fh.write(rng.randbytes(1 << 20))  # incompressible, and no two files alike
    (dest / "article.xml").write_text(JATS.replace("Bench Journal", journal))
    bagit.make_bag(str(dest), checksums=["sha256"], processes=2)
    return dest
