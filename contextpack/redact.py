"""Secrets out of a file's text before it is chunked, counted, indexed or sent anywhere.

``redact(text, path)`` replaces each secret it finds with a marker naming its kind,
``[REDACTED:aws-access-key]``, keeps the code around it, and never adds or removes a line,
so chunk line numbers still point into the file. What it finds:

- tokens with a known shape, through detect-secrets' plugins: AWS, GitHub, GitLab, Slack,
  Stripe, OpenAI, npm, PyPI, SendGrid, Twilio, Discord, Telegram, Mailchimp, Azure storage,
  Artifactory and Square keys, JSON Web Tokens, and passwords in URLs (``://user:pw@``);
- private key blocks (PEM, OpenSSH, PGP, PuTTY), over every line they span, also when
  written as a string with ``\\n`` escapes;
- assignments to secret-sounding names (password, secret, token, api key...) in code,
  YAML, JSON, INI, TOML and ``.env`` files, when the value reads as a literal secret rather
  than a placeholder, a name, a path, a URL or a UUID;
- long high-entropy strings (detect-secrets' Shannon entropy) on lines about tokens,
  secrets or authorization;
- every other occurrence in the file of a value found above; ``Scrubber`` takes the
  values found in any file of an index out of every other file of it (it knows them only
  by keyed hashes: no value is kept in clear, in memory or in the cache);
- shapes detect-secrets lacks, as plugins of its kind (``_EXTRA_TOKENS``): fine-grained
  GitHub, Anthropic, OpenAI project, Google, Hugging Face and whole Stripe keys, AWS
  secret keys next to their name or access key id, ``curl -u``, ``.netrc`` lines;
- values in shell, batch and Dockerfile lines (``export``, ``set``, ``ENV``, ``ARG``), XML
  elements and ``key=/value=`` pairs, URL query strings (``?apiKey=``), YAML block scalars
  under secret names, Kubernetes ``Secret`` data, Docker ``config.json`` auths, ``.pgpass``
  lines, and string literals inside notebooks and JSON (decoded, redacted, re-encoded, so
  the JSON stays valid).

``redact_name`` does the token shapes alone on a file name, a document id or a URL.

It runs on every file of a repository, and almost every file holds no secret: one cheap
pass over the lower-cased text rules most files out, and the detectors then run only on
the few lines that pass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .types import pickled_by_fields

MARKER = "[REDACTED:{}]"


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Redaction:
    """One secret taken out of a file: where it was and what kind. Never its value."""

    line: int  # 1-based
    kind: str  # aws-access-key, github-token, private-key, password...
    # keyed hashes of the value's longer runs (space-separated), so other files of the
    # same index can be scrubbed of it (see Scrubber); never the value itself
    fingerprint: str = ""


# Substrings, lower-cased, that every secret we look for contains (or sits next to).
# Searching the lower-cased text for them with one regex of plain literals is the fast
# path; case matters again in the detectors.
_HINTS = (
    # names that announce a secret
    "passw", "passphrase", "pwd", "_pass", "pass=", "pass:", "pass =", "pass :", "secret",
    "token", "api_key", "apikey", "api-key", "access_key", "accesskey", "private_key",
    "privatekey", "auth_key", "client_key", "signing_key", "credential", "bearer",
    "authorization",
    # shapes of known tokens
    "akia", "asia", "abia", "acca", "a3t", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "glpat-",
    "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-", "glptt-", "glagent-", "gloas-",
    "gr1348941", "xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "hooks.slack.com",
    "k_live_", "t3blbkfj", "_authtoken", "pypi-age", "sg.", "accountkey=", "sq0csp-", "eyj",
    "akc", "private key", "putty-user-key-file",
    # shapes of _EXTRA_TOKENS, and the contexts of the structured detectors
    "github_pat_", "sk-ant-", "sk-proj-", "sk-svcacct-", "sk-admin-", "sk-none-", "aiza", "hf_",
    "k_test_", "whsec_", "xapp-", "npm_", "shpat_", "shpca_", "shppa_", "shpss_", "_v1_",
    "lin_api_", "pmak-", "dapi", "age-secret-key-", "gsk_", "r8_", "xai-", "pplx-", "dp.pt.",
    "atatt3", "key-", "aws", "curl", "machine ", '"auth"', "?key=", "&key=", "signature=",
    "sig=", "x-amz-", "x-goog-", "_key", "key=", "appid", "app_id", "appkey", "hvs.", "hvb.",
    "hvr.",
)


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex for many literals, nested by shared prefix: ``a(?:kia|sia|pi_key)``.
    Python's re tries each branch of a flat alternation at every position; nested, it
    rules most positions out on the first character (three times faster here)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


_HINT_RE = re.compile(_trie_pattern(_HINTS))
# What a file name, document id or URL must hold for ``redact_name`` to look closer: a
# token's prefix, a URL's credentials or a query string (not words like "token", which
# name many files: auth/tokens.py).
_NAME_HINTS = (
    "akia", "asia", "abia", "acca", "a3t", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
    "github_pat_", "glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "gr1348941",
    "xox", "xapp-", "hooks.slack.com", "k_live_", "k_test_", "whsec_", "t3blbkfj", "sk-",
    "aiza", "hf_", "npm_", "pypi-age", "sg.", "sq0csp-", "eyj", "shp", "_v1_", "lin_api_",
    "pmak-", "dapi", "age-secret-key-", "gsk_", "r8_", "xai-", "pplx-", "dp.pt.", "atatt3",
    "hvs.", "hvb.", "hvr.", "key-", "://", "=", "@",
)
_NAME_HINT_RE = re.compile(_trie_pattern(_NAME_HINTS))
# passwords in URLs: cheap to test for separately ("@" and "://" are both rare)
_URL_AUTH = re.compile(r"://[^\s/@:'\"]*:[^\s/@'\"]+@")

_KEY_HEAD = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
                       r"|PuTTY-User-Key-File-\d+:")
_KEY_TAIL = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PUTTY_TAIL = re.compile(r"Private-MAC: *[0-9a-fA-F]+")
# base64 runs of a key body; a run may not start right after a backslash (a "\n" escape)
_B64_RUN = re.compile(r"(?<!\\)[A-Za-z0-9+/]{16,}={0,2}")
MAX_KEY_LINES = 400

# name <op> value: password = "x", "api_key": "x", token: x, PASS=x, secret := "x",
# 'password' => 'x', password: str = "x", connect(password="x")
_ASSIGN = re.compile(
    r"""(?P<q>["']?)(?P<name>[A-Za-z_$@][\w.$-]*)(?P=q)\]?"""
    r"""(?:[ \t]*:[ \t]*[\w.|\[\], ]{1,40}?(?=[ \t]*=))?"""  # a type annotation
    r"""[ \t]*(?::=|=>|=(?!=)|:(?!:))[ \t]*"""
    r"""(?:(?P<qv>["'`])(?P<quoted>(?:(?!(?P=qv))[^\\\n]|\\.){1,1000})(?P=qv)"""
    r"""|(?P<bare>[^\s"'`#;,{}()\[\]<>=][^\s"'`#;,{}()\[\]<>]{0,999}))"""
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "pass", "passphrase", "passwort",
                             "contrasena", "contraseña", "pw"})
