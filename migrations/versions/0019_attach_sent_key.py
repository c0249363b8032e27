"""`app.attach_sent_key`: the send worker's "the gateway accepted it" write in one call.

Giving our queued row its WhatsApp key id took seven statements, each a round trip from the
worker (key lock, conversation lock, echo fold, the row, the chat's last status, parked
updates); at campaign rates those round trips were most of the worker's and Postgres' CPU per
send. The function runs the same statements in the same order inside the caller's
transaction. Service-only: it writes across RLS and trusts its arguments, like the worker.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
create function app.attach_sent_key(
  p_message_id uuid, p_conversation_id uuid, p_instance_id uuid, p_key_id text, p_status text
)
returns table (
  final_status text, echo_id uuid, echo_mimetype text, echo_path text, parked jsonb
)
language plpgsql set search_path = '' as $$
declare
  v_echo record;
  v_conversation uuid;
begin
  -- First, as ingestion takes it before a status touches any row (service/ingest.py _status):
  -- one lock order, and an early update is either parked where we take it or sees our key.
  -- The lock name is the one repository/ingest.py lock_key_id builds.
  perform pg_advisory_xact_lock(
    hashtextextended('evolution-key:' || p_instance_id::text || ':' || p_key_id, 0)
  );
  perform 1 from public.evolution_conversations where id = p_conversation_id for update;
  -- The gateway's echo of this very send, stored before we knew our key id, folds into ours.
  delete from public.evolution_messages m
   where m.instance_id = p_instance_id and m.key_id = p_key_id and m.id <> p_message_id
  returning m.id, m.status, m.media_mimetype, m.media_path into v_echo;
  -- The most advanced of ours, the send response's and the echo's (app.status_advances' ranks).
  update public.evolution_messages m set key_id = p_key_id, status = (
      select s from (values (m.status), (p_status), (v_echo.status)) v(s)
       where app.message_status_rank(s) is not null
       order by app.message_status_rank(s) desc limit 1)
   where m.id = p_message_id
  returning m.status, m.conversation_id into final_status, v_conversation;
  if v_echo.id is not null then
    update public.evolution_conversations set last_message_id = p_message_id
     where last_message_id = v_echo.id;
  end if;
  update public.evolution_conversations set last_message_status = final_status
   where id = v_conversation and last_message_id = p_message_id;
  -- Statuses that arrived before we knew our key id were parked under it: oldest first.
  with taken as (
    delete from public.evolution_pending_updates u
     where u.instance_id = p_instance_id and u.key_id = p_key_id
    returning u.id, u.kind, u.payload
  )
  select coalesce(jsonb_agg(jsonb_build_array(t.kind, t.payload) order by t.id), '[]'::jsonb)
    into parked from taken t;
  echo_id := v_echo.id;
  echo_mimetype := v_echo.media_mimetype;
  echo_path := v_echo.media_path;
  return next;
end
$$;
revoke all on function app.attach_sent_key(uuid, uuid, uuid, text, text) from public;
"""
    )


def downgrade() -> None:
    op.execute("drop function if exists app.attach_sent_key(uuid, uuid, uuid, text, text)")
