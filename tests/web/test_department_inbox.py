"""Departments in the inbox: a chat's department on its row and in its header, sending it to
a department from the header, the department filter, and operators who work in departments
waiting only on theirs (and on chats in none)."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.conftest import Factory, login
from tests.evolution.harness import rows
from tests.web.conftest import Browser, customer_writes, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.messaging.schemas import ConversationOut
from zapcrm.models import Role
from zapcrm.web.views import InboxFilter


async def test_operators_wait_on_their_departments_and_route_chats_from_the_header(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="Sem setor ainda")
    company = chat.instance.company_id
    admin = await login(client, await factory.user(company, Role.ADMIN))
    seller = await factory.user(company, Role.OPERATOR)
    generalist = await factory.user(company, Role.OPERATOR)
    sales = await client.post(
        "/api/departments",
        json={"name": "Vendas <b>", "member_ids": [str(seller.id)]},
        headers=admin,
    )
    support = await client.post("/api/departments", json={"name": "Suporte"}, headers=admin)
    support_chat = await customer_writes(
        client, db, chat.instance, text_body="Meu pedido veio quebrado", phone="5511987650009"
    )
    await client.post(
        f"/api/conversations/{support_chat}/department",
        json={"department_id": support.json()["id"]},
        headers=admin,
    )

    http = await new_browser()
    csrf = await panel_login(http, seller)
    # The seller's queue: the chat in no department, not Support's; the count agrees.
    queue = await http.get("/panel/inbox?tab=unassigned")
    assert f"conv-{chat.conversation_id}" in queue.text
    assert f"conv-{support_chat}" not in queue.text
    counts = await http.get("/panel/queue-counts")
    assert re.search(r'id="count-unassigned"[^>]*>\s*1\s*<', counts.text), counts.text
    home = await http.get("/panel/")
    assert "Sem setor ainda" in home.text
    assert "Meu pedido veio quebrado" not in home.text

    # From the header, the seller sends the first chat to Sales: row and header say so.
    header = await http.post(
        f"/panel/conversations/{chat.conversation_id}/department",
        data={"department": sales.json()["id"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert header.status_code == 200, header.text
    assert "Setor: <strong>Vendas &lt;b&gt;</strong>" in header.text
    [stored] = await rows(
        db,
        "select department_id, assignee_id from evolution_conversations where id = :id",
        id=chat.conversation_id,
    )
    assert stored == {"department_id": uuid.UUID(sales.json()["id"]), "assignee_id": None}
    queue = await http.get("/panel/inbox?tab=unassigned")
    assert '<span class="pill conv-department">Vendas &lt;b&gt;</span>' in queue.text
    # Their queue's department filter offers their department only (Support's would list
    # nothing); their own chats may be anywhere, so "Minhas" offers every department.
    assert _filter_options(queue.text) == ["Vendas &lt;b&gt;"]
    mine = await http.get("/panel/inbox?tab=mine")
    assert _filter_options(mine.text) == ["Vendas &lt;b&gt;", "Suporte"]

    # An operator in no department waits on every chat; the filter narrows to one department.
    other = await new_browser()
    await panel_login(other, generalist)
    everything = await other.get("/panel/inbox?tab=unassigned")
    assert f"conv-{support_chat}" in everything.text
    assert f"conv-{chat.conversation_id}" in everything.text
    only_support = await other.get(f"/panel/inbox?tab=unassigned&department={support.json()['id']}")
    assert f"conv-{support_chat}" in only_support.text
    assert f"conv-{chat.conversation_id}" not in only_support.text
    assert 'name="department"' in only_support.text
    assert _filter_options(only_support.text) == ["Vendas &lt;b&gt;", "Suporte"]

    # The seller sends the chat on to Support, where they do not work: the header says where
    # it went, and the chat (its page, its row) leaves the seller's sight (migration 0038).
    onward = await http.post(
        f"/panel/conversations/{chat.conversation_id}/department",
        data={"department": support.json()["id"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert onward.status_code == 200, onward.text
    # Its pane says where it went, instead of actions that could only fail now.
    assert onward.headers["HX-Retarget"] == ".chat-pane"
    assert onward.headers["HX-Push-Url"] == "/panel/inbox?tab=unassigned&status=open"
    assert "Conversa enviada ao setor Suporte" in onward.text
    assert "Assumir" not in onward.text
    gone = await http.get(f"/panel/inbox/{chat.conversation_id}")
    assert gone.status_code == 404
    queue = await http.get("/panel/inbox?tab=unassigned")
    assert f"conv-{chat.conversation_id}" not in queue.text


def _filter_options(page: str) -> list[str]:
    """The department names the inbox's department filter offers."""
    select = re.search(r'<select id="department".*?</select>', page, re.S)
    assert select is not None, page
    return re.findall(r'<option value="[0-9a-f-]{36}"[^>]*>([^<]*)</option>', select.group(0))


def test_a_live_row_follows_the_readers_departments() -> None:
    sales, support = uuid.uuid4(), uuid.uuid4()
    me = uuid.uuid4()

    def chat(department: uuid.UUID | None, assignee: uuid.UUID | None = None) -> ConversationOut:
        return ConversationOut.model_validate(
            {
                "id": uuid.uuid4(), "instance_id": uuid.uuid4(), "remote_jid": "x@s.whatsapp.net",
                "is_group": False, "subject": None, "status": "open", "assignee_id": assignee,
                "contact": None, "last_message_id": None, "last_message_preview": None,
                "last_message_at": None, "last_message_status": None,
                "last_message_from_me": False, "unread_count": 1,
                "updated_at": "2026-11-28T12:00:00+00:00", "department_id": department,
            }
        )  # fmt: skip

    queue = InboxFilter(tab="unassigned", scope=frozenset({sales}))
    assert queue.admits(chat(sales), me)
    assert queue.admits(chat(None), me)
    assert not queue.admits(chat(support), me)
    assert InboxFilter(tab="unassigned").admits(chat(support), me)  # in no department: all
    assert InboxFilter(tab="mine", scope=frozenset({sales})).admits(chat(support, me), me)
    assert not InboxFilter(tab="all", department=sales).admits(chat(support), me)


async def test_the_distribution_page_shows_who_works_in_which_department(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory)
    company = chat.instance.company_id
    admin_user = await factory.user(company, Role.ADMIN)
    admin = await login(client, admin_user)
    seller = await factory.user(company, Role.OPERATOR)
    await client.post(
        "/api/departments",
        json={"name": "Vendas & <Cia>", "member_ids": [str(seller.id)]},
        headers=admin,
    )
    http = await new_browser()
    await panel_login(http, admin_user)
    page = await http.get("/panel/admin/distribution")
    assert '<th scope="col">Setores</th>' in page.text
    assert '<span class="pill">Vendas &amp; &lt;Cia&gt;</span>' in page.text
    assert "Todos (sem setor)" in page.text  # the admin works in none