_KEY_QUALIFIERS = frozenset({"api", "access", "secret", "private", "auth", "client", "signing",
                             "encryption", "master", "account", "app", "service", "license",
                             "subscription", "consumer", "storage", "webhook", "hmac"})
# A secret-sounding name followed by one of these names something about the secret
# (password_field, token_type, secret_name), not the secret itself.
_BENIGN_LAST = frozenset("""
    field fields label name names type types url uri urls endpoint length len min max reset
    timeout help input widget validator validators form view template required prefix suffix
    header cookie path file filename dir env var id ids count expires expiry age lifetime ttl
    kind format pattern regex re class attr mode policy hasher hashers param params message
    messages msg text error errors chars html selector placeholder hint strength changed change
    done complete title description enabled disabled visible column col index idx
    limit size period generator backend backends manager char display storage
    setting settings option options function func method handler callback valid invalid
    match matches mismatch regexp source sources provider providers location store holder
""".split())
_PLACEHOLDER = re.compile(
    r"""^(?:\$\{?[\w.:-]*\}?|\$\(.*\)|\{\{.*\}\}|\{[\w.\s]*\}|<[^>]*>|%\(?\w*\)?[sdr]?|\[\w*\]"""
    r"""|\*+|x+|X+|\.+|-+|_+|\?+|#+)$"""
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOTTED = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(\))?$")
_SNAKE_WORDS = re.compile(r"^_*[a-z]+(?:[_-][a-z]+)+_*$")
_FORMATTING = re.compile(r"%[sdr(]|\{\d*\}|%\w+%|\.\.\.$|…$")
_NON_SECRETS = frozenset("""
    none null nil true false yes no on off undefined required optional string str bytes int
    integer bool boolean text password passwd secret token key api_key apikey empty default
    changeme value your_password your_token your_secret example dummy test pass pwd user
    username
""".split())
_BEARER = re.compile(r"(?i)\b(?:bearer|token|basic)[ \t]+([A-Za-z0-9._~+/=-]{20,})")


# Token shapes detect-secrets 1.5 lacks, or matches only in part (a Stripe key's first 24
# characters), as regex plugins of its kind. A pattern with a group marks only the group
# (the secret after its name); without one, the whole token.
_EXTRA_TOKENS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("github-token", (r"github_pat_[A-Za-z0-9_]{22,255}", r"gh[pousr]_[A-Za-z0-9]{36,255}")),
    ("anthropic-key", (r"sk-ant-[A-Za-z0-9_-]{24,}",)),
    ("openai-key", (r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}",)),
    ("google-api-key", (r"AIza[0-9A-Za-z_-]{35}",)),
    ("huggingface-token", (r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}",)),
    ("stripe-key", (r"(?<![A-Za-z0-9_])[rs]k_(?:live|test)_[0-9A-Za-z]{16,}",
                    r"whsec_[0-9A-Za-z]{24,}")),
    ("slack-token", (r"xox[a-z]-[0-9A-Za-z-]{10,}", r"xapp-\d-[0-9A-Za-z-]{10,}")),
    ("npm-token", (r"npm_[A-Za-z0-9]{36}",)),
    ("api-key", (r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", r"do[opr]_v1_[a-f0-9]{64}",
                 r"lin_api_[A-Za-z0-9]{40}", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}",
                 r"dapi[a-f0-9]{32}(?:-\d)?", r"AGE-SECRET-KEY-1[0-9A-Z]{58}",
                 r"gsk_[A-Za-z0-9]{48,}", r"r8_[A-Za-z0-9]{37}", r"xai-[A-Za-z0-9]{60,}",
                 r"pplx-[A-Za-z0-9]{40,}", r"dp\.pt\.[A-Za-z0-9]{40,}",
                 r"ATATT3[A-Za-z0-9_=-]{100,}", r"(?<![\w-])key-[0-9a-f]{32}",
                 r"(?<![\w.])hv[sbr]\.[A-Za-z0-9_-]{24,}")),
    ("aws-secret-key", (
        r"(?i:aws).{0,30}?(?i:secret|key).{0,25}?[=:,\s][ \t]*[\"']?([A-Za-z0-9/+]{40})"
        r"(?![A-Za-z0-9/+=])",
        r"(?:AKIA|ASIA)[A-Z0-9]{16}[ \t]*[,;\t|][ \t]*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
    )),
    ("url-password", (r"[A-Za-z][A-Za-z0-9+.-]*://:([^\s/@'\"]+)@",)),  # no user name
    ("password", (r"\bmachine[ \t]+\S+[ \t]+(?:login[ \t]+\S+[ \t]+)?password[ \t]+(\S+)",
                  r"\bcurl\b[^\n]*?[ \t](?:-u|--user)[ \t=]*[\"']?[^\s:\"']*:([^\s\"']+)")),
)
# Kinds whose match is a value, which must still read as a secret (not $TOKEN or ****).
_VALUE_KINDS = frozenset({"url-password", "password"})

