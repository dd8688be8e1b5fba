"""Pipeline orchestration: where stages run and how their results reach the store."""
