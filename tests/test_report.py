"""Tests of the self-contained HTML review page (allocator/report.py)."""

from __future__ import annotations

import re
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.report import MAX_MOVE_ROWS, SECTION_TITLES, render_report

VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "source", "track", "wbr",
}
EVIL_NAME = "<script>alert('x')</script>"
CHROMIUM = Path("/usr/bin/chromium")


class BalancedParser(HTMLParser):
    """Collects tags and checks that every non-void element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))  # <line/> in SVG: opened and closed at once

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_ELEMENTS:
            self.errors.append(f"end tag for void element {tag}")
        elif not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script":
            self.script_text.append(data)


def parse(page: str) -> BalancedParser:
    """Parse ``page`` and fail on unbalanced tags."""
    parser = BalancedParser()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    return parser


def full_summary() -> dict:
    """A summary with every documented key."""
    return {
        "status": "OPTIMAL", "objective": 1234.5, "best_bound": 1230.0, "gap": 0.0037,
        "n_customers": 20, "n_reps": 5, "n_assigned": 19, "n_pool": 1, "n_moves": 6,
        "n_forced_moves": 2, "n_voluntary_moves": 4, "move_budget": 10, "value_moved": 5400.0,
        "solve_seconds": 1.23, "total_seconds": 2.5,
        "balance": {
            "value_cv_before": 0.41, "value_cv_after": 0.12,
            "workload_cv_before": 0.33, "workload_cv_after": 0.15,
            "reps_over_target_before": 2, "reps_over_target_after": 0,
            "reps_under_target_before": 2, "reps_under_target_after": 1,
        },
        "run_id": "2024-05-01T02:00 <nightly>", "version": "0.1.0", "as_of": "2024-05-01",
    }


@pytest.fixture()
def small_book() -> dict:
    """5 reps (Chinese names, one named with <script>), 20 customers, 6 moves incl. pool."""
    reps = pd.DataFrame({
        "rep_id": ["R1", "R2", "R3", "R4", "R5"],
        "name": ["张伟", "李娜", EVIL_NAME, "Ann & Bob", "王芳"],
        "team": ["华东", "华东", "North", "North", ""],
        "region": ["E", "E", "N", "N", "S"],
        "active": [True, True, True, True, False],
        "accounts_before": [5, 4, 4, 3, 4], "accounts_after": [5, 5, 5, 4, 0],
        "value_before": [5000.0, 3000.0, 4000.0, 2000.0, 6000.0],
        "value_after": [5200.0, 4100.0, 4800.0, 3900.0, 0.0],
        "value_target": [4500.0, 4500.0, 4500.0, 4500.0, np.nan],
        "workload_before": [50.0, 40.0, 40.0, 30.0, 40.0],
        "workload_after": [50.0, 50.0, 50.0, 40.0, 0.0],
        "max_accounts": [8, 8, 8, 8, 8], "max_workload": [80.0, 80.0, np.nan, 80.0, 80.0],
        "utilization_before": [0.625, 0.5, np.nan, 0.375, 0.5],
        "utilization_after": [0.625, 0.625, np.nan, 0.5, 0.0],
        "mean_distance_km_before": [10.0, 12.0, 8.0, 20.0, 15.0],
        "mean_distance_km_after": [10.0, 11.0, 9.0, 14.0, np.nan],
    })
    cids = [f"C{i:02d}" for i in range(18)] + ["客户<&>甲", "C\"quote'"]
    owners = ["R1", "R2", "R3", "R4"] * 4 + ["R1", "", "R2", "R3"]
    previous = ["R1", "R2", "R3", "R4"] * 4 + ["R5", "R5", "", "R5"]
    assignments = pd.DataFrame({
        "customer_id": cids, "rep_id": owners, "previous_rep_id": previous,
        "moved": [o != p for o, p in zip(owners, previous)],
        "reason": ["kept"] * 16 + ["inactive owner", "no eligible rep", "from pool", "inactive owner"],
        "value": np.linspace(100, 2000, 20), "tier": ["standard", "key"] * 10,
        "distance_km": [5.0 * i if i % 7 else np.nan for i in range(20)],
        "cost_total": np.ones(20),
    })
    moves = pd.DataFrame({
        "customer_id": ["客户<&>甲", "C17", "C\"quote'", "C16", "C03", "C05"],
        "from_rep": ["", "R5", "R5", "R5", "R4", "R2"],
        "to_rep": ["R2", "", "R3", "R1", "R1", "R4"],
        "value": [1900.0, 1800.0, 2000.0, 1700.0, 400.0, 600.0],
        "tier": ["key", "standard", "key", "standard", "key", "key"],
        "reason": ["from pool", "no eligible rep", "inactive owner", "inactive owner", "balance", "balance"],
        "explanation": ["新客户分配给李娜", "no active rep can take it", "owner leaves",
                        "owner leaves", "evens out value <R4 over band>", "closer & lighter book"],
        "decision": [""] * 6,
    })
    customers = pd.DataFrame({
        "customer_id": cids,
        "lat": [31.2 + 0.1 * i if i != 3 else np.nan for i in range(20)],
        "lon": [121.4 - 0.2 * i for i in range(20)],
    })
    return {"summary": full_summary(), "assignments": assignments, "moves": moves,
            "reps": reps, "customers": customers}


def render(book: dict, **override) -> str:
    """Render ``book`` with some inputs replaced."""
    args = {**book, **override}
    return render_report(args["summary"], args["assignments"], args["moves"], args["reps"],
                         args.get("customers"))


def test_page_is_a_balanced_html5_document(small_book):
    """The page is one HTML5 document with a UTF-8 charset and balanced tags."""
    page = render(small_book)
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    parser = parse(page)
    assert [t for t, _ in parser.tags].count("html") == 1


def test_every_move_customer_is_listed_escaped(small_book):
    """Every move's customer_id appears in the moves table, HTML-escaped."""
    page = render(small_book)
    table = page[page.index('id="moves-table"'):]
    for cid in small_book["moves"]["customer_id"]:
        assert f"<td>{escape(cid)}</td>" in table


