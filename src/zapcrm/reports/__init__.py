"""Service reports for supervisors and admins: per-cycle response and resolution times, volumes."""
