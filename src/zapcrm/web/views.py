"""What the inbox pages show, built from the messaging services' outputs.

Kept apart from the page handlers so the live-event stream renders rows and bubbles with
exactly the same data and templates as the pages themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import service as accounts_service
from zapcrm.auth.identity import Identity
from zapcrm.contacts.query.search import parse_search, phone_found
from zapcrm.departments import service as departments_service
from zapcrm.exceptions import ValidationFailed
from zapcrm.kit.folding import fold
from zapcrm.kit.ids import uuid_or_none
from zapcrm.kit.name_search import allows_typo, matches_literally, name_words
from zapcrm.kit.zones import zone_or_default
from zapcrm.messaging.schemas import ConversationOut, MessageOut, NoteOut
from zapcrm.models import Profile
from zapcrm.web.i18n import N_
from zapcrm.web.templating import company_zone, local

Tab = Literal["mine", "unassigned", "all"]
Status = Literal["open", "pending", "closed"]
STATUSES: tuple[Status, ...] = ("open", "pending", "closed")


@dataclass(frozen=True)
class InboxFilter:
    """The inbox tab, status and search the user is looking at."""

    tab: Tab = "mine"
    status: Status = "open"
    q: str = ""
    instance: uuid.UUID | None = None
    department: uuid.UUID | None = None
    # Of the chats nobody has, the departments whose ones this reader takes (empty: all):
    # messaging.service.inbox.waiting_scope; the live stream sets it for rows arriving live.
    scope: frozenset[uuid.UUID] = frozenset()
    # How the company writes numbers (its default phone region), which the search reads digits
    # by: the live stream sets it with the scope.
    region: str = "BR"

    def outside_scope(self, conversation: ConversationOut) -> bool:
        """A chat waiting in a department whose waiting chats this reader does not take
        (the SQL twin: the conversations' policy, migration 0038)."""
        department = conversation.department_id
        waiting = conversation.assignee_id is None and department is not None
        return waiting and bool(self.scope) and department not in self.scope

    def offers(self, department_id: uuid.UUID) -> bool:
        """Whether the department filter lists this department: in "Não atribuídas" an operator
        only sees the waiting chats of their own departments, so the others would list nothing."""
        if self.tab != "unassigned" or not self.scope or department_id == self.department:
            return True
        return department_id in self.scope

    @classmethod
    def parse(
        cls,
        tab: str | None,
        status: str | None,
        q: str | None,
        *,
        may_see_all: bool,
        instance: str | None = None,
        department: str | None = None,
    ) -> InboxFilter:
        """Sanitise query parameters (unknown values fall back to the defaults)."""
        chosen_tab: Tab = "mine"
        if tab == "unassigned":
            chosen_tab = "unassigned"
        elif tab == "all" and may_see_all:
            chosen_tab = "all"
        chosen_status: Status = "open"
        if status == "pending":
            chosen_status = "pending"
        elif status == "closed":
            chosen_status = "closed"
        return cls(
            tab=chosen_tab,
            status=chosen_status,
            q=(q or "").strip()[:100],
            instance=uuid_or_none(instance),
            department=uuid_or_none(department),
        )

    def query(self, **changes: str) -> str:
        """The query string of this filter with some values changed."""
        values = {
            "tab": self.tab,
            "status": self.status,
            "q": self.q,
            "instance": str(self.instance) if self.instance else "",
            "department": str(self.department) if self.department else "",
            **changes,
        }
        return urlencode({key: value for key, value in values.items() if value})

    def admits(
        self,
        conversation: ConversationOut,
        user_id: uuid.UUID,
        similar: Mapping[str, bool] | None = None,
    ) -> bool:
        """Whether a conversation belongs in this list (for rows arriving live); `similar`
        holds Postgres's verdicts on the texts `typo_questions` named."""
        if not self._listed(conversation, user_id):
            return False
        return not self.q or self._found(conversation, similar or {})

    def typo_questions(self, conversation: ConversationOut, user_id: uuid.UUID) -> list[str]:
        """The chat's contact name or group subject that only Postgres can tell the search finds
        (a word of 4+ letters not in it as typed may be there with a typo); none when the
        chat's place in the list is decided without them."""
        if not self.q or self._digits_found(conversation):
            return []
        if not self._listed(conversation, user_id):
            return []
        verdicts = self._words_found(conversation)
        if any(verdict is True for _, verdict in verdicts):
            return []
        return [text for text, verdict in verdicts if verdict is None]

    def _listed(self, conversation: ConversationOut, user_id: uuid.UUID) -> bool:
        """Everything `admits` asks but the search."""
        if conversation.status != self.status:
            return False
        if self.instance is not None and conversation.instance_id != self.instance:
            return False
        if self.tab == "mine" and conversation.assignee_id != user_id:
            return False
        if self.tab == "unassigned" and conversation.assignee_id is not None:
            return False
        if self.department is not None and conversation.department_id != self.department:
            return False
        return not (self.tab == "unassigned" and self.outside_scope(conversation))

    def _found(self, conversation: ConversationOut, similar: Mapping[str, bool]) -> bool:
        """The list's search (messaging/repository/inbox.py `_search_clause`) for one chat: a
        live row the list would not find stays out of it, and one it finds is not taken out.

        Words as typed are compared here (fold() is app.search_text() for what people type).
        A word found only with a typo is pg_trgm's strict word similarity: its trigrams, word
        bounds and threshold (a setting) would be a second implementation to keep in step, so
        Postgres judges those texts with the list's own clause (`similar`, filled by the live
        stream through inbox.search_finds before it draws the row); one not judged is not found.
        """
        if self._digits_found(conversation):
            return True
        return any(
            verdict is True or (verdict is None and similar.get(text, False))
            for text, verdict in self._words_found(conversation)
        )

    def _words_found(self, conversation: ConversationOut) -> list[tuple[str, bool | None]]:
        """The chat's contact name and group subject, each with whether every word typed is in
        it: True as typed, False not (a word missing is too short for a typo), None maybe with
        a typo."""
        words = name_words(self.q)
        name = conversation.contact.name if conversation.contact else None
        verdicts: list[tuple[str, bool | None]] = []
        for text in (name, conversation.subject):
            if text is None or not words:
                continue
            folded = fold(text)
            missing = [word for word in words if not matches_literally(word, folded)]
            if not missing:
                verdicts.append((text, True))
            else:
                verdicts.append((text, None if all(map(allows_typo, missing)) else False))
        return verdicts

    def _digits_found(self, conversation: ConversationOut) -> bool:
        """3+ digits anywhere in the chat's JID, or read as a number in the contact's phone
        (the list's `_contacts_with_number`)."""
        digits = "".join(ch for ch in self.q if ch.isdigit())
        if len(digits) < 3:
            return False
        if digits in conversation.remote_jid:
            return True
        term = parse_search(digits, self.region)
        phone = conversation.contact.phone_e164 if conversation.contact else None
        return term is not None and phone_found(term, phone)


@dataclass(frozen=True)
class Agents:
    """The company's users by id, for assignee names and the transfer menu, and its
    departments in menu order, for the department menu and filter."""

    by_id: Mapping[uuid.UUID, str]
    active: Sequence[tuple[uuid.UUID, str]]
    departments: Sequence[tuple[uuid.UUID, str]] = ()

    @classmethod
    def of(
        cls, profiles: Iterable[Profile], departments: Sequence[tuple[uuid.UUID, str]] = ()
    ) -> Agents:
        """Names of every user, and the active ones in name order."""
        profiles = list(profiles)
        by_id = {profile.id: profile.display_name or profile.email for profile in profiles}
        active = sorted(
            ((p.id, by_id[p.id]) for p in profiles if p.active), key=lambda item: item[1].lower()
        )
        return cls(by_id=by_id, active=active, departments=departments)

    @classmethod
    async def load(cls, session: AsyncSession, identity: Identity) -> Agents:
        """The names of the caller's company's users, and its departments."""
        departments = await departments_service.list_departments(session, identity)
        return cls.of(
            await accounts_service.list_users(session, identity.company_id),
            [(department.id, department.name) for department in departments],
        )

    def knows(self, user_id: str) -> bool:
        """Whether this user id (as a live event carries it) has a name here."""
        try:
            return uuid.UUID(user_id) in self.by_id
        except ValueError:
            return True  # not an id at all: loading the names again would not help

    def name(self, user_id: uuid.UUID | str | None) -> str:
        """The display name of an assignee (empty when unassigned); a text id is how JSON
        details (a timeline's) carry it."""
        if user_id is None:
            return ""
        key = uuid_or_none(user_id)
        return self.by_id.get(key, "—") if key else "—"


ChatItem = MessageOut | NoteOut


@dataclass
class DayGroup:
    """The messages and private notes of one calendar day (company time zone), oldest first."""

    day: date
    messages: list[ChatItem] = field(default_factory=list)


def company_moment(typed: str) -> datetime:
    """A `datetime-local` field's value read on the company's clock (an offset, if the value
    has one, wins); 422 with a clear reason when it is not a date and time."""
    try:
        moment = datetime.fromisoformat(typed)
    except ValueError:
        raise ValidationFailed(N_("data e hora inválidas")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_or_default(company_zone()))
    return moment


def optional_uuid(
    value: str | None, message: str = N_("identificador inválido")
) -> uuid.UUID | None:
    """An id typed into a form field: empty means none, anything unreadable is a 422."""
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationFailed(message) from None


def _when(item: ChatItem) -> datetime:
    return item.message_timestamp if isinstance(item, MessageOut) else item.created_at


def group_by_day(
    messages_newest_first: Sequence[MessageOut],
    timezone: str,
    notes: Sequence[NoteOut] = (),
    *,
    has_older: bool = False,
) -> list[DayGroup]:
    """Chat order (oldest first) split into days, with the notes written in the same span.

    A note belongs to this page when it is not older than the page's oldest message (or to
    any time when nothing older exists). An older page is given only the notes written before
    the message the chat already shows from (pages/inbox/chat.py `_page_notes`).
    """
    items: list[ChatItem] = list(messages_newest_first)
    if messages_newest_first:
        oldest = messages_newest_first[-1].message_timestamp
        items += [note for note in notes if not has_older or note.created_at >= oldest]
    elif not has_older:
        items += list(notes)
    groups: list[DayGroup] = []
    for item in sorted(items, key=_when):
        moment = local(_when(item), timezone)
        assert moment is not None
        if not groups or groups[-1].day != moment.date():
            groups.append(DayGroup(day=moment.date()))
        groups[-1].messages.append(item)
    return groups
