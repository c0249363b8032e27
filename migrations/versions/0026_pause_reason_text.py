"""`campaigns.pause_reason` keeps the message's template and parameters (jsonb).

Stored as the filled Portuguese sentence, "o número Loja desconectou" could not be shown in
English: the catalog knows "o número {name} desconectou". Rows written before keep their
sentence as a template without parameters (shown in Portuguese, as before).

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "alter table public.campaigns alter column pause_reason type jsonb"
        " using case when pause_reason is null then null"
        " else jsonb_build_object('template', pause_reason) end"
    )


def downgrade() -> None:
    # The Portuguese sentence, parameters filled in: odd pieces between braces are names.
    op.execute(
        """
alter table public.campaigns add column pause_reason_sentence text;
update public.campaigns set pause_reason_sentence = (
  select string_agg(
    case when i % 2 = 0 then coalesce(pause_reason -> 'params' ->> piece, piece) else piece end,
    '' order by i)
  from regexp_split_to_table(pause_reason ->> 'template', '[{}]') with ordinality as t(piece, i)
) where pause_reason is not null;
alter table public.campaigns drop column pause_reason;
alter table public.campaigns rename column pause_reason_sentence to pause_reason;
"""
    )