# export NAME=value, set NAME=value (.bat), ENV NAME value, ARG NAME=value, $env:NAME = "x"
_SHELL_SET = re.compile(
    r"""(?:^|(?<=[\s;&|(!%]))(?:(?:export|set|setx|ENV|ARG|env|%env)[ \t]+|\$env:)"""
    r"""(?P<name>[A-Za-z_][\w.]*)(?:[ \t]*=[ \t]*|[ \t]+)"""
    r"""(?:(?P<qv>["'])(?P<quoted>(?:(?!(?P=qv))[^\\\n]|\\.){1,1000})(?P=qv)"""
    r"""|(?P<bare>[^\s"'`;&|<>]{1,1000}))"""
)
# <password>x</password>; <add key="ApiKey" value="x"/>; <property name="token" value="x"/>
_XML_ELEM = re.compile(r"<(?P<name>[A-Za-z_][\w.:-]*)(?:[ \t][^<>]*)?>(?P<value>[^<>\n]{1,500})"
                       r"</(?P=name)>")
_XML_PAIR = re.compile(
    r"""\b(?:key|name)[ \t]*=[ \t]*(?P<q>["'])(?P<name>[^"'<>]{1,100})(?P=q)"""
    r"""[ \t]+value[ \t]*=[ \t]*(?P<q2>["'])(?P<value>[^"'<>\n]{1,1000})(?P=q2)""")
# ?apiKey=x&sig=y: secrets in URL query strings (presigned URLs, keyed API calls)
_QUERY_PARAM = re.compile(r"[?&;](?P<name>[A-Za-z][\w.-]{0,40})=(?P<value>[^&\s\"'#<>\\;]{8,})")
_QUERY_NAMES = frozenset({"key", "sig", "signature", "x-amz-signature", "x-amz-credential",
                          "x-amz-security-token", "x-goog-signature", "x-goog-credential",
                          "access_token", "auth", "apikey", "api_key", "token", "client_secret",
                          "password", "pwd", "secret", "code_verifier"})
# Docker's config.json: "auth": base64 of user:password
_DOCKER_AUTH = re.compile(r'"auth"[ \t]*:[ \t]*"(?P<value>[A-Za-z0-9+/]{8,}={0,2})"')
# name: |  (a YAML block scalar; its more indented lines below are the value)
_YAML_BLOCK = re.compile(r"""^(?P<indent>[ \t]*)(?:- )?(?P<q>["']?)(?P<name>[\w.-]+)(?P=q)"""
                         r"""[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*(?:#.*)?$""")
_K8S_SECRET = re.compile(r"""(?m)^kind:[ \t]*["']?Secret["']?[ \t]*$""")
_K8S_DATA = re.compile(r"^(?P<indent>[ \t]*)(?:data|stringData):[ \t]*$")
_YAML_PAIR = re.compile(r"""^[ \t]*(?P<q>["']?)[\w.-]+(?P=q)[ \t]*:[ \t]*(?P<value>\S.*?)[ \t]*$""")
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_NETRC_WORD = re.compile(r"\b(?:password|passwd|account)[ \t]+(?P<value>\S+)")
_PGPASS_LINE = re.compile(r"^(?:(?:[^:\\\n]|\\.)*:){4}(?P<value>.+)$")
# Names whose value is a key when it looks random: STRIPE_KEY, WECHAT_APPID, signing salt
_KEYISH_LAST = frozenset({"key", "keys", "apikey", "appkey", "appid", "appsecret", "sig",
                          "signature", "salt", "hmac", "dsn"})
_LONG_HEX = re.compile(r"^[0-9a-fA-F]{24,}$")
_TOKENISH = re.compile(r"^[A-Za-z0-9_+/=.-]{16,}$")
_VERSION = re.compile(r"^[~^<>=!v]*\d+(?:\.[\dxX*]+)+(?:[-+.][\w.]+)?$")
# A URL's password that is one lower-case word (and a digit or two) is an example:
# postgresql://scott:tiger@localhost/test, amqp://guest:guest@, https://u:password1@.
_PLAIN_WORD = re.compile(r"^[a-z]{3,12}\d{0,2}$")
# A quoted "value" that is a regular expression: (?:...), [^...], \d
_REGEXY = re.compile(r"\(\?[:=!<P]|\[\^|\\[dwsbDWS]")
_UPPER_WORDS = re.compile(r"^_*[A-Z][A-Z0-9]*(?:[_-][A-Z0-9]+)+_*$")  # YOUR_API_KEY, ENV_VAR1
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")  # test_schema_2, my_name_1
# A quoted value with spaces is a passphrase only when no word of prose is in it.
_PROSE = frozenset("""
    a an the your you enter please is are was be to of for and or not new old confirm
    confirmation password passwords must should with this that invalid incorrect wrong
    required field here my user account reset change forgot again can cannot will it in
    on at by if no yes too short long characters letters
""".split())
# The characters a reused value is split on, and the runs between them that are hashed.
_DELIMS = r"""\s"'`<>()\[\]{},;=&?#|\\:@"""
_RUN_SPLIT = re.compile(f"[{_DELIMS}]+")
_RUN = re.compile(f"[^{_DELIMS}]{{10,}}")
_FINGERPRINT_KEY = b"contextpack reused-secret v1"

