"""The HTML report in a real browser (headless Chromium): filters narrow the findings, chart bars set them,
nothing is blocked or fails, markup from a record never runs. Saves screenshots to build/artifacts/.

`make test` installs Debian's chromium and chromium-driver when they are missing and it runs as root
(scripts/ensure-chromium). Elsewhere the test skips and says why, except under CI, where it must run.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import svcpolicy
from auditing import HOSTILE, RECORDS, audit, record
from conftest import AS_OF, ON_CI, REPO

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

ARTIFACTS = REPO / "build" / "artifacts"
CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"


def _unavailable(reason: str) -> None:
    message = f"{reason}; `make test` installs Debian's chromium and chromium-driver as root (scripts/ensure-chromium)"
    if ON_CI:
        pytest.fail(f"CI must run the browser test: {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[dev]')")
    binary = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver = shutil.which(DRIVER)
    if binary is None or driver is None:
        _unavailable(f"no headless browser: chromium {binary or 'missing'}, chromedriver {driver or 'missing'}")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--window-size=1400,1500",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=Service(str(driver)))
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[svcpolicy.Report, Path]:
    """The bundled example records checked by the bundled pack, as an auditor would open them."""
    report = svcpolicy.load_policy().evaluate(REPO / "examples" / "records.jsonl", as_of=AS_OF)
    target = tmp_path_factory.mktemp("html") / "report.html"
    report.to_html(target, lang="zh")
    return report, target


def visible_rows(browser: WebDriver) -> list[dict[str, str]]:
    script = (
        "return Array.from(document.querySelectorAll('#findings-table tbody tr.finding'))"
        ".filter(r => r.offsetParent !== null)"
        ".map(r => ({article: r.dataset.article, severity: r.dataset.severity, branch: r.dataset.branch,"
        " month: r.dataset.month, outcome: r.dataset.outcome}));"
    )
    rows: list[dict[str, str]] = browser.execute_script(script)
    return rows


def choose(browser: WebDriver, name: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", f"filter-{name}")).select_by_value(value)


def shown_count(browser: WebDriver) -> int:
    return int(browser.find_element("id", "shown-count").text.replace(",", ""))


def test_filters_narrow_the_findings_and_reset_brings_them_back(
    browser: WebDriver, example: tuple[svcpolicy.Report, Path]
) -> None:
    report, page = example
    browser.get(page.as_uri())
    assert len(visible_rows(browser)) == shown_count(browser) == len(report.findings)

    by_article = Counter(f.citations[0].ref for f in report.findings)
    article, expected = by_article.most_common(1)[0]
    choose(browser, "article", article)
    rows = visible_rows(browser)
    assert len(rows) == expected == shown_count(browser)
    assert {r["article"] for r in rows} == {article}

    choose(browser, "outcome", "violation")
    expected_violations = sum(1 for f in report.violations if f.citations[0].ref == article)  # the two filters combine
    assert len(visible_rows(browser)) == expected_violations

    browser.find_element("css selector", "#filters button[type=reset]").click()
    choose(browser, "branch", "SH-PD-002")
    rows = visible_rows(browser)
    assert rows and {r["branch"] for r in rows} == {"SH-PD-002"}
    in_branch = [f for f in report.findings if report.context(f).get("branch_id") == "SH-PD-002"]
    assert len(rows) == len(in_branch)

    severity = str(in_branch[0].severity)
    choose(browser, "severity", severity)
    rows = visible_rows(browser)
    assert len(rows) == sum(str(f.severity) == severity for f in in_branch)
    assert {(r["branch"], r["severity"]) for r in rows} == {("SH-PD-002", severity)}

    # an article and a month that each have findings, but not together: nothing left, and the page says so
    dated = [(f.citations[0].ref, report.context(f).get("started_at")) for f in report.findings]
    pairs = {(ref, started.strftime("%Y-%m")) for ref, started in dated if started is not None}
    months = sorted({month for _, month in pairs})
    article, month = next((a, m) for a in by_article for m in months if (a, m) not in pairs)
    browser.find_element("css selector", "#filters button[type=reset]").click()
    choose(browser, "article", article)
    choose(browser, "month", month)
    assert visible_rows(browser) == [] and shown_count(browser) == 0
    assert browser.find_element("id", "no-match").is_displayed()

    browser.find_element("css selector", "#filters button[type=reset]").click()
    assert len(visible_rows(browser)) == len(report.findings)
    assert not browser.find_element("id", "no-match").is_displayed()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(ARTIFACTS / "report.png"))


def test_a_chart_bar_sets_its_filter(browser: WebDriver, example: tuple[svcpolicy.Report, Path]) -> None:
    report, page = example
    browser.get(page.as_uri())
    bar = browser.find_element("css selector", '#chart-months g.bar[data-value="2026-11"]')
    bar.click()
    rows = visible_rows(browser)
    assert rows and {r["month"] for r in rows} == {"2026-11"}
    assert browser.find_element("id", "filter-month").get_attribute("value") == "2026-11"

    top = browser.find_element("css selector", "#chart-articles g.bar")  # the most breached article
    article = str(top.get_attribute("data-value"))
    assert article == Counter(f.citations[0].ref for f in report.violations).most_common(1)[0][0]
    top.click()
    rows = visible_rows(browser)
    started = [report.context(f).get("started_at") for f in report.findings]
    expected = [
        f
        for f, at in zip(report.findings, started, strict=True)
        if f.citations[0].ref == article and at is not None and at.strftime("%Y-%m") == "2026-11"
    ]
    assert len(rows) == len(expected) > 0
    assert {(r["article"], r["month"]) for r in rows} == {(article, "2026-11")}

    # each finding opens on the verbatim text of every article it cites, and on its evidence
    first = expected[0]
    row = browser.find_element("css selector", "#findings-table tbody tr.finding:not([hidden])")
    quote = row.find_element("css selector", f'blockquote[data-citation="{article}"]')
    assert not quote.is_displayed()
    row.find_element("css selector", "details summary").click()
    assert quote.is_displayed()
    assert first.citations[0].text.replace("\n", "") in quote.text.replace("\n", "")
    assert len(row.find_elements("css selector", "blockquote")) == len(first.citations)
    if first.evidence:
        assert row.find_element("css selector", "table.evidence").is_displayed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "report-filtered.png"))


def test_the_page_opens_without_errors_or_blocked_resources(
    browser: WebDriver, example: tuple[svcpolicy.Report, Path]
) -> None:
    _, page = example
    browser.get(page.as_uri())
    log: list[dict[str, Any]] = browser.execute("getLog", {"type": "browser"})["value"]  # Chrome's console
    problems = [entry for entry in log if entry["level"] in ("SEVERE", "WARNING")]
    assert problems == []
    assert browser.execute_script("return document.body.dataset.filtered") is not None  # the script ran
    articles = browser.find_element("id", "chart-articles")
    assert articles.size["height"] > 100 and articles.size["width"] > 300


def test_markup_in_a_record_is_shown_never_run(browser: WebDriver, tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    audit(tmp_path, [*RECORDS, HOSTILE]).to_html(page, show_customer_ids=True)
    browser.get(page.as_uri())
    assert browser.execute_script("return window.pwned === undefined")
    assert browser.execute_script("return document.images.length") == 0
    text = browser.find_element("id", "findings-table").text
    assert "<script>window.pwned=1</script>" in text


def busy_records(count: int) -> list[dict[str, Any]]:
    """``count`` records over 40 branches, 25 employees and 12 months; every other one kept waiting (a finding)."""
    return [
        record(
            f"R{i:05d}",
            f"SH-{i % 40:03d}",
            f"E{i % 25:02d}",
            f"C{100000 + i}",
            f"2026-{1 + i % 12:02d}-03T09:00:00+08:00",
            wait=45 if i % 2 else 5,
        )
        for i in range(count)
    ]


def visible_ids(browser: WebDriver) -> list[str]:
    script = (
        "return Array.from(document.querySelectorAll('#findings-table tbody tr.finding'))"
        ".filter(r => r.offsetParent !== null).map(r => r.querySelector('[data-col=record]').textContent);"
    )
    ids: list[str] = browser.execute_script(script)
    return ids


def downloaded_csv(browser: WebDriver, folder: Path) -> list[list[str]]:
    """Click the export button and read the CSV the page hands to the browser as a download."""
    import csv
    import time

    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    browser.find_element("id", "export-csv").click()
    target = folder / "svcpolicy-findings.csv"
    deadline = time.monotonic() + 15
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.exists(), "the CSV was not downloaded"
    with target.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_employee_filter_search_sort_paging_and_csv_export_work_together(browser: WebDriver, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    report = audit(tmp_path, busy_records(500))
    assert len(report.findings) == 250
    page = tmp_path / "busy.html"
    report.to_html(page)
    browser.get(page.as_uri())

    # paging: 200 rows at a time, the count still exact
    assert len(visible_rows(browser)) == 200 and shown_count(browser) == 250
    assert browser.find_element("id", "page-info").text == "1 / 2"
    browser.find_element("id", "page-next").click()
    assert len(visible_rows(browser)) == 50 and browser.find_element("id", "page-info").text == "2 / 2"

    # filter by employee: back to the first page, only that employee's findings
    choose(browser, "employee", "E01")
    expected = [str(f.record.id) for f in report.findings if report.context(f).get("employee.id") == "E01"]
    assert sorted(visible_ids(browser)) == sorted(expected) and shown_count(browser) == len(expected) == 10
    assert browser.find_element("id", "page-info").text == "1 / 1"

    # free-text search, on top of the filter and then alone
    search = browser.find_element("id", "filter-search")
    search.send_keys("R00051")
    assert visible_ids(browser) == ["R00051"]
    browser.find_element("css selector", "#filters button[type=reset]").click()
    search.send_keys("sh-007")  # any case; the branch is shown in the row
    in_branch = [str(f.record.id) for f in report.findings if report.context(f).get("branch_id") == "SH-007"]
    assert sorted(visible_ids(browser)) == sorted(in_branch)

    # sort by the record column: ascending, then descending on a second click, across pages
    browser.find_element("css selector", "#filters button[type=reset]").click()
    heading = browser.find_elements(By.CSS_SELECTOR, "#findings-table thead th")[3]
    heading.find_element(By.TAG_NAME, "button").click()
    ids = sorted(str(f.record.id) for f in report.findings)
    assert visible_ids(browser) == ids[:200] and heading.get_attribute("aria-sort") == "ascending"
    heading.find_element(By.TAG_NAME, "button").click()
    assert visible_ids(browser) == ids[::-1][:200] and heading.get_attribute("aria-sort") == "descending"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    choose(browser, "employee", "E03")
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(ARTIFACTS / "report-rates.png"))
    browser.execute_script("document.getElementById('findings').scrollIntoView()")
    assert browser.save_screenshot(str(ARTIFACTS / "report-controls.png"))

    # CSV export: every filtered row (not only the page), in the order shown, with readable headers
    rows = downloaded_csv(browser, tmp_path / "downloads")
    header, body = rows[0], rows[1:]
    assert header[:4] == ["严重程度", "结论", "规则", "规则名称"] and "员工" in header
    assert [line[header.index("员工")] for line in body] == ["E03"] * 10
    assert [line[header.index("记录")] for line in body] == sorted(
        (str(f.record.id) for f in report.findings if report.context(f).get("employee.id") == "E03"), reverse=True
    )
    assert {line[header.index("严重程度")] for line in body} == {"低"}  # Chinese severity labels
    assert all("**" in line[header.index("客户")] for line in body)  # customer ids stay masked


def test_rates_and_every_branch_are_on_the_page(browser: WebDriver, tmp_path: Path) -> None:
    report = audit(tmp_path, busy_records(200))
    page = tmp_path / "rates.html"
    report.to_html(page)
    browser.get(page.as_uri())
    bars = browser.find_elements("css selector", "#chart-branches g.bar")
    assert len(bars) == 40  # every branch, the chart scrolls
    box = browser.find_element("css selector", "#chart-branches .scroll")
    assert browser.execute_script("return arguments[0].scrollHeight > arguments[0].clientHeight", box)
    rates = browser.find_elements("css selector", "#rates-branch_id tbody tr")
    assert len(rates) == 40
    first = rates[0].find_elements("css selector", "td")
    assert [cell.text for cell in first[1:3]] == ["5", "5"] and first[3].text.startswith("100.0%")


def test_a_report_of_ten_thousand_findings_opens_quickly_with_exact_totals(browser: WebDriver, tmp_path: Path) -> None:
    import time

    report = audit(tmp_path, busy_records(20_000))
    assert len(report.findings) == 10_000
    page = tmp_path / "large.html"
    report.to_html(page)
    started = time.monotonic()
    browser.get(page.as_uri())  # returns once the page has loaded and its script has run
    opened = time.monotonic() - started
    assert browser.execute_script("return document.body.dataset.filtered") == "10000"
    assert browser.find_element("id", "shown-count").text == "10,000"
    assert len(visible_rows(browser)) == 200 and browser.find_element("id", "page-info").text == "1 / 50"
    assert opened < 15, f"the page took {opened:.1f} s to open"
    started = time.monotonic()
    choose(browser, "employee", "E01")
    assert shown_count(browser) == 400 and time.monotonic() - started < 5
