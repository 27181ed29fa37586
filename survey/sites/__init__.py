"""Regions, projects, sites and the tokens in their survey links."""
