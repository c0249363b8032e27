"""Admin API for WhatsApp instances (Evolution API): list, register/create, state, QR, actions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel

from zapcrm.dependencies import Admin, RuntimeDep
from zapcrm.evolution.admin import GATEWAY_NOTICE, InstanceAdmin, company_instances
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.rotation import sync_for_admin
from zapcrm.evolution.schemas import InstanceIn, InstanceOut

router = APIRouter(prefix="/api/admin/instances", tags=["admin: instances"])


def _admin_ops(runtime: RuntimeDep) -> InstanceAdmin:
    return InstanceAdmin(runtime, CredentialBox.from_settings(runtime.settings))


Operations = Annotated[InstanceAdmin, Depends(_admin_ops)]


class InstancesOut(BaseModel):
    """The company's instances and the gateway notice its licence asks for."""

    gateway: str = "Evolution API"
    notice: str = GATEWAY_NOTICE
    instances: list[InstanceOut]


class InstanceCreated(BaseModel):
    """The registered instance, and the pairing QR when it was just created."""

    instance: InstanceOut
    qrcode: dict[str, Any] | None = None
    notice: str = GATEWAY_NOTICE


class CredentialSyncOut(BaseModel):
    """What a credential sync found: instances compared, rotated, servers that failed."""

    checked: int
    rotated: list[uuid.UUID]
    failed_servers: list[str]
    notice: str = GATEWAY_NOTICE


@router.get("")
async def list_instances(admin: Admin, runtime: RuntimeDep) -> InstancesOut:
    """Every instance of the company with its last known connection state."""
    async with runtime.db.tenant_session(admin.claims) as session:
        instances = await company_instances(session, admin.company_id)
    return InstancesOut(instances=instances)


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_instance(
    body: InstanceIn, admin: Admin, runtime: RuntimeDep, ops: Operations
) -> InstanceCreated:
    """Register (with `token`) or create (without: needs EVOLUTION_GLOBAL_KEY) an instance and
    point its webhook at zapcrm with the `apikey` header."""
    async with runtime.db.tenant_session(admin.claims) as session:
        instance_id, qrcode = await ops.add(
            session, admin, name=body.name, token=body.token, server_url=body.server_url
        )
    return InstanceCreated(instance=await ops.describe(admin, instance_id), qrcode=qrcode)


@router.post("/credentials/sync")
async def sync_credentials(admin: Admin, runtime: RuntimeDep) -> CredentialSyncOut:
    """Ask Evolution (global key) for the company's instance tokens now and store the ones that
    changed (audited as `instance.credential_rotated`); the worker also does it on a schedule."""
    report = await sync_for_admin(runtime, admin)
    return CredentialSyncOut(
        checked=report.checked,
        rotated=[instance.id for instance in report.rotated],
        failed_servers=report.failed_servers,
    )


@router.get("/{instance_id}/state")
async def instance_state(instance_id: uuid.UUID, admin: Admin, ops: Operations) -> dict[str, str]:
    """The live connection state (open, connecting, close), asked to the gateway now."""
    return {"state": await ops.state(admin, instance_id)}


@router.get("/{instance_id}/qrcode")
async def instance_qrcode(instance_id: uuid.UUID, admin: Admin, ops: Operations) -> dict[str, Any]:
    """The latest pairing QR code (data URI in `base64`) or `connected: true`."""
    return await ops.qrcode(admin, instance_id)


@router.post("/{instance_id}/reconnect", status_code=status.HTTP_204_NO_CONTENT)
async def reconnect(instance_id: uuid.UUID, admin: Admin, ops: Operations) -> None:
    """Restart the instance's connection on the gateway."""
    await ops.reconnect(admin, instance_id)


@router.post("/{instance_id}/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(instance_id: uuid.UUID, admin: Admin, ops: Operations) -> None:
    """Unpair the phone (a new QR will be needed)."""
    await ops.logout(admin, instance_id)
