"""Deterministic sample content: publishers, journals and articles (JATS and small valid PDFs) in several
countries and languages, written as deposit packages in every accepted form. Used by tests, benchmarks and
``strongroom demo``; the same seed gives byte-identical output everywhere."""

from strongroom.samples.corpus import Corpus, SampleArticle, SampleAuthor, SamplePublisher, SampleTitle, generate_corpus
from strongroom.samples.jats import article_jats
from strongroom.samples.packages import targz_dir, write_bag, write_jasper_zip, write_jats_dir, zip_dir
from strongroom.samples.pdf import article_pdf

__all__ = [
    "Corpus",
    "SampleArticle",
    "SampleAuthor",
    "SamplePublisher",
    "SampleTitle",
    "article_jats",
    "article_pdf",
    "generate_corpus",
    "targz_dir",
    "write_bag",
    "write_jasper_zip",
    "write_jats_dir",
    "zip_dir",
]
