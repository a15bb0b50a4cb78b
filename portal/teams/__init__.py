"""A team's own page: its members and their roles, its quota, and what its admins may change there."""