def escape(text: str) -> str:
    """html.escape with quotes, as the report uses."""
    import html

    return html.escape(text, quote=True)


def test_page_has_no_external_reference(small_book):
    """No URL, CDN or external resource appears anywhere in the page."""
    page = render(small_book)
    for needle in ("http://", "https://", "//cdn", "url(", "@import"):
        assert needle not in page
    for tag, attrs in parse(page).tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, attrs)


def test_data_strings_are_escaped(small_book):
    """A rep named <script>… and ids with < & quotes never reach the page raw."""
    page = render(small_book)
    assert EVIL_NAME not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "客户&lt;&amp;&gt;甲" in page and "客户<&>甲" not in page
    assert "evens out value &lt;R4 over band&gt;" in page
    assert "&lt;nightly&gt;" in page  # run_id from the summary
    parser = parse(page)
    assert [t for t, _ in parser.tags].count("script") == 1
    assert "alert" not in "".join(parser.script_text)


def test_chinese_text_is_kept(small_book):
    """Chinese names, teams and explanations appear as UTF-8 text."""
    page = render(small_book)
    for text in ("张伟", "李娜", "华东", "新客户分配给李娜", "公海"):
        assert text in page


def test_section_titles_are_present(small_book):
    """Every section of the page has its title."""
    page = render(small_book)
    for title in SECTION_TITLES.values():
        assert title in page
    for heading in ("value per rep", "workload utilization", "distance from customer to owning rep (km)",
                    "moves (count of customers)", "latitude", "longitude"):
        assert heading in page  # axis labels with units


def test_header_and_headline_figures(small_book):
    """The header shows status, objective, bound, gap % and seconds; headlines before → after."""
    page = render(small_book)
    for text in ("OPTIMAL", "1,234.50", "1,230", "0.37 %", "1.2 s", "2024-05-01",
                 "forced 2", "voluntary 4", "budget 10", "5,400",
                 "0.410 → ", "0.120", "0.330 → ", "0.150"):
        assert text in page, text


