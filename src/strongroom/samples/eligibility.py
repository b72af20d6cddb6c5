"""Sample eligibility files in the publishers' own formats (a World Bank indicator CSV, a UNDP HDR CSV, an LDC
list, an official list), for tests and the docs. The figures are made up to fall on chosen sides of the rules;
they are not the published statistics."""

from __future__ import annotations

from pathlib import Path

# alpha-3, name, GNI (US$bn), GNI per capita (US$), HDI, on the LDC list
COUNTRIES = [
    ("TZA", "Tanzania", 80.0, 1200, 0.53, True),
    ("KEN", "Kenya", 110.0, 2100, 0.601, False),
    ("MDA", "Moldova", 16.0, 6000, 0.76, False),
    ("GHA", "Ghana", 75.0, 2300, 0.60, False),
    ("UKR", "Ukraine", 170.0, 4700, 0.73, False),
    ("IND", "India", 3400.0, 2400, 0.64, False),
    ("SEN", "Senegal", 28.0, 1600, 0.52, True),
    ("KGZ", "Kyrgyz Republic", 10.0, 1400, 0.70, False),
    ("BGD", "Bangladesh", 450.0, 2600, 0.67, True),  # too large for A3 and B3: only the LDC list makes it A
]
OFFICIAL = [("TZ", "A"), ("KE", "A"), ("MD", "B"), ("GH", "A"), ("SN", "A"), ("KG", "B"), ("UA", "B"), ("BD", "A")]


def write_world_bank(path: Path) -> Path:
    lines = [
        '"Data Source","World Development Indicators",',
        "",
        '"Last Updated Date","2024-07-01",',
        "",
        '"Country Name","Country Code","Indicator Name","Indicator Code","2022","2023",',
    ]
    for code, name, gni, pc, _, _ in COUNTRIES:
        lines.append(
            f'"{name}","{code}","GNI, Atlas method (current US$)","NY.GNP.ATLS.CD",'
            f'"{gni * 0.97e9:.0f}","{gni * 1e9:.0f}",'
        )
        lines.append(
            f'"{name}","{code}","GNI per capita, Atlas method (current US$)","NY.GNP.PCAP.CD","{pc * 0.97:.0f}","{pc}",'
        )
    lines.append(
        '"Sub-Saharan Africa","SSF","GNI, Atlas method (current US$)","NY.GNP.ATLS.CD","1900000000000","2000000000000",'
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_hdr(path: Path) -> Path:
    rows = ["iso3,country,hdicode,hdi_2021,hdi_2022"]
    rows += [f"{code},{name},,{hdi - 0.01:.3f},{hdi:.3f}" for code, name, _, _, hdi, _ in COUNTRIES]
    rows.append("ZZA,Very high human development,,0.89,0.90")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_ldc(path: Path) -> Path:
    listed = [name for _, name, *_, ldc in COUNTRIES if ldc]
    path.write_text("# UN Least Developed Countries (sample)\n" + "\n".join(listed) + "\n", encoding="utf-8")
    return path


def write_hale(path: Path) -> Path:
    """Healthy life expectancy (``country,year,value``), as the WHO GHO export gives it."""
    rows = ["country,year,value"] + [f"{code},2021,{62.0 - hdi * 5:.1f}" for code, *_, hdi, _ in COUNTRIES]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_official_list(path: Path) -> Path:
    path.write_text("country,group\n" + "\n".join(f"{c},{g}" for c, g in OFFICIAL) + "\n", encoding="utf-8")
    return path
