"""Instance administration: register or create instances, point their webhook at us, read the
live connection state and QR code, reconnect, log out. Admins only.

Evolution API is the WhatsApp gateway (evolution-api.md); its licence asks that systems using
it say so where admins see it, hence GATEWAY_NOTICE in these answers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.evolution import repository
from zapcrm.evolution.client import EvolutionClient
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.errors import GatewayError, GatewayUnauthorized, GatewayUnavailable
from zapcrm.evolution.events import HANDLED_EVENTS
from zapcrm.evolution.instances import register_instance
from zapcrm.evolution.schemas import InstanceOut
from zapcrm.exceptions import NotFound, ServiceUnavailable, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.messaging import cache
from zapcrm.runtime import Runtime

GATEWAY_NOTICE = "Este sistema usa a Evolution API (https://github.com/EvolutionAPI/evolution-api)."
QRCODE_TTL_SECONDS = 60
SESSION_TTL_SECONDS = 3600


async def company_instances(session: AsyncSession, company_id: uuid.UUID) -> list[InstanceOut]:
    """The company's instances with their last known state (any role may read these)."""
    rows = await repository.list_public(session, company_id)
    return [InstanceOut.model_validate(row) for row in rows]


def webhook_events() -> list[str]:
    """The config names (UPPER_SNAKE, evolution-api.md §1.2) of every event we handle."""
    return sorted(event.upper().replace(".", "_").replace("-", "_") for event in HANDLED_EVENTS)


def webhook_url(runtime: Runtime) -> str:
    """Where our webhook receiver is, as Evolution must call it."""
    return runtime.settings.public_base_url.rstrip("/") + "/webhooks/evolution"


def _gateway_failure(error: GatewayError) -> Exception:
    if isinstance(error, GatewayUnavailable):
        return ServiceUnavailable(
            N_("a Evolution API não respondeu: {reason}", reason=error.reason)
        )
    if isinstance(error, GatewayUnauthorized):
        return ValidationFailed(N_("a Evolution API recusou o token ou a chave global"))
    return ValidationFailed(N_("a Evolution API recusou: {reason}", reason=error.reason))