def test_moves_table_has_filters_for_team_tier_reason(small_book):
    """The moves table carries data attributes and selects for team, tier and reason."""
    page = render(small_book)
    for name in ("team", "tier", "reason"):
        assert f'<select name="{name}"' in page
    assert 'data-team="华东"' in page  # to-rep R1/R2's team
    assert 'data-team="pool (公海)"' in page  # move into the pool
    assert 'data-reason="from pool"' in page
    assert page.count("<tr data-team=") == len(small_book["moves"])
    assert 'id="move-filters" hidden' in page  # filters appear only when JS runs


def test_moves_table_sorted_by_value(small_book):
    """Moves are listed highest value first."""
    page = render(small_book)
    table = page[page.index('id="moves-table"'):]
    expected = ["C\"quote'", "客户<&>甲", "C17", "C16", "C05", "C03"]
    positions = [table.index(f"<td>{escape(c)}</td>") for c in expected]
    assert positions == sorted(positions)


def test_missing_summary_keys_show_a_dash(small_book):
    """An empty summary renders, with a dash for each missing figure."""
    page = render(small_book, summary={})
    parse(page)
    header = page[page.index("<header>"):page.index("</header>")]
    assert header.count("<dd>–</dd>") >= 8
    assert "Headline figures" in page
    page = render(small_book, summary={"status": "FEASIBLE", "balance": None, "gap": float("nan")})
    parse(page)
    assert "FEASIBLE" in page


def test_empty_moves_render_no_moves_proposed(small_book):
    """Zero moves render 'No moves proposed' instead of a table or a chart."""
    empty = small_book["moves"].iloc[0:0]
    page = render(small_book, moves=empty)
    parse(page)
    assert "No moves proposed" in page
    assert 'id="moves-table"' not in page
    page = render(small_book, moves=pd.DataFrame())
    parse(page)
    assert "No moves proposed" in page


def test_empty_and_minimal_tables_render(small_book):
    """Empty assignments and reps, and no customers, still give a valid page."""
    page = render_report({}, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), None)
    parse(page)
    assert "No moves proposed" in page
    assert "Customer locations were not given" in page


def test_map_draws_located_moves_and_notes_missing_rep_locations(small_book):
    """The map plots moved customers with lat/lon and says rep locations are not drawn."""
    page = render(small_book)
    section = page[page.index('<section id="map">'):]
    section = section[:section.index("</section>")]
    assert "<svg" in section
    assert "5 of 6 moved customers have a known location" in section  # C03 has no lat
    assert "Rep home locations are not part of this report" in section
    page = render(small_book, customers=None)
    assert "Customer locations were not given" in page


def test_before_distance_shown_only_when_known(small_book):
    """The distance histogram shows 'before' only when previous_distance_km is given."""
    page = render(small_book)
    assert "only &#x27;after&#x27; is shown" in page
    assignments = small_book["assignments"].assign(previous_distance_km=np.linspace(0, 90, 20))
    page = render(small_book, assignments=assignments)
    section = page[page.index('<section id="distance">'):page.index('<section id="map">')]
    assert ">before</text>" in section and ">after</text>" in section


def assert_inside_viewbox(page: str) -> None:
    """Fail when an x/y coordinate of a chart lies outside its viewBox."""
    for svg in re.findall(r"<svg .*?</svg>", page, re.S):
        w, h = map(float, re.search(r'viewBox="0 0 (\S+) (\S+)"', svg).groups())
        limits = {"x": w, "x1": w, "x2": w, "cx": w, "y": h, "y1": h, "y2": h, "cy": h}
        for attr, limit in limits.items():
            for value in re.findall(rf' {attr}="(-?[\d.]+)"', svg):
                assert -1 <= float(value) <= limit + 1, (attr, value)


def test_svg_coordinates_stay_inside_viewbox(small_book):
    """Every x/y coordinate drawn in a chart lies inside the chart's viewBox."""
    assert_inside_viewbox(render(small_book))
    many_reasons = small_book["moves"].assign(reason=[f"reason number {i}" for i in range(6)])
    assert_inside_viewbox(render(small_book, moves=many_reasons))  # the legend wraps


