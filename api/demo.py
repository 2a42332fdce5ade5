"""`guildhall demo`: a realistic scenario, written by the project, that a newcomer can explore at once.

Two stories, told through the API itself (in-process, so every rule applies as it would to a client):

* **Welding in Denmark.** TEKNIQ Arbejdsgiverne (employers' association) leads a MIG welding programme
  with Dansk Metal (trade union) and AMU Syd (the AMU provider that delivers it); the Danish Agency for
  Education and Quality (authority) approves it. Two learners: one passes, one fails a must-pass criterion.
* **Automation in Germany.** Festo Didactic (provider) runs a simulator-assessed PLC troubleshooting
  unit on an industrial automation technician profile; IHK Region Stuttgart (chamber) co-authors it,
  accredits Festo and co-signs its certificates. One learner fails a first run and passes a second: the
  credential is co-signed. Another passes and has the credential revoked (issued in error).

The outbox is processed in-process, so the credentials exist when the command returns. Every client
is printed with its secret, and written as shell exports to ``--env-file`` (``.data/demo.env`` by
default), which the README walkthrough sources. Run it on an empty database: it refuses to load twice.
"""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain import outbox
from domain.credentials import handlers  # noqa: F401  (registers the credential handlers)
from domain.db import Database
from domain.guidance import classification
from domain.mail import sending  # noqa: F401  (registers sending mail)
from domain.oauth.clients import create_client
from domain.oauth.models import ClientCreate
from domain.organisations.models import OrganisationCreate
from domain.organisations.service import create_organisation, organisation_exists
from domain.profiles.esco import SAMPLE_DIR, import_esco_sample
from domain.writes import Actor

OPERATOR = Actor(request_id="guildhall-demo")
MARKER_NAME = "TEKNIQ Arbejdsgiverne"
WELDER = "http://data.europa.eu/esco/occupation/77c60ebb-1151-476a-89c4-9a381bc7c32a"
PIPE_FITTER = "http://data.europa.eu/esco/occupation/3f2f7eea-cd7b-4e19-bf6a-8433c291ea4f"
AUTOMATION = "http://data.europa.eu/esco/occupation/e3cdb267-313c-49b5-b27f-546959da86d5"
XAPI_PASSED = "http://adlnet.gov/expapi/verbs/passed"
XAPI_FAILED = "http://adlnet.gov/expapi/verbs/failed"
CMI5_MASTERY = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
SIMULATOR = "https://simulator.festo.example"

ALL_SCOPES = [
    "organisations:write",
    "programmes:write",
    "assessments:write",
    "credentials:read",
    "credentials:issue",
    "credentials:cosign",
    "credentials:revoke",
    "webhooks:manage",
]

ORGANISATIONS: dict[str, dict[str, Any]] = {
    "tekniq": {"kind": "employer_association", "name": {"da": MARKER_NAME}, "defaultLanguage": "da", "country": "DK"},
    "metal": {"kind": "social_partner", "name": {"da": "Dansk Metal"}, "defaultLanguage": "da", "country": "DK"},
    "amu": {
        "kind": "vet_provider",
        "name": {"da": "AMU Syd"},
        "defaultLanguage": "da",
        "country": "DK",
        "region": "DK-83",
    },
    "authority": {
        "kind": "authority",
        "name": {"en": "Danish Agency for Education and Quality", "da": "Styrelsen for Undervisning og Kvalitet"},
        "defaultLanguage": "da",
        "country": "DK",
    },
    "festo": {
        "kind": "vet_provider",
        "name": {"de": "Festo Didactic SE", "en": "Festo Didactic"},
        "defaultLanguage": "de",
        "country": "DE",
        "region": "DE-BW",
    },
    "ihk": {
        "kind": "chamber",
        "name": {"de": "IHK Region Stuttgart", "en": "Stuttgart Region Chamber of Commerce and Industry"},
        "defaultLanguage": "de",
        "country": "DE",
        "region": "DE-BW",
    },
}

