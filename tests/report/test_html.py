"""The HTML report: self-contained, renders in headless Chromium without console errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from flopcount.analysis import analyze_graph
from flopcount.ir import Graph
from flopcount.report import render

# Collects page errors and console.error calls into the DOM, then sorts the node table by MACs
# (a click on its header) and records the first row, so --dump-dom shows what happened.
PROBE = """
<script>
window.__errors = [];
window.addEventListener('error', function(e){ window.__errors.push(String(e.message)); }, true);
var __origError = console.error;
console.error = function(){ window.__errors.push(Array.from(arguments).join(' ')); };
window.addEventListener('load', function(){
  var th = Array.from(document.querySelectorAll('#nodes th')).find(function(h){
    return h.textContent === 'MACs'; });
  th.click(); th.click();  // second click: descending
  var first = document.querySelector('#nodes tbody tr').cells[2].textContent;
  var out = document.createElement('pre'); out.id = 'probe';
  out.textContent = JSON.stringify({errors: window.__errors, first: first});
  document.body.appendChild(out);
});
</script>
"""


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:  # installed by `make test`; a missing browser is a set-up failure
        pytest.fail("chromium not found: `make test` installs Debian's chromium package")
    return path


@pytest.fixture
def html_report(tiny_graph: Graph) -> str:
    return render(analyze_graph(tiny_graph, hardware="a100"), "html")


def test_html_is_self_contained(html_report: str) -> None:
    assert html_report.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)=['\"]?https?:", html_report)  # no CDN, works offline
    for element in ("id='breakdown'", "id='roofline'", "id='nodes'", "class='roof'"):
        assert element in html_report
    assert "MatMul" in html_report and "FancyOp" in html_report


def test_html_renders_in_headless_chromium(html_report: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html_report.replace("</body>", PROBE + "</body>"))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=2000",
    ]
    dom = subprocess.run(
        [_chromium(), *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    probe = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom)
    assert probe is not None, dom[-2000:]
    text = probe.group(1).replace("&quot;", '"')
    assert '"errors":[]' in text
    assert '"first":"Conv"' in text  # sorted by MACs descending: the conv (6,912) beats 2,560
    assert "<circle" in dom and '<rect class="bar"' in dom


def test_jupyter_displays_html(tiny_graph: Graph) -> None:
    assert analyze_graph(tiny_graph)._repr_html_().startswith("<!DOCTYPE html>")
