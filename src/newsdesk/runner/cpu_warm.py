"""Imported once by the CPU pool's forkserver (its preload), never by the desk itself.

Every worker is forked from the forkserver, so what is loaded here is loaded in every worker
for free: the language model (~0.2 s) and feedparser's base-URI cache were loaded by each
worker as it started, about 0.5 s of CPU per worker and per pass (a `newsdesk up` pass or a
test's `run_once` starts a pool); now once per forkserver, which lives as long as the process
that started it.
"""

from newsdesk.runner.cpu import warm_up

warm_up()
