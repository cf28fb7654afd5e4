"""The fake-secret corpus: fixtures/secrets/shapes holds each shape of secret as a
``@@NAME@@`` placeholder in the file (or file name) where real repositories hold it; the
values are generated here, at test time, so nothing that looks like a key is committed."""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Callable
from pathlib import Path

from .conftest import FIXTURES

SHAPES = FIXTURES / "secrets" / "shapes"
PLACEHOLDER = re.compile(r"@@([A-Z0-9_]+)@@")

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


def _generators(rng: random.Random) -> dict[str, Callable[[], str]]:
    def r(n: int, chars: str = ALNUM) -> str:
        return "".join(rng.choice(chars) for _ in range(n))

    def tok(n: int) -> str:
        """Mixed case and digits, as most keys are."""
        head = [rng.choice(string.ascii_uppercase), rng.choice(string.ascii_lowercase),
                rng.choice(string.digits)]
        return "".join(head) + r(n - 3)

    def b64(raw: str) -> str:
        return base64.b64encode(raw.encode()).decode()

    def b64url(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    def words(n: int) -> str:
        return " ".join(r(8, string.ascii_lowercase) for _ in range(n))

    akia = lambda: "AKIA" + r(16, string.ascii_uppercase + string.digits)  # noqa: E731
    return {
        "GITHUB_PAT": lambda: f"github_pat_{tok(22)}_{tok(59)}",
        "GHP": lambda: "ghp_" + tok(36), "GHS": lambda: "ghs_" + tok(36),
        "GHP_NAME": lambda: "ghp_" + tok(36),
        "SK_ANT": lambda: "sk-ant-api03-" + r(93, URLSAFE) + "AA",
        "SK_PROJ": lambda: "sk-proj-" + tok(20) + r(60, URLSAFE),
        "SK_PROJ2": lambda: "sk-proj-" + tok(20) + r(60, URLSAFE),
        "SK_PROJ_T3": lambda: f"sk-proj-{tok(20)}T3BlbkFJ{tok(20)}",
        "SK_LEGACY": lambda: f"sk-{tok(20)}T3BlbkFJ{tok(20)}",
        "AIZA": lambda: "AIza" + r(35, URLSAFE),
        "HF": lambda: "hf_" + r(34, string.ascii_letters),
        "XOXB": lambda: f"xoxb-{r(12, string.digits)}-{r(12, string.digits)}-{tok(24)}",
        "GLPAT": lambda: "glpat-" + tok(20),
        "NPM": lambda: "npm_" + tok(36), "NPM2": lambda: "npm_" + tok(36),
        "SHPAT": lambda: "shpat_" + r(32, HEX),
        "DOP": lambda: "dop_v1_" + r(64, HEX),
        "LIN": lambda: "lin_api_" + tok(40),
        "PMAK": lambda: f"PMAK-{r(24, HEX)}-{r(34, HEX)}",
        "DAPI": lambda: "dapi" + r(32, HEX),
        "AGE": lambda: "AGE-SECRET-KEY-1" + r(58, string.ascii_uppercase + string.digits),
        "GSK": lambda: "gsk_" + tok(52),
        "R8": lambda: "r8_" + tok(37),
        "SG": lambda: f"SG.{r(22, URLSAFE)}.{r(43, URLSAFE)}",
        "TWILIO_SK": lambda: "SK" + r(32, HEX),
        "MAILGUN": lambda: "key-" + r(32, HEX),
        "MAILCHIMP": lambda: r(32, string.ascii_lowercase + string.digits) + "-us12",
        "JWT": lambda: (b64url({"alg": "HS256", "typ": "JWT"}) + "."
                        + b64url({"sub": r(12), "name": "test"}) + "." + r(43, URLSAFE)),
        "PYPI": lambda: "pypi-AgEIcHlwaS5vcmc" + r(80, URLSAFE),
        "PYPI2": lambda: "pypi-AgEIcHlwaS5vcmc" + r(80, URLSAFE),
        "TELEGRAM": lambda: f"{r(10, string.digits)}:{r(35, URLSAFE)}",
        "SQUARE": lambda: "sq0csp-" + r(43, URLSAFE),
        "AZURE": lambda: r(86, B64) + "==",
        "AKIA": akia, "AKIA2": akia, "AKIA3": akia, "AKIA4": akia,
        "SLACK_HOOK": lambda: (f"https://hooks.slack.com/services/T{r(8, string.ascii_uppercase)}"
                               f"/B{r(8, string.ascii_uppercase)}/{tok(24)}"),
        "SK_LIVE": lambda: "sk_live_" + tok(60), "SK_LIVE2": lambda: "sk_live_" + tok(60),
        "RK_LIVE": lambda: "rk_live_" + tok(60), "WHSEC": lambda: "whsec_" + tok(32),
        "ENV_SECRET": lambda: tok(32),
        "PW_DQUOTE": lambda: f'{tok(8)}"{tok(8)}',
        "AWS_SECRET": lambda: r(40, B64), "AWS_SECRET2": lambda: r(40, B64),
        "AWS_SECRET3": lambda: r(40, B64), "AWS_SECRET4": lambda: r(40, ALNUM),
        "AWS_SESSION": lambda: r(300, B64) + "==",
        "CURL_PW": lambda: tok(16), "REDIS_PW": lambda: tok(16), "QUERY_KEY": lambda: tok(32),
        "NETRC_PW": lambda: tok(16), "NETRC_PW2": lambda: tok(16), "PGPASS_PW": lambda: tok(16),
        "XML_APIKEY": lambda: tok(32), "XML_PW": lambda: tok(16),
        "YAML_BLOCK1": lambda: r(64, B64), "YAML_BLOCK2": lambda: r(64, B64),
        "BAT_PW": lambda: tok(16), "BAT_TOKEN": lambda: tok(32),
        "DOCKER_ARG": lambda: tok(24), "DOCKER_MAPBOX": lambda: tok(40),
        "DOCKER_PASS": lambda: tok(16),
        "DOCKER_AUTH": lambda: b64("ci-bot:" + tok(20)),
        "K8S_USER": lambda: b64("admin-" + tok(10)),
        "K8S_URL": lambda: b64(f"postgres://app:{tok(12)}@db/app"),
        "K8S_BLOCK": lambda: r(64, B64), "K8S_STRING": lambda: "token=" + tok(20),
        "HEX_APPID": lambda: r(32, HEX), "HEX_KEY": lambda: r(40, HEX),
        "RANDOM_KEY": lambda: tok(32),
        "PW_SPACES": lambda: words(4),
        "PW_SQUOTE": lambda: f'{tok(8)}"{tok(8)}',
        "PW_ESCAPED": lambda: f'{tok(8)}\\"{tok(8)}',
        "AMZ_SIG": lambda: r(64, HEX), "TILE_KEY": lambda: tok(32),
        "MONGO_PW": lambda: tok(16), "AMQP_PW": lambda: tok(16),
        "REUSED": lambda: tok(18),
        "TF_PW": lambda: tok(16), "PROP_PW": lambda: tok(16), "ADO_PW": lambda: tok(16),
        "BASIC": lambda: b64("api:" + tok(20)), "GO_SECRET": lambda: tok(24),
        "TS_KEY": lambda: tok(32), "TS_HDR": lambda: tok(32),
        "PHP_SECRET": lambda: tok(16), "PHP_PW": lambda: tok(16),
        "RB_SKB": lambda: r(128, HEX), "JAVA_SECRET": lambda: tok(32),
        "VAULT": lambda: "hvs." + tok(90), "CLI_PW": lambda: tok(16),
        "NB_PW": lambda: tok(16), "NB_KEY": lambda: tok(32),
    }


def make_corpus(dest: Path, seed: int | None = None) -> dict[str, str]:
    """Copy the shapes to ``dest`` with a fresh value for each placeholder (the same value
    wherever one name recurs); the values, by name."""
    rng = random.Random(seed)
    gens = _generators(rng)
    values: dict[str, str] = {}

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            values[name] = gens[name]()
        return values[name]

    for src in sorted(SHAPES.rglob("*")):
        if src.is_dir():
            continue
        rel = PLACEHOLDER.sub(value, str(src.relative_to(SHAPES)))
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(PLACEHOLDER.sub(value, src.read_text()).encode())
    return values


def template_text() -> str:
    """Every template, placeholders and all: what no secret's part may be mistaken for."""
    return "\n".join(p.read_text() + "\n" + str(p.relative_to(SHAPES))
                     for p in sorted(SHAPES.rglob("*")) if p.is_file())


def secret_parts(values: dict[str, str]) -> dict[str, list[str]]:
    """For each value, its runs of 8+ letters and digits that the templates do not hold
    (a partly masked key leaks those)."""
    known = template_text() + " hooks.slack.com/services"  # the fixed part of a shape
    return {name: [run for run in re.findall(r"[A-Za-z0-9]{8,}", v) if run not in known]
            for name, v in values.items()}


def surroundings() -> list[tuple[str, str]]:
    """(file, text before a placeholder on its line): code that must survive redaction."""
    out = []
    for p in sorted(SHAPES.rglob("*")):
        if not p.is_file():
            continue
        for line in p.read_text().splitlines():
            m = PLACEHOLDER.search(line)
            if m:
                before = line[: m.start()].strip()
                if p.suffix == ".ipynb":  # packed as its cells' text, not JSON strings
                    before = before.lstrip('"').replace('\\"', '"').replace("\\\\", "\\")
                if len(before) >= 4:
                    out.append((str(p.relative_to(SHAPES)), before))
    return out
