"""A campaign end to end: API -> dispatcher -> send queue -> simulated WhatsApp -> ticks and a
reply back by webhook."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import text

from tests.campaigns.helpers import PROMO
from tests.conftest import login
from tests.messaging.gateway import CUSTOMER, Gateway, until
from zapcrm.campaigns.dispatch import dispatch_forever
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def test_a_campaign_reaches_its_customers_and_their_replies_come_back(
    live_worker: None, gateway: Gateway, runtime: Runtime
) -> None:
    await gateway.new_customer("5511976540002", "Caio")
    async with gateway.db.service_session() as session:
        for name, phone in (
            ("Rita Alves", "+" + CUSTOMER),
            ("Caio Prado", "+5511976540002"),
            ("Fora do WhatsApp", "+5511900001111"),
        ):
            await session.execute(
                text(
                    "insert into contacts (company_id, name, phone_e164, tags)"
                    " values (:c, :name, :phone, array['promo'])"
                ),
                {"c": gateway.company_id, "name": name, "phone": phone},
            )
    supervisor = await gateway.user(Role.SUPERVISOR)
    async with gateway.app() as app:
        headers = await login(app, supervisor)
        created = await app.post(
            "/api/campaigns",
            json={
                "name": "Black Friday",
                "instance_id": str(await gateway.instance_id()),
                "audience": {"filter": PROMO},
                "variants": ["Oi {{primeiro_nome}}, hoje tem 30% off!"],
                "min_gap_seconds": 1,
                "max_gap_seconds": 1,
                "window_start": "00:00",
                "window_end": "23:59:59",
                "weekdays": [1, 2, 3, 4, 5, 6, 7],
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
        campaign_id = created.json()["id"]
        started = await app.post(f"/api/campaigns/{campaign_id}/start", headers=headers)
        assert started.status_code == 200, started.text
        stop = asyncio.Event()
        dispatcher = asyncio.create_task(dispatch_forever(runtime, stop, interval=0.2))
        try:
            # Every person reached or failed, and the campaign finished.
            await until(
                gateway.db,
                "select m.status, k.status as campaign from campaign_recipients r"
                " join campaigns k on k.id = r.campaign_id"
                " join evolution_messages m on m.id = r.message_id where r.campaign_id = :id",
                {"id": campaign_id},
                lambda found: (
                    len(found) == 3
                    and found[0]["campaign"] == "completed"
                    and sorted(row["status"] == "ERROR" for row in found) == [False, False, True]
                    and all(row["status"] in ("ERROR", "DELIVERY_ACK", "READ") for row in found)
                ),
                seconds=30,
            )
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher
        sent = await gateway.sent()
        assert sorted(call["request"]["text"] for call in sent) == [
            "Oi Caio, hoje tem 30% off!",
            "Oi Rita, hoje tem 30% off!",
        ]
        await gateway.customer_writes("Quero! Como compro?")
        [chat] = await until(
            gateway.db,
            "select c.id, c.status from evolution_conversations c"
            " where c.company_id = :c and c.remote_jid = :jid",
            {"c": gateway.company_id, "jid": f"{CUSTOMER}@s.whatsapp.net"},
            lambda found: found and found[0]["status"] == "open",
        )
        # The gateway's echo of the send merged into our row: the campaign mark stayed.
        messages = (
            await app.get(f"/api/conversations/{chat['id']}/messages", headers=headers)
        ).json()["items"]
        ours = [message for message in messages if message["from_me"]]
        assert [message["details"].get("campaign_id") for message in ours] == [campaign_id]
        summary = (await app.get(f"/api/campaigns/{campaign_id}", headers=headers)).json()
        progress = summary["progress"]
        assert summary["status"] == "completed"
        assert progress["failed"] == 1
        assert progress["replied"] == 1
        assert progress["delivered"] + progress["read"] == 2
        failed = (
            await app.get(
                f"/api/campaigns/{campaign_id}/recipients",
                params={"status": "failed"},
                headers=headers,
            )
        ).json()
        assert [person["name"] for person in failed] == ["Fora do WhatsApp"]
