"""The OpenAPI document: security schemes, tags, who may call each operation, and request bodies described
as msgspec validates them; and ``/schema``, its viewer, served from the package (``api.schema_viewer``)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, License, OAuthFlow, OAuthFlows, SecurityScheme, Tag
from litestar.routes import HTTPRoute

from api.auth import CLIENT_AUTH_SCHEME, CREDENTIAL_ACCESS_TOKEN_SCHEME, SECURITY_SCHEME
from api.schema_viewer import SwaggerViewer, schema_router
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
        # /schema: Swagger UI served from the package (api/schema_viewer), nothing from a CDN.
        openapi_router=schema_router("/schema"),
        render_plugins=[SwaggerViewer(base="/schema"), OpenAPIJson()],
        license=License(name="Apache-2.0", identifier="Apache-2.0"),
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="oauth2", flows=flows, description="OAuth 2.0 (RFC 9068 JWT access tokens)"
                ),
                CLIENT_AUTH_SCHEME: SecurityScheme(
                    type="http",
                    scheme="basic",
                    description=(
                        "OAuth client authentication (RFC 6749 §2.3.1): the client id and secret as HTTP Basic "
                        "credentials (client_secret_basic), or as client_id and client_secret form fields "
                        "(client_secret_post)"
                    ),
                ),
                CREDENTIAL_ACCESS_TOKEN_SCHEME: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description=(
                        "OpenID4VCI: the access token a wallet got for a credential offer at /oauth/token "
                        "(pre-authorized code, or authorization code with the offer's issuer_state)"
                    ),
                ),
            }
        ),
        tags=[Tag(name=name, description=description) for name, description in TAGS.items()],
        use_handler_docstrings=False,
    )


# Every tag an operation carries, declared once with what it groups (tests/test_openapi.py checks).
TAGS = {
    "Organisations": "Awarding bodies, providers, social partners and authorities: who they are and their settings.",
    "Members": "The people of an organisation and their roles in it.",
    "Account": "A person's own login: password reset and e-mail verification by mailed links, changing password or "
    "address, and TOTP as a second factor.",
    "Clients": "OAuth clients an organisation registers for its integrations, and their secrets.",
    "OAuth": "The OAuth 2.0 authorization server: tokens, introspection, revocation, keys and metadata.",
    "Me": "What the signed-in person holds: their memberships, credentials and personal data.",
    "Occupational profiles": "Occupations and the competences they need (ESCO), versioned by their owner.",
    "Programmes": "Co-designed short training programmes: drafts, proposals, approvals and published versions.",
    "Qualifications": "Qualifications built from programmes and units, co-designed and versioned like programmes.",
    "Public register": "Published programmes and qualifications, readable by anyone.",
    "Guidance": "Skills-gap guidance: what a person lacks for an occupation, the published training that closes the "
    "gap, and the occupations their skills are closest to.",
    "Learners": "The learners a provider enrols and assesses, and their claim codes.",
    "Attempts": "Assessment attempts, one by one or in batches, and the decisions on them.",
    "Credentials": "Signed micro-credentials: issuing, co-signing, revoking, suspending and renewing.",
    "Credential status": "Bitstring status lists that say whether a credential is revoked or suspended.",
    "Wallets": "Delivering a credential into a learner's wallet: the Learner Credential Wallet's VC-API exchange.",
    "SD-JWT VC": "The SD-JWT VC form (EU Digital Identity Wallets): issuer metadata with its keys, and type metadata.",
    "OpenID4VCI": "OpenID for Verifiable Credential Issuance 1.0: issuer metadata, offers, nonces and credentials.",
    "Verification": "Verifying a credential in any form Guildhall issues, with every check behind the verdict.",
    "Endorsements": "Endorsements of programmes and organisations, signed as credentials.",
    "Issuer keys": "The keys an organisation signs credentials with, and their rotation.",
    "Open Badges 3.0": "The 1EdTech Open Badges 3.0 API for wallets and learner record stores.",
    "xAPI": "Experience API statements from simulators and learning platforms.",
    "Recognition": "What awarding bodies recognise of credentials from elsewhere, requests for it and decisions.",
    "Webhooks": "Subscriptions to events, and the record of their deliveries.",
    "Audit": "Who changed what, and when: an organisation's audit trail.",
    "Operations": "Liveness and readiness probes for load balancers and orchestrators.",
}


def describe_operations(app: Litestar) -> None:
    """Gives every documented operation a description that says who may call it, after what its handler
    already says: the scopes its token needs and the roles it checks, or that it needs no token."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            access = _access(handler)
            if access and (handler.description is None or access not in handler.description):
                handler.description = f"{handler.description}\n\n{access}" if handler.description else access