def big_book(n_customers: int = 100_000, n_reps: int = 1_000, n_moves: int = 20_000) -> dict:
    """A large synthetic run, built with vectorised numpy."""
    rng = np.random.default_rng(7)
    rep_ids = np.array([f"R{i:04d}" for i in range(n_reps)], dtype=object)
    util_after = rng.uniform(0.5, 1.0, n_reps)
    reps = pd.DataFrame({
        "rep_id": rep_ids, "name": [f"销售{i}" for i in range(n_reps)],
        "team": [f"Team {i % 45}" for i in range(n_reps)], "region": "East",
        "active": rng.random(n_reps) > 0.02,
        "accounts_before": rng.integers(60, 140, n_reps), "accounts_after": rng.integers(90, 110, n_reps),
        "value_before": rng.gamma(2.0, 5e5, n_reps), "value_after": rng.normal(1e6, 1e5, n_reps),
        "value_target": np.full(n_reps, 1e6), "workload_before": 300.0, "workload_after": 310.0,
        "max_accounts": 150, "max_workload": 400.0,
        "utilization_before": rng.uniform(0.2, 1.3, n_reps), "utilization_after": util_after,
        "mean_distance_km_before": 20.0, "mean_distance_km_after": 18.0,
    })
    cids = np.array([f"C{i:06d}" for i in range(n_customers)], dtype=object)
    values = rng.gamma(2.0, 5e3, n_customers)
    assignments = pd.DataFrame({
        "customer_id": cids, "rep_id": rng.choice(rep_ids, n_customers),
        "previous_rep_id": rng.choice(rep_ids, n_customers), "moved": False, "reason": "kept",
        "value": values, "tier": "standard", "distance_km": rng.exponential(30.0, n_customers),
        "cost_total": 1.0,
    })
    picked = rng.choice(n_customers, n_moves, replace=False)
    moves = pd.DataFrame({
        "customer_id": cids[picked], "from_rep": rng.choice(rep_ids, n_moves),
        "to_rep": rng.choice(np.append(rep_ids, ""), n_moves), "value": values[picked],
        "tier": rng.choice(["strategic", "key", "standard"], n_moves),
        "reason": rng.choice(["balance", "inactive owner", "reclaimed", "distance"], n_moves),
        "explanation": "moves to a closer rep with spare capacity", "decision": "",
    })
    customers = pd.DataFrame({"customer_id": cids, "lat": rng.uniform(22, 41, n_customers),
                              "lon": rng.uniform(100, 122, n_customers)})
    summary = full_summary() | {"n_customers": n_customers, "n_reps": n_reps, "n_moves": n_moves}
    return {"summary": summary, "assignments": assignments, "moves": moves, "reps": reps,
            "customers": customers}


def test_large_run_renders_fast_and_caps_the_table():
    """100k customers, 1,000 reps and 20k moves render in under 3 s with a capped table."""
    book = big_book()
    start = time.perf_counter()
    page = render(book)
    seconds = time.perf_counter() - start
    assert seconds < 3.0, f"render took {seconds:.2f} s"
    assert page.count("<tr data-team=") == MAX_MOVE_ROWS
    assert "Showing the 5,000 highest-value moves of 20,000; the full list is moves.csv." in page
    assert len(page) < 5_000_000
    parse(page)
    assert_inside_viewbox(page)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_headless_chromium_builds_the_moves_table(small_book, tmp_path):
    """Headless Chromium loads the page offline and its DOM holds the moves table."""
    page_path = tmp_path / "report.html"
    page_path.write_text(render(small_book), encoding="utf-8")
    result = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         page_path.as_uri()],
        capture_output=True, text=True, encoding="utf-8", timeout=60,
    )
    dom = result.stdout
    assert 'id="moves-table"' in dom, result.stderr[-2000:]
    assert "客户&lt;&amp;&gt;甲" in dom
    assert "rows shown" in dom  # the filter script ran and counted the rows
