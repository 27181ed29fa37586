"""Satisfaction statistics: metrics, rollups, the bureau dashboard, exports and reports."""
