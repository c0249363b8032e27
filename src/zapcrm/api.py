"""The API's table of contents: one include_router per domain."""

from __future__ import annotations

from fastapi import APIRouter

from zapcrm.accounts.endpoints import router as accounts_router
from zapcrm.auth.endpoints import router as auth_router
from zapcrm.campaigns.endpoints import router as campaigns_router
from zapcrm.contacts.endpoints import router as contacts_router
from zapcrm.contacts.importing.endpoints import router as contact_import_router
from zapcrm.contacts.query.endpoints import router as contact_query_router
from zapcrm.contacts.rules.endpoints import router as list_rules_router
from zapcrm.departments.endpoints import router as departments_router
from zapcrm.distribution.endpoints import router as distribution_router
from zapcrm.evolution.endpoints import router as instances_router
from zapcrm.evolution.webhook import router as webhook_router
from zapcrm.hours.endpoints import router as hours_router
from zapcrm.messaging.endpoints import router as messaging_router
from zapcrm.ops.endpoints import router as ops_router
from zapcrm.quickreplies.endpoints import router as quick_replies_router
from zapcrm.reports.endpoints import router as reports_router
from zapcrm.scheduling.endpoints import router as scheduling_router
from zapcrm.surveys.endpoints import router as survey_router
from zapcrm.tasks.endpoints import router as tasks_router

router = APIRouter()
router.include_router(ops_router)
router.include_router(auth_router)
router.include_router(accounts_router)
router.include_router(webhook_router)
router.include_router(instances_router)
router.include_router(messaging_router)
router.include_router(quick_replies_router)
router.include_router(hours_router)
router.include_router(contact_import_router)
router.include_router(contact_query_router)
router.include_router(list_rules_router)
router.include_router(contacts_router)
router.include_router(tasks_router)
router.include_router(reports_router)
router.include_router(campaigns_router)
router.include_router(departments_router)
router.include_router(survey_router)
router.include_router(distribution_router)
router.include_router(scheduling_router)
