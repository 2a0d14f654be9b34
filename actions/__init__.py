"""Rasa custom actions: thin async wrappers over bot.knowledge's store and index.

Nothing here does work at import time; the store is built on first use (or injected by tests).
"""
