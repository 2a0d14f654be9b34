"""The conversation gateway: one aiohttp service that owns every user connection.

Channel adapters (``channels/``) turn their protocol into :class:`~bot.conversation.messages.UserMessage` and back;
the :class:`~bot.gateway.hub.Hub` decides where a user message goes (Rasa's REST webhook, or a staff member
while a conversation is handed off) and returns the replies through the channel the user is on.
"""
