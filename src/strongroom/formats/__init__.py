"""Format adapters: reading untrusted publisher input safely (archives, XML, JATS, JASPER CSV, media types)
and writing standard records (PREMIS). Must not import the catalog, the store, services or faces."""