def _access(handler: HTTPRouteHandler) -> str | None:
    requirements = handler.resolve_security() or []
    if requirements == [{}]:
        return "**Access:** anyone; no access token needed."
    scopes = next((scopes for r in requirements for name, scopes in r.items() if name == SECURITY_SCHEME), None)
    if scopes is None:
        return None  # the OAuth endpoints say how the client authenticates in their own words
    text = "**Access:** an access token (`Authorization: Bearer`)"
    if scopes:
        text += " with the scope" + ("s " if len(scopes) > 1 else " ") + ", ".join(f"`{s}`" for s in scopes)
    opt = handler.opt
    if opt.get("member_of_path_org"):
        roles = sorted(opt.get("roles") or ())
        text += "; the caller must be a member of the organisation `org_id`"
        if roles:
            text += " with the role " + " or ".join(f"`{r}`" for r in roles)
            text += "" if "admin" in roles else " (its admins always qualify)"
    return text + "."


class OpenAPIJson(JsonRenderPlugin):
    """Serves /schema/openapi.json, saying what Litestar does not about request bodies, so that clients
    and fuzzers know what the API accepts: they are described by msgspec's own JSON Schema (msgspec
    validates them), since Litestar 2 drops the constraints it cannot map — the size, keys and values of
    a dict, the items of a list — and does not say that unknown fields are refused."""

    _described: dict[str, Any] | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if openapi_schema is not self._described:  # Litestar builds the document once: describe it once
            _describe_request_bodies(openapi_schema.get("components", {}).get("schemas", {}))
            _document_client_errors(openapi_schema)
            _collapse_single_choices(openapi_schema)
            self._described = openapi_schema
        return super().render(request, openapi_schema)


_REF = "#/components/schemas/"
_METHODS = ("get", "put", "post", "patch", "delete")


def _document_client_errors(document: dict[str, Any]) -> None:
    """An operation that reads no input has no client error of its own (a probe, a key set, a context); it
    still says what any client error would look like, so that clients and linters find one documented."""
    for item in document.get("paths", {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None or any(str(code).startswith("4") for code in operation.get("responses", {})):
                continue
            operation.setdefault("responses", {})["4XX"] = {
                "description": (
                    "A client error, as a problem document (RFC 9457). This operation reads no input, so none "
                    "is expected."
                ),
                "content": {"application/problem+json": {"schema": {"$ref": _REF + "Problem"}}},
            }


def _collapse_single_choices(node: Any) -> None:
    """``oneOf`` with a single schema (what Litestar makes of ``str | UnsetType``) is that schema; and a union of
    components is ``anyOf``, as msgspec says it: Litestar's ``oneOf`` claims that exactly one matches, which two
    components of the same shape (a programme's and a qualification's version) cannot keep."""
    if isinstance(node, dict):
        choices = node.get("oneOf")
        if isinstance(choices, list) and len(choices) == 1 and isinstance(choices[0], dict):
            del node["oneOf"]
            node.update({k: v for k, v in choices[0].items() if k not in node})
        elif isinstance(choices, list) and choices and all(isinstance(c, dict) and "$ref" in c for c in choices):
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _collapse_single_choices(value)
    elif isinstance(node, list):
        for value in node:
            _collapse_single_choices(value)


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
