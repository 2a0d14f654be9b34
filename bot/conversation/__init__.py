"""What the gateway and the helpdesk both speak, below both of them.

``messages`` (the message types and text cleaning), ``rasa_client`` (Rasa's REST channel and tracker API),
``handoff`` (the hub's contract with a helpdesk: how a conversation handed to people is asked about and delivered
to) and ``addresses`` (a client's address behind trusted proxies). Imports only ``bot.knowledge`` and the base
modules (``bot.settings``, ``bot.db``, ``bot.masking``); tests/test_layers.py holds every package to its layer.
"""
