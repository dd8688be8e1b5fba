"""Storage: tables, migrations, repositories and search."""
