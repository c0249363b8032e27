"""Column mapping suggestions and validation, and the per-row rules shared by every path."""

from __future__ import annotations

import pytest

from zapcrm.contacts.attributes import AttributeDef
from zapcrm.contacts.importing import limits
from zapcrm.contacts.importing.mapping import plan_columns, suggest_mapping
from zapcrm.contacts.importing.rows import CleanContact, RawContact, RowRules
from zapcrm.exceptions import ValidationFailed

DEFINITIONS = {
    "cpf": AttributeDef(key="cpf", label="CPF", type="text"),
    "limite": AttributeDef(key="limite", label="Limite de crédito", type="number"),
    "valor_pedido": AttributeDef(key="valor_pedido", label="Valor do pedido (R$)", type="number"),
    "nascimento": AttributeDef(key="nascimento", label="Data de nascimento", type="date"),
    "plano": AttributeDef(key="plano", label="Plano", type="list", options=("ouro", "prata")),
}


def _rules(stages: list[tuple[str, str]] | None = None) -> RowRules:
    return RowRules(default_region="BR", definitions=DEFINITIONS, stages=stages or [])


def test_suggested_mapping_reads_portuguese_english_and_attribute_labels() -> None:
    columns = [
        "Nome Completo", "Celular", "E-mail", "Etiquetas", "Origem", "Etapa do funil",
        "CPF", "Limite de Crédito", "plano", "WhatsApp", "Observação", "Valor do Pedido",
    ]  # fmt: skip
    assert suggest_mapping(columns, DEFINITIONS) == {
        "Nome Completo": "name",
        "Celular": "phone",
        "E-mail": "email",
        "Etiquetas": "tags",
        "Origem": "source",
        "Etapa do funil": "stage",
        "CPF": "custom.cpf",
        "Limite de Crédito": "custom.limite",
        "plano": "custom.plano",
        "WhatsApp": "ignore",  # phone is taken by the first phone-like column
        "Observação": "ignore",
        "Valor do Pedido": "custom.valor_pedido",  # the label without its unit
    }
    # A header that names its unit finds the attribute whose label does not.
    assert suggest_mapping(["Limite de crédito (R$)"], DEFINITIONS) == {
        "Limite de crédito (R$)": "custom.limite"
    }
    assert suggest_mapping(["name", "phone", "email", "tags", "source", "stage"], {}) == {
        "name": "name",
        "phone": "phone",
        "email": "email",
        "tags": "tags",
        "source": "source",
        "stage": "stage",
    }


def test_plan_validates_the_mapping() -> None:
    columns = ["nome", "fone", "tags1", "tags2", "cpf"]
    plan = plan_columns(
        {"nome": "name", "fone": "phone", "tags1": "tags", "tags2": "tags", "cpf": "custom.cpf"},
        columns,
        DEFINITIONS,
    )
    assert (plan.name, plan.phone, plan.tags) == (0, 1, (2, 3))
    assert plan.as_mapping(columns)["cpf"] == "custom.cpf"
    cases = [
        ({"nome": "name"}, "mapping", "phone"),
        ({"fone": "phone", "x": "name"}, "mapping.x", "inexistente"),
        ({"fone": "phone", "nome": "apelido"}, "mapping.nome", "destino inválido"),
        ({"fone": "phone", "nome": "custom.nada"}, "mapping.nome", "atributo"),
        ({"fone": "phone", "nome": "phone"}, "mapping.nome", "duas vezes"),
    ]
    for mapping, field, message in cases:
        with pytest.raises(ValidationFailed) as caught:
            plan_columns(mapping, columns, DEFINITIONS)
        errors = caught.value.details["fields"]
        assert errors[0]["field"] == field
        assert message in errors[0]["message"]


