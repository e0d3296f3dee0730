"""Everything that must survive a restart: one SQLite database, its migrations and the repositories."""
