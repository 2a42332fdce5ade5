"""The OpenAPI document is complete: ids, summaries, errors and security on every operation."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Bootstrap

HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


async def test_every_operation_is_fully_documented(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert "oauth2" in document["components"]["securitySchemes"]
    operation_ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            operation_ids.append(operation.get("operationId"))
            assert operation.get("operationId"), where
            assert operation.get("summary"), where
            assert "security" in operation, f"{where} declares no security requirement"
            errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
            schemes = {name for requirement in operation["security"] for name in requirement}
            if "oauth2" in schemes:
                assert {"401", "403"} <= set(errors), f"{where} does not document 401 and 403"
            elif schemes:  # OAuth client authentication: a client is refused, never forbidden
                assert "401" in errors, f"{where} does not document 401"
            for code, spec in errors.items():
                if path.startswith(("/oauth/", "/oid4vci/")) and code in ("400", "401"):
                    continue  # RFC 6749 / OpenID4VCI error bodies (with the problem members beside them)
                assert "application/problem+json" in spec.get("content", {}), f"{where} {code}"
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


async def test_docs_page_and_metrics_are_served(client: AsyncTestClient[Litestar]) -> None:
    docs = await client.get("/schema")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    await client.get("/healthz")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'requests_total{app_name="guildhall"' in metrics.text


async def test_request_bodies_say_they_refuse_unknown_fields(client: AsyncTestClient[Litestar]) -> None:
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert schemas["OrganisationCreate"]["additionalProperties"] is False
    assert "additionalProperties" not in schemas["Organisation"]
    assert schemas["VersionDecision"]["additionalProperties"] is False


async def test_request_bodies_state_every_constraint_the_api_checks(client: AsyncTestClient[Litestar]) -> None:
    """Found by schemathesis: Litestar 2 leaves out what it cannot map, so valid-looking bodies were refused."""
    document = (await client.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]
    text_by_language = schemas["OrganisationCreate"]["properties"]["name"]
    assert text_by_language["minProperties"] == 1
    assert text_by_language["propertyNames"]["pattern"] == "^[a-z]{2,3}(?!\\n)$"  # no final newline either
    assert text_by_language["additionalProperties"] == {"type": "string", "minLength": 1, "maxLength": 500}
    valid_days = schemas["ClaimCodeCreate"]["properties"]["validDays"]
    assert (valid_days["minimum"], valid_days["maximum"]) == (1, 365)
    assert schemas["ClientCreate"]["properties"]["scopes"]["items"]["pattern"]
    assert schemas["ProgrammeContent"]["properties"]["units"]["items"] == {"$ref": "#/components/schemas/Unit"}
    assert schemas["EscoImportForm"]["properties"]["occupation"]["minItems"] == 1
    headers = {
        p["name"]: p["schema"]
        for path in ("/organisations", "/xapi/statements")
        for p in document["paths"][path]["post"]["parameters"]
    }
    assert headers["Idempotency-Key"]["pattern"] == "^[\\x21-\\x7e]{1,255}$"
    assert headers["X-Experience-API-Version"]["pattern"] == "^1\\.0(\\.[0-9]+)?$"


async def test_every_answer_an_operation_gives_to_a_malformed_request_is_documented(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    """Found by schemathesis: an id the path's converter cannot read gets the router's 404, and a cursor this
    API did not issue a 422; some operations did not say so."""
    document = (await client.get("/schema/openapi.json")).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            parameters = {p["name"]: p["in"] for p in operation.get("parameters", [])}
            where = f"{method.upper()} {path}"
            if "path" in parameters.values():
                assert "404" in operation["responses"], where
            if parameters.get("cursor") == "query":
                assert "422" in operation["responses"], where
    reader = await bootstrap.integrator(["organisations:read", "programmes:read"])
    malformed = await client.get("/organisations/not-an-id/members", headers=reader.headers)
    assert malformed.status_code == 404
    assert malformed.headers["content-type"] == "application/problem+json"
    comments = "/programmes/0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d/versions/1/comments?cursor=not-ours"
    not_ours = await client.get(comments, headers=reader.headers)
    assert not_ours.status_code == 422
    assert not_ours.json()["detail"] == "the cursor is not one this API returned; start again without it"


async def test_options_names_every_method_of_the_resource(client: AsyncTestClient[Litestar]) -> None:
    """Found by schemathesis: Litestar 2 listed only the first method registered on a path (litestar#4169)."""
    for path, methods in {
        "/organisations": "GET, OPTIONS, POST",
        "/organisations/0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d/members/0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d": (
            "DELETE, GET, OPTIONS, PATCH"
        ),
        "/oauth/whoami": "GET, OPTIONS",
    }.items():
        response = await client.options(path)
        assert response.status_code == 204, path
        assert response.headers["allow"] == methods, path


async def test_no_two_schemas_share_a_title(client: AsyncTestClient[Litestar]) -> None:
    """Found by openapi-python-client: two schemas titled ``Decision`` made it drop both ``POST …/decisions``."""
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    titles: dict[str, list[str]] = {}
    for key, schema in schemas.items():
        titles.setdefault(schema.get("title", key), []).append(key)
    assert {title: keys for title, keys in titles.items() if len(keys) > 1} == {}


async def test_every_operation_is_described_and_every_tag_declared(client: AsyncTestClient[Litestar]) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    declared = {tag["name"]: tag.get("description") for tag in document["tags"]}
    assert all(declared.values()), "a declared tag without a description"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            assert operation.get("description"), where
            assert operation.get("tags"), where
            undeclared = set(operation["tags"]) - set(declared)
            assert not undeclared, f"{where}: declare {undeclared} in api/openapi.py TAGS"
            if operation["security"] == [{}]:
                assert "no access token needed" in operation["description"] or path.startswith("/oauth/"), where
    members = document["paths"]["/organisations/{org_id}/members"]["get"]["description"]
    assert "`organisations:read`" in members and "member of the organisation" in members


async def test_introspection_documents_its_client_authentication(client: AsyncTestClient[Litestar]) -> None:
    """Found by the review: /oauth/introspect was documented as public, but it needs the client's credentials."""
    document = (await client.get("/schema/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["clientSecretBasic"] == {
        "type": "http",
        "scheme": "basic",
        "description": schemes["clientSecretBasic"]["description"],
    }
    oauth = document["paths"]
    assert oauth["/oauth/introspect"]["post"]["security"] == [{"clientSecretBasic": []}]
    assert oauth["/oauth/token"]["post"]["security"] == [{"clientSecretBasic": []}, {}]
    assert oauth["/oauth/revoke"]["post"]["security"] == [{"clientSecretBasic": []}, {}]
    # What it documents is what it does: without the client's credentials, 401.
    refused = await client.post("/oauth/introspect", data={"token": "anything"})
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


async def test_every_public_read_documents_its_client_errors(client: AsyncTestClient[Litestar]) -> None:
    """Found by the review: seven public GETs documented no 4xx at all."""
    document = (await client.get("/schema/openapi.json")).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                codes = [code for code in operation["responses"] if code.startswith("4")]
                assert codes, f"{method.upper()} {path}"
    probe = document["paths"]["/healthz"]["get"]["responses"]["4XX"]
    assert probe["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


async def test_problem_schemas_carry_no_made_up_examples(client: AsyncTestClient[Litestar]) -> None:
    """Litestar's generated examples were random text (a problem with status 2562) that contradicted the schema."""
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    for name in ("Problem", "ValidationProblem", "InvalidParam", "OAuthErrorBody", "ImsxProblem"):
        assert "examples" not in str(schemas[name]), name


DOWNLOADS = {
    f"{prefix}/credentials/{{credential_id}}/{form}"
    for prefix in ("", "/me")
    for form in ("vc-jwt", "jws", "json", "elm")
}


async def test_the_downloads_document_the_credential_incomplete_problem_and_its_missing_member(
    client: AsyncTestClient[Litestar],
) -> None:
    """A 409 of a download names what the credential lacks in ``missing`` (issue 11): documented as answered."""
    document = (await client.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]
    for path in DOWNLOADS:
        conflict = document["paths"][path]["get"]["responses"]["409"]
        assert "credential-incomplete" in conflict["description"], path
        schema = conflict["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/IncompleteProblem"}, path
    problem = schemas["IncompleteProblem"]
    assert {"type", "title", "status", "detail", "state", "missing"} <= set(problem["required"])
    assert problem["properties"]["missing"]["items"] == {"$ref": "#/components/schemas/MissingSignature"}
    entry = schemas["MissingSignature"]
    assert set(entry["required"]) == {"signature", "organisationId", "organisationName", "problem"}
    assert entry["properties"]["signature"]["enum"] == ["issuer", "cosigner"]
    assert "examples" not in str(problem) and "examples" not in str(entry)
    # Other conflicts keep the plain problem.
    cosign = document["paths"]["/credentials/{credential_id}/cosignature"]["post"]["responses"]["409"]
    assert cosign["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
