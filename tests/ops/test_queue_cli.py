"""`zapcrm queues` and `zapcrm dead list|replay|drop` against a Redis of this test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from redis import Redis

from tests.servers import RedisProcess
from zapcrm.config import Settings
from zapcrm.worker._dead import dead_letter_fields

STREAM = "evolution:outgoing-messages"


def _zapcrm(settings: Settings, redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [str(Path(sys.executable).with_name("zapcrm")), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_dead_letters_can_be_listed_replayed_and_dropped(
    private_redis: RedisProcess, settings: Settings
) -> None:
    redis = Redis.from_url(private_redis.url, decode_responses=True)
    for index in range(3):
        redis.xadd(
            f"{STREAM}:dead",
            dead_letter_fields(
                raw_payload=f'{{"message_id": "m{index}"}}',
                error=RuntimeError(f"gateway recusou {index}"),
                attempts=12,
                entry_id=f"1-{index}",
                origin_id=f"1-{index}",
            ),
        )
    report = _zapcrm(settings, private_redis.url, "queues")
    assert report.returncode == 0, report.stderr
    assert STREAM in report.stdout
    assert "dead_letters" in report.stdout  # the alert is shown
    listed = _zapcrm(settings, private_redis.url, "dead", "list", STREAM)
    assert "gateway recusou 0" in listed.stdout
    assert "3 item(ns)" in listed.stdout
    first_id = listed.stdout.split()[0]
    replayed = _zapcrm(settings, private_redis.url, "dead", "replay", STREAM, first_id)
    assert "1 item(ns) reenfileirados" in replayed.stdout, replayed.stderr
    assert redis.xlen(STREAM) == 1
    dropped = _zapcrm(settings, private_redis.url, "dead", "drop", STREAM)
    assert "2 item(ns) descartados" in dropped.stdout
    assert redis.xlen(f"{STREAM}:dead") == 0
    redis.close()
