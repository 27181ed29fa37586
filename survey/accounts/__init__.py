"""Staff users, roles and passwords."""
