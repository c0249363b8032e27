"""The distributor's choice, as a pure function: the least busy agent first, ties to whoever
was served longest ago, a round robin within a round, nobody past the limit, a department's
chats to its members only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from zapcrm.distribution.repository import Candidate, Waiting
from zapcrm.distribution.service import plan

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
ANA, BIA, CAIO = (uuid.UUID(int=n) for n in (1, 2, 3))


def chats(count: int, department: uuid.UUID | None = None) -> list[Waiting]:
    return [Waiting(uuid.UUID(int=100 + n), department) for n in range(count)]


def agents_of(pairs: list[tuple[uuid.UUID, uuid.UUID]]) -> list[uuid.UUID]:
    return [agent for _, agent in pairs]


def test_the_least_busy_agent_gets_the_next_chat_until_loads_even_out() -> None:
    team = [Candidate(ANA, 3, None), Candidate(BIA, 0, None), Candidate(CAIO, 1, None)]
    pairs = plan(chats(4), team, None, NOW)
    assert [chat for chat, _ in pairs] == [c.id for c in chats(4)]  # oldest first, all served
    # Bia (0) first; then Caio and Bia tie at 1, Caio never served before; then turns.
    assert agents_of(pairs) == [BIA, CAIO, BIA, CAIO]


def test_among_equals_it_goes_round_robin_starting_with_who_waited_longest() -> None:
    team = [
        Candidate(ANA, 0, NOW - timedelta(minutes=1)),
        Candidate(BIA, 0, NOW - timedelta(minutes=5)),
        Candidate(CAIO, 0, None),  # never served yet
    ]
    assert agents_of(plan(chats(6), team, None, NOW)) == [CAIO, BIA, ANA, CAIO, BIA, ANA]


def test_nobody_gets_past_the_limit_and_the_rest_keeps_waiting() -> None:
    team = [Candidate(ANA, 1, None), Candidate(BIA, 2, None)]
    pairs = plan(chats(5), team, 2, NOW)
    assert agents_of(pairs) == [ANA]
    assert plan(chats(5), [Candidate(ANA, 2, None)], 2, NOW) == []


def test_no_agent_means_no_assignment() -> None:
    assert plan(chats(3), [], None, NOW) == []
    assert plan([], [Candidate(ANA, 0, None)], None, NOW) == []


def test_a_departments_chat_goes_only_to_its_members_and_others_to_anyone() -> None:
    sales, support = uuid.UUID(int=900), uuid.UUID(int=901)
    team = [
        Candidate(ANA, 0, None, frozenset({sales})),
        Candidate(BIA, 5, None, frozenset({support})),
        Candidate(CAIO, 1, None),
    ]
    waiting = [
        Waiting(uuid.UUID(int=1000), support),  # Bia, however busy she is
        Waiting(uuid.UUID(int=1001), sales),  # Ana
        Waiting(uuid.UUID(int=1002)),  # anyone: Caio (1) before Ana (now 1, served now)
        Waiting(uuid.UUID(int=1003), uuid.UUID(int=902)),  # nobody works there: it waits
        Waiting(uuid.UUID(int=1004), sales),  # Ana again: the only one of sales
    ]
    assert plan(waiting, team, None, NOW) == [
        (uuid.UUID(int=1000), BIA),
        (uuid.UUID(int=1001), ANA),
        (uuid.UUID(int=1002), CAIO),
        (uuid.UUID(int=1004), ANA),
    ]
    # At the limit, sales' only member leaves its chats waiting, not the others'.
    full = [Candidate(ANA, 2, None, frozenset({sales})), Candidate(CAIO, 0, None)]
    assert plan(waiting[1:3], full, 2, NOW) == [(uuid.UUID(int=1002), CAIO)]