# People the demo invites, each in their language (Polish, Danish, German).
DEMO_INVITATIONS = [
    ("amu", "piotr.nowak@example.pl", "Piotr Nowak", ["assessor"], "pl"),
    ("tekniq", "mette.larsen@tekniq.example", "Mette Larsen", ["author"], "da"),
    ("ihk", "klaus.weber@ihk.example", "Klaus Weber", ["signatory"], "de"),
]

# The README's tour by topic: a role, and the demo party that plays it (exported as ROLE_ORG and ROLE_TOKEN).
TOUR_ROLES = {"ASSOCIATION": "tekniq", "UNION": "metal", "PROVIDER": "amu", "CHAMBER": "ihk"}

RUBRIC = {
    "type": "rubric",
    "levels": [
        {"key": "l1", "name": "Not yet", "points": 1},
        {"key": "l2", "name": "Partly", "points": 2},
        {"key": "l3", "name": "Meets the standard", "points": 3},
        {"key": "l4", "name": "Exceeds the standard", "points": 4},
    ],
}
WELDING_STANDARD = {
    "mode": "performance_standard",
    "cutScore": 60,
    "supervision": "supervised_identity_check_onsite",
    "maxAttempts": 3,
    "criteria": [
        {"key": "bead", "title": "Weld bead geometry", "scale": RUBRIC, "weight": 2, "minimum": "l3"},
        {"key": "penetration", "title": "Root penetration", "scale": RUBRIC, "weight": 2},
        {"key": "safety", "title": "Safe working", "scale": {"type": "numeric", "min": 0, "max": 10}, "weight": 1},
    ],
}
SIMULATION = {
    "mode": "simulation",
    "masteryScore": 0.8,
    "runs": {"rule": "best"},
    "maxAttempts": 5,
    "supervision": "supervised_no_identity_check",
}


class DemoError(RuntimeError):
    """The demo could not load (it was loaded before, or a step the API refused)."""


@dataclass
class Party:
    key: str
    organisation_id: str
    client_id: str
    client_secret: str
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Demo:
    api: str
    parties: dict[str, Party]
    ids: dict[str, str] = field(default_factory=dict)

    def exports(self) -> str:
        """The shell file the README's commands source: the API's URL, each party's organisation and client, the
        ids the walkthrough starts from, the roles the tour by topic names, and fresh access tokens for them
        (fetched each time the file is sourced, with curl and jq, as the README's commands are: tokens last
        ACCESS_TOKEN_TTL, ten minutes by default)."""
        lines = [
            "# Written by `guildhall demo` (make run loads it into an empty database). It holds client secrets.",
            "# Source it from the checkout once `make run` is ready: source .data/demo.env",
            f"export API={shlex.quote(self.api)}",
        ]
        for party in self.parties.values():
            name = party.key.upper()
            lines += [
                f"export {name}_ORG={party.organisation_id}",
                f"export {name}_CLIENT_ID={shlex.quote(party.client_id)}",
                f"export {name}_CLIENT_SECRET={shlex.quote(party.client_secret)}",
            ]
        lines += [f"export {name.upper()}={value}" for name, value in self.ids.items()]
        lines += [
            "",
            "# The roles the README's tour by topic speaks of.",
            *(f"export {role}_ORG=${key.upper()}_ORG" for role, key in TOUR_ROLES.items()),
            "",
            "# Access tokens (client credentials), fetched each time this file is sourced: they last ten minutes.",
            "guildhall_token() {",
            '  curl -sS --fail-with-body -u "$1:$2" -d grant_type=client_credentials "$API/oauth/token" \\',
            "    | jq -er .access_token",
            "}",
            *(
                f'{role}_TOKEN=$(guildhall_token "${key.upper()}_CLIENT_ID" "${key.upper()}_CLIENT_SECRET")'
                for role, key in TOUR_ROLES.items()
            ),
            'TOKEN="$ASSOCIATION_TOKEN"  # the association: the tour\'s lead',
            "export TOKEN " + " ".join(f"{role}_TOKEN" for role in TOUR_ROLES),
        ]
        return "\n".join(lines) + "\n"


