"""Where stories come from: catalogs, source kinds (how to read a source's bytes), OPML."""
