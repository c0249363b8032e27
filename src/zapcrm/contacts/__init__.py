"""Contacts: one identity per person (phones, WhatsApp JIDs, @lid), CRM fields, history."""
