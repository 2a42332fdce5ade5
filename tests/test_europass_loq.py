r"""The public register as a Europass dataset in the ELM LOQ profile (``GET /register/europass/loq``).

pySHACL validates the demo's dataset against the Commission's ``LOQ-constraints.ttl`` with no violation
(rdflib parses the JSON-LD with the local copy of the edc-ap context: nothing is fetched). A programme keeps its
identifier when a new version is published; withdrawn programmes leave; conditional GETs answer 304.

The shapes' URL and URI patterns (``URLRegexRestriction``, ``URIRegexRestriction``) are written in XML Schema /
XPath regular-expression syntax, which Python's ``re`` (what pySHACL compiles ``sh:pattern`` with) refuses: a
case-insensitive flag after ``^`` and ``\p{L}``-style character classes. ``loq_shapes`` gives pySHACL the same
patterns in Python's syntax (the flag first, ``\p{L}\p{Nl}\p{Nd}`` as ``\w``, nested classes flattened); the
patterns' meaning for the URLs in the dataset is unchanged.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH

from api import demo
from api.app import create_app
from api.settings import Settings
from domain.db import Database
from tests.conftest import Bootstrap
from tests.elm_shacl import ELM_REFERENCE, require_reference, to_graph
from tests.scenarios import classroom, publish
from tests.test_codesign_tekniq import programme_content, welder_profile
from tests.test_credential_schema import publish_qualification

URL = "/register/europass/loq"
ELM = "http://data.europa.eu/snb/model/elm/"


def python_pattern(pattern: str) -> str:
    """An XPath-syntax pattern of the LOQ shapes in Python's ``re`` syntax (see the module docstring)."""
    translated = pattern.replace("[%[\\p{L}\\p{Nl}\\p{Nd}]]", "[%\\w]").replace("[[A-Fa-f0-9]\\:\\.]", "[A-Fa-f0-9:.]")
    if translated.startswith("^(?i)"):
        translated = "(?i)^" + translated.removeprefix("^(?i)")
    re.compile(translated)
    return translated


@cache
def loq_shapes() -> Graph:
    shapes = Graph().parse(ELM_REFERENCE / "LOQ-constraints.ttl", format="turtle")
    for subject, _, pattern in list(shapes.triples((None, SH.pattern, None))):
        translated = python_pattern(str(pattern))
        if translated != str(pattern):
            shapes.set((subject, SH.pattern, Literal(translated)))
    return shapes


def loq_report(document: dict[str, Any]) -> tuple[bool, str, Graph]:
    require_reference()
    graph = to_graph(document)
    conforms, _, text = validate(graph, shacl_graph=loq_shapes(), inference="none", abort_on_first=False)
    return bool(conforms), str(text), graph


def typed(graph: Graph, kind: str) -> set[str]:
    return {str(s) for s in graph.subjects(RDF.type, URIRef(ELM + kind))}


async def test_the_demo_register_is_a_loq_dataset_with_no_violation(
    client: AsyncTestClient[Litestar], db: Database, settings: Settings
) -> None:
    loaded = await demo.load(db, settings, create_app(settings))
    response = await client.get(URL)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    document = response.json()
    conforms, report, graph = loq_report(document)
    assert conforms, report
    opportunities = typed(graph, "LearningOpportunity")
    register = (await client.get("/register/programmes")).json()["items"]
    assert opportunities == {f"{settings.issuer}/register/programmes/{p['designId']}" for p in register}
    assert len(opportunities) >= 2
    text = json.dumps(document)
    for expected in (
        "http://data.europa.eu/snb/isced-f/0714",  # ISCED-F
        "http://data.europa.eu/snb/eqf/4",  # EQF
        "http://data.europa.eu/esco/skill/",  # ESCO skills of the outcomes
        "European Credit Transfer System",  # ECTS
        "http://publications.europa.eu/resource/authority/language/DEU",  # languages
        "http://data.europa.eu/snb/learning-assessment/e92d221e4d",  # mode: blended
        "approval by a chamber",  # quality assurance
        "IHK Region Stuttgart",  # its accrediting agent
    ):
        assert expected in text, expected
    festo = loaded.parties["festo"].organisation_id
    assert any(
        o["providedBy"][0]["id"].endswith(str(festo)) for o in document["@graph"] if o["type"] == "LearningOpportunity"
    )
    assert any('"volumeOfLearning": "PT' in json.dumps(o) for o in document["@graph"])