# Config formats write values bare (token: abc123); elsewhere only quoted literals count,
# so ``password = get_password()`` or ``token = None`` never does.
_BARE_SUFFIXES = (".yaml", ".yml", ".ini", ".cfg", ".conf", ".cnf", ".toml", ".properties",
                  ".env", ".envrc", ".sh", ".bash", ".zsh", ".npmrc", ".pypirc", ".tfvars",
                  ".netrc", ".pgpass")
_BARE_NAMES = frozenset({"dockerfile", "containerfile", "makefile", "credentials", ".netrc",
                         "_netrc", ".pgpass", "pgpass.conf"})
_BARE_SUFFIXES_MORE = (".bat", ".cmd", ".ps1", ".dockerfile")

# detect-secrets type -> our marker name
_KINDS = {
    "AWS Access Key": "aws-access-key",
    "GitHub Token": "github-token",
    "GitLab Token": "gitlab-token",
    "Slack Token": "slack-token",
    "Stripe Access Key": "stripe-key",
    "OpenAI Token": "openai-key",
    "NPM tokens": "npm-token",
    "PyPI Token": "pypi-token",
    "SendGrid API Key": "sendgrid-key",
    "Twilio API Key": "twilio-key",
    "Discord Bot Token": "discord-token",
    "Telegram Bot Token": "telegram-token",
    "Mailchimp Access Key": "mailchimp-key",
    "Azure Storage Account access key": "azure-storage-key",
    "Artifactory Credentials": "artifactory-token",
    "Square OAuth Secret": "square-oauth-secret",
    "JSON Web Token": "jwt",
    "Basic Auth Credentials": "url-password",
}
# Which kind wins when two detectors claim overlapping text: the most specific.
_PRIORITY = {kind: 0 for kind in _KINDS.values()}
_PRIORITY.update({"private-key": 0, "password": 1, "secret": 1, "token": 1, "api-key": 1,
                  "credential": 1, "bearer-token": 2, "high-entropy-string": 3})
# Values hunted for elsewhere in the file: long enough, and mixing kinds of character, so a
# fixture password that is also a plain word ("testclient") does not blank out the word.
MIN_REUSED_VALUE = 10


@lru_cache(maxsize=1)
def _plugins() -> tuple[tuple[str, Any], ...]:
    """detect-secrets' regex plugins, imported on first use (the import costs ~0.2 s)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    classes: dict[str, Any] = get_mapping_from_secret_type_to_class()
    ours = tuple(
        (kind, type(f"Contextpack{i}", (RegexBasedDetector,), {
            "secret_type": kind, "denylist": tuple(re.compile(p) for p in patterns)})())
        for i, (kind, patterns) in enumerate(_EXTRA_TOKENS))
    return tuple((kind, classes[name]()) for name, kind in _KINDS.items() if name in classes) + ours


@lru_cache(maxsize=1)
def _any_plugin() -> re.Pattern[str]:
    """All the plugins' patterns as one: most candidate lines match none of them."""
    parts = []
    for _, plugin in _plugins():
        for regex in plugin.denylist:
            flags = "i" if regex.flags & re.IGNORECASE else ""
            parts.append(f"(?{flags}:{regex.pattern})" if flags else f"(?:{regex.pattern})")
    return re.compile("|".join(parts))


@lru_cache(maxsize=1)
def _entropy() -> tuple[Any, Any]:
    from detect_secrets.plugins.high_entropy_strings import (
        Base64HighEntropyString,
        HexHighEntropyString,
    )

    return Base64HighEntropyString(limit=4.5), HexHighEntropyString(limit=3.0)


def redact(text: str, path: str = "") -> tuple[str, tuple[Redaction, ...]]:
    """The text with every secret found replaced by a marker, and where each one was.

    Lines are never added or removed. ``path`` decides which assignment syntax counts
    (bare values only in config files) and which file formats apply (notebooks, .pgpass).
    """
    values: dict[str, str] = {}
    out, found = _redact(text, path, values)
    if not found:
        return text, ()
    out = _redact_reused(out, values, found)
    found.sort(key=lambda r: (r.line, r.kind, r.fingerprint))
    return out, tuple(dict.fromkeys(found))


def _redact(text: str, path: str, values: dict[str, str]) -> tuple[str, list[Redaction]]:
    """One pass of the detectors; ``values`` gathers what was found, for reuse."""
    rows = _candidate_rows(text)
    special = _special_file(path, text)
    if not rows and not special:
        return text, []
    lines = text.split("\n")
    found: list[Redaction] = []
    if special:
        _redact_special(special, lines, found, values)
    json_strings = path.lower().endswith((".ipynb", ".json"))
    done_until = -1
    bare = _bare_values(path)
    for row in rows:
        if row <= done_until:
            continue
        line = lines[row]
        head = _KEY_HEAD.search(line)
        if head:
            done_until = _redact_key_block(lines, row, head.end(), head.group(), found)
            if done_until > row:
                continue
            line = lines[row]
        block = _YAML_BLOCK.match(line) if bare else None
        if block:
            kind = _secret_name(block["name"]) or ("api-key" if _keyish(block["name"]) else "")
            if kind:
                done_until = _redact_block(lines, row, len(block["indent"]), kind, found, values)
                continue
        if json_strings and "\\" in line:
            line = lines[row] = _redact_json_strings(line, row, path, found, values)
        spans = list(_spans(line, bare))
        if spans:
            lines[row] = _apply(line, spans, row, found, values)
    return "\n".join(lines), found