async def already_loaded(db: Database) -> bool:
    return await organisation_exists(db, "da", MARKER_NAME)


async def is_empty(db: Database) -> bool:
    return not await organisation_exists(db)


def _check(response: Any, *expected: int) -> dict[str, Any]:
    if response.status_code not in expected:
        raise DemoError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    body: dict[str, Any] = response.json() if response.content else {}
    return body


class Story:
    def __init__(self, client: AsyncTestClient[Litestar], db: Database, settings: Settings, demo: Demo) -> None:
        self.client, self.db, self.settings, self.demo = client, db, settings, demo

    def __getitem__(self, key: str) -> Party:
        return self.demo.parties[key]

    async def call(self, method: str, url: str, party: Party, *expected: int, **kwargs: Any) -> dict[str, Any]:
        headers = {**party.headers, **kwargs.pop("headers", {})}
        return _check(await self.client.request(method, url, headers=headers, **kwargs), *(expected or (200, 201)))

    async def drain(self) -> None:
        """Runs the outbox's handlers here, as the worker would: credentials are issued before we go on."""
        context = outbox.HandlerContext(
            self.settings.master_key, self.settings.issuer, self.settings.smtp_url, self.settings.sender
        )
        await outbox.drain(self.db, context)

    async def publish(self, lead: Party, content: dict[str, Any], coauthors: dict[str, list[str]]) -> str:
        created = await self.call("POST", "/programmes", lead, 201, json={"content": content})
        design_id: str = created["designId"]
        for key, roles in coauthors.items():
            await self.call(
                "PUT",
                f"/programmes/{design_id}/coauthors/{self[key].organisation_id}",
                lead,
                200,
                201,
                json={"roles": roles},
            )
        await self.call("POST", f"/programmes/{design_id}/versions/1/proposal", lead, 200, headers={"If-Match": '"v1"'})
        for key, roles in coauthors.items():
            if "approver" in roles:
                await self.call(
                    "POST",
                    f"/programmes/{design_id}/versions/1/decisions",
                    self[key],
                    200,
                    json={"decision": "approve"},
                )
        return design_id

    async def learner(self, provider: Party, name: str, email: str, number: str, programme_id: str) -> tuple[str, str]:
        base = f"/organisations/{provider.organisation_id}/learners"
        learner = await self.call(
            "POST",
            base,
            provider,
            201,
            json={"name": name, "email": email, "identifiers": [{"scheme": "student_number", "value": number}]},
        )
        enrolment = await self.call(
            "POST", f"{base}/{learner['id']}/enrolments", provider, 201, json={"programmeId": programme_id}
        )
        return learner["id"], enrolment["id"]

    async def statement(
        self, provider: Party, programme_id: str, number: str, name: str, passed: bool, score: float, at: str
    ) -> None:
        statement = {
            "id": str(uuid.uuid4()),
            "actor": {
                "objectType": "Agent",
                "name": name,
                "account": {"homePage": SIMULATOR, "name": f"student_number:{number}"},
            },
            "verb": {
                "id": XAPI_PASSED if passed else XAPI_FAILED,
                "display": {"en-US": "passed" if passed else "failed"},
            },
            "object": {
                "objectType": "Activity",
                "id": f"urn:guildhall:programme:{programme_id}:unit:plc",
                "definition": {"name": {"en-US": "MPS PLC troubleshooting station"}},
            },
            "result": {"score": {"scaled": score}, "success": passed, "completion": True, "duration": "PT24M"},
            "context": {"extensions": {CMI5_MASTERY: 0.8}},
            "timestamp": at,
        }
        await self.call(
            "POST", "/xapi/statements", provider, 200, json=statement, headers={"X-Experience-API-Version": "1.0.3"}
        )


async def _parties(db: Database) -> dict[str, Party]:
    parties = {}
    for key, fields in ORGANISATIONS.items():
        organisation = await create_organisation(db, OPERATOR, msgspec.convert(fields, OrganisationCreate))
        client = await create_client(
            db,
            OPERATOR,
            organisation.id,
            ClientCreate(name=f"{key} demo client", scopes=ALL_SCOPES),
        )
        assert client.client_secret is not None
        parties[key] = Party(key, str(organisation.id), client.client_id, client.client_secret)
    return parties


