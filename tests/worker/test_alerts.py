"""The worker's alert watch: a worker that is starting does not alarm about itself."""

from __future__ import annotations

import asyncio

import pytest

from zapcrm.ops.queues import Alert, AlertTracker
from zapcrm.runtime import Runtime
from zapcrm.worker.main import build_worker, watch_alerts


class RecordingTracker(AlertTracker):
    """An AlertTracker that keeps every evaluation it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.evaluations: list[list[Alert]] = []

    def update(self, alerts: list[Alert]) -> None:
        self.evaluations.append(alerts)
        super().update(alerts)


@pytest.mark.runs_worker
async def test_a_starting_worker_raises_no_no_worker_alert_for_its_own_streams(
    runtime: Runtime,
) -> None:
    tracker = RecordingTracker()
    stop = asyncio.Event()
    # The watch starts first: whichever task of `zapcrm worker` gets going first, the first
    # evaluation must not find the worker's own streams unserved.
    watch = asyncio.create_task(
        watch_alerts(runtime, stop, interval=0.2, settle=1.0, tracker=tracker)
    )
    worker = asyncio.create_task(build_worker(runtime).run(stop))
    try:
        async with asyncio.timeout(15):
            while len(tracker.evaluations) < 3:  # noqa: ASYNC110 - the watch runs on its own
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(worker, watch), timeout=30)
    raised = {alert.subject for batch in tracker.evaluations for alert in batch}
    no_worker = [a for batch in tracker.evaluations for a in batch if a.alert == "no_worker"]
    assert no_worker == [], raised
