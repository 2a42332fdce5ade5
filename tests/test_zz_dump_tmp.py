import json
from tests.test_credential_schema import *  # noqa

async def test_dump(client, bootstrap, db, settings) -> None:
    room = await classroom(client, bootstrap)
    await publish_qualification(client, room)
    attempt = room.attempt(welding("l3", "l4", 10), evidence=[{"mediaType": "video/mp4", "sha256": "ab" * 32, "url": "https://evidence.example/weld.mp4", "description": "Weld"}])
    await client.post(room.attempts_url, json=attempt, headers=room.provider.headers)
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    issued = await credentials_of(client, room)
    ctx = (await client.get("/contexts/guildhall/v1")).json()
    Path("/tmp/di/samples.json").write_text(json.dumps({"credentials": [c["credential"] for c in issued], "context": ctx, "issuer": settings.issuer}, indent=1))
