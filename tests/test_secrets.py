"""The fake-secret corpus (fixtures/secrets/shapes, values generated per run): every shape
is redacted in every output, in the cache, in paths, ids and the query; the code around
each one stays; a value found in one file leaves every other file of the pack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from contextpack.api import Packer, Settings, pack
from contextpack.cli import main
from contextpack.redact import redact, redact_name
from contextpack.types import Document

from .secret_corpus import make_corpus, secret_parts, surroundings

# Values that only another file reveals (notes.txt repeats deploy.py's password).
CROSS_FILE = {"REUSED"}


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "shapes"
    return root, make_corpus(root)


def leaks(text: str, values: dict[str, str]) -> list[str]:
    return sorted(name for name, runs in secret_parts(values).items()
                  if any(run in text for run in runs))


def test_the_corpus_holds_sixty_shapes_and_each_file_redacts_its_own(
        corpus: tuple[Path, dict[str, str]]) -> None:
    root, values = corpus
    assert len(values) >= 60
    assert all(secret_parts(values).values()), "each value has a part to look for"
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        text = path.read_text()
        out, found = redact(text, rel)
        assert out.count("\n") == text.count("\n"), rel
        leaked = [n for n in leaks(out, values) if n not in CROSS_FILE]
        assert not leaked, f"{rel}: {leaked}"
        if not rel.startswith("keys/") and rel != "notes.txt":
            assert found, rel


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_no_shape_reaches_any_output_or_the_cache(corpus: tuple[Path, dict[str, str]],
                                                 tmp_path: Path) -> None:
    root, values = corpus
    cache = tmp_path / "cache"
    query = f"why does the deploy fail with {values['GHP']} and {values['REUSED']}"
    outputs = {}
    for fmt in ("markdown", "xml", "json"):
        code, out, err = run_cli("build", str(root), "-b", "200000", "-f", fmt, "--explain",
                                 "--cache-dir", str(cache), "-q")
        assert code == 0, err
        assert not leaks(out, values), fmt
        assert not leaks(err, values), f"--explain of {fmt}"
        outputs[fmt] = out
    # with a query: the query echoed, and chunks left out listed with their paths
    code, out, err = run_cli("build", str(root), "-b", "700", "-f", "json", "--explain",
                             "--query", query, "--cache-dir", str(cache), "-q")
    assert code == 0, err
    asked = json.loads(out)
    assert asked["left_out"] and not leaks(out, values) and not leaks(err, values)
    assert "[REDACTED:github-token]" in asked["query"]
    code, out, _ = run_cli("build", str(root), "-b", "700", "--query", query,
                           "--cache-dir", str(cache), "-q")
    assert "[REDACTED:github-token]" in out.split("\n", 2)[1]  # the header's query line
    assert not leaks(out, values)
    doc = json.loads(outputs["json"])
    paths = {item["path"] for item in doc["items"]}
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert len(paths) == len(files)
    assert "keys/[REDACTED:github-token].txt" in paths
    for rel, before in surroundings():
        assert before in outputs["markdown"], (rel, before)
    blob = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert blob, "the cache was written"
    cached = [(name, run) for name, runs in secret_parts(values).items()
              for run in runs if run.encode() in blob]
    assert not cached
    packed = pack(query, root, budget=200000, cache_dir=str(cache), embedder="none")
    assert not leaks(packed.text, values)
    assert not leaks(packed.query, values)


def test_a_value_redacted_in_one_file_leaves_every_other_file_of_the_pack(
        tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    (root / "notes.md").write_text("# Ops\n\nThe box answers to Kq7vZp2WxR9tLm4N until Friday.\n")
    p = Packer(root, Settings(embedder="none", cache_dir=str(tmp_path / "c")))
    assert "Kq7vZp2WxR9tLm4N" in p.pack("box", 4000).text  # nothing says it is a secret
    # a new file reveals it: the older file, indexed and cached before, is scrubbed too
    (root / "deploy.py").write_text('DEPLOY_PASSWORD = "Kq7vZp2WxR9tLm4N"\n')
    p.refresh()
    text = p.pack("box", 4000).text
    assert "Kq7vZp2WxR9tLm4N" not in text
    assert "The box answers to [REDACTED:password] until Friday." in text
    # and from the cache alone (the values' keyed hashes travel with the redactions)
    warm = Packer(root, Settings(embedder="none", cache_dir=str(tmp_path / "c")))
    assert warm.index.stats.get("cache") == "warm"
    assert warm.pack("box", 4000).text == text
    # a fresh build scrubs before anything is stored
    fresh = tmp_path / "c2"
    Packer(root, Settings(embedder="none", cache_dir=str(fresh)))
    assert not any(b"Kq7vZp2WxR9tLm4N" in f.read_bytes() for f in fresh.rglob("*") if f.is_file())


def test_notebooks_and_json_stay_valid_json(corpus: tuple[Path, dict[str, str]]) -> None:
    root, values = corpus
    for name in ("analysis.ipynb", "docker-config.json"):
        text = (root / name).read_text()
        out, found = redact(text, name)
        assert found and out != text
        doc = json.loads(out)
        assert not leaks(json.dumps(doc), values)
    nb = json.loads(redact((root / "analysis.ipynb").read_text(), "analysis.ipynb")[0])
    assert nb["cells"][0]["source"][1] == 'password = "[REDACTED:password]"\n'
    line = '  "text": "say \\"hi\\"\\\\n and password = \\"Zx9-qWe_rTy8\\"",'
    out, _ = redact(line, "a.json")
    assert json.loads("{" + out.strip().rstrip(",") + "}")["text"] == \
        'say "hi"\\n and password = "[REDACTED:password]"'


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("https://admin:Zq8vWx2Lp9Rt@docs.example.com/page", "https://admin:[REDACTED:url-password]@docs.example.com/page"),
        ("https://bucket.s3.amazonaws.com/a.pdf?X-Amz-Signature=" + "ab12" * 16,
         "https://bucket.s3.amazonaws.com/a.pdf?X-Amz-Signature=[REDACTED:api-key]"),
        ("https://api.example.com/v1?apiKey=Zq8vWx2Lp9RtYb3N&page=2",
         "https://api.example.com/v1?apiKey=[REDACTED:api-key]&page=2"),
        ("src/app.py", "src/app.py"),
        ("src/tokenizer/token_types.py", "src/tokenizer/token_types.py"),
    ],
)
def test_names_and_ids_lose_their_secrets(name: str, expected: str) -> None:
    assert redact_name(name) == expected


def test_document_ids_and_urls_are_redacted_in_every_output() -> None:
    url = "https://admin:Zq8vWx2Lp9Rt@wiki.example.com/deploy?sig=" + "Zx9" * 10
    docs = [Document("How to deploy the billing service.", id=url)]
    for fmt in ("markdown", "xml", "json"):
        p = pack("deploy", docs, budget=2000, format=fmt, embedder="none")
        assert "Zq8vWx2Lp9Rt" not in p.text and "Zx9Zx9" not in p.text
        assert all("Zq8vWx2Lp9Rt" not in i.path for i in p.items)
    kept = pack("deploy", docs, budget=2000, embedder="none", redact=False)
    assert "Zq8vWx2Lp9Rt" in kept.text


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("package.json", '    "pbkdf2-password": "1.2.1",'),
        ("package.json", '    "secret-handshake": "^1.1.20",'),
        ("a.py", '"""Connect with ``redis://:password@localhost:6379/0``."""'),
        ("a.py", "    >>> connect('postgres://user:secret@localhost/db')"),
        ("a.md", "Set `export API_KEY=your-api-key` first."),
        ("a.md", "curl -u user:$TOKEN https://api.example.com"),
        ("a.xml", "<password>${DB_PASSWORD}</password>"),
        ("a.py", 'help_text = "Enter the same password as before, for verification."'),
        ("a.py", 'PASSWORD_PROMPT = "Enter your password: "'),
        ("a.py", 'url = "https://api.example.com/search?key=YOUR_API_KEY"'),
        ("a.py", 'CACHE_KEY = "user-profile-v2"'),
        ("Dockerfile", "ARG PYTHON_VERSION=3.12"),
        ("settings.yaml", "password_reset_timeout: 3600"),
        ("a.py", 'url = "postgresql://scott:tiger@localhost/test"'),
        ("a.rst", "    mysql+aiomysql://user:password@host:port/dbname[?key=value&key=value...]"),
        ("a.py", "qtoken = '(?:\"[^\"]+\"|[A-Za-z0-9_]+?)'"),
        ("a.py", 'red1 = Room(token="Red-1", color=red)'),
        ("a.py", 'e2 = eng.execution_options(logging_token="my_name_2")'),
        ("a.py", "def test_config(self, key='CELERY_HARNESS_CFG1'):"),
    ],
)
def test_false_positives_stay_out(path: str, line: str) -> None:
    text = line + "\n"
    assert redact(text, path) == (text, ())


