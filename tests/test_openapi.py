"""The OpenAPI document is complete: ids, summaries, errors and security on every operation."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

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
            if operation["security"] != [{}]:
                assert {"401", "403"} <= set(errors), f"{where} does not document 401 and 403"
            for code, spec in errors.items():
                if path.startswith("/oauth/") and code in ("400", "401"):
                    continue  # RFC 6749 error bodies
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
