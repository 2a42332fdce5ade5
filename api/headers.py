"""Headers every answer carries, set once at the edge (api/edge.py): JSON is not cached or sniffed, pages cannot
be framed.

A handler that sets a header itself keeps it (a public, cacheable document sets its own Cache-Control; the
consent and verification pages set a stricter Content-Security-Policy).
"""

from __future__ import annotations

# For HTML pages (the API's docs viewer, the Open Badges policies page): everything from our own origin, no
# inline script or style, no plugins, and no framing by another site (clickjacking).
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_FRAME_ANCESTORS = b"frame-ancestors 'none'"


def _is_json(content_type: bytes) -> bool:
    kind = content_type.split(b";", 1)[0].strip().lower()
    return kind == b"application/json" or (kind.startswith(b"application/") and kind.endswith(b"+json"))


def with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    names = {name.lower(): index for index, (name, _) in enumerate(headers)}
    content_type = headers[names[b"content-type"]][1] if b"content-type" in names else b""
    added: list[tuple[bytes, bytes]] = []
    if b"x-content-type-options" not in names:
        added.append((b"x-content-type-options", b"nosniff"))
    if _is_json(content_type) and b"cache-control" not in names:
        added.append((b"cache-control", b"no-store"))
    if content_type.split(b";", 1)[0].strip().lower() == b"text/html":
        if b"content-security-policy" not in names:
            added.append((b"content-security-policy", PAGE_POLICY.encode()))
        else:
            index = names[b"content-security-policy"]
            policy = headers[index][1]
            if b"frame-ancestors" not in policy:
                headers = list(headers)
                headers[index] = (headers[index][0], policy.rstrip(b"; ") + b"; " + _FRAME_ANCESTORS)
        if b"x-frame-options" not in names:
            added.append((b"x-frame-options", b"DENY"))
    return [*headers, *added] if added else headers
