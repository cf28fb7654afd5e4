"""Secrets never leave: every fake secret in fixtures/secrets is redacted in every output
format, the code around it survives, and the report says where (never what)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from contextpack.api import Packer, Settings, pack
from contextpack.cli import main
from contextpack.redact import redact
from contextpack.tokens import get_tokenizer
from contextpack.types import Document

from .conftest import FIXTURES

# Every secret value planted in fixtures/secrets (all fake), or a piece of it.
SECRETS = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "ghp_FAKE0EXAMPLE0TOKEN0123456789abcdefgh",
    "django-insecure-FAKE0123456789-example-key",
    "FAKEdbPassw0rd",
    "FAKE-hunter2-0123",
    "xoxb-0123456789-0123456789-FAKEEXAMPLEtoken",
    "glpat-FAKE0EXAMPLE0123456789",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
    "FAKEsignature0EXAMPLE0123456789abcdefghijk",
    "FAKEyamlPassw0rd",
    "FAKE_live_0123456789abcdefEXAMPLE",
    "FAKEenvPassw0rd!",
    "FAKE0123456789envTOKENexample",
    "FAKEiniPassw0rd",
    "FAKEjsonClientSecret0123",
    "FAKEJSONKEY0123456789",
    "FAKEPEMKEY0123456789",
    "MIIEowIBAAKCAQEA",
    "FAKEECKEY0123456789",
]
# Code next to the secrets that must survive redaction.
SURROUNDINGS = [
    "AWS_ACCESS_KEY_ID =", "aws_secret_access_key =", "GITHUB_TOKEN", "def connect_to_database",
    "open_connection(user=\"app_user\", password=password", "def storage_client",
    "https://docs.example.com/en/latest/", "123e4567-e89b-12d3-a456-426614174000",
    "postgres://app_user:", "@db.example.com:5432/app", "class ChatNotifier", "notify(message)",
    "function fetchProjects", "SLACK_TOKEN", "password:", "api_key:", "webhook_url:",
    "PASSWORD=", "API_TOKEN=", "MAILER_HOST=smtp.example.com", "[database]", "client_email",
    "-----BEGIN RSA PRIVATE KEY-----", "-----END EC PRIVATE KEY-----", "def load_signing_key",
    "export GITHUB_TOKEN=", "./deploy.sh --region eu-west-1",
]
FILES = [".env", "README.md", "app.ini", "client.js", "config.yaml", "crypto_util.py",
         "deploy_key.pem", "service_account.json", "settings.py"]


@pytest.fixture
def secrets_repo(tmp_path: Path) -> Path:
    dest = tmp_path / "secrets"
    shutil.copytree(FIXTURES / "secrets", dest, ignore=shutil.ignore_patterns("shapes"))
    return dest


def build(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["build", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("fmt", ["markdown", "xml", "json"])
def test_no_secret_reaches_any_format(secrets_repo: Path, fmt: str) -> None:
    code, out, err = build(str(secrets_repo), "-b", "20000", "-f", fmt, "-q")
    assert code == 0, err
    leaked = [s for s in SECRETS if s in out]
    assert not leaked, f"leaked in {fmt}: {leaked}"
    context = json.loads(out)["context"] if fmt == "json" else out
    for text in SURROUNDINGS:
        expected = text.replace('"', "&quot;") if fmt == "xml" else text
        assert expected in context or text in context, f"{text!r} missing from {fmt}"
    for name in FILES:
        assert name in context
    assert context.count("[REDACTED:") >= 15


def test_the_report_says_where_and_what_kind_but_never_the_value(secrets_repo: Path) -> None:
    code, out, err = build(str(secrets_repo), "-b", "20000", "-f", "json")
    assert code == 0, err
    found = json.loads(out)["stats"]["redactions"]
    assert all(set(r) == {"path", "line", "type"} for r in found)
    where = {(r["path"], r["line"], r["type"]) for r in found}
    assert {
        ("settings.py", 5, "aws-access-key"),
        ("settings.py", 7, "github-token"),
        ("settings.py", 9, "url-password"),
        ("settings.py", 17, "password"),
        ("client.js", 2, "slack-token"),
        ("client.js", 3, "gitlab-token"),
        ("client.js", 8, "jwt"),
        ("config.yaml", 8, "password"),
        ("config.yaml", 10, "api-key"),
        (".env", 3, "password"),
        (".env", 4, "token"),
        ("app.ini", 7, "password"),
        ("service_account.json", 5, "secret"),
        ("service_account.json", 6, "private-key"),
        ("deploy_key.pem", 1, "private-key"),
        ("crypto_util.py", 4, "private-key"),
        ("README.md", 10, "github-token"),
    } <= where
    # stderr: one summary line, without any value
    summary = [ln for ln in err.splitlines() if ln.startswith("redacted ")]
    assert len(summary) == 1 and f"redacted {len(found)} secrets in 9 files" in summary[0]
    assert not any(s in err for s in SECRETS)
    _, _, quiet_err = build(str(secrets_repo), "-b", "20000", "-f", "json", "-q")
    assert "redacted" not in quiet_err


def test_no_redact_turns_it_off_and_the_cache_never_serves_the_other_text(
        secrets_repo: Path) -> None:
    _, redacted, _ = build(str(secrets_repo), "-b", "20000", "-q")
    _, raw, _ = build(str(secrets_repo), "-b", "20000", "-q", "--no-redact")
    _, again, _ = build(str(secrets_repo), "-b", "20000", "-q")
    assert "AKIAIOSFODNN7EXAMPLE" in raw and "[REDACTED:" not in raw
    assert again == redacted and "AKIAIOSFODNN7EXAMPLE" not in again
    _, raw_json, _ = build(str(secrets_repo), "-b", "20000", "-q", "--no-redact", "-f", "json")
    assert json.loads(raw_json)["stats"]["redactions"] == []


def test_token_counts_are_of_the_redacted_text(secrets_repo: Path) -> None:
    ix = Packer(secrets_repo, Settings(use_cache=False, embedder="none")).index
    enc = get_tokenizer()
    for i, text in enumerate(ix.texts):
        assert not any(s in text for s in SECRETS)
        assert int(ix.tok_full[i]) == enc.count(text)
    assert not any(s in t for t in ix.skeletons for s in SECRETS)
    assert not any(s in t for t in ix.contexts for s in SECRETS)


def test_documents_are_redacted_too() -> None:
    doc = Document('def deploy():\n    token = "ghp_FAKE0EXAMPLE0TOKEN0123456789abcdefgh"\n',
                   id="deploy.py")
    p = pack("deploy", [doc], budget=500)
    assert "ghp_FAKE" not in p.text and "[REDACTED:github-token]" in p.text
    assert p.stats["redactions"] == [{"path": "deploy.py", "line": 2, "type": "github-token"}]
    assert "ghp_FAKE" in pack("deploy", [doc], budget=500, redact=False).text


@pytest.mark.parametrize(
    ("path", "line", "kind"),
    [
        ("a.py", 'key = "AKIAIOSFODNN7EXAMPLE"', "aws-access-key"),
        ("a.py", 'gh = "ghp_FAKE0EXAMPLE0TOKEN0123456789abcdefgh"', "github-token"),
        ("a.py", 'gl = "glpat-FAKE0EXAMPLE0123456789"', "gitlab-token"),
        ("a.py", 'hook = "xoxp-0123456789-0123456789-FAKEtoken"', "slack-token"),
        ("a.py", 'stripe.api = "sk_live_FAKE0123456789abcdefEXAM"', "stripe-key"),
        ("a.py", 'conn = "mysql://root:FAKEpass123@localhost/db"', "url-password"),
        ("a.py", 'self.password = "FAKE-pw-0123"', "password"),
        ("a.py", 'client = Client(api_key="FAKE0123456789abcdef")', "api-key"),
        ("a.py", 'AUTH_TOKEN: str = "FAKE0123456789abcdef"', "token"),
        ("a.go", 'secret := "FAKE0123456789abcdef"', "secret"),
        ("a.php", "'password' => 'FAKE-pw-0123',", "password"),
        ("a.json", '"apiKey": "FAKE0123456789abcdef",', "api-key"),
        ("a.yaml", "  db_password: FAKE-pw-0123", "password"),
        ("a.toml", 'client_secret = "FAKE0123456789abcdef"', "secret"),
        ("a.ini", "password = FAKE-pw-0123", "password"),
        (".env.production", "STRIPE_SECRET=FAKE0123456789abcdef", "secret"),
        ("deploy.sh", "export ACCESS_TOKEN=FAKE0123456789abcdef", "token"),
        ("a.py", 'h = {"Authorization": "Bearer FAKEabcdefghijklmnop0123456789XYZ"}',
         "bearer-token"),
    ],
)
def test_each_kind_is_found_and_the_code_around_it_kept(path: str, line: str, kind: str) -> None:
    out, found = redact(f"x = 1\n{line}\ny = 2\n", path)
    assert [(r.line, r.kind) for r in found] == [(2, kind)]
    assert out.startswith("x = 1\n") and out.endswith("\ny = 2\n")
    assert f"[REDACTED:{kind}]" in out
    assert "FAKE" not in out and "AKIA" not in out


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("a.py", "password = get_password(user)"),
        ("a.py", "token = None"),
        ("a.py", 'token_type = "Bearer"'),
        ("a.py", 'password_field = "password1"'),
        ("a.py", 'PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]'),
        ("a.py", 'secret_key = os.environ["SECRET_KEY"]'),
        ("a.py", 'api_key = "{{ api_key }}"'),
        ("a.py", 'password = "${DB_PASSWORD}"'),
        ("a.py", 'label = _("Password confirmation")'),
        ("a.py", 'help_text = "Enter the same password as before, for verification."'),
        ("a.py", 'DOCS = "https://docs.djangoproject.com/en/5.0/topics/auth/passwords/"'),
        ("a.py", 'request_token_url = "https://api.example.com/oauth/request_token"'),
        ("a.py", 'session_id = "123e4567-e89b-12d3-a456-426614174000"'),
        ("a.py", 'autocomplete = "new-password"'),
        ("a.py", 'url = "http://user:password@host/"'),
        ("a.py", "def check_password(self, raw_password):"),
        ("a.py", "tokens = tokenize(source)"),
        ("a.yaml", "password_min_length: 12"),
        ("a.yaml", "token_url: https://example.com/token"),
        (".env", "SECRET_KEY=${SECRET_KEY}"),
        ("a.md", "Set `api_key` in your settings; the password is never logged."),
    ],
)
def test_ordinary_code_is_left_alone(path: str, line: str) -> None:
    text = f"{line}\n"
    assert redact(text, path) == (text, ())


def test_a_value_found_once_is_redacted_everywhere_in_the_file() -> None:
    text = 'DB_PASSWORD = "FAKE-Reused-0123"\n\nconnect("app", "FAKE-Reused-0123")\n'
    out, found = redact(text, "a.py")
    assert "FAKE-Reused" not in out
    assert [(r.line, r.kind) for r in found] == [(1, "password"), (3, "password")]


def test_redaction_is_cheap_on_ordinary_code() -> None:
    import time

    text = (FIXTURES / "languages" / "sample.py").read_text() * 1000  # ~1 MB of code
    t = time.perf_counter()
    out, found = redact(text, "big.py")
    assert time.perf_counter() - t < 1.0
    assert out == text and not found
