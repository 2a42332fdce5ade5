"""The OpenAPI document: security schemes, and request bodies described as msgspec validates them."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme

from api.auth import SECURITY_SCHEME
from api.settings import Settings
from domain.scopes import SCOPES
from domain.structs import Input


def openapi_config(settings: Settings) -> OpenAPIConfig:
    flows = OAuthFlows(
        client_credentials=OAuthFlow(token_url=f"{settings.issuer}/oauth/token", scopes=SCOPES),
        authorization_code=OAuthFlow(
            authorization_url=f"{settings.issuer}/oauth/authorize",
            token_url=f"{settings.issuer}/oauth/token",
            refresh_url=f"{settings.issuer}/oauth/token",
            scopes=SCOPES,
        ),
    )
    return OpenAPIConfig(
        title="Guildhall API",
        version="0.1.0",
        description=(
            "Co-designed short training programmes, assessments and signed micro-credentials. "
            "Every error is an RFC 9457 problem document."
        ),
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), OpenAPIJson()],
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="oauth2", flows=flows, description="OAuth 2.0 (RFC 9068 JWT access tokens)"
                ),
            }
        ),
        use_handler_docstrings=False,
    )


class OpenAPIJson(JsonRenderPlugin):
    """Serves /schema/openapi.json, saying what Litestar does not about request bodies, so that clients
    and fuzzers know what the API accepts: they are described by msgspec's own JSON Schema (msgspec
    validates them), since Litestar 2 drops the constraints it cannot map — the size, keys and values of
    a dict, the items of a list — and does not say that unknown fields are refused."""

    _described: dict[str, Any] | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if openapi_schema is not self._described:  # Litestar builds the document once: describe it once
            _describe_request_bodies(openapi_schema.get("components", {}).get("schemas", {}))
            self._described = openapi_schema
        return super().render(request, openapi_schema)


_REF = "#/components/schemas/"


def _describe_request_bodies(schemas: dict[str, Any]) -> None:
    """Replaces the components of request bodies, and of the Structs inside them, by msgspec's schemas."""
    roots = [cls for cls in _subclasses(Input) if _component_key(cls, schemas)]
    classes = _structs(msgspec.inspect.multi_type_info(sorted(roots, key=lambda c: c.__qualname__)))
    refs, components = msgspec.json.schema_components(classes, ref_template=_REF + "{name}")
    # msgspec names a component by its class, Litestar by as much of its module path as tells it apart.
    keys = {
        ref["$ref"].removeprefix(_REF): _component_key(cls, schemas) for cls, ref in zip(classes, refs, strict=True)
    }
    for name, schema in components.items():
        schemas[keys.get(name) or name] = _with_refs(schema, keys)


def _component_key(cls: type, schemas: dict[str, Any]) -> str | None:
    path = f"{cls.__module__}.{cls.__qualname__}".replace(".", "_")
    if cls.__name__ in schemas and schemas[cls.__name__].get("title") == cls.__name__:
        return cls.__name__
    return next((key for key in schemas if key.endswith(f"_{cls.__name__}") and path.endswith(key)), None)


def _structs(types: tuple[msgspec.inspect.Type, ...]) -> list[type]:
    """The Struct classes of these types and of their fields, each once."""
    found: dict[type, None] = {}
    pending = list(types)
    while pending:
        t = pending.pop()
        if isinstance(t, msgspec.inspect.StructType) and t.cls not in found:
            found[t.cls] = None
            pending.extend(f.type for f in t.fields)
        elif isinstance(t, msgspec.inspect.Metadata):
            pending.append(t.type)
        elif isinstance(t, msgspec.inspect.CollectionType):
            pending.append(t.item_type)
        elif isinstance(t, msgspec.inspect.DictType):
            pending += [t.key_type, t.value_type]
        elif isinstance(t, msgspec.inspect.UnionType):
            pending.extend(t.types)
    return list(found)


def _with_refs(node: Any, keys: dict[str, str | None]) -> Any:
    if isinstance(node, dict):
        if isinstance(ref := node.get("$ref"), str) and (key := keys.get(ref.removeprefix(_REF))):
            return {**node, "$ref": _REF + key}
        return {k: _with_refs(v, keys) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_refs(v, keys) for v in node]
    return node


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found
