"""The public read layer: what readers, feeds, the API and MCP may see."""
