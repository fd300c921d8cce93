"""Blanking credentials out of URLs and texts before they reach a log, a row, a feed or the site.

An endpoint may carry a credential (`http://user:TOKEN@host`, `...?token=...`) and client errors
quote the URLs they failed on. `redact_text` replaces, wherever they appear in a text:

- the userinfo of any URL (`scheme://user:secret@host` -> `scheme://***@host`);
- the value of token-like query parameters (token, access_token, api_key, key, secret,
  password, sig, signature, auth, X-Amz-Signature, X-Amz-Credential, ...);
- Hugging Face tokens (`hf_` and at least 20 letters or digits);
- any literal secret the caller knows (the HF_TOKEN in use, the endpoint's own userinfo).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MASK = "***"

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s@'\"<>]+@")
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:access_token|api[_-]?key|apikey|auth|authorization|client_secret|key|"
    r"password|passwd|pwd|secret|sig|signature|token|x-amz-credential|x-amz-security-token|"
    r"x-amz-signature)=)[^&;#\s'\"<>]*"
)
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")


def url_secrets(url: str) -> list[str]:
    """The literal credentials an URL carries in its userinfo (user and password, decoded too)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: set[str] = set()
    # A long user name is a token passed as one (http://TOKEN@host); a short one is a name.
    for value, shortest in ((parts.username, 8), (parts.password, 4)):
        if value:
            found.update(v for v in (value, unquote(value)) if len(v) >= shortest)
    return sorted(found)


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every credential it holds replaced by `***`."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _HF_TOKEN.sub(f"hf_{MASK}", text)


def redact_url(url: str) -> str:
    """An URL fit to show or store: no userinfo, no token-like query values."""
    return redact_text(url, url_secrets(url))
