"""The HTML reports of ``build --report`` and ``stats --html``: self-contained, escaped,
deterministic, and working in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import html.parser
import json
import shutil
from html import escape
from pathlib import Path

import pytest
from click.testing import CliRunner

import contextpack
from contextpack.cli import main
from contextpack.report.html import script_json
from contextpack.report.treemap import HEIGHT, WIDTH, build_tree, layout

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
QUERY = "adding an item to the cart fails for some products"
HOSTILE_QUERY = "cart </script><script>window.pwned=1</script> \u2028 <!-- & -->"
# A folder "x<" holding "script>.py" gives the path "x</script>.py"; an <img> tag too.
HOSTILE_DIR, HOSTILE_FILE = "x<", "script>.py"
HOSTILE_IMG = "<img src=x onerror=window.pwned=2>.py"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ranking fixture plus files with hostile names and a secret."""
    dest = tmp_path_factory.mktemp("report") / "shop-repo"
    shutil.copytree(FIXTURES / "ranking", dest, ignore=shutil.ignore_patterns(".contextpack"))
    (dest / HOSTILE_DIR).mkdir()
    (dest / HOSTILE_DIR / HOSTILE_FILE).write_text(
        "def cart_checkout(cart):\n    \"\"\"</script><script>window.pwned=3</script>\"\"\"\n"
        "    return cart.total()\n")
    (dest / HOSTILE_IMG).write_text("def add_item_to_cart():\n    return 1\n")
    (dest / "settings.py").write_text('API_TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"\n')
    (dest / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return dest


@pytest.fixture(scope="module")
def packer(shop: Path) -> contextpack.Packer:
    return contextpack.Packer(shop, embedder="none")


class _Scripts(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.tags: list[str] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self._open = dict(attrs)
            self.scripts.append((self._open, ""))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


def test_report_is_escaped_and_its_data_reads_back(packer: contextpack.Packer) -> None:
    page = packer.pack(HOSTILE_QUERY, budget=600).report_html("shop <b>")
    parsed = _Scripts()
    parsed.feed(page)
    # the page's own three scripts and nothing the data smuggled in
    assert [a.get("id") for a, _ in parsed.scripts] == ["cp-folders", "cp-data", None]
    assert "img" not in parsed.tags and "b" in parsed.tags  # <b> only from the heading markup
    data = json.loads(parsed.scripts[1][1])
    paths = [f[0] for f in data["files"]]
    assert f"{HOSTILE_DIR}/{HOSTILE_FILE}" in paths and HOSTILE_IMG in paths
    assert "</script><script>window.pwned" not in page.replace(
        "&lt;/script&gt;&lt;script&gt;", "")
    assert not any("\u2028" in text for _, text in parsed.scripts)  # JS line breaks
    assert "shop &lt;b&gt;" in page
    # no way out: no external URL, and a policy that forbids requests
    assert "default-src 'none'" in page
    for scheme in ("https://", "http://", "//cdn", "url(http", "url(//", "@import"):
        assert page.replace("http://www.w3.org/2000/svg", "").count(scheme) == 0


def _data_of(page: str) -> str:
    parsed = _Scripts()
    parsed.feed(page)
    return next(text for attrs, text in parsed.scripts if attrs.get("id") == "cp-data")


def test_script_json_is_safe_inside_a_script_element() -> None:
    text = script_json({"a": "</script><!--&\u2028\u2029"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"a": "</script><!--&\u2028\u2029"}


def test_same_pack_same_bytes(shop: Path) -> None:
    first = contextpack.Packer(shop, embedder="none").pack(QUERY, budget=500).report_html()
    again = contextpack.Packer(shop, embedder="none").pack(QUERY, budget=500).report_html()
    assert first == again


def test_report_shows_items_reasons_left_out_and_skips(packer: contextpack.Packer) -> None:
    pack = packer.pack(QUERY, budget=400)
    page = pack.report_html()
    for item in pack.items:
        assert escape(item.path) in page and f"L{item.start_line}" in page
    assert escape(pack.items[0].reason) in page
    assert pack.dropped and escape(pack.dropped[0].reason) in page
    assert "binary file" in page and "logo.png" in page  # a skipped file
    assert "has secrets redacted" in page
    data = json.loads(_data_of(page))
    views = {f[0]: f[2] for f in data["files"]}
    assert views["shop/cart.py"] == "full"
    assert views["logo.png"] == "binary"


def test_budget_bar_counts_the_rendered_blocks_exactly(packer: contextpack.Packer) -> None:
    from contextpack.report.model import spent

    pack = packer.pack(QUERY, budget=400)
    cost = spent(pack)
    assert cost.exact and len(cost.items) == len(pack.items)
    # what is left for the header is the header: "# Context: ..." and two lines (~60 tokens)
    assert 30 < cost.header < 120
    assert sum(cost.items) + sum(cost.files.values()) + cost.header == pack.tokens <= 400
    assert set(cost.files) == {i.path for i in pack.items}


def test_budget_bar_of_a_tokenizer_json_pack_is_scaled_to_the_total(shop: Path) -> None:
    from contextpack.embed import minilm_path
    from contextpack.report.model import spent

    tokenizer = str(minilm_path() / "tokenizer.json")
    pack = contextpack.pack(QUERY, shop, budget=400, tokenizer=tokenizer, embedder="none")
    cost = spent(pack)
    assert not cost.exact and sum(cost.items) + cost.header == pack.tokens
    assert "Approximate: the items' estimated costs" in pack.report_html()


def test_cli_build_report_and_stats_html(shop: Path, tmp_path: Path) -> None:
    report, stats = tmp_path / "pack.html", tmp_path / "stats.html"
    result = CliRunner().invoke(main, ["build", str(shop), "--budget", "500", "--query", QUERY,
                                       "--embedder", "none", "-q", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "## shop/cart.py" in result.stdout  # the pack still goes to stdout
    assert "Where the budget went" in report.read_text()
    result = CliRunner().invoke(main, ["stats", str(shop), "-q", "--html", str(stats)])
    assert result.exit_code == 0, result.output
    page = stats.read_text()
    assert "Against common context windows" in page and "Largest folders" in page
    assert "shop-repo" in page and str(shop) not in page  # a name, never an absolute path
    assert "<img" not in page and escape(HOSTILE_IMG) in page  # listed, escaped


def test_treemap_layout_fills_its_box_and_merges_the_smallest() -> None:
    paths = [f"d{k % 3}/f{k}.py" for k in range(60)]
    sizes = [1000.0 / (k + 1) for k in range(60)]
    root, folders = build_tree(paths, sizes)
    assert [f.path for f in folders] == ["", "d0", "d1", "d2"]
    rects = layout(root, 300, 200)
    files = [r for r in rects if r.kind == "f"]
    assert len(files) == 60
    for r in rects:
        assert 0 <= r.x and r.x + r.w <= 300.001 and 0 <= r.y and r.y + r.h <= 200.001
    big, small = files[0], next(r for r in files if r.ref == 59)
    assert big.ref == 0 and big.w * big.h > 20 * small.w * small.h
    capped = layout(root, 300, 200, max_files=10)
    assert len([r for r in capped if r.kind == "f"]) == 10
    assert sum(r.count for r in capped if r.kind == "a") == 50


# ------------------------------------------------------------------ a real browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                    "(apt-get install chromium; .ci/run installs it)")
def test_report_in_a_real_browser(packer: contextpack.Packer, tmp_path: Path) -> None:
    from io import BytesIO

    from PIL import Image
    from playwright.sync_api import sync_playwright

    pack = packer.pack(QUERY + " </script><script>window.pwned=1</script>", budget=400)
    cart = next(f for f in json.loads(_data_of(pack.report_html()))["files"]
                if f[0] == "shop/cart.py")
    page_file = tmp_path / "report.html"
    page_file.write_text(pack.report_html("shop"), encoding="utf-8")
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1280, "height": 900})
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            # the treemap draws: a screenshot of the expected size, in the pack's colours
            box = page.locator("#tm").bounding_box()
            assert box and box["width"] > 1000
            shot = Image.open(BytesIO(page.locator("#tm").screenshot())).convert("RGB")
            assert abs(shot.width - box["width"]) <= 2 and abs(shot.height - box["height"]) <= 2
            assert abs(shot.height - shot.width * HEIGHT / WIDTH) <= 3  # the drawing's aspect
            colours = shot.getcolors(maxcolors=1 << 16) or []
            assert len(colours) > 8
            share = {c: n / (shot.width * shot.height) for n, c in colours}
            assert share.get((0x2B, 0x8A, 0x3E), 0) > 0.05  # "packed in full" green
            assert max(share.values()) < 0.9  # not one flat colour
            # hovering a packed file shows its tokens and the reason of its items
            page.locator(f'#tm rect[data-i="{cart_row(page_file)}"]').hover()
            tip = page.locator("#tip")
            assert tip.is_visible()
            text = tip.inner_text()
            assert "shop/cart.py" in text and f"{cart[1]:,} tokens" in text
            best = max((i for i in pack.items if i.path == "shop/cart.py"),
                       key=lambda i: i.score)
            assert best.reason in text
            # click zooms into a folder; the breadcrumb says where; Escape zooms out
            crumbs = page.locator("#crumbs")
            top = crumbs.inner_text()
            page.locator(f'#tm rect[data-i="{cart_row(page_file)}"]').click()
            assert crumbs.inner_text().startswith("shop/shop ·") or \
                crumbs.inner_text().replace(" ", "").startswith("shop/shop·")
            view = page.locator("#tm").get_attribute("viewBox")
            assert view != f"0 0 {WIDTH:.2f} {HEIGHT:.2f}"
            page.keyboard.press("Escape")
            assert crumbs.inner_text() == top
            # a colour of the legend picks out its files; a file's heading shows it in the map
            page.locator('.legend li[data-cat="full"]').click()
            dimmed = page.locator("#tm-rects rect.dim").count()
            assert 0 < dimmed < page.locator("#tm-rects rect.f").count()
            row = cart_row(page_file)
            page.locator(f'tr.file[data-i="{row}"]').click()
            assert page.locator("#tm-rects rect.sel").get_attribute("data-i") == str(row)
            details = page.locator("#details").inner_text()
            assert "shop/cart.py" in details and best.reason in details
            # the hostile names and query ran nothing
            assert page.evaluate("typeof window.pwned") == "undefined"
        finally:
            browser.close()
    assert errors == []
    assert requests == [page_file.as_uri()]


def cart_row(page_file: Path) -> int:
    data = json.loads(_data_of(page_file.read_text(encoding="utf-8")))
    return next(k for k, f in enumerate(data["files"]) if f[0] == "shop/cart.py")