def redact_names(names: Sequence[str]) -> list[str]:
    """``redact_name`` of each name; one pass of the hints over all of them picks the
    few worth a closer look (a walk yields tens of thousands of paths)."""
    out = list(names)
    if any("\n" in n for n in out):
        return [redact_name(n) for n in out]
    for row in _rows_of(_NAME_HINT_RE, "\n".join(out).lower()):
        out[row] = redact_name(out[row])
    return out


_TOKEN_RUN = re.compile(r"[A-Za-z0-9+=_-]{16,}")


def _token_like(text: str) -> bool:
    """A long run with a digit in it (a token's shape), or a password in a URL."""
    return bool(_URL_AUTH.search(text)) or \
        any(any(c.isdigit() for c in run) for run in _TOKEN_RUN.findall(text))


def redact_name(text: str) -> str:
    """A file name, document id or URL with token-shaped secrets, URL passwords and secret
    query parameters (``?apiKey=``, presigned URL signatures) replaced by markers."""
    if not text or not _NAME_HINT_RE.search(text.lower()):
        return text
    spans: list[tuple[int, int, str]] = []
    # Every token shape the plugins know is a long unbroken run with digits in it: a name
    # without one needs no plugin (importing them costs a warm query half a second).
    if _token_like(text) and _any_plugin().search(text):
        for kind, plugin in _plugins():
            spans.extend(_plugin_spans(text, kind, plugin))
    spans.extend(_query_spans(text))
    return _apply(text, spans, 0, [], {}) if spans else text


def _rows_of(hints: re.Pattern[str], low: str) -> list[int]:
    """0-based rows of ``low`` where ``hints`` match, in order."""
    return _rows_at(low, [m.start() for m in hints.finditer(low)])


def _candidate_rows(text: str) -> list[int]:
    """0-based rows that hold a hint of a secret, in order."""
    # Positions are in the lower-cased copy, which may be longer ("İ" lowers to two
    # characters) but has the same newlines, so rows are counted there.
    low = text.lower()
    starts = [m.start() for m in _HINT_RE.finditer(low)]
    if "@" in low and "://" in low:
        starts.extend(m.start() for m in _URL_AUTH.finditer(low))
        starts.sort()
    return _rows_at(low, starts)


def _rows_at(low: str, starts: list[int]) -> list[int]:
    rows: list[int] = []
    row = last = 0
    for pos in starts:
        row += low.count("\n", last, pos)
        last = pos
        if not rows or rows[-1] != row:
            rows.append(row)
    return rows


