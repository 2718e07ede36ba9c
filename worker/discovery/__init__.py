"""The parsers behind worker.discover (import from there): feeds, sitemaps, listing pages, XML safety."""
