"""HTTP fetching for every source kind: caps, timeouts, conditional GET, address guard."""
