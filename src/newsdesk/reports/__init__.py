"""Reports: the daily brief, weekly and monthly reports (composed by rules)."""
