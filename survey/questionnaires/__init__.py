"""Questionnaires: versions, questions, and the starter questionnaire per kind of project."""