def test_scrubber_hashes_only_runs_of_its_secrets_lengths_and_reads_older_fingerprints(
        ) -> None:
    from contextpack.redact import Redaction, Scrubber, fingerprints

    secret = "Kq7vZp2WxR9tLm4N"
    fp = fingerprints(secret)
    assert fp.startswith(f"{len(secret)}:")
    text = f'a = "{secret}"\nb = {secret}X\nc = x{secret}\nd = ({secret})\n'
    want = ('a = "[REDACTED:password]"\nb = Kq7vZp2WxR9tLm4NX\nc = xKq7vZp2WxR9tLm4N\n'
            'd = ([REDACTED:password])\n', [(0, "password"), (3, "password")])
    scrub = Scrubber.of([[Redaction(1, "password", fp)]])
    assert scrub is not None and scrub.scrub(text) == want
    # a fingerprint cached before lengths were kept (no "LENGTH:"): every run is hashed
    other = "Zx81QwErTy77Uiop0Asd"
    legacy = " ".join(part.split(":", 1)[1] for part in fingerprints(other).split())
    mixed = Scrubber.of([[Redaction(1, "password", fp)], [Redaction(2, "token", legacy)]])
    assert mixed is not None
    assert mixed.scrub(f"{text}e = '{other}'\n") == (
        want[0] + "e = '[REDACTED:token]'\n", [*want[1], (4, "token")])


