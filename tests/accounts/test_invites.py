"""Invitations (issue 6): an inactive login with a single-use, expiring link whose token is
stored hashed; accepting sets the password and activates the login; resending replaces the
link, revoking removes the unused login; every step is audited; e-mail goes through SMTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, claims_for
from tests.smtp import free_port, smtp_server
from zapcrm.accounts import invites, mail
from zapcrm.accounts.directory import LocalDirectory
from zapcrm.accounts.invites import InviteState, InviteUnusable
from zapcrm.auth.identity import Identity
from zapcrm.auth.service import AccountDisabled
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.exceptions import Conflict, InvalidCredentials, NotFound, ValidationFailed
from zapcrm.models import Role
from zapcrm.runtime import Runtime

TTL = timedelta(hours=72)
NEW_PASSWORD = "minha-senha-nova-1"


def _identity(user: UserFixture) -> Identity:
    return Identity(
        user_id=user.id,
        company_id=user.company_id,
        role=user.role,
        email=user.email,
        display_name="Admin",
        session_id=None,
        claims=claims_for(user),
    )


async def _admin(factory: Factory) -> Identity:
    return _identity(await factory.user(await factory.company(), Role.ADMIN))


def _email() -> str:
    return f"convidada-{uuid.uuid4().hex[:8]}@exemplo.com.br"


async def _invite(db: Database, admin: Identity, email: str) -> invites.IssuedInvite:
    async with db.service_session() as session:
        return await invites.invite_user(
            session,
            LocalDirectory(),
            admin,
            email=email,
            display_name=" Bia Souza ",
            role=Role.SUPERVISOR,
            ttl=TTL,
        )


async def _accept(db: Database, token: str, password: str = NEW_PASSWORD) -> None:
    async with db.service_session() as session:
        await invites.accept_invite(session, LocalDirectory(), token, password)


async def _rows(db: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with db.service_session() as session:
        return [dict(row._mapping) for row in await session.execute(text(sql), params)]


async def _state_of(db: Database, token: str) -> InviteState | None:
    try:
        async with db.service_session() as session:
            await invites.invite_by_token(session, token)
    except InviteUnusable as refused:
        return refused.state
    return InviteState.PENDING


async def test_an_invite_creates_an_inactive_login_and_stores_only_the_token_hash(
    factory: Factory, db: Database
) -> None:
    admin = await _admin(factory)
    email = _email()

    issued = await _invite(db, admin, email.upper())

    assert len(issued.token) >= 40
    (profile,) = await _rows(
        db, "select id, role, active, display_name from profiles where email = :e", e=email
    )
    assert (profile["role"], profile["active"], profile["display_name"]) == (
        "supervisor",
        False,
        "Bia Souza",
    )
    (row,) = await _rows(db, "select * from user_invites where user_id = :u", u=profile["id"])
    assert row["token_hash"] == invites.hash_token(issued.token)
    assert issued.token not in str(row)
    assert (row["company_id"], row["invited_by"]) == (admin.company_id, admin.user_id)
    assert row["accepted_at"] is None
    (audit,) = await _rows(
        db, "select action, actor_id from audit_log where target_id = :t", t=str(profile["id"])
    )
    assert audit == {"action": "user.invited", "actor_id": admin.user_id}
    async with db.service_session() as session:
        listed = await invites.list_open_invites(session, admin.company_id)
    assert [invite.email for invite in listed] == [email]


async def test_accepting_sets_the_password_activates_the_login_and_uses_the_link_up(
    factory: Factory, db: Database, runtime: Runtime
) -> None:
    admin = await _admin(factory)
    email = _email()
    issued = await _invite(db, admin, email)

    with pytest.raises(ValidationFailed):
        await _accept(db, issued.token, "curta")
    await _accept(db, issued.token)

    tokens = await runtime.auth.login(email, NEW_PASSWORD, "10.0.0.1")
    assert tokens.access_token
    (profile,) = await _rows(db, "select id, active from profiles where email = :e", e=email)
    assert profile["active"] is True
    assert await _state_of(db, issued.token) is InviteState.ACCEPTED
    with pytest.raises(InviteUnusable):
        await _accept(db, issued.token, "outra-senha-123")
    await runtime.auth.login(email, NEW_PASSWORD, "10.0.0.1")  # unchanged by the second try
    actions = await _rows(
        db,
        "select action, actor_id from audit_log where target_id = :t order by created_at, id",
        t=str(profile["id"]),
    )
    assert actions[-1] == {"action": "user.invite_accepted", "actor_id": profile["id"]}
    async with db.service_session() as session:
        assert await invites.list_open_invites(session, admin.company_id) == []


async def test_nobody_signs_in_as_an_invitee_before_the_invite_is_accepted(
    factory: Factory, db: Database, runtime: Runtime
) -> None:
    admin = await _admin(factory)
    email = _email()
    await _invite(db, admin, email)

    with pytest.raises((InvalidCredentials, AccountDisabled)):
        await runtime.auth.login(email, "qualquer-senha-1", "10.0.0.2")


async def test_an_expired_link_cannot_be_used_until_resent(factory: Factory, db: Database) -> None:
    admin = await _admin(factory)
    issued = await _invite(db, admin, _email())
    async with db.service_session() as session:
        await session.execute(
            text("update user_invites set expires_at = now() - interval '1 minute' where id = :i"),
            {"i": issued.invite.id},
        )

    assert await _state_of(db, issued.token) is InviteState.EXPIRED
    with pytest.raises(InviteUnusable):
        await _accept(db, issued.token)

    async with db.service_session() as session:
        renewed = await invites.resend_invite(session, admin, issued.invite.id, ttl=TTL)
    assert renewed.token != issued.token
    assert await _state_of(db, issued.token) is None  # the old link is simply unknown now
    await _accept(db, renewed.token)
    assert await _state_of(db, renewed.token) is InviteState.ACCEPTED
    audit = await _rows(
        db,
        "select action from audit_log where company_id = :c and action like 'user.invite%'"
        " order by created_at, id",
        c=admin.company_id,
    )
    assert [row["action"] for row in audit] == [
        "user.invited",
        "user.invite_resent",
        "user.invite_accepted",
    ]


async def test_revoking_removes_the_unused_login_and_frees_the_email(
    factory: Factory, db: Database
) -> None:
    admin = await _admin(factory)
    email = _email()
    issued = await _invite(db, admin, email)
    user_id = issued.invite.user_id

    async with db.service_session() as session:
        login = await invites.revoke_invite(session, admin, issued.invite.id)
    assert login is not None
    assert login == user_id
    assert await _state_of(db, issued.token) is InviteState.REVOKED  # before the login goes
    async with db.service_session() as session:
        await invites.remove_unused_login(session, LocalDirectory(), admin.company_id, login)

    assert await _rows(db, "select id from auth.users where id = :u", u=user_id) == []
    assert await _state_of(db, issued.token) is InviteState.REVOKED
    with pytest.raises(Conflict):
        async with db.service_session() as session:
            await invites.resend_invite(session, admin, issued.invite.id, ttl=TTL)
    (audit,) = await _rows(
        db,
        "select action, details from audit_log where action = 'user.invite_revoked'"
        " and company_id = :c",
        c=admin.company_id,
    )
    assert audit["details"]["invite_id"] == str(issued.invite.id)
    again = await _invite(db, admin, email)  # the address can be invited again
    assert await _state_of(db, again.token) is InviteState.PENDING


async def test_an_admin_reaches_only_the_invites_of_their_company(
    factory: Factory, db: Database
) -> None:
    admin = await _admin(factory)
    stranger = await _admin(factory)
    issued = await _invite(db, admin, _email())

    with pytest.raises(NotFound):
        async with db.service_session() as session:
            await invites.resend_invite(session, stranger, issued.invite.id, ttl=TTL)
    with pytest.raises(NotFound):
        async with db.service_session() as session:
            await invites.revoke_invite(session, stranger, issued.invite.id)
    assert await _state_of(db, issued.token) is InviteState.PENDING


async def test_an_email_already_taken_is_refused(factory: Factory, db: Database) -> None:
    admin = await _admin(factory)
    colleague = await factory.user(admin.company_id, Role.OPERATOR)
    with pytest.raises(Conflict):
        await _invite(db, admin, colleague.email)


async def test_the_invitation_email_reaches_a_real_smtp_server(settings: Settings) -> None:
    with smtp_server() as inbox:
        configured = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "smtp_security": "none"}
        )
        message = mail.invite_message(
            configured,
            to="bia@exemplo.com.br",
            name="Bia",
            company="Loja <Azul>",
            link="http://zapcrm.test/panel/invite/abc",
            expires_at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
            timezone="America/Sao_Paulo",
        )
        assert await mail.send(configured, message) is True

    ((recipients, received),) = inbox.messages
    assert recipients == ["bia@exemplo.com.br"]
    assert received["Subject"] == "Convite para o atendimento de Loja <Azul>"
    body = received.get_payload(decode=True)
    assert isinstance(body, bytes)
    text_body = body.decode()
    assert "http://zapcrm.test/panel/invite/abc" in text_body
    assert "01/12/2026 às 12:00" in text_body  # in the company's time zone


async def test_an_unreachable_smtp_server_is_reported_not_raised(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_security": "none"}
    )
    message = mail.invite_message(
        configured,
        to="bia@exemplo.com.br",
        name="",
        company="Loja",
        link="http://x/panel/invite/abc",
        expires_at=datetime.now(UTC),
        timezone="UTC",
    )
    assert await mail.send(configured, message) is False
    assert await mail.send(settings, message) is False  # no SMTP_HOST: nothing is tried
