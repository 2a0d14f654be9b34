"""Rasa NLU components of our own (loaded by Rasa from config.yml)."""
