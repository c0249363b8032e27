"""Business hours and the out-of-office reply (crm-features.md "Connections and admin")."""