def _bare_values(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return (name.startswith((".env", "dockerfile")) or name.endswith(_BARE_SUFFIXES)
            or name.endswith(_BARE_SUFFIXES_MORE) or name in _BARE_NAMES or ".env." in name)


def _special_file(path: str, text: str) -> str:
    """Formats whose every line may hold a secret under no secret-sounding name."""
    name = path.rsplit("/", 1)[-1].lower()
    if name in (".pgpass", "pgpass.conf", "pgpass"):
        return "pgpass"
    if name in (".netrc", "_netrc", "netrc"):
        return "netrc"
    if name.endswith((".yaml", ".yml")) and "Secret" in text and _K8S_SECRET.search(text):
        return "k8s"
    return ""


def _redact_special(how: str, lines: list[str], found: list[Redaction],
                    values: dict[str, str]) -> None:
    """.pgpass (host:port:db:user:password), .netrc (password x) and Kubernetes Secrets."""
    if how == "k8s":
        _redact_k8s(lines, found, values)
        return
    for row, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        if how == "pgpass":
            m = _PGPASS_LINE.match(line)
            spans = [(m.start("value"), m.end("value"), "password")] if m else []
        else:
            spans = [(m.start("value"), m.end("value"), "password")
                     for m in _NETRC_WORD.finditer(line) if _looks_secret(m["value"])]
        if spans:
            lines[row] = _apply(line, spans, row, found, values)


def _redact_k8s(lines: list[str], found: list[Redaction], values: dict[str, str]) -> None:
    """Every value under ``data:`` or ``stringData:`` of a Kubernetes Secret."""
    depth = -1  # indentation of the data: key we are under; -1: none
    skip_to = -1
    for row, line in enumerate(lines):
        if row <= skip_to:
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped.startswith("---"):
            depth = -1
            continue
        if depth >= 0 and stripped and indent <= depth:
            depth = -1
        m = _K8S_DATA.match(line)
        if m:
            depth = len(m["indent"])
            continue
        if depth < 0 or not stripped or stripped.startswith("#"):
            continue
        pair = _YAML_PAIR.match(line)
        if not pair:
            continue
        if pair["value"][0] in "|>":
            skip_to = _redact_block(lines, row, indent, "k8s-secret", found, values)
        else:
            start, end = pair.span("value")
            if end - start > 2 and line[start] in "\"'" and line[end - 1] == line[start]:
                start, end = start + 1, end - 1  # the quotes stay
            lines[row] = _apply(line, [(start, end, "k8s-secret")], row, found, values)


def _redact_block(lines: list[str], row: int, indent: int, kind: str, found: list[Redaction],
                  values: dict[str, str]) -> int:
    """The lines of a YAML block scalar below ``row`` (more indented than ``indent``),
    each replaced by a marker; the last row done."""
    end = row
    for r in range(row + 1, len(lines)):
        line = lines[r]
        stripped = line.strip()
        if not stripped:
            continue
        ind = len(line) - len(line.lstrip())
        if ind <= indent:
            break
        lines[r] = _apply(line, [(ind, len(line.rstrip()), kind)], r, found, values)
        end = r
    return end


def _redact_json_strings(line: str, row: int, path: str, found: list[Redaction],
                         values: dict[str, str]) -> str:
    """String literals with escapes (a notebook's source lines, JSON in JSON) decoded,
    redacted as text of their own, and encoded again: the JSON stays valid."""
    inner_path = "cell.py" if path.lower().endswith(".ipynb") else "value.txt"

    def sub(m: re.Match[str]) -> str:
        literal = m.group()
        if "\\" not in literal:
            return literal
        try:
            decoded = json.loads(literal)
        except ValueError:
            return literal
        text, inner = _redact(decoded, inner_path, values)
        if not inner:
            return literal
        found.extend(Redaction(row + 1, r.kind, r.fingerprint) for r in inner)
        return json.dumps(text, ensure_ascii=False)

    return _JSON_STRING.sub(sub, line)


def _spans(line: str, bare: bool) -> Iterator[tuple[int, int, str]]:
    """(start, end, kind) of every secret in one line."""
    if _any_plugin().search(line):
        for kind, plugin in _plugins():
            yield from _plugin_spans(line, kind, plugin)
    for m in _ASSIGN.finditer(line):
        group = "quoted" if m.group("quoted") is not None else "bare"
        if group == "bare" and not bare:
            continue
        kind = _name_kind(m.group("name"), m.group(group), group == "quoted")
        if kind:
            yield m.start(group), m.end(group), kind
    for m in _SHELL_SET.finditer(line):
        group = "quoted" if m.group("quoted") is not None else "bare"
        kind = _name_kind(m.group("name"), m.group(group), group == "quoted")
        if kind:
            yield m.start(group), m.end(group), kind
    if "<" in line or "value" in line:
        for regex in (_XML_ELEM, _XML_PAIR):
            for m in regex.finditer(line):
                kind = _name_kind(m.group("name"), m.group("value"), True)
                if kind:
                    yield m.start("value"), m.end("value"), kind
    yield from _query_spans(line)
    if '"auth"' in line:
        for m in _DOCKER_AUTH.finditer(line):
            if _decodes_to_credentials(m.group("value")):
                yield m.start("value"), m.end("value"), "docker-auth"
    for m in _BEARER.finditer(line):
        if _high_entropy(m.group(1), 3.5):
            yield m.start(1), m.end(1), "bearer-token"
    b64, hexa = _entropy()
    for plugin in (b64, hexa):
        for value in set(plugin.analyze_string(line)):
            if len(value) >= 20 and plugin.calculate_shannon_entropy(value) > plugin.entropy_limit:
                yield from _occurrences(line, value, "high-entropy-string")


def _query_spans(line: str) -> Iterator[tuple[int, int, str]]:
    """Secret parameters of URL query strings: ?apiKey=..., &X-Amz-Signature=..."""
    if "=" not in line:
        return
    for m in _QUERY_PARAM.finditer(line):
        name = m.group("name")
        kind = _secret_name(name) or ("api-key" if name.lower() in _QUERY_NAMES else "")
        value = m.group("value")
        # a key in a URL has digits; ?key=value... in docs has none
        if kind and any(c.isdigit() for c in value) and _looks_secret(value):
            yield m.start("value"), m.end("value"), kind


def _decodes_to_credentials(value: str) -> bool:
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in raw and len(raw) >= 4


def _name_kind(name: str, value: str, quoted: bool) -> str:
    """The kind of secret ``name = value`` holds, or '' when it holds none."""
    kind = _secret_name(name)
    if kind == "password":
        return kind if _looks_secret(value, spaces=quoted) else ""
    if kind:  # tokens and keys are long: token="Red-1" names a colour
        return kind if len(value.strip()) >= 8 and _looks_secret(value) else ""
    return "api-key" if _keyish(name) and _looks_random(value) else ""


def _keyish(name: str) -> bool:
    """STRIPE_KEY, WECHAT_APPID, signingSalt: names a key holds, whatever its qualifier."""
    words = [w for w in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", name).lower()) if w]
    return bool(words) and (words[-1] in _KEYISH_LAST
                            or "".join(words[-2:]) in ("appid", "appkey", "appsecret"))


def _looks_random(value: str) -> bool:
    """A long hex string, or a long token mixing digits and letters with high entropy."""
    v = value.strip()
    if not _looks_secret(v):
        return False
    if _LONG_HEX.match(v):
        return True
    if not _TOKENISH.match(v) or _VERSION.match(v):
        return False
    return any(c.isdigit() for c in v) and any(c.isalpha() for c in v) and _high_entropy(v, 3.5)


_DELIMITERS = " \t'\"=:"
_JWT_TAIL = re.compile(r"[A-Za-z0-9_.+/=-]*")


def _plugin_spans(line: str, kind: str, plugin: Any) -> Iterator[tuple[int, int, str]]:
    """Spans of one plugin's patterns. Its ``analyze_string`` yields regex groups, which
    for some patterns are only the prefix (``ghp``), so the spans come from the patterns."""
    for regex in plugin.denylist:
        for m in regex.finditer(line):
            start, end = m.span()
            if m.re.groups and m.group(1) and m.start(1) > start:
                # the secret part (an AWS secret key, a URL's password); a group at the
                # start is a token's prefix (ghp, glpat) and the secret is the whole match
                start, end = m.span(1)
            if kind == "azure-storage-key" and line.startswith("AccountKey=", start):
                start += len("AccountKey=")  # the name stays, as for assignments
            while start < end and line[start] in _DELIMITERS:
                start += 1
            while end > start and line[end - 1] in _DELIMITERS:
                end -= 1
            if kind in _VALUE_KINDS and not _looks_secret(line[start:end]):
                continue  # http://user:password@host in docs, curl -u user:$TOKEN
            if kind == "url-password" and _PLAIN_WORD.match(line[start:end]):
                continue  # scott:tiger@localhost, guest:guest@: the examples of docs
            if kind == "jwt":
                try:
                    if not plugin.is_formally_valid(line[start:end]):
                        continue
                except (RecursionError, ValueError):  # json.loads on a crafted header
                    continue
                tail = _JWT_TAIL.match(line, end)  # the pattern stops before the signature
                end = tail.end() if tail else end
            if end - start >= (4 if kind in _VALUE_KINDS else 8):
                yield start, end, kind


def _occurrences(line: str, value: str, kind: str) -> Iterator[tuple[int, int, str]]:
    start = line.find(value)
    while start >= 0:
        yield start, start + len(value), kind
        start = line.find(value, start + len(value))


def _secret_name(name: str) -> str:
    """The kind of secret a name announces (password, secret, token, api-key), or ''."""
    words = [w for w in re.split(r"[^a-z0-9ñ]+", _CAMEL.sub("_", name).lower()) if w]
    if not words or words[-1] in _BENIGN_LAST:
        return ""
    kind = ""
    for i, w in enumerate(words):
        if w in _PASSWORD_WORDS or w.startswith("passw") or w.endswith("password"):
            return "password"
        if "secret" in w:
            kind = kind or "secret"
        elif w in ("token", "tokens") or (w.endswith("token") and len(w) > 5):
            kind = kind or "token"
        elif w in ("apikey", "accesskey", "privatekey", "authkey") or (
                w in ("key", "keys") and i > 0 and words[i - 1] in _KEY_QUALIFIERS):
            kind = kind or "api-key"
        elif w in ("credential", "credentials", "creds"):
            kind = kind or "credential"
    return kind


def _looks_secret(value: str, spaces: bool = False) -> bool:
    """A literal that could be a secret: not a placeholder, a name, a path, a URL, a UUID
    or a version. ``spaces``: a passphrase of a few words may count (quoted passwords)."""
    v = value.strip()
    if "[REDACTED:" in v:
        return False
    if any(ch.isspace() for ch in v) and not (spaces and _passphrase(v)):
        return False
    if len(v) < 4 or len(set(v)) < 3:
        return False
    if v.lower() in _NON_SECRETS or _PLACEHOLDER.match(v) or _UUID.match(v):
        return False
    if _VERSION.match(v) or _UPPER_WORDS.match(v) or _IDENTIFIER.match(v) or _REGEXY.search(v):
        return False
    if v.startswith("<<") and v.endswith(">>"):
        return False
    if _DOTTED.match(v) or _SNAKE_WORDS.match(v) or _FORMATTING.search(v):
        return False
    if v.startswith(("/", "./", "../", "~/", "http://", "https://", "file:")) and "@" not in v \
            and not _base64_blob(v):
        return False
    if "://" in v and "@" not in v:
        return False
    return not v.startswith(("env(", "os.environ", "process.env", "getenv"))


def _base64_blob(v: str) -> bool:
    """A long base64 run that may begin with "/" ("//Exe/jy+FJ2..."), not a path: all three
    kinds of alphanumerics, at a path's rarely reached entropy."""
    return bool(_B64_RUN.fullmatch(v)) and any(c.isupper() for c in v) and \
        any(c.islower() for c in v) and any(c.isdigit() for c in v) and _high_entropy(v, 4.5)


def _passphrase(v: str) -> bool:
    """'correct horse battery staple', not 'Enter your password.'"""
    words = v.split()
    if not 2 <= len(words) <= 8 or len(v) > 100 or v[-1] in ".?!:…":
        return False
    return not any(w.strip(".,;:!?()'\"").lower() in _PROSE for w in words)


def _high_entropy(value: str, limit: float) -> bool:
    b64, _ = _entropy()
    return bool(b64.calculate_shannon_entropy(value) > limit)


def _apply(line: str, spans: list[tuple[int, int, str]], row: int, found: list[Redaction],
           values: dict[str, str]) -> str:
    """Replace the spans (merged where they overlap; the most specific kind names them)."""
    spans.sort(key=lambda s: (s[0], -s[1]))
    merged: list[list[Any]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if _PRIORITY.get(kind, 9) < _PRIORITY.get(last[2], 9):
                last[2] = kind
        else:
            merged.append([start, end, kind])
    out = []
    pos = 0
    for start, end, kind in merged:
        out.append(line[pos:start])
        out.append(MARKER.format(kind))
        value = line[start:end]
        if _reusable(value):
            values.setdefault(value, kind)
        found.append(Redaction(row + 1, kind, fingerprints(value)))
        pos = end
    out.append(line[pos:])
    return "".join(out)


def _redact_key_block(lines: list[str], row: int, body_start: int, head: str,
                      found: list[Redaction]) -> int:
    """Blank out the body of the key block whose header is on ``row``; the last row done."""
    putty = head.startswith("PuTTY")
    tail_re = _PUTTY_TAIL if putty else _KEY_TAIL
    # the tail on the same line (a key written as one string with \n escapes) or below
    end_row, end_col = -1, 0
    m = tail_re.search(lines[row], body_start)
    if m:
        end_row, end_col = row, (m.end() if putty else m.start())
    else:
        for r in range(row + 1, min(len(lines), row + MAX_KEY_LINES)):
            m = tail_re.search(lines[r])
            if m:
                end_row, end_col = r, (m.end() if putty else m.start())
                break
    if end_row < 0:
        # no tail: the body is the run of base64-looking lines below the header
        end_row = row
        while end_row + 1 < min(len(lines), row + MAX_KEY_LINES) and \
                _B64_RUN.search(lines[end_row + 1]):
            end_row += 1
        end_col = len(lines[end_row])
    replaced = False
    for r in range(row, end_row + 1):
        line = lines[r]
        lo = body_start if r == row else 0
        hi = end_col if r == end_row else len(line)
        segment, n = _blank_runs(line[lo:hi], not replaced)
        if n:
            lines[r] = line[:lo] + segment + line[hi:]
            replaced = True
    if replaced:
        found.append(Redaction(row + 1, "private-key"))
    return end_row


def _blank_runs(segment: str, first: bool) -> tuple[str, int]:
    """Each base64 run of a key body removed; the first one (if ``first``) becomes the marker."""
    count = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return MARKER.format("private-key") if first and count == 1 else ""

    return _B64_RUN.sub(sub, segment), count


def _reusable(value: str) -> bool:
    # ".", "-" and "/" join the words of names, hosts and paths: counted as a class they
    # made "example.com" (from value="test@example.com" in a test) a secret, taken out of
    # every address in a repository.
    classes = (any(c.islower() for c in value) + any(c.isupper() for c in value)
               + any(c.isdigit() for c in value)
               + any(not c.isalnum() and c not in ".-/" for c in value))
    return len(value) >= MIN_REUSED_VALUE and classes >= 2


def _fingerprint(run: str) -> str:
    return hashlib.blake2b(run.encode("utf-8", "surrogatepass"), digest_size=8,
                           key=_FINGERPRINT_KEY).hexdigest()


def fingerprints(value: str) -> str:
    """Keyed hashes of a secret's longer runs (what ``Scrubber`` looks for), each as
    ``LENGTH:HASH``, space-separated. Runs shorter than MIN_REUSED_VALUE or of one kind of
    character are left out: they would match ordinary words, and their hashes would be
    easy to invert. The length lets ``Scrubber`` hash only the runs that could match."""
    return " ".join(f"{len(run)}:{_fingerprint(run)}" for run in _RUN_SPLIT.split(value)
                    if _reusable(run))


def run_fingerprints(texts: Iterable[str]) -> frozenset[int]:
    """The keyed hashes (as numbers) of every run of these texts a ``Scrubber`` could take
    out: with them it can pass over a text that holds none of its secrets without
    reading it (see ``Scrubber.may_touch``)."""
    runs: set[str] = set()
    for text in texts:
        runs.update(_RUN.findall(text))
    return frozenset(int(_fingerprint(run), 16) for run in runs)


class Scrubber:
    """Takes the secrets found in any file of an index out of every file of it.

    It knows them by ``Redaction.fingerprint`` alone: each run of a text between
    delimiters (quotes, spaces, ``=:@,;``...) whose keyed hash is one of them is replaced.
    """

    def __init__(self, kinds: dict[str, str], lengths: frozenset[int] | None = None) -> None:
        self.kinds = kinds
        # Only the runs of a secret's lengths are hashed: hashing every run of every chunk
        # cost a cold index of a large repository seconds. None: a length is unknown (a
        # fingerprint cached before lengths were kept), so every run is hashed. One pass
        # for the maximal runs at least as long as the shortest secret, then a length test:
        # a regex of one alternative per length cost 4x as much.
        self.lengths = lengths
        self.numbers = frozenset(int(digest, 16) for digest in kinds)
        self.runs = _RUN if not lengths else re.compile(f"[^{_DELIMS}]{{{min(lengths)},}}")

    @classmethod
    def of(cls, redactions: Iterable[Iterable[Redaction]]) -> Scrubber | None:
        """A scrubber for the values behind these redactions; None when there are none."""
        kinds: dict[str, str] = {}
        lengths: set[int] | None = set()
        for found in redactions:
            for r in found:
                for fp in getattr(r, "fingerprint", "").split():
                    size, _, digest = fp.rpartition(":")
                    kinds.setdefault(digest, r.kind)
                    if lengths is not None and size.isdigit():
                        lengths.add(int(size))
                    else:
                        lengths = None
        return cls(kinds, None if lengths is None else frozenset(lengths)) if kinds else None

    def may_touch(self, runs: frozenset[int]) -> bool:
        """Whether texts whose ``run_fingerprints`` are ``runs`` may hold a secret."""
        return not self.numbers.isdisjoint(runs)

    def scrub(self, text: str) -> tuple[str, list[tuple[int, str]]]:
        """The text without any known value, and (0-based row, kind) of each one taken."""
        parts: list[str] = []
        hits: list[tuple[int, str]] = []
        pos = 0
        lengths = self.lengths
        for m in self.runs.finditer(text):
            if lengths is not None and m.end() - m.start() not in lengths:
                continue
            kind = self.kinds.get(_fingerprint(m.group()))
            if kind:
                parts += [text[pos : m.start()], MARKER.format(kind)]
                hits.append((text.count("\n", 0, m.start()), kind))
                pos = m.end()
        if not hits:
            return text, hits
        parts.append(text[pos:])
        return "".join(parts), hits

    def text(self, text: str) -> str:
        return self.scrub(text)[0] if text else text


def _redact_reused(text: str, values: dict[str, str], found: list[Redaction]) -> str:
    """Every other occurrence of a secret already found, wherever it is in the file."""
    for value in sorted(values, key=len, reverse=True):
        if value not in text:
            continue
        kind = values[value]
        parts = text.split(value)
        line = 1
        for part in parts[:-1]:
            line += part.count("\n")
            found.append(Redaction(line, kind))
        text = MARKER.format(kind).join(parts)
    return text


def summary(redactions: Sequence[Mapping[str, Any]], limit: int = 3) -> str:
    """One line for people, from ``Pack.stats["redactions"]``: how many secrets, where."""
    files = len({r["path"] for r in redactions})
    shown = ", ".join(f"{r['path']}:{r['line']} {r['type']}" for r in redactions[:limit])
    more = f" and {len(redactions) - limit} more" if len(redactions) > limit else ""
    noun = "secret" if len(redactions) == 1 else "secrets"
    return (f"redacted {len(redactions)} {noun} in {files} file{'s' if files != 1 else ''} "
            f"({shown}{more}); --no-redact keeps them")
