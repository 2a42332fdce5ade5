"""Ready-made situations for tests of assessment: a published programme, a provider, an enrolled learner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Bootstrap, Integrator
from tests.test_codesign_tekniq import ASSESSMENT, programme_content, welder_profile

SIMULATION = {
    "mode": "simulation",
    "masteryScore": 0.8,
    "runs": {"rule": "best"},
    "maxAttempts": 5,
    "supervision": "supervised_no_identity_check",
}


@dataclass
class Classroom:
    provider: Integrator
    chamber: Integrator
    programme_id: str
    learner_id: str
    enrolment_id: str

    def attempt(self, submission: dict[str, Any], unit_key: str = "u1", **extra: Any) -> dict[str, Any]:
        return {
            "learnerId": self.learner_id,
            "enrolmentId": self.enrolment_id,
            "unitKey": unit_key,
            "assessedAt": "2026-11-20T10:00:00Z",
            "supervision": "supervised_identity_check_onsite",
            "submission": submission,
            **extra,
        }

    @property
    def attempts_url(self) -> str:
        return f"/organisations/{self.provider.org_id}/attempts"


async def publish(
    client: AsyncTestClient[Litestar], lead: Integrator, approver: Integrator, content: dict[str, Any]
) -> str:
    pid: str = (await client.post("/programmes", json={"content": content}, headers=lead.headers)).json()["designId"]
    await client.put(
        f"/programmes/{pid}/coauthors/{approver.org_id}", json={"roles": ["approver", "cosigner"]}, headers=lead.headers
    )
    proposed = await client.post(f"/programmes/{pid}/versions/1/proposal", headers={**lead.headers, "If-Match": '"v1"'})
    assert proposed.status_code == 200, proposed.text
    decided = await client.post(
        f"/programmes/{pid}/versions/1/decisions", json={"decision": "approve"}, headers=approver.headers
    )
    assert decided.json()["status"] == "published", decided.text
    return pid


async def classroom(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> Classroom:
    """A welding programme (unit u1: performance standard; unit sim: simulation) delivered by a provider,
    co-signed by a chamber, with one learner enrolled in the whole programme."""
    provider = await bootstrap.integrator(
        ["programmes:write", "assessments:write", "credentials:read", "credentials:issue", "credentials:revoke"],
        name="Festo Didactic",
        kind="vet_provider",
        country="DE",
    )
    chamber = await bootstrap.integrator(
        ["programmes:write", "credentials:cosign", "credentials:revoke", "credentials:read"],
        name="IHK Region Stuttgart",
        kind="chamber",
        country="DE",
    )
    profile = await welder_profile(client, provider)
    content = {
        **programme_content(profile, str(provider.org_id), str(chamber.org_id), str(provider.org_id)),
        "eqfLevel": 4,
    }
    simulation_unit = {
        **content["units"][0],
        "key": "sim",
        "title": {"en": "Automation line simulation"},
        "assessment": SIMULATION,
    }
    content["units"] = [{**content["units"][0], "assessment": ASSESSMENT}, simulation_unit]
    pid = await publish(client, provider, chamber, content)
    learners = f"/organisations/{provider.org_id}/learners"
    learner = await client.post(
        learners,
        headers=provider.headers,
        json={
            "name": "Jonas Weber",
            "email": "jonas@example.de",
            "identifiers": [{"scheme": "student_number", "value": "S-1"}],
        },
    )
    assert learner.status_code == 201, learner.text
    learner_id = learner.json()["id"]
    enrolment = await client.post(
        f"{learners}/{learner_id}/enrolments", json={"programmeId": pid}, headers=provider.headers
    )
    assert enrolment.status_code == 201, enrolment.text
    return Classroom(provider, chamber, pid, learner_id, enrolment.json()["id"])
