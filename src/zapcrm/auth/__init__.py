"""Authentication (local or Supabase provider), JWT verification, roles and request identity."""
