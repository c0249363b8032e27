"""SQLAlchemy models, one per file; the schema itself is owned by the Alembic revisions."""

from zapcrm.models.audit_log import AuditEntry
from zapcrm.models.auth_user import AuthUser
from zapcrm.models.base import Base
from zapcrm.models.business_hours import BusinessHours
from zapcrm.models.campaign import Campaign
from zapcrm.models.campaign_recipient import CampaignRecipient
from zapcrm.models.company import Company
from zapcrm.models.contact import Contact
from zapcrm.models.contact_attribute import ContactAttribute
from zapcrm.models.contact_event import ContactEvent
from zapcrm.models.contact_identity import ContactIdentity
from zapcrm.models.contact_name_word import ContactNameWord
from zapcrm.models.contact_stage_tally import ContactStageTally
from zapcrm.models.conversation_cycle import ConversationCycle
from zapcrm.models.conversation_note import ConversationNote
from zapcrm.models.department import Department, DepartmentMember, DepartmentMenu
from zapcrm.models.distribution import AgentAvailability, DistributionSettings
from zapcrm.models.evolution_conversation import EvolutionConversation
from zapcrm.models.evolution_instance import EvolutionInstance
from zapcrm.models.evolution_message import EvolutionMessage
from zapcrm.models.funnel_stage import FunnelStage
from zapcrm.models.import_job import ImportJob
from zapcrm.models.list_rule import ListRule
from zapcrm.models.outbox import OutboxEntry
from zapcrm.models.pending_update import PendingUpdate
from zapcrm.models.profile import Profile, Role
from zapcrm.models.quick_reply import QuickReply
from zapcrm.models.refresh_token import RefreshToken
from zapcrm.models.satisfaction_survey import SatisfactionSurvey
from zapcrm.models.scheduled_message import ScheduledMessage
from zapcrm.models.segment import Segment
from zapcrm.models.segment_member import SegmentMember
from zapcrm.models.task import Task
from zapcrm.models.user_invite import UserInvite

__all__ = [
    "AgentAvailability",
    "AuditEntry",
    "AuthUser",
    "Base",
    "BusinessHours",
    "Campaign",
    "CampaignRecipient",
    "Company",
    "Contact",
    "ContactAttribute",
    "ContactEvent",
    "ContactIdentity",
    "ContactNameWord",
    "ContactStageTally",
    "ConversationCycle",
    "ConversationNote",
    "Department",
    "DepartmentMember",
    "DepartmentMenu",
    "DistributionSettings",
    "EvolutionConversation",
    "EvolutionInstance",
    "EvolutionMessage",
    "FunnelStage",
    "ImportJob",
    "ListRule",
    "OutboxEntry",
    "PendingUpdate",
    "Profile",
    "QuickReply",
    "RefreshToken",
    "Role",
    "SatisfactionSurvey",
    "ScheduledMessage",
    "Segment",
    "SegmentMember",
    "Task",
    "UserInvite",
]
