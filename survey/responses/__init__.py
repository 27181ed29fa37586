"""Questionnaires, the resident form and the responses every channel stores."""
