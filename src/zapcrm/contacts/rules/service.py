"""List rules: manage them (supervisors and admins) and apply them to new, changed and imported
contacts.

Callers own the transaction. Rules apply inside the transaction that creates the contacts (the
API, the bulk endpoint, `contacts.identity.resolve_peer` meeting a new WhatsApp number),
changes one (`contacts.service.update_contact`: only the rules the change made it match, so a
contact taken off a list by hand is not put back by an unrelated edit) or finishes the import
(the worker, as the service role), set-wise: one `INSERT ... SELECT` per active rule over the
contacts of that operation. Tagging a selection in bulk is a person's deliberate act on that
selection and applies no rule (the selection can be added to a list directly). A rule whose
filter no longer compiles (a custom attribute it names was deleted) is skipped and logged; it
never stops the contacts from being saved.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from zapcrm.accounts.audit import audit_action
from zapcrm.auth.identity import Identity
from zapcrm.contacts.query import repository as query_repository
from zapcrm.contacts.query import service as query_service
from zapcrm.contacts.query.filters import compile_filter
from zapcrm.contacts.rules import repository
from zapcrm.contacts.rules.schemas import ListRuleIn, ListRuleOut, ListRulePatch
from zapcrm.exceptions import NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.logging import get_logger
from zapcrm.models import ListRule

__all__ = [
    "ContactEdit",
    "apply_to_contacts",
    "apply_to_import",
    "before_edit",
    "create_rule",
    "delete_rule",
    "get_rule",
    "list_rules",
    "update_rule",
]

log = get_logger(__name__)

# An active rule and its filter compiled for the company (None: it restricts nothing).
CompiledRule = tuple[ListRule, ColumnElement[bool] | None]


async def list_rules(
    session: AsyncSession, identity: Identity, segment_id: uuid.UUID | None = None
) -> list[ListRuleOut]:
    """The company's rules, or one list's."""
    rules = await repository.list_rules(session, identity.company_id, segment_id)
    return [ListRuleOut.model_validate(rule) for rule in rules]


async def get_rule(session: AsyncSession, identity: Identity, rule_id: uuid.UUID) -> ListRuleOut:
    """One rule (NotFound for another company's)."""
    return ListRuleOut.model_validate(await _rule(session, identity, rule_id))


async def create_rule(
    session: AsyncSession, identity: Identity, body: ListRuleIn, *, now: datetime | None = None
) -> ListRuleOut:
    """Save a rule for a static list; its filter is validated now, not when it first runs."""
    segment = await query_repository.get_segment(session, identity.company_id, body.segment_id)
    if segment is None:
        raise NotFound(N_("lista não encontrada"))
    if segment.kind != "static":
        raise ValidationFailed(
            N_("uma regra só preenche listas estáticas; um segmento dinâmico já segue seu filtro"),
            fields=[{"field": "segment_id", "message": N_("escolha uma lista estática")}],
        )
    saved = await query_service.saved_filter(session, identity.company_id, body.filter, now)
    rule = await repository.insert_rule(
        session,
        {
            "company_id": identity.company_id,
            "segment_id": segment.id,
            "name": body.name,
            "filter": saved,
            "active": body.active,
            "created_by": identity.user_id,
        },
    )
    await _audit(session, identity, "list_rule.created", rule)
    return ListRuleOut.model_validate(rule)


async def update_rule(
    session: AsyncSession,
    identity: Identity,
    rule_id: uuid.UUID,
    patch: ListRulePatch,
    *,
    now: datetime | None = None,
) -> ListRuleOut:
    """Rename, switch on or off, or replace the filter of a rule."""
    rule = await _rule(session, identity, rule_id)
    # A null leaves the field as it is: a rule that matches everyone is asked for with {}.
    changes = patch.model_dump(exclude_unset=True)
    values: dict[str, Any] = {key: value for key, value in changes.items() if value is not None}
    if "filter" in values:
        values["filter"] = await query_service.saved_filter(
            session, identity.company_id, values["filter"], now
        )
    if not values:
        return ListRuleOut.model_validate(rule)
    updated = await repository.update_rule(session, identity.company_id, rule_id, values)
    if updated is None:
        raise NotFound(N_("regra não encontrada"))
    await _audit(session, identity, "list_rule.updated", updated, changed=sorted(values))
    return ListRuleOut.model_validate(updated)


async def delete_rule(session: AsyncSession, identity: Identity, rule_id: uuid.UUID) -> None:
    """Delete a rule; the contacts it put on its list stay there."""
    rule = await _rule(session, identity, rule_id)
    if not await repository.delete_rule(session, identity.company_id, rule_id):
        raise NotFound(N_("regra não encontrada"))
    await _audit(session, identity, "list_rule.deleted", rule)


async def apply_to_contacts(
    session: AsyncSession,
    company_id: uuid.UUID,
    contact_ids: Sequence[uuid.UUID],
    *,
    now: datetime | None = None,
) -> int:
    """Put these just created contacts on the lists whose rules they match."""
    if not contact_ids:
        return 0
    rules = await _compiled_rules(session, company_id, now)
    return await _add(session, company_id, repository.by_ids(contact_ids), rules)


@dataclass(frozen=True)
class ContactEdit:
    """One contact's standing with the rules, read before an edit (`before_edit`) and applied
    after it (`apply`), with the rules read and compiled once for both."""

    company_id: uuid.UUID
    contact_id: uuid.UUID
    rules: list[CompiledRule]
    matched: frozenset[uuid.UUID]

    async def apply(self, session: AsyncSession) -> int:
        """Put the contact on the lists of the rules the edit made it match."""
        entered = [entry for entry in self.rules if entry[0].id not in self.matched]
        return await _add(session, self.company_id, repository.by_ids([self.contact_id]), entered)


async def before_edit(
    session: AsyncSession,
    company_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    now: datetime | None = None,
) -> ContactEdit:
    """The active rules one contact matches as it is now, to be applied after the edit."""
    rules = await _compiled_rules(session, company_id, now)
    scope = repository.by_ids([contact_id])
    matched = frozenset(
        [
            rule.id
            for rule, condition in rules
            if await repository.matches(session, company_id, scope, condition)
        ]
    )
    return ContactEdit(company_id, contact_id, rules, matched)


async def apply_to_import(
    session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID, *, now: datetime | None = None
) -> int:
    """Put the contacts an import job created or changed on the lists whose rules they match."""
    rules = await _compiled_rules(session, company_id, now)
    return await _add(session, company_id, repository.imported_by(company_id, job_id), rules)


async def _add(
    session: AsyncSession,
    company_id: uuid.UUID,
    scope: ColumnElement[bool],
    rules: Sequence[CompiledRule],
) -> int:
    added = 0
    for rule, condition in rules:
        joined = await repository.add_matching(
            session, company_id, rule.segment_id, scope, condition
        )
        if joined:
            log.info("list_rule.applied", rule_id=str(rule.id), added=joined)
        added += joined
    return added


async def _compiled_rules(
    session: AsyncSession, company_id: uuid.UUID, now: datetime | None
) -> list[CompiledRule]:
    """The active rules with their compiled filters; one whose filter no longer compiles (a
    custom attribute it names was deleted) is left out and logged."""
    rules = await repository.active_rules(session, company_id)
    if not rules:
        return []  # the usual case costs one indexed read
    context = await query_service.filter_context(
        session, company_id, now, *(rule.filter for rule in rules)
    )
    compiled = []
    for rule in rules:
        try:
            condition = compile_filter(rule.filter, context, path="rule.filter")
        except ValidationFailed as error:
            log.warning("list_rule.skipped", rule_id=str(rule.id), reason=error.message)
            continue
        compiled.append((rule, condition))
    return compiled


async def _rule(session: AsyncSession, identity: Identity, rule_id: uuid.UUID) -> ListRule:
    rule = await repository.get_rule(session, identity.company_id, rule_id)
    if rule is None:
        raise NotFound(N_("regra não encontrada"))
    return rule


async def _audit(
    session: AsyncSession, identity: Identity, action: str, rule: ListRule, **extra: Any
) -> None:
    await audit_action(
        session,
        identity,
        action,
        "list_rule",
        rule.id,
        {"name": rule.name, "segment_id": str(rule.segment_id), **extra},
    )
