"""Departments ("setores"): teams chats are routed to, and the WhatsApp menu that routes them."""
