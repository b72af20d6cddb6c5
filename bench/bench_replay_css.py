"""What rewriting CSS costs a replay (see docs/benchmarks.md): processor time, in process, of an archived
stylesheet rewritten (tinycss2 tokenises it; its ``url()``s and ``@import``s of what the AU holds are replaced where
they stand) and of an HTML page with a ``<style>`` element, ``style`` attributes and ``srcset``s, each against the
same input left as it is (``rewrite_css_file``'s and ``rewrite``'s work when nothing in the CSS is held). A
stylesheet is rewritten once per replay cache period, not per request; this is the cost of that first read.

Usage: .venv/bin/python bench/bench_replay_css.py [--rules 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from strongroom.portal.replay import rewrite, rewrite_css_file

SITE = "https://journal.example"


def stylesheet(rules: int) -> bytes:
    """A theme's stylesheet of ``rules`` rules, one in four with a background image, and a few fonts."""
    out = ['@charset "utf-8";\n@import url("fonts.css");\n']
    for i in range(rules):
        out.append(f".c{i} > a:hover, .c{i} .t {{ color: #{i % 4096:03x}; margin: 0 {i % 7}px; /* r{i} */ ")
        out.append(f"background: url('../img/b{i}.png') no-repeat }}\n" if i % 4 == 0 else "}\n")
    out.append("@font-face { font-family: F; src: url(../fonts/f.woff2) format('woff2'), url(../fonts/f.woff) }\n")
    return "".join(out).encode()


def page(images: int) -> bytes:
    styled = "".join(
        f"<div class='c{i}' style='background-image:url(/img/b{i}.png)'><img src='/img/b{i}.png' "
        f"srcset='/img/b{i}.png 1x, /img/b{i}@2x.png 2x' alt=''></div>"
        for i in range(images)
    )
    return (
        f"<!DOCTYPE html><html><head><style>body {{ background: url(/img/b0.png) }} "
        f"@font-face {{ src: url(/fonts/f.woff2) }}</style></head><body>{styled}</body></html>"
    ).encode()


def best(work: Callable[[], object], rounds: int, times: int) -> float:
    """Best of ``rounds``: processor ms for one ``work``."""
    per = []
    for _ in range(rounds):
        began = time.process_time()
        for _ in range(times):
            work()
        per.append((time.process_time() - began) / times * 1000)
    return min(per)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=2000)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    css, html = stylesheet(args.rules), page(args.images)
    css_url = f"{SITE}/styles/theme.css"
    all_css = {f"{SITE}/img/b{i}.png" for i in range(args.rules)} | {f"{SITE}/styles/fonts.css"}
    all_css |= {f"{SITE}/fonts/f.woff2", f"{SITE}/fonts/f.woff"}
    all_page = {f"{SITE}/img/b{i}.png" for i in range(args.images)} | {
        f"{SITE}/img/b{i}@2x.png" for i in range(args.images)
    }
    all_page.add(f"{SITE}/fonts/f.woff2")
    assert rewrite_css_file(css, css_url, None, "a/b", all_css) is not None
    rows = [
        (
            f"stylesheet, {len(css) // 1000} KB, {args.rules // 4 + 4} addresses",
            best(lambda: rewrite_css_file(css, css_url, None, "a/b", set()), args.rounds, 20),
            best(lambda: rewrite_css_file(css, css_url, None, "a/b", all_css), args.rounds, 20),
        ),
        (
            f"page, {len(html) // 1000} KB, {args.images} style attributes and srcsets",
            best(lambda: rewrite(html, f"{SITE}/j/a", "a/b", set()), args.rounds, 50),
            best(lambda: rewrite(html, f"{SITE}/j/a", "a/b", all_page), args.rounds, 50),
        ),
    ]
    print("| input | nothing held, ms | all held, ms |")
    print("| --- | ---: | ---: |")
    for name, none, held in rows:
        print(f"| {name} | {none:.2f} | {held:.2f} |")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
