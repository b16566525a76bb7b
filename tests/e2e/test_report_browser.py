"""The progress report in a real browser (headless Chromium): a screenshot at 1280 px, no
horizontal scrolling at 1280 px or at the width of an A4 page, and an A4 PDF print whose
tables stay whole on one page.

Skipped, saying why, when Chromium is not installed (``apt install chromium``; .ci/run
installs it when it can). The page measures itself in a copy with one added script, since
the report itself has none; the PDF is read with ``pdftotext`` (poppler-utils) when present.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from clinic import make_clinic

from posecheck.cli import main

pytestmark = pytest.mark.slow

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")
A4_CONTENT_PX = 688  # 210 mm - 2 x 14 mm page margins, at 96 px per inch
MEASURE = """<script>
addEventListener('load', () => {
  const w = document.documentElement.clientWidth, out = {width: w,
    scroll: document.documentElement.scrollWidth, wide: []};
  for (const el of document.querySelectorAll('table, img, figure, p, h1, h2')) {
    const r = el.getBoundingClientRect();
    if (r.right > w + 0.5) out.wide.push(el.tagName + ' ' + Math.round(r.right) + ' '
      + (el.textContent || '').slice(0, 60));
  }
  const pre = document.createElement('pre'); pre.id = 'measured';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>"""


def browser() -> str | None:
    return next((p for b in BROWSERS if (p := shutil.which(b))), None)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = browser()
    assert exe is not None
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if browser() is None:
        pytest.skip("Chromium is not installed (apt install chromium): the report was not "
                    "checked in a browser")
    folder = tmp_path_factory.mktemp("browser")
    make_clinic(folder / "clinic.sqlite3")
    page = folder / "anna.html"
    assert main(["report", "--db", str(folder / "clinic.sqlite3"), "--person", "Anna Berg",
                 "--out", str(page)]) == 0
    return page


def measure(report: Path, tmp_path: Path, width: int) -> dict:
    probe = tmp_path / f"probe_{width}.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"),
                     encoding="utf-8")
    done = chromium(tmp_path, f"--window-size={width},1000", "--virtual-time-budget=5000",
                    "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


@pytest.mark.parametrize("width", [1280, A4_CONTENT_PX])
def test_no_horizontal_scroll(report: Path, tmp_path: Path, width: int) -> None:
    m = measure(report, tmp_path, width)
    assert m["width"] == width
    assert m["scroll"] <= m["width"] and m["wide"] == [], m


def test_screenshot_at_1280(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    chromium(tmp_path, "--window-size=1280,2400", f"--screenshot={png}", report.as_uri())
    data = png.read_bytes()
    width, height = (int.from_bytes(data[o : o + 4], "big") for o in (16, 20))
    assert data.startswith(b"\x89PNG") and (width, height) == (1280, 2400)
    assert len(data) > 100_000  # text, tables and a plot, not a blank page


def test_a4_pdf_keeps_tables_whole(report: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert b"/MediaBox [0 0 594.95996 841.91998]" in data or b"595" in data  # A4 points
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) missing: PDF printed, pages not read")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = text.split("\f")
    assert len(pages) >= 4  # one page per stretch, then the arc, sessions and sources

    def page_of(pattern: str) -> list[int]:
        return [i for i, p in enumerate(pages) if re.search(pattern, p)]

    # each stretch's progress table: its header and both of its rows on the same page
    for header_page in page_of(r"change since\s+change since"):
        body = pages[header_page].split("change since", 1)[1]
        assert re.search(r"\bleft\b", body) and re.search(r"\bright\b", body), header_page
    # the left-right table: header and the last of the five sessions' pairs on one page
    for i in page_of(r"right − left\s*\n"):
        assert "session 5" in pages[i].split("right − left", 2)[-1], i
    # the rotation arc table and its ten rows (5 days x 2 sides) on one page
    [arc] = page_of(r"total arc\s+sessions")
    assert len(re.findall(r"IR: \d+; ER: \d+", pages[arc])) == 10
