"""Screenshots of the HTML reports for docs/ (run by hand; needs Debian's chromium).

    pip download --no-deps --no-binary :all: Django==5.0 -d /tmp/dj
    tar xzf /tmp/dj/Django-5.0.tar.gz -C /tmp/dj
    contextpack build /tmp/dj/Django-5.0 --budget 32000 -q -o /dev/null \
        --query "QuerySet.bulk_create crashes with db_column" --report /tmp/dj/report.html
    contextpack stats /tmp/dj/Django-5.0 -q --html /tmp/dj/stats.html >/dev/null
    python bench/report_screenshots.py /tmp/dj/report.html /tmp/dj/stats.html docs/

Writes docs/report-django.png (the page's top, hovering a packed file),
docs/report-django-zoom.png (zoomed into django/db) and docs/stats-django.png, as
256-colour PNGs to keep them small.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from io import BytesIO
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOVER = "django/db/models/query.py"


def _tables(page_file: Path) -> tuple[dict[str, int], dict[str, int]]:
    text = page_file.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="cp-data">(.*?)</script>', text, re.S).group(1))
    folders = json.loads(re.search(r'id="cp-folders">(.*?)</script>', text, re.S).group(1))
    return ({f[0]: k for k, f in enumerate(data["files"])},
            {f[0]: k for k, f in enumerate(folders)})


def _save(png: bytes, out: Path) -> None:
    image = Image.open(BytesIO(png)).convert("RGB")
    # a fast-octree palette keeps small areas of colour (a legend swatch) true
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)
    print(f"{out}: {out.stat().st_size:,} bytes")


def _zoom(page: Page, folders: dict[str, int], path: str) -> None:
    parts = path.split("/")
    for k in range(1, len(parts) + 1):
        page.locator(f'#tm rect.d[data-f="{folders["/".join(parts[:k])]}"]').click(
            position={"x": 4, "y": 4})


def main(report: Path, stats: Path, out: Path) -> None:
    files, folders = _tables(report)
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        browser = pw.chromium.launch_persistent_context(
            profile, executable_path="/usr/bin/chromium", args=ARGS, headless=True,
            viewport={"width": 1280, "height": 1640})
        page = browser.new_page()
        page.goto(report.resolve().as_uri())
        page.locator(f'#tm rect[data-i="{files[HOVER]}"]').hover()
        _save(page.screenshot(), out / "report-django.png")
        page.mouse.move(0, 0)
        _zoom(page, folders, "django/db")
        page.locator(f'#tm rect[data-i="{files[HOVER]}"]').hover()
        box = page.locator("#map").bounding_box()
        assert box is not None
        _save(page.screenshot(clip={"x": box["x"], "y": box["y"], "width": box["width"],
                                    "height": min(box["height"], 900)}),
              out / "report-django-zoom.png")
        page.set_viewport_size({"width": 1280, "height": 1560})
        page.goto(stats.resolve().as_uri())
        _save(page.screenshot(), out / "stats-django.png")
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
