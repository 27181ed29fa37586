"""Demo data from the seed documents, so every page has something to show."""
