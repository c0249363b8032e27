"""zapcrm: WhatsApp customer-service CRM on Evolution API, Postgres (Supabase) and Redis."""

__version__ = "0.1.0"
