"""``/schema``: Swagger UI served from the package (see README.md here), so that the API's documentation works
without the internet and under a strict Content-Security-Policy: every script, style and image comes from this
server, and the page runs no inline script."""

from __future__ import annotations

import functools
from html import escape
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath

from api.routing import get

VERSION = "5.35.0"  # swagger-ui-dist, pinned in tests/node/package.json too
_HERE = Path(__file__).parent
# What /schema/assets/ serves, and as what: these files only (never the package's own source).
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "oauth2-redirect.html": "text/html",
    "oauth2-redirect.js": "text/javascript",
    "guildhall-docs.js": "text/javascript",
    "guildhall-docs.css": "text/css",
    "LICENSE": "text/plain",
    "NOTICE": "text/plain",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain",
}
_ASSET_CACHE_CONTROL = "public, max-age=86400"  # the page names them with ?v=VERSION, so an upgrade is seen at once

# The viewer's needs and nothing more: its own scripts and styles, data: images (Swagger UI's icons), and
# requests to this server ("Try it out", the token endpoint).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@functools.cache
def _asset(name: str) -> bytes:
    """An asset's bytes, read once per process (about 1.5 MB in all; only names in ASSETS come here)."""
    return (_HERE / name).read_bytes()


@get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False)
def serve_asset(name: FromPath[str]) -> Response[bytes]:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFoundException(f"there is no asset {name!r} of the documentation viewer")
    return Response(
        _asset(name),
        media_type=media_type,
        headers={"Cache-Control": _ASSET_CACHE_CONTROL},  # the router adds HEADERS
    )


def schema_router(path: str = "/schema") -> Router:
    """The router Litestar serves the OpenAPI document and its viewer on, with the viewer's assets and headers."""
    return Router(path, route_handlers=[serve_asset], include_in_schema=False, response_headers=HEADERS)


class SwaggerViewer(OpenAPIRenderPlugin):
    """Swagger UI from ``/schema/assets/``: the page names the document in a data attribute and loads two scripts."""

    def __init__(self, *, path: str = "/swagger", base: str = "/schema") -> None:
        super().__init__(path=path)
        self.base = base

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        assets = f"{self.base}/assets"
        document = escape(self.get_openapi_json_route(request))
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – documentation</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css?v={VERSION}">
<link rel="stylesheet" href="{assets}/guildhall-docs.css?v={VERSION}">
</head>
<body>
<noscript><p>This page needs JavaScript. The OpenAPI document itself is at
<a href="{document}">{document}</a>.</p></noscript>
<div id="swagger-ui" data-openapi-url="{document}" data-oauth2-redirect-url="{assets}/oauth2-redirect.html"></div>
<script src="{assets}/swagger-ui-bundle.js?v={VERSION}"></script>
<script src="{assets}/guildhall-docs.js?v={VERSION}"></script>
</body>
</html>
""".encode()