@dataclass
class InstanceAdmin:
    """Gateway-side operations on a company's instances."""

    runtime: Runtime
    credentials: CredentialBox

    def _client(self, server_url: str, name: str, token: str) -> EvolutionClient:
        return EvolutionClient(self.runtime.http, server_url=server_url, instance=name, token=token)

    async def add(
        self,
        session: AsyncSession,
        actor: Identity,
        *,
        name: str,
        token: str | None,
        server_url: str | None,
    ) -> tuple[uuid.UUID, dict[str, Any] | None]:
        """Register an existing instance (with its token) or create one (global key); the
        second value is the pairing QR of a created instance."""
        server = server_url or self.runtime.settings.evolution_server_url
        if token:
            return await self.register(
                session, actor, name=name, token=token, server_url=server
            ), None
        return await self.create(session, actor, name=name, server_url=server)

    async def describe(self, actor: Identity, instance_id: uuid.UUID) -> InstanceOut:
        """One instance of the actor's company as the admin screens show it."""
        async with self.runtime.db.service_session() as session:
            row = await repository.get_public(session, actor.company_id, instance_id)
        if row is None:
            raise NotFound(N_("instância não encontrada"))
        return InstanceOut.model_validate(row)

    async def register(
        self, session: AsyncSession, actor: Identity, *, name: str, token: str, server_url: str
    ) -> uuid.UUID:
        """Register an instance that exists on the gateway: check the token, point the webhook."""
        client = self._client(server_url, name, token)
        try:
            await client.connection_state()
            await self._point_webhook(client, token)
        except GatewayError as error:
            raise _gateway_failure(error) from error
        return await self._save(session, actor, name=name, token=token, server_url=server_url)

    async def _save(
        self, session: AsyncSession, actor: Identity, *, name: str, token: str, server_url: str
    ) -> uuid.UUID:
        """Store the instance (token sealed, webhook URL recorded) for the actor's company."""
        instance_id = await register_instance(
            session,
            company_id=actor.company_id,
            name=name,
            token=token,
            credentials=self.credentials,
            server_url=server_url,
            webhook_url=webhook_url(self.runtime),
        )
        # Webhooks retry Postgres on a miss anyway; this only spares them that round trip.
        self.runtime.instances.forget(name)
        return instance_id

    async def create(
        self, session: AsyncSession, actor: Identity, *, name: str, server_url: str
    ) -> tuple[uuid.UUID, dict[str, Any]]:
        """Create the instance on the gateway (global key) and register it; returns its QR."""
        global_key = self.runtime.settings.evolution_global_key
        if global_key is None:
            raise ValidationFailed(N_("configure EVOLUTION_GLOBAL_KEY para criar instâncias"))
        client = self._client(server_url, name, global_key.get_secret_value())
        try:
            created = await client.create_instance(
                webhook_url=webhook_url(self.runtime), events=webhook_events()
            )
        except GatewayError as error:
            raise _gateway_failure(error) from error
        token = created.get("hash")
        if isinstance(token, dict):  # 1.x answered {"apikey": "..."}
            token = token.get("apikey")
        if not isinstance(token, str) or not token:
            raise ValidationFailed(N_("a Evolution API não devolveu o token da instância"))
        try:
            # Custom headers so webhooks authenticate even with the envelope apikey off.
            await self._point_webhook(self._client(server_url, name, token), token)
        except GatewayError as error:
            raise _gateway_failure(error) from error
        instance_id = await self._save(
            session, actor, name=name, token=token, server_url=server_url
        )
        found = created.get("qrcode")
        qrcode: dict[str, Any] = found if isinstance(found, dict) else {}
        if qrcode:
            await self._remember_qrcode(instance_id, qrcode)
        return instance_id, qrcode

    async def _point_webhook(self, client: EvolutionClient, token: str) -> None:
        await client.set_webhook(
            url=webhook_url(self.runtime), events=webhook_events(), headers={"apikey": token}
        )

    async def _remember_qrcode(self, instance_id: uuid.UUID, qrcode: dict[str, Any]) -> None:
        snapshot = {
            "code": qrcode.get("code"),
            "base64": qrcode.get("base64"),
            "pairing_code": qrcode.get("pairingCode"),
            "count": qrcode.get("count"),
        }
        await self.runtime.redis.set(
            cache.qrcode_key(instance_id), orjson.dumps(snapshot), ex=QRCODE_TTL_SECONDS
        )

    async def _access(self, actor: Identity, instance_id: uuid.UUID) -> EvolutionClient:
        async with self.runtime.db.service_session() as session:
            public = await repository.get_public(session, actor.company_id, instance_id)
            access = await repository.gateway_access(session, instance_id)
        sealed = access[2] if access else None
        if public is None or access is None or sealed is None:
            raise NotFound(N_("instância não encontrada"))
        name, server_url, _ = access
        return self._client(server_url, name, self.credentials.open(sealed))

    async def state(self, actor: Identity, instance_id: uuid.UUID) -> str:
        """The live connection state, cached in Redis and stored on the instance."""
        client = await self._access(actor, instance_id)
        try:
            state = await client.connection_state()
        except GatewayError as error:
            raise _gateway_failure(error) from error
        await self.runtime.redis.set(cache.session_key(instance_id), state, ex=SESSION_TTL_SECONDS)
        async with self.runtime.db.service_session() as session:
            await repository.record_connection(session, instance_id, connection_state=state)
        return state

    async def qrcode(self, actor: Identity, instance_id: uuid.UUID) -> dict[str, Any]:
        """The latest pairing QR (from qrcode.updated, or asked to the gateway)."""
        client = await self._access(actor, instance_id)
        cached = await self.runtime.redis.get(cache.qrcode_key(instance_id))
        if cached:
            data: dict[str, Any] = orjson.loads(cached)
            return data
        try:
            answer = await client.connect()
        except GatewayError as error:
            raise _gateway_failure(error) from error
        if "instance" in answer:  # already connected: connect answers with the state
            return {"connected": True}
        await self._remember_qrcode(instance_id, answer)
        return {
            "code": answer.get("code"),
            "base64": answer.get("base64"),
            "pairing_code": answer.get("pairingCode"),
            "count": answer.get("count"),
        }

    async def reconnect(self, actor: Identity, instance_id: uuid.UUID) -> None:
        """Restart the instance's socket on the gateway."""
        client = await self._access(actor, instance_id)
        try:
            await client.restart()
        except GatewayError as error:
            raise _gateway_failure(error) from error

    async def logout(self, actor: Identity, instance_id: uuid.UUID) -> None:
        """Unpair the phone; the instance stays registered and can pair again."""
        client = await self._access(actor, instance_id)
        try:
            await client.logout()
        except GatewayError as error:
            raise _gateway_failure(error) from error
        async with self.runtime.db.service_session() as session:
            await repository.record_connection(session, instance_id, connection_state="close")
