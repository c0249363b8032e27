"""What the send worker saves on each send without changing what it does: the instance's token
opened once per stored ciphertext, the number check's cached answer read in the passage's round
trip and no lease keeper for a turn shorter than a third of its lease (the "sent" announcement
written with the key id: test_attach_key.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet

from zapcrm.evolution.credentials import CredentialBox, CredentialError
from zapcrm.messaging import pacing
from zapcrm.messaging.pacing import InstanceBusy, SendGate
from zapcrm.messaging.reachability import Passage, ServerReachability, mark_key
from zapcrm.runtime import Runtime


def _counting_box(keys: list[bytes]) -> tuple[CredentialBox, list[str]]:
    box = CredentialBox(keys)
    opened: list[str] = []
    decrypt = box._fernet.decrypt

    def counted(token: Any, ttl: int | None = None) -> bytes:
        opened.append(token.decode() if isinstance(token, bytes) else token)
        return decrypt(token, ttl)

    box._fernet.decrypt = counted  # type: ignore[method-assign,assignment]
    return box, opened


def test_a_token_is_decrypted_once_per_stored_ciphertext() -> None:
    box, opened = _counting_box([Fernet.generate_key()])
    sealed = box.seal("token-1")
    assert [box.open(sealed) for _ in range(3)] == ["token-1"] * 3
    assert opened == [sealed]


def test_a_rotated_token_is_seen_at_once() -> None:
    """Rotation stores the new token as a new ciphertext: the old one's cache never answers."""
    box, opened = _counting_box([Fernet.generate_key()])
    old, new = box.seal("antigo"), box.seal("novo")
    assert box.open(old) == "antigo"
    assert box.open(new) == "novo"
    assert box.open(old) == "antigo"
    assert opened == [old, new]


def test_a_credential_no_key_opens_is_refused_every_time() -> None:
    sealed = CredentialBox([Fernet.generate_key()]).seal("de outra chave")
    box, opened = _counting_box([Fernet.generate_key()])
    for _ in range(2):
        with pytest.raises(CredentialError):
            box.open(sealed)
    assert opened == [sealed, sealed]


async def test_the_passage_brings_the_callers_key_in_its_round_trip(runtime: Runtime) -> None:
    servers = ServerReachability(runtime.redis)
    url = f"https://evo-{uuid.uuid4().hex[:8]}.example.com"
    key = f"test:numbers:{uuid.uuid4()}"
    try:
        assert await servers.passage(url, "loja", read=key) == Passage(wait=0, probe=None)
        await runtime.redis.set(key, '{"exists": true}')
        assert await servers.passage(url, "loja", read=key) == Passage(
            wait=0, probe=None, read='{"exists": true}'
        )
        # The probe that goes out once the server's wait is over reads it too.
        await servers.unanswered(url, None)
        await runtime.redis.hset(mark_key(url), "until_ms", int((time.time() - 1) * 1000))
        assert await servers.passage(url, "loja", read=key) == Passage(
            wait=0, probe=mark_key(url), read='{"exists": true}'
        )
    finally:
        await runtime.redis.delete(key, mark_key(url), f"{mark_key(url)}:probe")


async def test_a_short_turn_starts_no_lease_keeper(runtime: Runtime) -> None:
    gate = SendGate(runtime.redis, min_interval_ms=0)
    before = len(asyncio.all_tasks())
    async with gate.turn(uuid.uuid4()):
        assert len(asyncio.all_tasks()) == before


async def test_a_turn_longer_than_its_lease_keeps_the_instance(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A media upload may outlast the lease: the keeper starts a third of the way into it and
    renews it, so no other worker takes the instance meanwhile; the end frees it at once."""
    monkeypatch.setattr(pacing, "LEASE_SECONDS", 0.3)
    ours = SendGate(runtime.redis, min_interval_ms=0)
    theirs = SendGate(runtime.redis, min_interval_ms=0, wait_seconds=0.05)
    instance_id = uuid.uuid4()
    async with ours.turn(instance_id):
        await asyncio.sleep(0.75)  # two and a half leases
        with pytest.raises(InstanceBusy):
            async with theirs.turn(instance_id):
                pass
    async with theirs.turn(instance_id):
        pass