async def test_identifiers_stay_across_versions_withdrawn_programmes_leave_and_conditional_gets(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    lead = await bootstrap.integrator(["programmes:write"], name="Lead", kind="employer_association")
    chamber = await bootstrap.integrator(["programmes:write"], name="Chamber", kind="chamber")
    profile = await welder_profile(client, lead)
    content = {
        **programme_content(profile, str(lead.org_id), str(chamber.org_id), str(lead.org_id)),
        "eqfLevel": 4,
        "iscedFCode": "0715",
    }
    pid = await publish(client, lead, chamber, content)
    first = await client.get(URL)
    assert first.status_code == 200
    conforms, report, graph = loq_report(first.json())
    assert conforms, report
    [opportunity] = typed(graph, "LearningOpportunity")
    assert opportunity.endswith(f"/register/programmes/{pid}")
    units_before = {s for s in graph.subjects(RDF.type, URIRef(ELM + "LearningAchievementSpecification"))}

    # Conditional GETs: the ETag, and the Last-Modified date.
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert (await client.get(URL, headers={"If-None-Match": etag})).status_code == 304
    assert (await client.get(URL, headers={"If-Modified-Since": modified})).status_code == 304
    assert (await client.get(URL, headers={"If-None-Match": '"other"'})).status_code == 200
    assert (await client.get(URL, headers={"If-Modified-Since": "not a date"})).status_code == 200

    # Version 2 published: the same identifiers, the new content.
    drafted = await client.post(f"/programmes/{pid}/versions", json={}, headers=lead.headers)
    assert drafted.status_code == 201, drafted.text
    v2 = f"/programmes/{pid}/versions/2"
    renamed = {**content, "title": {**content["title"], "en": "Welding, second edition"}}
    saved = await client.put(f"{v2}/content", json=renamed, headers={**lead.headers, "If-Match": '"v1"'})
    assert saved.status_code == 200, saved.text
    proposed = await client.post(f"{v2}/proposal", headers={**lead.headers, "If-Match": saved.headers["etag"]})
    assert proposed.status_code == 200, proposed.text
    decided = await client.post(f"{v2}/decisions", json={"decision": "approve"}, headers=chamber.headers)
    assert decided.json()["status"] == "published", decided.text
    second = await client.get(URL, headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["etag"] != etag
    conforms, report, graph = loq_report(second.json())
    assert conforms, report
    assert typed(graph, "LearningOpportunity") == {opportunity}
    assert {s for s in graph.subjects(RDF.type, URIRef(ELM + "LearningAchievementSpecification"))} == units_before
    assert "Welding, second edition" in second.text

    # Withdrawn: it leaves the dataset and the register's search; its versions stay readable.
    withdrawn = await client.post(
        f"/programmes/{pid}/withdrawal", json={"reason": "Replaced by a national course"}, headers=lead.headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawalReason"] == "Replaced by a national course"
    third = await client.get(URL, headers={"If-None-Match": second.headers["etag"]})
    assert third.status_code == 200
    assert third.json()["@graph"] == []
    assert (await client.get("/register/programmes")).json()["items"] == []
    assert (await client.get(f"/register/programmes/{pid}")).status_code == 200
    again = await client.post(f"/programmes/{pid}/withdrawal", json={"reason": "again"}, headers=lead.headers)
    assert again.status_code == 409
    refused = await client.post(f"/programmes/{pid}/withdrawal", json={"reason": "x"}, headers=chamber.headers)
    assert refused.status_code in (403, 404), refused.text


async def test_a_published_qualification_is_an_elm_qualification_with_its_units_outcomes(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    qid = await publish_qualification(client, room)
    response = await client.get(URL)
    conforms, report, graph = loq_report(response.json())
    assert conforms, report
    assert typed(graph, "Qualification") == {f"{settings.issuer}/register/qualifications/{qid}"}
    [qualification] = [n for n in response.json()["@graph"] if n["type"] == "Qualification"]
    assert qualification["eqfLevel"]["id"] == "http://data.europa.eu/snb/eqf/4"
    assert qualification["learningOutcome"], qualification  # the outcomes of unit u1, which its rule names
    assert all(
        o["id"].startswith(f"{settings.issuer}/register/programmes/{room.programme_id}#outcome-u1-")
        for o in qualification["learningOutcome"]
    )
    assert qualification["accreditation"][0]["dcType"]["id"].endswith("e57dddfcf3")  # programme licensing
