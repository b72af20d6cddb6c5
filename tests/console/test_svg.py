"""The console's charts: well-formed SVG whose data- attributes carry exactly the numbers given, with every text
escaped (a title or a member's name cannot inject markup)."""

from __future__ import annotations

from lxml import etree

from strongroom.portal.console.svg import PALETTE, Series, bar_chart, line_chart, matrix

NS = {"s": "http://www.w3.org/2000/svg"}


def svg_of(markup: str) -> etree._Element:
    figure = etree.fromstring(markup.encode())  # a hostile label would break this parse, or add an element
    [svg] = figure.findall("s:svg", NS)
    return svg


def test_bars_carry_their_numbers_and_the_target() -> None:
    chart = bar_chart(
        ["AU 1", "AU 2", "AU 3"],
        [Series("good", [3, 1, 0]), Series("damaged", [0, 1, 2], PALETTE[3])],
        title="Copies",
        caption="copies per AU",
        target=3,
        target_label="policy: 3",
        name="copies",
    )
    svg = svg_of(chart)
    assert svg.get("data-chart") == "copies"
    groups = svg.findall("s:g", NS)
    assert [(g.get("data-label"), g.get("data-values")) for g in groups] == [
        ("AU 1", "3 0"),
        ("AU 2", "1 1"),
        ("AU 3", "0 2"),
    ]
    heights = [[float(r.get("height")) for r in g.findall("s:rect", NS)] for g in groups]
    assert heights[0][0] == max(h for hs in heights for h in hs) and heights[0][1] == 0  # 3 is the tallest bar
    assert abs(sum(heights[1]) - sum(heights[2]) / 1) < 0.2  # 1+1 and 0+2 stack to the same height
    [target] = [line for line in svg.findall("s:line", NS) if line.get("data-target")]
    assert target.get("data-target") == "3"


def test_lines_and_matrix_escape_their_text() -> None:
    hostile = '<script>alert("x")</script> & "quotes"'
    lines = svg_of(line_chart(["2026-01", "2026-02"], [Series(hostile, [2, 5])], title=hostile, caption=hostile))
    [polyline] = lines.findall("s:polyline", NS)
    assert polyline.get("data-series") == hostile and polyline.get("data-values") == "2 5"
    assert not lines.findall(".//s:script", NS) and not lines.findall(".//script")
    grid = svg_of(
        matrix(
            ["node-a", hostile],
            ["issn:1132-8606/2023", "issn:2222-3333/2024"],
            {("node-a", "issn:1132-8606/2023"): ("#009E73", "v2"), (hostile, "issn:2222-3333/2024"): ("#D55E00", "v1")},
            title="Holdings",
            caption="who holds what",
        )
    )
    cells = {(r.get("data-row"), r.get("data-column")): r.get("data-cell") for r in grid.findall("s:rect", NS)}
    assert cells == {("node-a", "issn:1132-8606/2023"): "v2", (hostile, "issn:2222-3333/2024"): "v1"}
    labels = [t.text for t in grid.findall("s:text", NS)]
    assert "issn:1132-8606/2023" in labels  # a whole AU key, not cut
