"""Data loading, sdist fetching/caching and reverted-corpus building for the relevance bench.

Standard library only (plus pip, run as a subprocess), so it can be imported cheaply.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_DATA = (REPO_DIR / ".." / "shared" / "bench").resolve()
DEFAULT_CACHE = Path(os.path.expanduser("~/.cache/contextpack-bench"))
DATA_FILE = "swebench_lite_dev.jsonl"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data
def load_instances(data_dir: Path) -> list[dict]:
    with open(Path(data_dir) / DATA_FILE, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def skip_reason(row: dict) -> str | None:
    """Why an instance is not used by default (None = used)."""
    reasons = []
    if not row.get("gold_in_sdist"):
        missing = ", ".join(map(str, row.get("missing_in_sdist") or []))
        reasons.append(f"gold_in_sdist=false (missing: {missing})")
    if not row.get("sdist_revertible"):
        reasons.append(f"sdist_revertible=false (sdist_gold_state={row.get('sdist_gold_state')})")
    return "; ".join(reasons) or None


# ---------------------------------------------------------------- fetching
def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pypi_simple_url() -> str:
    try:
        from pip._internal.models.index import PyPI  # type: ignore

        return PyPI.simple_url
    except Exception:  # pragma: no cover - pip internals moved
        return "https://pypi.org/simple"


def _urlopen(url: str, accept: str | None = None):
    req = urllib.request.Request(
        url,
        headers={"User-Agent": "contextpack-bench/0.1", **({"Accept": accept} if accept else {})},
    )
    ctx = None
    cert = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    if url.startswith("https") and os.path.exists(cert):
        import ssl

        ctx = ssl.create_default_context(cafile=cert)
    return urllib.request.urlopen(req, timeout=180, context=ctx)


def _fetch_from_simple(name: str, filename: str, sha256: str, dest: Path) -> str:
    """Download the exact `filename` listed on PyPI's PEP 503 page for `name`."""
    base = _pypi_simple_url().rstrip("/")
    page_url = f"{base}/{_normalize(name)}/"
    with _urlopen(page_url, accept="text/html") as r:
        page = r.read().decode("utf-8", "replace")
    url = None
    for m in re.finditer(r'<a\s[^>]*href="([^"]+)"[^>]*>([^<]*)</a>', page):
        href, text = html.unescape(m.group(1)), html.unescape(m.group(2)).strip()
        if text == filename or urllib.parse.unquote(href.split("#")[0]).endswith("/" + filename):
            url = urllib.parse.urljoin(page_url, href)
            frag = urllib.parse.urlparse(url).fragment
            if frag.startswith("sha256=") and frag[7:] != sha256:
                raise RuntimeError(
                    f"index lists {filename} with sha256 {frag[7:]}, expected {sha256}"
                )
            break
    if url is None:
        raise RuntimeError(f"{filename} not on {page_url}")
    tmp = dest.with_suffix(dest.suffix + ".part")
    with _urlopen(url.split("#")[0]) as r, open(tmp, "wb") as f:
        shutil.copyfileobj(r, f, 1 << 20)
    got = sha256_file(tmp)
    if got != sha256:
        tmp.unlink()
        raise RuntimeError(f"sha256 mismatch for {filename}: {got}")
    tmp.replace(dest)
    return "simple-index"


def _fetch_with_pip(name: str, version: str, filename: str, sha256: str, dest: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="cpb-pip-") as td:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-binary",
            ":all:",
            "--no-deps",
            "--quiet",
            "-d",
            td,
            f"{name}=={version}",
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
            raise RuntimeError("pip download failed: " + " | ".join(tail))
        files = os.listdir(td)
        if filename not in files:
            raise RuntimeError(f"pip fetched {files}, not {filename}")
        got = sha256_file(Path(td) / filename)
        if got != sha256:
            raise RuntimeError(f"pip fetched {filename} with sha256 {got}, expected {sha256}")
        shutil.move(str(Path(td) / filename), dest)
    return "pip"


def fetch_sdist(row: dict, cache: Path, use_pip: bool = True) -> tuple[Path, str]:
    """Return (archive path, how) for the row's sdist, downloading it if needed."""
    sd = cache / "sdists"
    sd.mkdir(parents=True, exist_ok=True)
    dest = sd / row["sdist_filename"]
    marker = dest.with_name(dest.name + ".sha256ok")
    if dest.exists():
        if marker.exists() and marker.read_text().strip() == row["sdist_sha256"]:
            return dest, "cached"
        if sha256_file(dest) == row["sdist_sha256"]:
            marker.write_text(row["sdist_sha256"])
            return dest, "cached"
        dest.unlink()
    errors = []
    how = None
    if use_pip:
        try:
            how = _fetch_with_pip(
                row["pypi_name"],
                row["pypi_version"],
                row["sdist_filename"],
                row["sdist_sha256"],
                dest,
            )
        except Exception as e:  # noqa: BLE001
            errors.append(f"pip: {e}")
    if how is None:
        try:
            how = _fetch_from_simple(
                row["pypi_name"], row["sdist_filename"], row["sdist_sha256"], dest
            )
        except Exception as e:  # noqa: BLE001
            errors.append(f"simple: {e}")
            raise RuntimeError("; ".join(errors)) from e
    marker.write_text(row["sdist_sha256"])
    if errors:
        how += " (after " + "; ".join(errors)[:300] + ")"
    return dest, how