def test_a_clean_row() -> None:
    clean = _rules([("lead", "Novo lead"), ("cliente", "Cliente")]).clean(
        RawContact(
            phone="+55 (11) 8765-4321",
            name="  Maria\n da  Silva ",
            email=" Maria@Exemplo.COM.br ",
            source="Feira",
            stage="novo LEAD",
            tags="vip; novo|vip , ",
            custom={"limite": "1.234,50", "nascimento": "31/12/1990", "plano": "ouro", "cpf": ""},
        )
    )
    assert clean == CleanContact(
        phone="+5511987654321",
        keys=["5511987654321", "551187654321"],
        name="Maria da Silva",
        email="maria@exemplo.com.br",
        source="Feira",
        stage="lead",
        tags=["vip", "novo"],
        custom={"limite": 1234.5, "nascimento": "1990-12-31", "plano": "ouro"},
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (RawContact(phone=None), "telefone ausente"),
        (RawContact(phone="  "), "telefone ausente"),
        (RawContact(phone="123"), "telefone inválido: "),
        (RawContact(phone="11 9876-ABCD"), "telefone inválido: contém letras"),
        (RawContact(phone="11987654321", custom={"nada": "1"}), "atributo personalizado"),
    ],
)
def test_row_failures_say_why(raw: RawContact, reason: str) -> None:
    result = _rules([("lead", "Lead")]).clean(raw)
    assert isinstance(result, str)
    assert result.startswith(reason)


def test_bad_optional_values_are_left_out_with_the_reason_and_the_rest_is_kept() -> None:
    result = _rules([("lead", "Lead")]).clean(
        RawContact(
            phone="(11) 98765-4321",
            name="x" * 201,
            email="sem-arroba",
            source="s" * 201,
            stage="perdido",
            tags=["vip", "a" * 101, "novo"],
            custom={"limite": "muito", "plano": "bronze", "nascimento": "31/12/1990"},
        )
    )
    assert isinstance(result, CleanContact)
    assert (result.phone, result.name, result.email, result.source, result.stage) == (
        "+5511987654321",
        "",
        None,
        None,
        None,
    )
    assert result.tags == ["vip", "novo"]
    assert result.custom == {"nascimento": "1990-12-31"}
    assert [warning.split(":")[0] for warning in result.warnings] == [
        "nome com mais de 200 caracteres",
        "e-mail inválido",
        "origem com mais de 100 caracteres",
        "etapa do funil desconhecida",
        "etiqueta com mais de 100 caracteres",
        "Limite de crédito",
        "Plano",
    ]
    assert result.warnings[3] == "etapa do funil desconhecida: perdido"
    assert result.warnings[6].startswith("Plano: valor fora da lista")


def test_tags_beyond_the_limit_are_left_out_keeping_the_first_ones() -> None:
    many = ";".join(f"t{number}" for number in range(60))
    result = _rules().clean(RawContact(phone="11987654321", tags=many))
    assert isinstance(result, CleanContact)
    assert result.tags == [f"t{number}" for number in range(limits.MAX_TAGS)]
    assert result.warnings == [
        f"mais de {limits.MAX_TAGS} etiquetas: ficaram as {limits.MAX_TAGS} primeiras"
    ]


def test_a_clean_row_has_no_warnings() -> None:
    result = _rules().clean(RawContact(phone="11987654321", email="Ana@Exemplo.com"))
    assert isinstance(result, CleanContact)
    assert (result.email, result.warnings) == ("ana@exemplo.com", [])


def test_without_company_stages_any_stage_text_is_kept() -> None:
    clean = _rules().clean(RawContact(phone="11987654321", stage="Qualquer"))
    assert isinstance(clean, CleanContact)
    assert clean.stage == "Qualquer"


def test_cells_beyond_the_header_fail_the_row() -> None:
    columns = ["nome", "telefone"]
    plan = plan_columns({"telefone": "phone", "nome": "name"}, columns, {})
    rules = _rules()
    assert isinstance(rules.from_cells(["Ana", "11987654321", "", " "], plan, 2), CleanContact)
    assert rules.from_cells(["Ana", "11987654321", "sobra"], plan, 2) == (
        "a linha tem 3 colunas; o cabeçalho tem 2"
    )
    short = rules.from_cells(["Ana"], plan, 2)
    assert short == "telefone ausente"
