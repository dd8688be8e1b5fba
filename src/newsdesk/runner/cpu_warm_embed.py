"""Imported once by the CPU pool's forkserver when the workers will embed with the bundled
model (`CpuPool(warm_embedder=True)`), never by the desk itself.

Loading the model costs ~1.5 s of CPU, most of it building its tokenizer; every worker used
to pay it on its first batch, two workers per pass. Loaded here, the workers are forked with
the model in memory (its arrays are only read, so the pages stay shared).
"""

import logging

from newsdesk.embed.local import warm_up

try:
    warm_up()
except Exception:
    # a broken model must not take the forkserver (and collecting) down: the workers load
    # it on first use, as before, and say there what is wrong
    logging.getLogger(__name__).warning("the embedding model did not load in the forkserver")
