"""A realistic Open Journal Systems site, generated from the sample corpus and served over real HTTP on loopback:
what the harvester's tests and benchmark crawl (no network is needed).

One journal at ``/index.php/{slug}/``: a CLOCKSS publisher manifest (``gateway/clockss``) with the permission
statement and the issues by year, the issue archive, issue tables of contents, article landing pages with
Highwire ``citation_*`` tags and schema.org JSON-LD (every fourth page JSON-LD only), PDF and HTML galleys, a
stylesheet and a cover image, and the pages a harvester must stay out of (search, login, user registration,
statistics). ``SiteState`` switches faults on: no permission statement, an added issue, and the ``faults`` traps
(a redirect loop, an infinite calendar, session ids in URLs, a huge file, a slow page, 404s and 500s, a page in a
non-UTF-8 encoding). HTML pages are sent with chunked transfer coding, as OJS's PHP pages are, cut into chunks of
a different size on each request.
"""

from __future__ import annotations

import html
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from strongroom.samples.corpus import SampleArticle, SampleTitle, generate_corpus
from strongroom.samples.pdf import article_pdf

PERMISSION = "CLOCKSS system has permission to ingest, preserve, and serve this Archival Unit"
CSS = b"body{font-family:serif;max-width:50rem;margin:auto}.toc li{margin:.3rem 0}\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da6364f8ffbf1e0005"
    "fe02fea35ea9a40000000049454e44ae426082"
)


@dataclass
class Issue:
    id: int
    year: int
    volume: str
    number: str
    articles: list[tuple[int, SampleArticle]]


@dataclass
class SiteState:
    permission: bool = True
    permission_as_comment: bool = False
    faults: bool = False
    hidden_years: set[int] = field(default_factory=set)  # issues not yet published (a later "new issue")
    delay: float = 0.0  # seconds added to every response
    oai_page: int = 5  # records per OAI-PMH page
    oai_broken_tokens: bool = False  # OJS's known fault: every resumption token is refused
    oai_malformed: bool = False
    oai_jats: bool = False  # the OJS JATS plugin is installed: records are offered as JATS too
    online_since: dict[int, str] = field(default_factory=dict)  # year -> OAI datestamp of its records (ISO date)
    requests: list[str] = field(default_factory=list)
    # the PKP Preservation Network plugin's side: what its gateway says, and the packages it serves
    ojs_version: str = "3.4.0.5"
    terms_accepted: bool = True
    pln_gateway: bool = True  # False: the plugin is disabled (the gateway 404s)


@dataclass
class PlnPackage:
    """A deposit package the plugin built and serves at ``…/pln/deposits/{uuid}`` until the network fetched it."""

    uuid: str
    issue: Issue
    data: bytes
    fault: str | None = None


