"""A deterministic corpus of sample publishers, journals and articles.

Identifiers are valid: ISSNs and ORCID iDs carry correct check digits; DOIs use Crossref's test prefix
10.5555. The same seed gives the same corpus on every machine (only ``random.Random(seed)`` is used).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from strongroom.domain.identifiers import slug
from strongroom.samples.phrases import ABSTRACT_SENTENCES, AFFILIATIONS, KEYWORDS, NAMES, TITLE_TEMPLATES, WORDS

CC_BY = "https://creativecommons.org/licenses/by/4.0/"
CC_BY_NC = "https://creativecommons.org/licenses/by-nc/4.0/"

# (publisher, country, city, journal title, abbreviation, language)
JOURNALS: list[tuple[str, str, str, str, str, str]] = [
    ("Kumasi Academic Press", "GH", "Kumasi", "Ghana Journal of Agricultural Science", "Ghana J Agric Sci", "en"),
    (
        "Nairobi Health Sciences Publishers",
        "KE",
        "Nairobi",
        "East African Journal of Public Health",
        "East Afr J Public Health",
        "en",
    ),
    (
        "Éditions universitaires de Dakar",
        "SN",
        "Dakar",
        "Revue sénégalaise de santé publique",
        "Rev Sénég Santé Publique",
        "fr",
    ),
    (
        "Dar es Salaam Scholarly Publishers",
        "TZ",
        "Dar es Salaam",
        "Jarida la Sayansi ya Kilimo",
        "J Sayansi Kilimo",
        "sw",
    ),
    (
        "Editora Universitária do Pará",
        "BR",
        "Belém",
        "Revista Amazônica de Ciências Ambientais",
        "Rev Amaz Ciênc Ambient",
        "pt",
    ),
    ("دار المعرفة للنشر العلمي", "MA", "Fès", "المجلة المغربية للعلوم الاجتماعية", "Maj Magh Ulum Ijtim", "ar"),
]


@dataclass(frozen=True)
class SamplePublisher:
    name: str
    country: str
    city: str
    platform: str = "ojs"


@dataclass(frozen=True)
class SampleTitle:
    title: str
    slug: str
    abbrev: str
    publisher: SamplePublisher
    issn_print: str
    issn_online: str
    language: str
    licence: str


@dataclass(frozen=True)
class SampleAuthor:
    given: str
    surname: str
    orcid: str | None
    affiliation: str

    @property
    def name(self) -> str:
        return f"{self.given} {self.surname}"


@dataclass(frozen=True)
class SampleArticle:
    doi: str
    slug: str
    title: str
    abstract: str
    authors: tuple[SampleAuthor, ...]
    keywords: tuple[str, ...]
    volume: str
    issue: str
    fpage: int
    lpage: int
    published: dt.date
    language: str
    article_type: str
    with_supplement: bool


@dataclass
class Corpus:
    seed: int
    publishers: list[SamplePublisher] = field(default_factory=list)
    titles: list[SampleTitle] = field(default_factory=list)
    articles: dict[str, list[SampleArticle]] = field(default_factory=dict)  # by title slug

    def articles_for(self, title: SampleTitle, year: int) -> list[SampleArticle]:
        return [a for a in self.articles[title.slug] if a.published.year == year]

    def groups(self) -> list[tuple[SampleTitle, int, list[SampleArticle]]]:
        """(title, year, articles) for every journal year, in a stable order."""
        out = []
        for title in self.titles:
            for year in sorted({a.published.year for a in self.articles[title.slug]}):
                out.append((title, year, self.articles_for(title, year)))
        return out


def issn_check_digit(digits: str) -> str:
    total = sum(int(d) * (8 - i) for i, d in enumerate(digits))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def orcid_check_digit(digits: str) -> str:
    total = 0
    for d in digits:
        total = (total + int(d)) * 2
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _issn(rng: random.Random) -> str:
    digits = "".join(str(rng.randrange(10)) for _ in range(7))
    full = digits + issn_check_digit(digits)
    return f"{full[:4]}-{full[4:]}"


def _orcid(rng: random.Random) -> str:
    digits = "0000000" + "".join(str(rng.randrange(10)) for _ in range(8))
    full = digits + orcid_check_digit(digits)
    return "-".join(full[i : i + 4] for i in range(0, 16, 4))


def _fill(rng: random.Random, lang: str, template: str) -> tuple[str, dict[str, str]]:
    words = {k: rng.choice(v) for k, v in WORDS[lang].items()}
    text = template.format(**words)
    return text[0].upper() + text[1:], words


def _article(
    rng: random.Random, title: SampleTitle, year: int, vol: int, issue: int, n: int, page: int
) -> SampleArticle:
    lang = title.language
    heading, words = _fill(rng, lang, rng.choice(TITLE_TEMPLATES[lang]))
    sentences = ABSTRACT_SENTENCES[lang]
    abstract = " ".join(s.format(**words) for s in [sentences[0], *rng.sample(sentences[1:], 2)])
    given, surnames = NAMES[title.publisher.country]
    authors = tuple(
        SampleAuthor(
            given=rng.choice(given),
            surname=rng.choice(surnames),
            orcid=_orcid(rng) if rng.random() < 0.7 else None,
            affiliation=rng.choice(AFFILIATIONS[title.publisher.country]),
        )
        for _ in range(rng.randint(1, 4))
    )
    length = rng.randint(6, 18)
    return SampleArticle(
        doi=f"10.5555/{slug(title.slug, 20)}.{year}.{vol}.{issue}.{n}",
        slug=f"{slug(title.slug, 20)}-{year}-{vol}-{issue}-{n}",
        title=heading,
        abstract=abstract,
        authors=authors,
        keywords=tuple(rng.sample(KEYWORDS[lang], 3)),
        volume=str(vol),
        issue=str(issue),
        fpage=page,
        lpage=page + length - 1,
        published=dt.date(year, 1 + 6 * (issue - 1) % 12, rng.randint(1, 28)),
        language=lang,
        article_type=rng.choice(["research-article"] * 4 + ["review-article", "editorial"]),
        with_supplement=rng.random() < 0.3,
    )


def generate_corpus(
    seed: int = 1,
    *,
    publishers: int = 6,
    titles_per_publisher: int = 1,
    years: Sequence[int] = (2023, 2024),
    articles_per_issue: int = 3,
    issues_per_year: int = 2,
) -> Corpus:
    rng = random.Random(seed)  # noqa: S311 - sample content, not cryptography
    corpus = Corpus(seed)
    for p_index in range(publishers):
        pub_name, country, city, journal, abbrev, lang = JOURNALS[p_index % len(JOURNALS)]
        publisher = SamplePublisher(pub_name, country, city)
        corpus.publishers.append(publisher)
        for t_index in range(titles_per_publisher):
            name = journal if t_index == 0 else f"{journal} — Series {t_index + 1}"
            title = SampleTitle(
                title=name,
                slug=slug(f"{abbrev} {t_index + 1}" if lang == "ar" else name),
                abbrev=abbrev,
                publisher=publisher,
                issn_print=_issn(rng),
                issn_online=_issn(rng),
                language=lang,
                licence=CC_BY if rng.random() < 0.8 else CC_BY_NC,
            )
            corpus.titles.append(title)
            articles = []
            for y_index, year in enumerate(years):
                for issue in range(1, issues_per_year + 1):
                    page = 1
                    for n in range(1, articles_per_issue + 1):
                        art = _article(rng, title, year, y_index + 1, issue, n, page)
                        page = art.lpage + 1
                        articles.append(art)
            corpus.articles[title.slug] = articles
    return corpus