def fetch_all(rows: list[dict], cache: Path, use_pip: bool = True) -> dict[str, dict]:
    """Fetch every distinct sdist of `rows`.

    Returns {sdist_filename: {"path" or "error", "how", "seconds"}}."""
    out: dict[str, dict] = {}
    seen: dict[str, dict] = {}
    for row in rows:
        fn = row["sdist_filename"]
        if fn in seen:
            continue
        seen[fn] = row
    log(f"fetch: {len(seen)} distinct sdists")
    for i, (fn, row) in enumerate(sorted(seen.items()), 1):
        t0 = time.time()
        try:
            p, how = fetch_sdist(row, cache, use_pip)
            out[fn] = {"path": str(p), "how": how, "seconds": round(time.time() - t0, 1)}
            if how != "cached":
                log(f"fetch [{i}/{len(seen)}] {fn}: {how} in {time.time() - t0:.0f}s")
        except Exception as e:  # noqa: BLE001
            out[fn] = {"error": str(e), "seconds": round(time.time() - t0, 1)}
            log(f"fetch [{i}/{len(seen)}] {fn}: FAILED {e}")
    return out


# ---------------------------------------------------------------- unpack / revert
def _safe_extract(archive: Path, dest: Path) -> None:
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)
        return
    with tarfile.open(archive) as t:
        members = []
        for m in t.getmembers():
            if m.name.startswith("/") or ".." in Path(m.name).parts:
                continue
            if not (m.isfile() or m.isdir()):
                continue  # skip links and devices
            members.append(m)
        try:
            t.extractall(dest, members=members, filter="data")
        except TypeError:  # python without extraction filters
            t.extractall(dest, members=members)


def _fresh_tmp(base: Path) -> Path:
    """Remove ``base`` and any half-built ``base.tmp`` (an interrupted run), and return an
    empty ``base.tmp`` to build in; the caller renames it to ``base`` when done."""
    tmp = base.with_name(base.name + ".tmp")
    for old in (base, tmp):
        if old.exists():
            shutil.rmtree(old)
    tmp.mkdir(parents=True)
    return tmp


def unpacked_root(archive: Path, cache: Path) -> Path:
    """Unpack an sdist once into cache/unpacked/<name>/ and return its top folder."""
    base = cache / "unpacked" / archive.name
    done = base / ".done"
    if not done.exists():
        tmp = _fresh_tmp(base)
        _safe_extract(archive, tmp)
        tmp.rename(base)
        done.write_text("ok")
    tops = [p for p in base.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise RuntimeError(f"{archive.name}: expected one top folder, got {[p.name for p in tops]}")
    return tops[0]


def gold_patch_files(row: dict) -> list[str]:
    """Paths touched by the gold patch (the revert script may rewrite or delete them)."""
    return sorted(set(re.findall(r"^diff --git a/(\S+) b/", row["patch"], flags=re.M)))


def instance_corpus(row: dict, archive: Path, cache: Path, data_dir: Path) -> tuple[Path, dict]:
    """Build (once) the reverted corpus for one instance; return (root, build info)."""
    src = unpacked_root(archive, cache)
    base = cache / "corpora" / row["instance_id"]
    info_file = base / "revert.json"
    if info_file.exists():
        info = json.loads(info_file.read_text())
        if info.get("sdist_sha256") == row["sdist_sha256"]:
            return base / src.name, info
    tmp = _fresh_tmp(base)
    t0 = time.time()
    subprocess.run(["cp", "-al", str(src), str(tmp / src.name)], check=True)
    root = tmp / src.name
    for rel in gold_patch_files(row):
        fp = root / rel
        if fp.is_file():  # break the hard link before the revert script edits it
            data = fp.read_bytes()
            fp.unlink()
            fp.write_bytes(data)
    r = subprocess.run(
        [
            sys.executable,
            str(Path(data_dir) / "revert_gold_in_sdist.py"),
            str(Path(data_dir) / DATA_FILE),
            row["instance_id"],
            str(root),
        ],
        capture_output=True,
        text=True,
    )
    info = {
        "instance_id": row["instance_id"],
        "sdist_sha256": row["sdist_sha256"],
        "revert_rc": r.returncode,
        "revert_log": (r.stdout + r.stderr).strip()[-2000:],
        "seconds": round(time.time() - t0, 2),
    }
    (tmp / "revert.json").write_text(json.dumps(info, indent=1))
    tmp.rename(base)
    return base / src.name, info


def corpus_root(row: dict, cache: Path) -> Path | None:
    """The instance's reverted corpus root if it was built and the revert script succeeded
    (exit 0), else None.  For tools that reuse the corpora relevance.py built."""
    base = Path(cache) / "corpora" / row["instance_id"]
    info_file = base / "revert.json"
    if not info_file.exists():
        return None
    info = json.loads(info_file.read_text())
    if info.get("revert_rc") != 0 or info.get("sdist_sha256") != row["sdist_sha256"]:
        return None
    tops = [p for p in base.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else None


# ---------------------------------------------------------------- text files
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".tox", ".eggs", ".mypy_cache", ".pytest_cache"}
SKIP_FILES = {"PKG-INFO"}
MAX_FILE_BYTES = 1_000_000


def iter_text_files(root: Path):
    """Yield (relpath, text) for every UTF-8 text file the baselines consider.

    Skipped: VCS/cache folders, *.egg-info folders, PKG-INFO (packaging metadata that
    repeats the README), files over 1 MB, files with NUL bytes or that are not UTF-8.
    """
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")
        )
        for fn in sorted(filenames):
            if fn in SKIP_FILES:
                continue
            fp = os.path.join(dirpath, fn)
            try:
                if os.path.islink(fp) or os.path.getsize(fp) > MAX_FILE_BYTES:
                    continue
                with open(fp, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if b"\x00" in data:
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            yield os.path.relpath(fp, root).replace(os.sep, "/"), text