def test_a_secret_shaped_like_a_name_is_not_taken_out_of_other_files() -> None:
    """A password whose runs read as a host or path ("test@example.com") is redacted where
    it stands, but its runs are not hunted in other files: they are everyone's words."""
    from contextpack.redact import Scrubber

    text, found = redact('DATABASES = {"PASSWORD": "test@example.com"}\n', "settings.py")
    assert "example.com" not in text and found
    assert Scrubber.of([found]) is None
    text, found = redact('DATABASES = {"PASSWORD": "superS3cret"}\n', "settings.py")
    scrub = Scrubber.of([found])
    assert scrub is not None
    assert scrub.scrub("login with superS3cret here\n")[1] == [(0, "password")]


def test_a_base64_token_beginning_with_a_slash_is_not_taken_for_a_path() -> None:
    """Random base64 begins with "/" one time in 32: it is still a secret; a path is not."""
    token = "//Exe/jy+FJ2X64z6Bmub6HL//UIbAQKTpo4NDiOIYj9JfVcKysVNT9JhEJu0JIZuLiHXPadki6A0=="
    text, found = redact(f"[default]\naws_session_token = {token}\n", "credentials")
    assert token not in text and [r.kind for r in found] == ["token"]
    for path in ("/etc/ssl/private/server.key", "/Users/Shared/Keys/Deploy2024/id_rsa"):
        line = f"ssl_key = {path}\n"
        assert redact(line, "app.ini") == (line, ())
