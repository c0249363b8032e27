"""Company-defined contact attributes and funnel stages (admins manage; everyone reads)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.contacts.repository import attributes as repository
from zapcrm.contacts.schemas import (
    AttributeChange,
    AttributeIn,
    AttributeOut,
    DefinitionChange,
    StageIn,
    StageOut,
)
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.ordering import moved
from zapcrm.models import ContactAttribute, FunnelStage


async def list_attributes(session: AsyncSession, actor: Identity) -> list[AttributeOut]:
    """The company's custom attributes."""
    return [
        _attribute_out(row) for row in await repository.list_attributes(session, actor.company_id)
    ]


async def list_stages(session: AsyncSession, actor: Identity) -> list[StageOut]:
    """The company's funnel stages."""
    return [_stage_out(row) for row in await repository.list_stages(session, actor.company_id)]


async def create_attribute(
    session: AsyncSession, actor: Identity, data: AttributeIn
) -> AttributeOut:
    """Define a custom attribute; a list needs its options."""
    if data.type == "list" and not data.options:
        raise ValidationFailed(N_("um atributo de lista precisa de opções"))
    row = await _insert(
        session, ContactAttribute, {**data.model_dump(), "company_id": actor.company_id}
    )
    assert isinstance(row, ContactAttribute)
    return _attribute_out(row)


async def create_stage(session: AsyncSession, actor: Identity, data: StageIn) -> StageOut:
    """Add a funnel stage."""
    row = await _insert(session, FunnelStage, {**data.model_dump(), "company_id": actor.company_id})
    assert isinstance(row, FunnelStage)
    return _stage_out(row)


async def change_stage(
    session: AsyncSession, actor: Identity, stage_id: uuid.UUID, data: DefinitionChange
) -> StageOut:
    """Rename a funnel stage and/or move it to another place in the funnel."""
    stages = list(await repository.list_stages(session, actor.company_id))
    row = _change(stages, stage_id, data)
    assert isinstance(row, FunnelStage)
    await repository.save_definitions(session)
    return _stage_out(row)


async def change_attribute(
    session: AsyncSession, actor: Identity, attribute_id: uuid.UUID, data: AttributeChange
) -> AttributeOut:
    """Rename a custom attribute, move it, or replace a list attribute's options."""
    attributes = list(await repository.list_attributes(session, actor.company_id))
    row = _change(attributes, attribute_id, data)
    assert isinstance(row, ContactAttribute)
    if data.options is not None:
        options = list(dict.fromkeys(option.strip() for option in data.options if option.strip()))
        if row.type != "list":
            raise ValidationFailed.on_field("options", N_("só um campo do tipo lista tem opções"))
        if not options:
            raise ValidationFailed.on_field("options", N_("um atributo de lista precisa de opções"))
        row.options = options
    await repository.save_definitions(session)
    return _attribute_out(row)


def _change(
    rows: list[ContactAttribute] | list[FunnelStage],
    definition_id: uuid.UUID,
    data: DefinitionChange,
) -> ContactAttribute | FunnelStage:
    """Apply a new label and place to the definition among its siblings (in display order)."""
    ordered: list[ContactAttribute | FunnelStage] = list(rows)
    row = next((item for item in ordered if item.id == definition_id), None)
    if row is None:
        raise NotFound(N_("definição não encontrada"))
    if data.label is not None:
        label = " ".join(data.label.split())
        if not label and isinstance(row, FunnelStage):
            raise ValidationFailed.on_field("label", N_("dê um nome à etapa"))
        if not label:
            raise ValidationFailed.on_field("label", N_("dê um nome ao campo"))
        # Filters and imports accept a stage's name for its key, so two alike would be ambiguous.
        if any(item.label.casefold() == label.casefold() for item in ordered if item is not row):
            if isinstance(row, FunnelStage):
                raise Conflict(N_("já existe uma etapa chamada {label}", label=label))
            raise Conflict(N_("já existe um campo chamado {label}", label=label))
        row.label = label
    if data.position is not None:
        ordered = moved(ordered, row, data.position)
    # Positions renumbered 0..n-1 every time: older rows created at 0 get a place of their own.
    for place, item in enumerate(ordered):
        item.position = place
    return row


async def delete_definition(
    session: AsyncSession,
    actor: Identity,
    model: type[ContactAttribute] | type[FunnelStage],
    definition_id: uuid.UUID,
) -> None:
    """Remove an attribute or stage definition."""
    row = await repository.get_definition(session, model, actor.company_id, definition_id)
    if row is None:
        raise NotFound(N_("definição não encontrada"))
    await repository.remove_definition(session, row)


async def _insert(
    session: AsyncSession,
    model: type[ContactAttribute] | type[FunnelStage],
    values: dict[str, object],
) -> ContactAttribute | FunnelStage:
    try:
        async with session.begin_nested():
            return await repository.insert_definition(session, model, values)
    except IntegrityError:
        raise Conflict(N_("a chave {key} já existe", key=values["key"])) from None


def _attribute_out(row: ContactAttribute) -> AttributeOut:
    return AttributeOut(
        id=row.id,
        key=row.key,
        label=row.label,
        type=row.type,
        options=[str(option) for option in row.options],
        position=row.position,
    )


def _stage_out(row: FunnelStage) -> StageOut:
    return StageOut(id=row.id, key=row.key, label=row.label, position=row.position)


__all__: Sequence[str] = (
    "change_attribute",
    "change_stage",
    "create_attribute",
    "create_stage",
    "delete_definition",
    "list_attributes",
    "list_stages",
)
