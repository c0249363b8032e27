"""Campaigns: one text (with variants and per-person variables) sent to a contact list at a
pace that keeps the WhatsApp number safe; per-recipient status and progress."""
