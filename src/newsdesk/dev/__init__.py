"""Developer tools shipped with the package: the fake model server."""
