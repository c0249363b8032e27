"""Hypothesis-generated deliveries through the real app: never a 500, never a partial write."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.evolution.events import HANDLED_EVENTS

TOKEN = "hypothesis-instance-token"

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=16,
)
jids = st.one_of(
    st.from_regex(r"55[1-9][0-9]{9,10}(:[0-9]{1,2})?@s\.whatsapp\.net", fullmatch=True),
    st.from_regex(r"[0-9]{10,16}@lid", fullmatch=True),
    st.from_regex(r"1203630[0-9]{11}@g\.us", fullmatch=True),
    st.just("status@broadcast"),
    json_values,
)
keys = st.fixed_dictionaries(
    {
        "remoteJid": jids,
        "fromMe": st.booleans() | json_values,
        "id": st.text(min_size=1, max_size=24),
    },
    optional={"remoteJidAlt": jids, "participant": jids, "participantAlt": jids},
)
content_keys = st.sampled_from(
    ["conversation", "extendedTextMessage", "imageMessage", "audioMessage", "documentMessage",
     "reactionMessage", "protocolMessage", "ephemeralMessage", "viewOnceMessageV2",
     "locationMessage", "contactMessage", "pollCreationMessageV3", "stickerMessage"]
)  # fmt: skip
messages = st.dictionaries(content_keys, json_values | st.dictionaries(
    st.sampled_from(["text", "caption", "mimetype", "key", "message", "fileLength", "type",
                     "editedMessage", "degreesLatitude", "name", "options"]),
    json_values, max_size=5), max_size=2)  # fmt: skip
message_data = st.fixed_dictionaries(
    {"key": keys, "message": messages},
    optional={
        "messageTimestamp": json_values | st.integers(0, 2**40),
        "status": st.sampled_from(["PENDING", "SERVER_ACK", "READ", "DELETED", "ERROR"])
        | json_values,
        "pushName": json_values,
        "messageType": st.text(max_size=20),
        "contextInfo": json_values,
    },
)
update_data = st.lists(
    st.fixed_dictionaries(
        {"keyId": st.text(min_size=1, max_size=24) | json_values, "status": json_values},
        optional={"remoteJid": jids, "fromMe": json_values},
    ),
    max_size=3,
)
envelopes = st.fixed_dictionaries(
    {
        "event": st.sampled_from(sorted(HANDLED_EVENTS)),
        "data": st.one_of(message_data, update_data, json_values),
    },
    optional={"date_time": json_values, "sender": json_values},
)


@pytest.fixture(scope="module")
def instance_company(database_url: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as connection:
        company = connection.execute(
            "insert into companies (name) values ('Hypothesis') returning id"
        ).fetchone()
        assert company is not None
        connection.execute(
            "insert into evolution_instances (company_id, external_id, server_url, api_key_hash)"
            " values (%s, %s, 'https://evo.hypothesis', %s)",
            (company[0], "hypothesis", hashlib.sha256(TOKEN.encode()).hexdigest()),
        )
    return str(company[0])


@pytest.fixture(scope="module")
def sync_client(settings: Settings) -> Iterator[TestClient]:
    # A sync client (the app runs in its own thread and loop), because hypothesis drives
    # plain functions.
    with TestClient(create_app(settings)) as client:
        yield client


def _counts(database_url: str, company_id: str) -> tuple[int, ...]:
    with psycopg.connect(database_url) as connection:
        return tuple(
            int(connection.execute(
                f"select count(*) from {table} where company_id = %s", (company_id,)
            ).fetchone()[0])  # type: ignore[index]
            for table in ("evolution_messages", "evolution_conversations", "contacts",
                          "contact_identities", "evolution_pending_updates")
        )  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(envelope=envelopes)
def test_generated_deliveries_never_fail_badly(
    sync_client: TestClient, database_url: str, instance_company: str, envelope: dict[str, Any]
) -> None:
    body = {**envelope, "instance": "hypothesis", "apikey": TOKEN, "server_url": "x"}
    before = _counts(database_url, instance_company)
    # The stdlib encoder writes NaN/Infinity tokens too: hostile bodies are not always JSON.
    response = sync_client.post(
        "/webhooks/evolution",
        content=json.dumps(body),
        headers={"content-type": "application/json", "x-request-id": uuid.uuid4().hex},
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert _counts(database_url, instance_company) == before