class OjsSite:
    def __init__(
        self,
        seed: int = 1,
        title_index: int = 1,
        state: SiteState | None = None,
        *,
        years: tuple[int, ...] = (2023, 2024),
        issues_per_year: int = 2,
        articles_per_issue: int = 3,
    ) -> None:
        corpus = generate_corpus(
            seed, years=years, issues_per_year=issues_per_year, articles_per_issue=articles_per_issue
        )
        self.title: SampleTitle = corpus.titles[title_index]
        self.slug = self.title.slug
        self.state = state or SiteState()
        self.issues: list[Issue] = []
        self.pln_packages: dict[str, PlnPackage] = {}
        self.articles: dict[int, tuple[Issue, SampleArticle]] = {}
        self.pdfs: dict[int, bytes] = {}
        next_issue, next_article = 1, 1
        for year in sorted({a.published.year for a in corpus.articles[self.slug]}):
            by_issue: dict[tuple[str, str], list[SampleArticle]] = {}
            for a in corpus.articles_for(self.title, year):
                by_issue.setdefault((a.volume, a.issue), []).append(a)
            for (vol, num), articles in sorted(by_issue.items()):
                issue = Issue(next_issue, year, vol, num, [])
                next_issue += 1
                for a in articles:
                    issue.articles.append((next_article, a))
                    self.articles[next_article] = (issue, a)
                    self.pdfs[next_article] = article_pdf(a, self.title)
                    next_article += 1
                self.issues.append(issue)

    @property
    def base(self) -> str:
        return f"/index.php/{self.slug}"

    def visible_issues(self) -> list[Issue]:
        return [i for i in self.issues if i.year not in self.state.hidden_years]

    def years(self) -> list[int]:
        return sorted({i.year for i in self.visible_issues()})

    # ---- pages --------------------------------------------------------------------------------------------

    def _page(self, title: str, body: str, head: str = "") -> bytes:
        return (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<link rel="stylesheet" href="/styles/ojs.css">{head}</head><body>'
            f'<header><a href="{self.base}/index">{html.escape(self.title.title)}</a> '
            f'<a href="{self.base}/search/search?query=">Search</a> <a href="{self.base}/login">Login</a> '
            f'<a href="{self.base}/user/register">Register</a> <a href="{self.base}/stats/views">Statistics</a>'
            f"</header>{body}</body></html>"
        ).encode()

    def manifest(self) -> bytes:
        statement = f"<!-- {PERMISSION} -->" if self.state.permission_as_comment else f"<p>{PERMISSION}.</p>"
        body = f"<h1>{html.escape(self.title.title)}: CLOCKSS publisher manifest</h1>"
        for year in self.years():
            body += f"<h2>{year}</h2><ul>"
            for i in self.visible_issues():
                if i.year == year:
                    body += (
                        f'<li><a href="{self.base}/issue/view/{i.id}">Vol {i.volume} No {i.number} ({year})</a></li>'
                    )
            body += "</ul>"
        body += '<img src="/public/cover.png" alt="cover">'
        if self.state.permission:
            body += statement
        if self.state.faults:
            body += (
                f'<a href="{self.base}/calendar/2024/1">Events</a> <a href="{self.base}/loop/a">Mirror</a> '
                f'<a href="{self.base}/issue/view/999">Missing issue</a> <a href="{self.base}/broken">Broken</a> '
                f'<a href="{self.base}/issue/view/1?PHPSESSID=abc123">Session</a> '
                f'<a href="{self.base}/article/download/huge/1">Dataset</a> <a href="{self.base}/latin1">Résumé</a> '
                f'<a href="{self.base}/slow">Slow</a>'
            )
        return self._page("CLOCKSS manifest", body)

    def archive(self) -> bytes:
        items = "".join(
            f'<li><a href="{self.base}/issue/view/{i.id}">Vol {i.volume} No {i.number} ({i.year})</a></li>'
            for i in self.visible_issues()
        )
        return self._page("Archives", f'<h1>Archives</h1><ul class="toc">{items}</ul>')

    def issue(self, issue: Issue) -> bytes:
        items = "".join(
            f'<li><a href="{self.base}/article/view/{aid}">{html.escape(a.title)}</a> '
            f'<a href="{self.base}/article/view/{aid}/{aid}">PDF</a></li>'
            for aid, a in issue.articles
        )
        body = f'<h1>Vol {issue.volume} No {issue.number} ({issue.year})</h1><img src="/public/cover.png" alt="">'
        return self._page(f"Vol {issue.volume} No {issue.number}", body + f'<ul class="toc">{items}</ul>')

    def article(self, aid: int) -> bytes:
        issue, a = self.articles[aid]
        meta = [
            ("citation_title", a.title),
            *[("citation_author", au.name) for au in a.authors],
            ("citation_date", a.published.strftime("%Y/%m/%d")),
            ("citation_journal_title", self.title.title),
            ("citation_issn", self.title.issn_online),
            ("citation_volume", issue.volume),
            ("citation_issue", issue.number),
            ("citation_firstpage", str(a.fpage)),
            ("citation_lastpage", str(a.lpage)),
            ("citation_doi", a.doi),
            ("citation_language", a.language),
            ("citation_abstract_html_url", f"http://HOST{self.base}/article/view/{aid}"),
            ("citation_pdf_url", f"http://HOST{self.base}/article/download/{aid}/{aid}"),
            *[("citation_keywords", k) for k in a.keywords],
        ]
        if self.schema_only(aid):
            meta = []  # a theme that describes its articles in schema.org JSON-LD only, with no Highwire tags
        head = "".join(f'<meta name="{n}" content="{html.escape(v)}">' for n, v in meta)
        if not self.schema_only(aid):
            head += f'<meta name="DC.Rights" content="{html.escape(self.title.licence)}">'
        head += f'<script type="application/ld+json">{self.json_ld(aid)}</script>'
        body = (
            f"<h1>{html.escape(a.title)}</h1><p>{html.escape(', '.join(au.name for au in a.authors))}</p>"
            f"<h2>Abstract</h2><p>{html.escape(a.abstract)}</p>"
            f'<a class="galley" href="{self.base}/article/view/{aid}/{aid}">PDF</a> '
            f'<a class="galley" href="{self.base}/article/view/{aid}/html">HTML</a>'
        )
        return self._page(a.title, body, head)

    @staticmethod
    def schema_only(aid: int) -> bool:
        return aid % 4 == 1

    def json_ld(self, aid: int) -> str:
        """The article in schema.org terms, as themes and other platforms describe it (every landing page)."""
        issue, a = self.articles[aid]
        data = {
            "@context": "https://schema.org",
            "@type": "ScholarlyArticle",
            "headline": a.title,
            "author": [{"@type": "Person", "name": au.name} for au in a.authors],
            "datePublished": a.published.isoformat(),
            "identifier": {"@type": "PropertyValue", "propertyID": "DOI", "value": a.doi},
            "sameAs": f"https://doi.org/{a.doi}",
            "pageStart": str(a.fpage),
            "pageEnd": str(a.lpage),
            "inLanguage": a.language,
            "keywords": a.keywords,
            "license": self.title.licence,
            "isPartOf": {
                "@type": "PublicationIssue",
                "issueNumber": issue.number,
                "isPartOf": {
                    "@type": "PublicationVolume",
                    "volumeNumber": issue.volume,
                    "isPartOf": {"@type": "Periodical", "name": self.title.title, "issn": self.title.issn_online},
                },
            },
        }
        return json.dumps(data).replace("</", "<\\/")

    def html_galley(self, aid: int) -> bytes:
        _, a = self.articles[aid]
        return self._page(
            a.title, f"<article><h1>{html.escape(a.title)}</h1><p>{html.escape(a.abstract)}</p></article>"
        )

    def pdf_viewer(self, aid: int) -> bytes:
        return self._page(
            "PDF",
            f'<iframe src="{self.base}/article/download/{aid}/{aid}"></iframe>'
            f'<a href="{self.base}/article/download/{aid}/{aid}">Download</a>',
        )

    # ---- the PKP Preservation Network plugin's side ------------------------------------------------------------

    def handshake(self) -> bytes:
        """The plugin's ``gateway/plugin/PLNGatewayPlugin`` answer."""
        count = len(self.articles)
        accepted = "yes" if self.state.terms_accepted else "no"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<handshake>'
            f"<ojsInfo><release>{html.escape(self.state.ojs_version)}</release></ojsInfo>"
            "<pluginInfo><release>2.0.4.3</release><releaseDate>2024-05-01</releaseDate><current>1</current>"
            f"<prerequisites><phpVersion>8.2.0</phpVersion><zipInstalled>yes</zipInstalled></prerequisites>"
            f'<terms termsAccepted="{accepted}"></terms></pluginInfo>'
            f"<journalInfo><title>{html.escape(self.title.title)}</title>"
            f'<articles count="{count}"></articles></journalInfo></handshake>'
        ).encode()

    # ---- routing ------------------------------------------------------------------------------------------

    def respond(self, path: str, host: str) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for a GET of ``path``."""
        self.state.requests.append(path)
        if self.state.delay:
            time.sleep(self.state.delay)
        url = urlsplit(path)
        p = url.path
        html_type = {"Content-Type": "text/html; charset=utf-8"}
        if p == "/robots.txt":
            rules = f"User-agent: *\nDisallow: {self.base}/search\nDisallow: {self.base}/stats\n"
            return 200, {"Content-Type": "text/plain"}, rules.encode()
        if p == "/styles/ojs.css":
            return 200, {"Content-Type": "text/css"}, CSS
        if p == "/public/cover.png":
            return 200, {"Content-Type": "image/png"}, PNG
        if not p.startswith(self.base + "/"):
            return 404, html_type, self._page("Not found", "<h1>Not found</h1>")
        rest = p[len(self.base) + 1 :].split("/")
        visible = {i.id: i for i in self.visible_issues()}
        if rest == ["oai"]:
            return 200, {"Content-Type": "text/xml; charset=utf-8"}, self.oai(url.query, host)
        match rest:
            case ["gateway", "clockss"]:
                return 200, html_type, self.manifest()
            case ["index"] | ["issue", "archive"]:
                return 200, html_type, self.archive()
            case ["issue", "view", n] if n.isdigit() and int(n) in visible:
                return 200, html_type, self.issue(visible[int(n)])
            case ["article", "view", n] if self._visible_article(n):
                return 200, html_type, self.article(int(n)).replace(b"http://HOST", f"http://{host}".encode())
            case ["article", "view", n, "html"] if self._visible_article(n):
                return 200, html_type, self.html_galley(int(n))
            case ["article", "view", n, _] if self._visible_article(n):
                return 200, html_type, self.pdf_viewer(int(n))
            case ["article", "download", n, _] if self._visible_article(n):
                return 200, {"Content-Type": "application/pdf"}, self.pdfs[int(n)]
            case ["pln", "deposits", uuid] if uuid.upper() in self.pln_packages:
                return 200, {"Content-Type": "application/zip"}, self.pln_packages[uuid.upper()].data
            case ["gateway", "plugin", "PLNGatewayPlugin"] if self.state.pln_gateway:
                return 200, {"Content-Type": "text/xml; charset=utf-8"}, self.handshake()
            case ["search", *_] | ["login"] | ["user", *_] | ["stats", *_]:
                return 200, html_type, self._page("Out of scope", "<p>Nothing to preserve here.</p>")
        if self.state.faults:
            return self._fault(rest, html_type)
        return 404, html_type, self._page("Not found", "<h1>Not found</h1>")

    def oai(self, query: str, host: str) -> bytes:
        """OJS 3's OAI-PMH provider, as far as a harvester needs it: Identify, ListSets and ListRecords in oai_dc
        (the DOI bare in ``dc:identifier``; the journal's name, issue and pages, then its ISSNs, in ``dc:source``),
        ``from`` and ``until`` by day, a few records a page, and the fault of tokens that break after the first
        page."""
        from urllib.parse import parse_qs

        args = {k: v[0] for k, v in parse_qs(query).items()}
        head = (
            '<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            f"<responseDate>2026-11-24T00:00:00Z</responseDate><request>http://{host}{self.base}/oai</request>"
        )
        if self.state.oai_malformed:
            return (head + "<ListRecords><record><header>").encode()

        def error(code: str) -> bytes:
            return (head + f'<error code="{code}">{code}</error></OAI-PMH>').encode()

        verb = args.get("verb")
        if verb == "ListMetadataFormats":
            formats = [("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc/")]
            if self.state.oai_jats:
                formats.append(("jats", "https://jats.nlm.nih.gov/publishing/1.2/"))
            listed = "".join(
                f"<metadataFormat><metadataPrefix>{p}</metadataPrefix><schema>{ns}schema.xsd</schema>"
                f"<metadataNamespace>{ns}</metadataNamespace></metadataFormat>"
                for p, ns in formats
            )
            return (head + f"<ListMetadataFormats>{listed}</ListMetadataFormats></OAI-PMH>").encode()
        if verb == "Identify":
            return (
                head + f"<Identify><repositoryName>{html.escape(self.title.title)}</repositoryName>"
                f"<baseURL>http://{host}{self.base}/oai</baseURL><protocolVersion>2.0</protocolVersion>"
                "<adminEmail>editor@example.org</adminEmail><earliestDatestamp>2020-01-01</earliestDatestamp>"
                "<deletedRecord>no</deletedRecord><granularity>YYYY-MM-DD</granularity></Identify></OAI-PMH>"
            ).encode()
        if verb == "ListSets":  # OJS: the journal, then each of its sections
            sets = [(self.slug, self.title.title), (f"{self.slug}:ART", "Articles")]
            listed = "".join(f"<set><setSpec>{k}</setSpec><setName>{html.escape(n)}</setName></set>" for k, n in sets)
            return (head + f"<ListSets>{listed}</ListSets></OAI-PMH>").encode()
        if verb != "ListRecords":
            return error("badVerb")
        if "resumptionToken" in args:
            if self.state.oai_broken_tokens:
                return error("badResumptionToken")
            start, since, until = args["resumptionToken"].split("|")[:3]
        else:
            prefix = args.get("metadataPrefix")
            if prefix != "oai_dc" and not (prefix == "jats" and self.state.oai_jats):
                return error("cannotDisseminateFormat")
            start, since, until = "0", args.get("from", ""), args.get("until", "")
        jats = args.get("metadataPrefix") == "jats" or args.get("resumptionToken", "").endswith("|jats")

        def stamp(aid: int) -> str:
            issue, a = self.articles[aid]
            return self.state.online_since.get(issue.year, a.published.isoformat())

        chosen = [
            (aid, a)
            for aid, (issue, a) in sorted(self.articles.items())
            if issue.year not in self.state.hidden_years
            and (not since or stamp(aid) >= since[:10])
            and (not until or stamp(aid) <= until[:10])
        ]
        if not chosen:
            return error("noRecordsMatch")
        page = chosen[int(start) : int(start) + self.state.oai_page]
        body = "<ListRecords>"
        for aid, a in page:
            if jats:
                body += (
                    f"<record><header><identifier>oai:ojs.example.org:article/{aid}</identifier>"
                    f"<datestamp>{stamp(aid)}</datestamp><setSpec>{self.slug}</setSpec></header>"
                    f"<metadata>{self._jats(a)}</metadata></record>"
                )
                continue
            creators = "".join(f"<dc:creator>{html.escape(au.name)}</dc:creator>" for au in a.authors)
            body += (
                f"<record><header><identifier>oai:ojs.example.org:article/{aid}</identifier>"
                f"<datestamp>{stamp(aid)}</datestamp><setSpec>{self.slug}</setSpec></header>"
                '<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/">'
                f"<dc:title>{html.escape(a.title)}</dc:title>{creators}"
                f"<dc:description>{html.escape(a.abstract)}</dc:description>"
                f"<dc:date>{a.published.isoformat()}</dc:date><dc:type>info:eu-repo/semantics/article</dc:type>"
                f"<dc:publisher>{html.escape(self.title.publisher.name)}</dc:publisher>"
                f"<dc:identifier>http://{host}{self.base}/article/view/{aid}</dc:identifier>"
                f"<dc:identifier>{a.doi}</dc:identifier>"  # OJS 3 writes the DOI bare
                f'<dc:source xml:lang="en-US">{html.escape(self.title.title)}; '
                f"Vol. {a.volume} No. {a.issue} ({a.published.year}); {a.fpage}-{a.lpage}</dc:source>"
                f"<dc:source>{self.title.issn_online}</dc:source><dc:source>{self.title.issn_print}</dc:source>"
                f"<dc:language>{a.language}</dc:language></oai_dc:dc></metadata></record>"
            )
        nxt = int(start) + len(page)
        if nxt < len(chosen):
            token = f"{nxt}|{since}|{until}" + ("|jats" if jats else "")
            body += f'<resumptionToken completeListSize="{len(chosen)}" cursor="{start}">{token}</resumptionToken>'
        return (head + body + "</ListRecords></OAI-PMH>").encode()

    def _jats(self, a: SampleArticle) -> str:
        """The article's JATS moved into the namespace the OJS plugin declares (attributes keep theirs)."""
        from lxml import etree

        from strongroom.formats.xmlsafe import parse_xml
        from strongroom.samples.jats import article_jats

        root = parse_xml(article_jats(a, self.title), "sample")
        for el in root.iter():
            if isinstance(el.tag, str) and etree.QName(el).namespace is None:
                el.tag = f"{{https://jats.nlm.nih.gov/publishing/1.2/}}{el.tag}"
        return etree.tostring(root).decode()

    def _visible_article(self, n: str) -> bool:
        return n.isdigit() and int(n) in self.articles and self.articles[int(n)][0].year not in self.state.hidden_years

    def _fault(self, rest: list[str], html_type: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        match rest:
            case ["calendar", year, month]:  # an infinite calendar: every month links to the next
                y, m = int(year), int(month)
                nxt = f"{self.base}/calendar/{y + (m == 12)}/{m % 12 + 1}"
                return 200, html_type, self._page("Events", f'<a href="{nxt}">Next month</a>')
            case ["loop", "a"]:
                return 302, {"Location": f"{self.base}/loop/b"}, b""
            case ["loop", "b"]:
                return 302, {"Location": f"{self.base}/loop/a"}, b""
            case ["broken"]:
                return 500, html_type, self._page("Error", "<h1>Internal server error</h1>")
            case ["article", "download", "huge", _]:
                return 200, {"Content-Type": "application/octet-stream"}, b"\0" * (3 * 1024 * 1024)
            case ["latin1"]:
                body = "<html><head><meta charset='iso-8859-1'><title>Résumé</title></head><body>Résumé</body></html>"
                return 200, {"Content-Type": "text/html; charset=iso-8859-1"}, body.encode("latin-1")
            case ["slow"]:
                time.sleep(0.5)
                return 200, html_type, self._page("Slow", "<p>Eventually.</p>")
        return 404, html_type, self._page("Not found", "<h1>Not found</h1>")


@contextmanager
def serve_site(site: OjsSite) -> Iterator[str]:
    """Serve ``site`` on a free loopback port; yields its base URL (``http://127.0.0.1:PORT``)."""

    cuts = itertools.count()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes; without this, Nagle's algorithm waits for a delayed ACK
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_HEAD(self) -> None:
            status, headers, body = site.respond(self.path, self.headers.get("Host", "127.0.0.1"))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()

        def do_GET(self) -> None:
            status, headers, body = site.respond(self.path, self.headers.get("Host", "127.0.0.1"))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if status == 200 and headers.get("Content-Type", "").startswith("text/html"):
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                size = 700 + next(cuts) % 5 * 131
                parts = [body[i : i + size] for i in range(0, len(body), size)]
                self.wfile.write(b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n")
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a harvester that hangs up on a huge file is expected, not an error of the site

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    """Serve a sample journal site until stopped (for benchmarks, and to look at): prints its manifest URL."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--issues-per-year", type=int, default=2)
    parser.add_argument("--articles-per-issue", type=int, default=3)
    args = parser.parse_args()
    site = OjsSite(
        years=tuple(range(2024 - args.years + 1, 2025)),
        issues_per_year=args.issues_per_year,
        articles_per_issue=args.articles_per_issue,
    )
    with serve_site(site) as url:
        print(f"{url}{site.base}/gateway/clockss", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
