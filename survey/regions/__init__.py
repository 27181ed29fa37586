"""The region tree and region scoping: who may see which regions' records."""