def _competences(profile: Any, count: int) -> list[str]:
    return [c.key for c in profile.competences[:count]]


def welding_content(welder: Any, s: Story) -> dict[str, Any]:
    lo_keys = _competences(welder, 2)
    return {
        "title": {"da": "MIG-svejsning af stålkonstruktioner", "en": "MIG welding of steel structures"},
        "description": {"da": "Et kort AMU-kursus for svejsere", "en": "A short AMU course for welders"},
        "defaultLanguage": "da",
        "profileVersionId": str(welder.id),
        "awardingBodyId": s["amu"].organisation_id,
        "providerIds": [s["amu"].organisation_id],
        "eqfLevel": 3,
        "iscedFCode": "0715",  # mechanics and metal trades
        "typeOfAssessment": {
            "en": "Practical welding test against a performance standard",
            "da": "Praktisk svejseprøve",
        },
        "formOfParticipation": "onsite",
        "qualityAssurance": {"type": "state_recognition", "bodyId": s["authority"].organisation_id},
        "languages": ["da", "en"],
        "validityMonths": 36,
        "supervision": "supervised_identity_check_onsite",
        "units": [
            {
                "key": "mig",
                "kind": "core",
                "title": {"da": "MIG-svejsning, kantsømme", "en": "MIG welding, fillet joints"},
                "workloadHours": 37,
                "ectsCredits": 1.5,
                "eqfLevel": 3,
                "learningOutcomes": [
                    {
                        "key": "lo1",
                        "text": {"da": "Svejser kantsømme med MIG", "en": "Welds fillet joints with MIG"},
                        "competences": lo_keys[:1],
                    },
                    {
                        "key": "lo2",
                        "text": {"da": "Kontrollerer svejsninger", "en": "Inspects welds"},
                        "competences": lo_keys[1:2],
                    },
                ],
                "assessment": WELDING_STANDARD,
            }
        ],
    }


def pipe_content(pipe_fitter: Any, s: Story) -> dict[str, Any]:
    """AMU Syd's pipe-fitting course for welders, in Danish and Polish (for the guidance and the Polish search)."""
    skill = {c.title["en"]: c.key for c in pipe_fitter.competences}

    def unit(key: str, title: dict[str, str], hours: int, skills: list[str]) -> dict[str, Any]:
        return {
            "key": key,
            "kind": "core",
            "title": title,
            "workloadHours": hours,
            "ectsCredits": hours / 25,
            "eqfLevel": 3,
            "learningOutcomes": [{"key": "lo1", "text": title, "competences": [skill[s] for s in skills]}],
            "assessment": WELDING_STANDARD,
        }

    return {
        **welding_content(pipe_fitter, s),
        "title": {
            "da": "Rørsvejsning og rørmontage",
            "pl": "Spawanie rurociągów",
            "en": "Pipeline welding and fitting",
        },
        "description": {"pl": "Kurs dla spawaczy przechodzących do montażu rurociągów"},
        "languages": ["da", "pl"],
        "validityMonths": 60,
        "units": [
            unit(
                "cut",
                {"da": "Skæring og bukning af rør", "pl": "Cięcie i gięcie rur"},
                24,
                ["cut pipes to length", "bend pipes"],
            ),
            unit(
                "install",
                {"da": "Montage af rørsystemer", "pl": "Montaż rurociągów"},
                40,
                [
                    "install piping systems",
                    "join pipes with threads, flanges and press fittings",
                    "perform pressure tests on piping",
                ],
            ),
        ],
    }


