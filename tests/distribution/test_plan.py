"""The distributor's choice, as a pure function: the least busy agent first, ties to whoever
was served longest ago, a round robin within a round, nobody past the limit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from zapcrm.distribution.repository import Candidate
from zapcrm.distribution.service import plan

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
ANA, BIA, CAIO = (uuid.UUID(int=n) for n in (1, 2, 3))


def chats(count: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=100 + n) for n in range(count)]


def agents_of(pairs: list[tuple[uuid.UUID, uuid.UUID]]) -> list[uuid.UUID]:
    return [agent for _, agent in pairs]


def test_the_least_busy_agent_gets_the_next_chat_until_loads_even_out() -> None:
    team = [Candidate(ANA, 3, None), Candidate(BIA, 0, None), Candidate(CAIO, 1, None)]
    pairs = plan(chats(4), team, None, NOW)
    assert [chat for chat, _ in pairs] == chats(4)  # oldest wait first, all served
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
