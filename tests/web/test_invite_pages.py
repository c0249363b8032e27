"""Invitations in the panel (issue 6): the admin invites from the users page and always gets
the link to copy (and the e-mail goes out when SMTP is set); the invitee opens the link, sets a
password and is signed in; used, expired, revoked and unknown links say so; resend replaces the
link; every form carries CSRF; inputs are limited in size and rate; output is escaped."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.smtp import smtp_server
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.runtime import Runtime

LINK = re.compile(r'id="invite-link" type="text" readonly value="([^"]+)"')
FORM_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "senha-do-convite-1"


def _runtime(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


async def _admin_browser(new_browser: Browser, factory: Factory) -> tuple[httpx.AsyncClient, str]:
    company = await factory.company()
    http = await new_browser()
    csrf = await panel_login(http, await factory.user(company, Role.ADMIN))
    return http, csrf


async def _invite(
    http: httpx.AsyncClient, csrf: str, email: str, name: str = "Bia Souza"
) -> tuple[httpx.Response, str]:
    response = await http.post(
        "/panel/admin/invites",
        data={"csrf_token": csrf, "email": email, "display_name": name, "role": "supervisor"},
    )
    match = LINK.search(response.text)
    return response, match.group(1) if match else ""


def _path(link: str) -> str:
    return link.removeprefix("http://127.0.0.1:8000")


def _email() -> str:
    return f"convite-{uuid.uuid4().hex[:8]}@exemplo.com.br"


async def _accept(http: httpx.AsyncClient, link: str, password: str = PASSWORD) -> httpx.Response:
    form = await http.get(_path(link))
    assert form.status_code == 200, form.text
    match = FORM_CSRF.search(form.text)
    assert match
    return await http.post(
        _path(link),
        data={"csrf_token": match.group(1), "password": password, "confirm": password},
    )


async def test_an_admin_invites_and_the_invitee_joins_signed_in(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf = await _admin_browser(new_browser, factory)
    email = _email()

    invited, link = await _invite(http, csrf, email, name="<b>Bia</b>")

    assert invited.status_code == 201, invited.text
    assert link.startswith("http://127.0.0.1:8000/panel/invite/")
    assert "O envio de e-mails não está configurado" in invited.text
    assert "&lt;b&gt;Bia&lt;/b&gt;" in invited.text
    assert "<b>Bia</b>" not in invited.text
    assert 'id="pending-invites"' in invited.text
    assert "Convite pendente" in invited.text
    page = await http.get("/panel/admin/users")
    assert email in page.text
    assert LINK.search(page.text) is None  # the link is shown once, never stored

    guest = await new_browser()
    form = await guest.get(_path(link))
    assert form.status_code == 200
    assert form.headers["referrer-policy"] == "strict-origin"
    assert email in form.text
    token = FORM_CSRF.search(form.text)
    assert token
    mismatch = await guest.post(
        _path(link),
        data={"csrf_token": token.group(1), "password": PASSWORD, "confirm": "outra-senha-1"},
    )
    assert mismatch.status_code == 422
    assert "As senhas não são iguais." in mismatch.text
    token = FORM_CSRF.search(mismatch.text)  # each form carries a fresh token
    assert token
    short = await guest.post(
        _path(link), data={"csrf_token": token.group(1), "password": "curta", "confirm": "curta"}
    )
    assert short.status_code == 422
    assert "A senha precisa de 8 a 72 caracteres." in short.text

    joined = await _accept(guest, link)

    assert joined.status_code == 303
    assert joined.headers["location"] == "/panel/"
    assert (await guest.get("/panel/inbox")).status_code == 200
    (profile,) = await rows(db, f"select role, active from profiles where email = '{email}'")
    assert (profile["role"], profile["active"]) == ("supervisor", True)
    again = await (await new_browser()).get(_path(link))
    assert again.status_code == 410
    assert "Este convite já foi usado." in again.text
    after = await http.get("/panel/admin/users")
    assert 'id="pending-invites"' not in after.text


async def test_the_invitee_form_needs_its_csrf_cookie(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf = await _admin_browser(new_browser, factory)
    email = _email()
    _, link = await _invite(http, csrf, email)

    forged = await (await new_browser()).post(
        _path(link), data={"csrf_token": "x", "password": PASSWORD, "confirm": PASSWORD}
    )

    assert forged.status_code == 403
    (profile,) = await rows(db, f"select active from profiles where email = '{email}'")
    assert profile["active"] is False


async def test_admin_forms_need_the_session_csrf_and_the_admin_role(
    new_browser: Browser, factory: Factory
) -> None:
    http, _ = await _admin_browser(new_browser, factory)
    refused, _ = await _invite(http, "wrong", _email())
    assert refused.status_code == 403
    company = await factory.company()
    for role in (Role.OPERATOR, Role.SUPERVISOR):
        other = await new_browser()
        csrf = await panel_login(other, await factory.user(company, role))
        denied, link = await _invite(other, csrf, _email())
        assert denied.status_code == 404
        assert link == ""


async def test_expired_revoked_and_unknown_links_say_so_and_resend_replaces_the_link(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf = await _admin_browser(new_browser, factory)
    _, link = await _invite(http, csrf, _email())
    invite_id = str(
        (await rows(db, "select id from user_invites order by created_at desc limit 1"))[0]["id"]
    )
    async with db.service_session() as session:
        await session.execute(
            text("update user_invites set expires_at = now() - interval '1 hour' where id = :i"),
            {"i": invite_id},
        )
    guest = await new_browser()
    expired = await guest.get(_path(link))
    assert expired.status_code == 410
    assert "Este convite expirou." in expired.text
    assert "Expirado" in (await http.get("/panel/admin/users")).text

    resent = await http.post(f"/panel/admin/invites/{invite_id}/resend", data={"csrf_token": csrf})
    assert resent.status_code == 200, resent.text
    fresh = LINK.search(resent.text)
    assert fresh
    assert fresh.group(1) != link
    unknown = await guest.get(_path(link))
    assert unknown.status_code == 404
    assert "Este link de convite não é válido." in unknown.text
    assert (await guest.get(_path(fresh.group(1)))).status_code == 200

    revoked = await http.post(f"/panel/admin/invites/{invite_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/panel/admin/users?ok=revoked"
    gone = await guest.get(_path(fresh.group(1)))
    assert gone.status_code == 410
    assert "Este convite foi cancelado." in gone.text
    actions = await rows(
        db,
        "select action from audit_log where details->>'invite_id' = "
        f"'{invite_id}' order by created_at, id",
    )
    assert [row["action"] for row in actions] == [
        "user.invited",
        "user.invite_resent",
        "user.invite_revoked",
    ]


async def test_inviting_an_address_invited_already_points_to_resend(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf = await _admin_browser(new_browser, factory)
    email = _email()
    first, _ = await _invite(http, csrf, email)
    assert first.status_code == 201
    again, link = await _invite(http, csrf, email.upper(), name="Bia de Novo")
    assert again.status_code == 409
    assert not link
    assert (
        '<p class="alert" role="alert">Este e-mail já tem um convite pendente: use “Reenviar”'
        " na lista de convites</p>"
    ) in again.text
    assert "já existe um usuário com este e-mail" not in again.text
    assert 'value="Bia de Novo"' in again.text
    # A login that is a colleague's, not an invitation, still says so.
    colleague = await http.post(
        "/panel/admin/users",
        data={"csrf_token": csrf, "email": _email().replace("convite", "colega"),
              "display_name": "Caio", "password": "senha-forte-123"},
    )  # fmt: skip
    assert colleague.status_code == 303
    [caio] = await rows(db, "select email from profiles where display_name = 'Caio'")
    taken, _ = await _invite(http, csrf, caio["email"])
    assert taken.status_code == 409
    assert "Já existe um usuário com este e-mail" in taken.text


async def test_cancelling_from_the_page_asks_first_and_then_reloads_it(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf = await _admin_browser(new_browser, factory)
    email = _email()
    await _invite(http, csrf, email)
    [invite] = await rows(db, "select id from user_invites where email = :e", e=email)
    page = (await http.get("/panel/admin/users")).text
    assert (
        f'hx-post="/panel/admin/invites/{invite["id"]}/revoke" hx-confirm="Cancelar o convite de'
        f' {email}? O link enviado deixa de funcionar."'
    ) in page
    revoked = await http.post(
        f"/panel/admin/invites/{invite['id']}/revoke",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert revoked.status_code == 204
    assert revoked.headers["HX-Redirect"] == "/panel/admin/users?ok=revoked"


async def test_with_smtp_the_invitee_gets_the_same_link_by_email(
    new_browser: Browser, factory: Factory, panel_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = _runtime(panel_app)
    http, csrf = await _admin_browser(new_browser, factory)
    email = _email()
    with smtp_server() as inbox:
        monkeypatch.setattr(
            runtime,
            "settings",
            runtime.settings.model_copy(
                update={"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "smtp_security": "none"}
            ),
        )
        invited, link = await _invite(http, csrf, email)

    assert invited.status_code == 201
    assert "Convite enviado por e-mail para" in invited.text
    ((recipients, message),) = inbox.messages
    assert recipients == [email]
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert link in body.decode()


async def test_invites_and_password_attempts_are_rate_limited(
    new_browser: Browser, factory: Factory, panel_app: FastAPI, db: Database
) -> None:
    runtime = _runtime(panel_app)
    http, csrf = await _admin_browser(new_browser, factory)
    _, link = await _invite(http, csrf, _email())
    company_id = (await rows(db, "select company_id from user_invites order by created_at desc"))[
        0
    ]["company_id"]
    await runtime.redis.set(f"invites:company:{company_id}", 30, ex=60)
    limited, _ = await _invite(http, csrf, _email())
    assert limited.status_code == 429
    assert "Muitos convites em pouco tempo" in limited.text

    key = "invites:accept:127.0.0.1"
    await runtime.redis.set(key, 1000, ex=60)
    try:
        blocked = await _accept(await new_browser(), link)
    finally:
        await runtime.redis.delete(key)
    assert blocked.status_code == 429
    assert "Muitas tentativas." in blocked.text


async def test_oversized_fields_are_refused(new_browser: Browser, factory: Factory) -> None:
    http, csrf = await _admin_browser(new_browser, factory)
    response, _ = await _invite(http, csrf, "a" * 250 + "@exemplo.com.br")
    assert response.status_code == 422
    too_long = await http.get("/panel/invite/" + "x" * 200)
    assert too_long.status_code == 404


async def test_the_invite_pages_speak_english_in_the_english_panel(
    new_browser: Browser, factory: Factory
) -> None:
    http, csrf = await _admin_browser(new_browser, factory)
    http.cookies.set("zapcrm_lang", "en")
    invalid, _ = await _invite(http, csrf, "não é e-mail")
    assert invalid.status_code == 422
    assert "Check the e-mail and the role." in invalid.text
    invited, link = await _invite(http, csrf, _email())
    assert "E-mail sending is not set up." in invited.text
    guest = await new_browser()
    guest.cookies.set("zapcrm_lang", "en")
    form = await guest.get(_path(link))
    token = FORM_CSRF.search(form.text)
    assert token
    mismatch = await guest.post(
        _path(link),
        data={"csrf_token": token.group(1), "password": PASSWORD, "confirm": "outra-senha-1"},
    )
    assert "The passwords do not match." in mismatch.text
    token = FORM_CSRF.search(mismatch.text)
    assert token
    short = await guest.post(
        _path(link), data={"csrf_token": token.group(1), "password": "curta", "confirm": "curta"}
    )
    assert "The password needs 8 to 72 characters." in short.text
    unknown = await guest.get("/panel/invite/desconhecido")
    assert "This invitation link is not valid." in unknown.text