def automation_content(automation: Any, s: Story) -> dict[str, Any]:
    lo_keys = _competences(automation, 2)
    return {
        "title": {"de": "Fehlersuche an SPS-gesteuerten Anlagen", "en": "Troubleshooting PLC-controlled lines"},
        "description": {"de": "Simulatorgestütztes Training", "en": "Simulator-based training on an automation line"},
        "defaultLanguage": "en",
        "profileVersionId": str(automation.id),
        "awardingBodyId": s["festo"].organisation_id,
        "providerIds": [s["festo"].organisation_id],
        "eqfLevel": 4,
        "iscedFCode": "0714",  # electronics and automation
        "typeOfAssessment": {"en": "Simulation: fault finding on a virtual automation line (xAPI)"},
        "formOfParticipation": "blended",
        "qualityAssurance": {"type": "chamber_approval", "bodyId": s["ihk"].organisation_id},
        "languages": ["de", "en"],
        "validityMonths": 24,
        "cosignerId": s["ihk"].organisation_id,
        "supervision": "supervised_no_identity_check",
        "units": [
            {
                "key": "plc",
                "kind": "core",
                "title": {"en": "PLC fault finding", "de": "SPS-Fehlersuche"},
                "workloadHours": 24,
                "ectsCredits": 1,
                "eqfLevel": 4,
                "learningOutcomes": [
                    {
                        "key": "lo1",
                        "text": {"en": "Locates faults in a PLC-controlled line", "de": "Findet Fehler"},
                        "competences": lo_keys[:1],
                    },
                    {
                        "key": "lo2",
                        "text": {"en": "Restores safe operation", "de": "Stellt den Betrieb wieder her"},
                        "competences": lo_keys[1:2],
                    },
                ],
                "assessment": SIMULATION,
            }
        ],
    }


