"""Filter compiler: every field and operator against real rows, nesting, typed custom attributes,
validation errors with their paths, and hostile input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from tests.conftest import Factory
from tests.contacts.query.conftest import NOW, Tenant, add_contacts, add_definitions, new_tenant
from zapcrm.contacts.attributes import AttributeDef
from zapcrm.contacts.query import service
from zapcrm.contacts.query.filters import FIELDS, OPERATORS, FilterContext, compile_filter
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.db import Database
from zapcrm.exceptions import ValidationFailed


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


ATTRIBUTES = [
    ("cidade", "Cidade", "text", []),
    ("renda", "Renda", "number", []),
    ("aniversario", "Aniversário", "date", []),
    ("ativo", "Cliente ativo", "boolean", []),
    ("plano", "Plano", "list", ["basico", "pro", "premium"]),
]
DEFINITIONS = {
    key: AttributeDef(key, label, kind, tuple(options))  # type: ignore[arg-type]
    for key, label, kind, options in ATTRIBUTES
}
JOAO, MARIA, ANA, PEDRO, ZE, NAMELESS = (
    "João Silva",
    "Maria Souza",
    "Ana Lima",
    "Pedro Álvares",
    "Zé 100% _raro_",
    "",
)
EVERYONE = {JOAO, MARIA, ANA, PEDRO, ZE, NAMELESS}
PEOPLE: list[dict[str, Any]] = [
    {
        "name": JOAO,
        "phone_e164": "+5511987654321",
        "email": "joao.silva@exemplo.com.br",
        "tags": ["vip", "cliente"],
        "funnel_stage": "negociacao",
        "source": "whatsapp",
        "created_at": _at("2026-01-10T10:00:00+00:00"),
        "last_interaction_at": NOW - timedelta(days=1),
        "stage_since": NOW - timedelta(days=20),
        "custom_fields": {
            "cidade": "São Paulo",
            "renda": 5000,
            "aniversario": "1990-05-20",
            "ativo": True,
            "plano": "pro",
        },
    },
    {
        "name": MARIA,
        "phone_e164": "+5521912345678",
        "email": "maria@exemplo.com",
        "tags": ["cliente"],
        "funnel_stage": "novo",
        "source": "site",
        "opted_out": True,
        "created_at": _at("2026-03-01T12:00:00+00:00"),
        "last_interaction_at": NOW - timedelta(days=45),
        "stage_since": NOW - timedelta(days=2),
        "custom_fields": {
            "cidade": "Rio de Janeiro",
            "renda": 12000.5,
            "aniversario": "1985-12-01",
            "ativo": False,
            "plano": "premium",
        },
    },
    {"name": ANA, "created_at": _at("2026-06-10T12:00:00+00:00")},
    {
        "name": PEDRO,
        "phone_e164": "+551133334444",
        "email": "PEDRO@Exemplo.com",
        "tags": ["lead"],
        "funnel_stage": "ganho",
        "source": "Indicação",
        # 23:30 on New Year's Eve in São Paulo: already 2026 in UTC.
        "created_at": _at("2026-01-01T02:30:00+00:00"),
        "last_interaction_at": NOW - timedelta(hours=1),
        "custom_fields": {
            "cidade": "Curitiba",
            "renda": "não numérico",  # wrong JSON type left by some old import
            "aniversario": "2000-01-01",
            "ativo": True,
            "plano": "basico",
        },
    },
    {
        "name": ZE,
        "tags": ["vip"],
        "created_at": _at("2026-02-02T12:00:00+00:00"),
        "custom_fields": {"renda": 0},
    },
    {"name": NAMELESS, "phone_e164": "+5548999990000", "created_at": _at("2026-06-01T12:00:00Z")},
]

_ = object()  # "no value": the operator takes none
CASES: list[tuple[str, str, Any, set[str]]] = [
    ("name", "equals", "joao SILVA", {JOAO}),
    ("name", "not_equals", "João Silva", EVERYONE - {JOAO}),
    ("name", "contains", "silv", {JOAO}),
    ("name", "contains", "%", {ZE}),
    ("name", "contains", "_raro_", {ZE}),
    ("name", "not_contains", "silva", EVERYONE - {JOAO}),
    ("name", "starts_with", "mar", {MARIA}),
    ("name", "starts_with", "alvares", set()),
    ("name", "present", _, EVERYONE - {NAMELESS}),
    ("name", "absent", _, {NAMELESS}),
    ("phone", "equals", "(11) 98765-4321", {JOAO}),
    ("phone", "equals", "11 8765-4321", {JOAO}),  # the old 8-digit mobile form
    ("phone", "equals", "+55 11 3333-4444", {PEDRO}),
    ("phone", "not_equals", "11987654321", EVERYONE - {JOAO}),
    ("phone", "starts_with", "5511", {JOAO, PEDRO}),
    ("phone", "starts_with", "+55 (21)", {MARIA}),
    ("phone", "contains", "4321", {JOAO}),
    ("phone", "not_contains", "4321", EVERYONE - {JOAO}),
    ("phone", "present", _, {JOAO, MARIA, PEDRO, NAMELESS}),
    ("phone", "absent", _, {ANA, ZE}),
    ("email", "equals", "pedro@exemplo.COM", {PEDRO}),
    ("email", "not_equals", "maria@exemplo.com", EVERYONE - {MARIA}),
    ("email", "starts_with", "JOAO.", {JOAO}),
    ("email", "contains", "exemplo", {JOAO, MARIA, PEDRO}),
    ("email", "not_contains", "exemplo", {ANA, ZE, NAMELESS}),
    ("email", "absent", _, {ANA, ZE, NAMELESS}),
    ("email", "present", _, {JOAO, MARIA, PEDRO}),
    ("tags", "contains", "vip", {JOAO, ZE}),
    ("tags", "contains", ["vip", "cliente"], {JOAO}),
    ("tags", "contains", "VIP", {JOAO, ZE}),  # tags compare case-insensitively
    ("tags", "equals", ["Cliente", "VIP"], {JOAO}),
    ("tags", "not_contains", "vip", {MARIA, ANA, PEDRO, NAMELESS}),
    ("tags", "not_contains", ["vip", "lead"], {MARIA, ANA, NAMELESS}),
    ("tags", "equals", ["cliente", "vip"], {JOAO}),
    ("tags", "equals", "vip", {ZE}),
    ("tags", "not_equals", ["vip"], EVERYONE - {ZE}),
    ("tags", "present", _, {JOAO, MARIA, PEDRO, ZE}),
    ("tags", "absent", _, {ANA, NAMELESS}),
    ("stage", "equals", "novo", {MARIA}),
    ("stage", "equals", "Novo", {MARIA}),  # the label people read on the board
    ("stage", "equals", " NEGOCIACAO ", {JOAO}),  # any case, with or without accents
    ("stage", "not_equals", "novo", EVERYONE - {MARIA}),
    ("stage", "present", _, {JOAO, MARIA, PEDRO}),
    ("stage", "absent", _, {ANA, ZE, NAMELESS}),
    ("source", "equals", "indicacao", {PEDRO}),
    ("source", "contains", "APP", {JOAO}),
    ("source", "starts_with", "si", {MARIA}),
    ("source", "absent", _, {ANA, ZE, NAMELESS}),
    ("opt_out", "equals", True, {MARIA}),
    ("opt_out", "equals", False, EVERYONE - {MARIA}),
    ("opt_out", "not_equals", True, EVERYONE - {MARIA}),
    ("created_at", "gt", "2026-06-01", {ANA}),
    ("created_at", "gt", "2026-06-01T00:00:00Z", {ANA, NAMELESS}),
    ("created_at", "lt", "2026-01-01", {PEDRO}),  # a day in the company's time zone
    ("created_at", "equals", "31/12/2025", {PEDRO}),
    ("created_at", "not_equals", "2025-12-31", EVERYONE - {PEDRO}),
    ("created_at", "days_ago_less_than", 10, {ANA}),
    ("created_at", "days_ago_more_than", 150, {JOAO, PEDRO}),
    ("last_interaction_at", "days_ago_less_than", 2, {JOAO, PEDRO}),
    ("last_interaction_at", "days_ago_more_than", 30, {MARIA}),
    # In their stage for more than 14 days (the others entered theirs after NOW).
    ("stage_since", "days_ago_more_than", 14, {JOAO}),
    ("stage_since", "gt", "2026-06-10", EVERYONE - {JOAO}),
    ("last_interaction_at", "gt", "2026-06-14T11:00:00-03:00", {PEDRO}),
    ("last_interaction_at", "present", _, {JOAO, MARIA, PEDRO}),
    ("last_interaction_at", "absent", _, {ANA, ZE, NAMELESS}),
    ("custom.cidade", "equals", "sao paulo", {JOAO}),
    ("custom.cidade", "contains", "JANEIRO", {MARIA}),
    ("custom.cidade", "starts_with", "cur", {PEDRO}),
    ("custom.cidade", "not_contains", "o", {PEDRO, ANA, ZE, NAMELESS}),
    ("custom.cidade", "absent", _, {ANA, ZE, NAMELESS}),
    ("custom.renda", "gt", 10000, {MARIA}),
    ("custom.renda", "lt", "5.000,50", {JOAO, ZE}),  # typed the Brazilian way
    ("custom.renda", "equals", 0, {ZE}),
    ("custom.renda", "not_equals", 5000, EVERYONE - {JOAO}),
    ("custom.renda", "present", _, {JOAO, MARIA, ZE}),  # a string is not a number
    ("custom.aniversario", "lt", "1989-01-01", {MARIA}),
    ("custom.aniversario", "gt", "31/12/1999", {PEDRO}),
    ("custom.aniversario", "equals", "20/05/1990", {JOAO}),
    ("custom.aniversario", "days_ago_more_than", 365 * 30, {MARIA, JOAO}),
    ("custom.aniversario", "days_ago_less_than", 365 * 30, {PEDRO}),
    ("custom.ativo", "equals", True, {JOAO, PEDRO}),
    ("custom.ativo", "equals", "não", {MARIA}),
    ("custom.ativo", "not_equals", True, {MARIA, ANA, ZE, NAMELESS}),
    ("custom.ativo", "absent", _, {ANA, ZE, NAMELESS}),
    ("custom.plano", "equals", "pro", {JOAO}),
    ("custom.plano", "not_equals", "pro", EVERYONE - {JOAO}),
    ("custom.plano", "present", _, {JOAO, MARIA, PEDRO}),
]


@pytest.fixture(scope="module")
async def people(db: Database, factory: Factory) -> Tenant:
    """One company with six contacts covering every field, filled and empty."""
    tenant = await new_tenant(factory)
    await add_definitions(db, tenant, ATTRIBUTES, [("novo", "Novo"), ("negociacao", "Negociação")])
    await add_contacts(db, tenant, PEOPLE)
    return tenant


async def matching(
    db: Database, tenant: Tenant, filter_json: Any, q: str | None = None
) -> set[str]:
    """Names of the contacts a filter selects, through the service under RLS."""
    identity = tenant.identity()
    async with db.tenant_session(identity.claims) as session:
        page = await service.search_contacts(
            session,
            identity,
            ContactQuery(q=q, filter=filter_json),
            sort=None,
            cursor=None,
            limit=100,
            now=NOW,
        )
    return {item.name for item in page.items}


def condition(field: str, operator: str, value: Any = _) -> dict[str, Any]:
    """One filter condition; `_` leaves the value out."""
    item: dict[str, Any] = {"field": field, "operator": operator}
    if value is not _:
        item["value"] = value
    return item


def context() -> FilterContext:
    """The compile context of the test company, without a database."""
    return FilterContext(DEFINITIONS, NOW)


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    CASES,
    ids=[f"{field}-{operator}-{index}" for index, (field, operator, *_r) in enumerate(CASES)],
)
async def test_condition_selects_exactly_the_expected_contacts(
    db: Database, people: Tenant, field: str, operator: str, value: Any, expected: set[str]
) -> None:
    assert await matching(db, people, condition(field, operator, value)) == expected


def test_the_table_covers_every_field_and_operator() -> None:
    fields = {field.split(".")[0] for field, *_rest in CASES}
    assert set(FIELDS) | {"custom"} == fields
    assert set(OPERATORS) == {operator for _f, operator, *_rest in CASES}
    custom_kinds = {
        DEFINITIONS[field[7:]].type for field, *_r in CASES if field.startswith("custom.")
    }
    assert custom_kinds == {"text", "number", "date", "boolean", "list"}


async def test_nested_and_or_groups(db: Database, people: Tenant) -> None:
    vip_negotiating_or_opted_out = {
        "op": "or",
        "conditions": [
            {
                "op": "and",
                "conditions": [
                    condition("tags", "contains", "vip"),
                    condition("stage", "equals", "negociacao"),
                ],
            },
            condition("opt_out", "equals", True),
        ],
    }
    assert await matching(db, people, vip_negotiating_or_opted_out) == {JOAO, MARIA}
    five_levels = condition("tags", "contains", "vip")
    for _level in range(4):
        five_levels = {"op": "and", "conditions": [five_levels, condition("name", "present")]}
    assert await matching(db, people, five_levels) == {JOAO, ZE}
    # An empty group restricts nothing, at the top or nested.
    assert await matching(db, people, {"op": "or", "conditions": []}) == EVERYONE
    empty_inside = {"op": "and", "conditions": [{"op": "or", "conditions": []}]}
    assert await matching(db, people, empty_inside) == EVERYONE
    assert await matching(db, people, {}) == EVERYONE


async def test_search_box_and_filter_combine(db: Database, people: Tenant) -> None:
    assert await matching(db, people, condition("tags", "contains", "cliente"), q="silva") == {JOAO}
    assert await matching(db, people, condition("opt_out", "equals", True), q="silva") == set()


def _errors(filter_json: Any) -> list[dict[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        compile_filter(filter_json, context())
    fields: list[dict[str, str]] = caught.value.details["fields"]
    assert fields
    # The message names where the first problem is.
    assert fields[0]["field"] in caught.value.message
    return fields


@pytest.mark.parametrize(
    ("filter_json", "path", "words"),
    [
        (condition("idade", "equals", "1"), "filter.field", "campo desconhecido"),
        (condition("name", "like", "x"), "filter.operator", "operador desconhecido"),
        (condition("name", "gt", "x"), "filter.operator", "não se aplica"),
        (condition("tags", "starts_with", "v"), "filter.operator", "não se aplica"),
        (condition("opt_out", "equals", "sim"), "filter.value", "true ou false"),
        (condition("created_at", "days_ago_more_than", "dez"), "filter.value", "dias"),
        (condition("created_at", "days_ago_more_than", -1), "filter.value", "dias"),
        (condition("created_at", "gt", "ontem"), "filter.value", "data"),
        (condition("created_at", "equals", "9999-12-31"), "filter.value", "intervalo"),
        (condition("custom.renda", "gt", "muito"), "filter.value", "número"),
        (condition("custom.plano", "equals", "gold"), "filter.value", "fora da lista"),
        (condition("custom.aniversario", "lt", "31/02/2020"), "filter.value", "data"),
        (condition("custom.nao_existe", "equals", "x"), "filter.field", "não definido"),
        (condition("custom.cidade", "gt", "x"), "filter.operator", "não se aplica"),
        (condition("tags", "contains", 5), "filter.value", "etiqueta"),
        (condition("tags", "contains", []), "filter.value", "etiqueta"),
        (condition("name", "equals", "   "), "filter.value", "informe um valor"),
        (condition("name", "equals"), "filter.value", "informe um valor"),
        (condition("name", "present", "x"), "filter.value", "não leva valor"),
        (condition("phone", "equals", "12"), "filter.value", "telefone inválido"),
        (condition("phone", "contains", "abc"), "filter.value", "dígitos"),
        ({"op": "xor", "conditions": []}, "filter.op", "and ou or"),
        ({"op": "and", "conditions": {}}, "filter.conditions", "lista"),
        ({"op": "and", "conditions": [1]}, "filter.conditions[0]", "grupo"),
        ({"field": "name", "operator": "equals", "value": "x", "sql": "1"}, "filter", "chaves"),
        (
            {
                "op": "and",
                "conditions": [condition("name", "present"), condition("x", "equals", 1)],
            },
            "filter.conditions[1].field",
            "campo desconhecido",
        ),
    ],
)
def test_invalid_filters_name_the_path(filter_json: Any, path: str, words: str) -> None:
    first = _errors(filter_json)[0]
    assert first["field"] == path
    assert words in first["message"]


def test_every_problem_is_reported_at_once() -> None:
    fields = _errors(
        {
            "op": "or",
            "conditions": [
                condition("nope", "equals", "x"),
                {"op": "and", "conditions": [condition("tags", "gt", 1)]},
            ],
        }
    )
    assert [item["field"] for item in fields] == [
        "filter.conditions[0].field",
        "filter.conditions[1].conditions[0].operator",
    ]


def test_structural_limits() -> None:
    six_levels: dict[str, Any] = condition("name", "present")
    for _level in range(6):
        six_levels = {"op": "and", "conditions": [six_levels]}
    assert "aninhados demais" in _errors(six_levels)[0]["message"]
    fifty = {"op": "or", "conditions": [condition("name", "present")] * 50}
    assert compile_filter(fifty, context()) is not None
    fifty_one = {"op": "or", "conditions": [condition("name", "present")] * 51}
    assert "condições demais" in _errors(fifty_one)[0]["message"]
    spread = {
        "op": "or",
        "conditions": [{"op": "and", "conditions": [condition("name", "present")] * 10}] * 6,
    }
    assert "condições demais" in _errors(spread)[0]["message"]
    groups = {"op": "or", "conditions": [{"op": "and", "conditions": []}] * 50}
    assert "grupos demais" in _errors(groups)[0]["message"]


HOSTILE_FIELDS = [
    "name; drop table contacts",
    'name" or 1=1 --',
    "custom.x; drop table contacts",
    "custom.cidade' or '1'='1",
    "custom.CIDADE",
    "custom.",
    "custom.__class__",
    "custom." + "a" * 5000,
    "NAME",
    "contacts.name",
    "\x00",
    "",
]


@pytest.mark.parametrize("field", HOSTILE_FIELDS, ids=range(len(HOSTILE_FIELDS)))
def test_hostile_field_names_are_refused(field: str) -> None:
    assert _errors(condition(field, "equals", "x"))[0]["field"] == "filter.field"


@pytest.mark.parametrize(
    "operator", ["= 1 or 1=1", "equals; drop table contacts", "EQUALS", "", "__eq__"]
)
def test_hostile_operators_are_refused(operator: str) -> None:
    assert _errors(condition("name", operator, "x"))[0]["field"] == "filter.operator"


HOSTILE_VALUES = [
    ("name", "equals", "' or '1'='1"),
    ("name", "contains", "%') or 1=1 --"),
    ("name", "starts_with", "'; drop table contacts; --"),
    ("email", "equals", "x' union select password from auth.users --"),
    ("source", "contains", "\\'; select pg_sleep(10); --"),
    ("tags", "contains", ["'); drop table contacts; --", "vip"]),
    ("custom.cidade", "equals", "São Paulo' or 1=1 --"),
]


@pytest.mark.parametrize(("field", "operator", "value"), HOSTILE_VALUES)
async def test_hostile_values_are_plain_values(
    db: Database, people: Tenant, field: str, operator: str, value: Any
) -> None:
    assert await matching(db, people, condition(field, operator, value)) == set()
    async with db.service_session() as session:
        count = (
            await session.execute(
                text("select count(*) from contacts where company_id = :c"),
                {"c": people.company_id},
            )
        ).scalar_one()
    assert count == len(PEOPLE)


async def test_a_stage_the_company_does_not_have_is_an_error_naming_its_stages(
    db: Database, people: Tenant
) -> None:
    for value in ("novo' or 'a'='a", "Clientes"):
        with pytest.raises(ValidationFailed) as caught:
            await matching(db, people, condition("stage", "equals", value))
        assert caught.value.details["fields"] == [
            {
                "field": "filter.value",
                "message": "etapa desconhecida; use uma destas: Novo, Negociação",
            }
        ]


def test_values_never_reach_the_sql_text() -> None:
    marker = "ZQX'; drop table contacts; --"
    expression = compile_filter(
        {
            "op": "or",
            "conditions": [
                condition(field, operator, value)
                for field, operator, value in [
                    ("name", "contains", marker),
                    ("email", "starts_with", marker),
                    ("source", "equals", marker),
                    ("stage", "not_equals", marker),
                    ("tags", "contains", [marker]),
                    ("custom.cidade", "contains", marker),
                ]
            ],
        },
        context(),
    )
    assert expression is not None
    compiled = expression.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[no-untyped-call]
    assert "ZQX" not in str(compiled)
    assert "cidade" not in str(compiled)  # the custom key is a parameter too
    assert any("ZQX" in str(value) for value in compiled.params.values())


def test_huge_values_and_bombs_are_refused() -> None:
    assert "caracteres" in _errors(condition("name", "contains", "x" * 1_000_001))[0]["message"]
    assert _errors(condition("name", "equals", {"$ne": None}))[0]["field"] == "filter.value"
    assert _errors(condition("tags", "contains", ["v"] * 10_000))[0]["field"] == "filter.value"
    deep: dict[str, Any] = condition("name", "present")
    for _level in range(5000):
        deep = {"op": "and", "conditions": [deep]}
    assert "aninhados demais" in _errors(deep)[0]["message"]
    wide = {"op": "or", "conditions": [condition("name", "present")] * 1_000_000}
    assert "condições demais" in _errors(wide)[0]["message"]


_keys = st.sampled_from(["op", "conditions", "field", "operator", "value", "x", "custom.renda"])
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from([*FIELDS, *OPERATORS, "and", "or", "custom.renda", "custom.plano", "pro"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=30,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_json)
def test_any_json_compiles_or_fails_with_validation_failed(raw: Any) -> None:
    problems: list[dict[str, str]] = []
    expression = None
    try:
        expression = compile_filter(raw, context())
    except ValidationFailed as error:
        problems = error.details["fields"]
        assert problems  # never a ValidationFailed without saying where
    if expression is not None:
        expression.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[no-untyped-call]


def test_now_is_injected() -> None:
    later = FilterContext(DEFINITIONS, NOW + timedelta(days=365))
    expression = compile_filter(condition("created_at", "days_ago_less_than", 1), later)
    assert expression is not None
    params = expression.compile(dialect=postgresql.psycopg.dialect()).params  # type: ignore[no-untyped-call]
    assert list(params.values()) == [NOW + timedelta(days=364)]
    assert NOW.tzinfo is UTC
