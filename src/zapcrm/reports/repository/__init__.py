"""SQL for reports, by topic: what they read and the filters of their scope (sources.py), how
they measure time (clock.py), the summary with its per-agent and per-department rows and the
satisfaction survey (summary.py), reply times (replies.py), the volume per day and hour of the
week (volume.py), and the per-cycle export rows (export.py).

Every statement filters by company explicitly; RLS decides what the caller may read. Times are
aggregated in Postgres (`percentile_cont`), never by looping over rows in Python.
"""

from zapcrm.reports.repository.export import export_statement, stream_records, stream_rows
from zapcrm.reports.repository.replies import ReplyFigures, reply_figures
from zapcrm.reports.repository.sources import Chat, Cycle, Message
from zapcrm.reports.repository.summary import (
    AgentFigures,
    CycleFigures,
    DepartmentFigures,
    SummaryFigures,
    SurveyFigures,
    summary_figures,
)
from zapcrm.reports.repository.volume import DayFigures, VolumeFigures, volume_figures

__all__ = [
    "AgentFigures",
    "Chat",
    "Cycle",
    "CycleFigures",
    "DayFigures",
    "DepartmentFigures",
    "Message",
    "ReplyFigures",
    "SummaryFigures",
    "SurveyFigures",
    "VolumeFigures",
    "export_statement",
    "reply_figures",
    "stream_records",
    "stream_rows",
    "summary_figures",
    "volume_figures",
]