async def load(db: Database, settings: Settings, app: Litestar) -> Demo:
    """Loads the scenario into an empty database through the API; DemoError if it was loaded before."""
    if await already_loaded(db):
        raise DemoError("the demo is already loaded in this database")
    demo = Demo(api=settings.issuer, parties=await _parties(db))
    profiles = {p.esco_occupation_uri: p for p in await import_esco_sample(db, OPERATOR)}
    # The same sample as the whole ESCO classification, in English, for skills-gap guidance.
    await classification.import_release(db, SAMPLE_DIR, "sample")
    async with AsyncTestClient(app=app, base_url=settings.issuer) as client:
        s = Story(client, db, settings, demo)
        for party in demo.parties.values():
            form = {"grant_type": "client_credentials"}
            token = _check(
                await client.post("/oauth/token", data=form, auth=(party.client_id, party.client_secret)), 200
            )
            party.token = token["access_token"]

        # IHK accredits Festo for Industry 4.0 training.
        await s.call(
            "POST",
            f"/organisations/{s['festo'].organisation_id}/accreditations",
            s["ihk"],
            201,
            json={
                "accreditingOrganisationId": s["ihk"].organisation_id,
                "scope": "Industry 4.0 automation training",
                "validFrom": "2026-01-01",
                "validUntil": "2029-12-31",
                "reference": "IHK-2026-17",
            },
        )

        # Chambers ask their signatories and admins for a second factor where signatures are made (a person's
        # token; the demo's clients act on their own and are not asked).
        await s.call(
            "PUT",
            f"/organisations/{s['ihk'].organisation_id}/second-factor-policy",
            s["ihk"],
            200,
            json={"requiredFor": ["signatory", "admin"]},
        )
        if settings.smtp_url:  # people invited in their languages: the mails are at /dev/mail under `make run`
            for key, email, name, roles, language in DEMO_INVITATIONS:
                await s.call(
                    "POST",
                    f"/organisations/{s[key].organisation_id}/invitations",
                    s[key],
                    201,
                    json={"email": email, "name": name, "roles": roles, "language": language},
                )

        welding = await s.publish(
            s["tekniq"],
            welding_content(profiles[WELDER], s),
            {"metal": ["author", "approver"], "amu": ["author"], "authority": ["approver"]},
        )
        pipe = await s.publish(
            s["amu"],
            pipe_content(profiles[PIPE_FITTER], s),
            {"metal": ["author", "approver"], "authority": ["approver"]},
        )
        automation = await s.publish(
            s["festo"], automation_content(profiles[AUTOMATION], s), {"ihk": ["approver", "cosigner"]}
        )
        demo.ids.update(
            welding_programme=welding,
            pipe_programme=pipe,
            pipe_fitter=PIPE_FITTER,
            automation_programme=automation,
            automation_profile=str(profiles[AUTOMATION].id),
            automation_skill=profiles[AUTOMATION].competences[0].key,
            welder_profile=str(profiles[WELDER].id),
        )

        # Welding: Mette passes; Lars reaches a high total but misses the bead geometry minimum.
        amu = s["amu"]
        for name, email, number, bead in (
            ("Mette Hansen", "mette@example.dk", "AMU-1", "l3"),
            ("Lars Nielsen", "lars@example.dk", "AMU-2", "l2"),
        ):
            learner_id, enrolment_id = await s.learner(amu, name, email, number, welding)
            submission = {
                "mode": "performance_standard",
                "scores": [
                    {"criterion": "bead", "level": bead},
                    {"criterion": "penetration", "level": "l4"},
                    {"criterion": "safety", "value": 10},
                ],
            }
            await s.call(
                "POST",
                f"/organisations/{amu.organisation_id}/attempts",
                amu,
                201,
                json={
                    "learnerId": learner_id,
                    "enrolmentId": enrolment_id,
                    "unitKey": "mig",
                    "assessedAt": "2026-11-10T10:00:00Z",
                    "place": "AMU Syd, Kolding",
                    "supervision": "supervised_identity_check_onsite",
                    "submission": submission,
                },
            )

        # Automation: Jonas fails a run, then passes; Sophie passes (her credential is revoked later).
        festo = s["festo"]
        await s.learner(festo, "Jonas Weber", "jonas@example.de", "S-1", automation)
        sophie_id, _ = await s.learner(festo, "Sophie Wagner", "sophie@example.de", "S-2", automation)
        await s.statement(festo, automation, "S-1", "Jonas Weber", False, 0.62, "2026-11-18T09:00:00Z")
        await s.statement(festo, automation, "S-1", "Jonas Weber", True, 0.91, "2026-11-18T11:00:00Z")
        await s.statement(festo, automation, "S-2", "Sophie Wagner", True, 0.88, "2026-11-19T10:00:00Z")
        await s.drain()

        queue = await s.call("GET", f"/organisations/{s['ihk'].organisation_id}/cosignature-queue", s["ihk"], 200)
        for item in queue["items"]:
            await s.call("POST", f"/credentials/{item['id']}/cosignature", s["ihk"], 200)
            if item["learnerId"] == sophie_id:
                await s.call(
                    "POST",
                    f"/credentials/{item['id']}/revocation",
                    festo,
                    200,
                    json={"reason": "Issued in error: the run was recorded against the wrong learner"},
                )
                demo.ids["revoked_credential"] = item["id"]
            else:
                demo.ids["cosigned_credential"] = item["id"]
        await s.drain()
        welding_credentials = await s.call("GET", f"/organisations/{amu.organisation_id}/credentials", amu, 200)
        for item in welding_credentials["items"]:
            demo.ids["welding_credential"] = item["id"]
    return demo


def summary(demo: Demo, env_file: Path | None) -> str:
    lines = ["Guildhall demo loaded.", "", f"API: {demo.api}   (OpenAPI: {demo.api}/schema)", ""]
    for party in demo.parties.values():
        lines.append(
            f"{party.key:10} organisation {party.organisation_id}"
            f"  client {party.client_id}  secret {party.client_secret}"
        )
    lines += ["", "Try:"]
    for key in ("cosigned_credential", "revoked_credential", "welding_credential"):
        if key in demo.ids:
            lines.append(f"  {demo.api}/c/{demo.ids[key]}   ({key.replace('_', ' ')})")
    lines.append(f"  {demo.api}/register/programmes?q=welding")
    if env_file is not None:
        lines += ["", f"Shell variables for the README walkthrough: source {env_file}"]
    return "\n".join(lines)
