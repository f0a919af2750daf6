"""Expert review in Argilla: the local stack (``stack``), connecting (``client``), datasets and sync.

``import argilla`` needs ``ARGILLA_API_KEY`` set first and its objects contact the server when built, so
nothing here imports it at module level; ``client.connect()`` does, after reading the stack's credentials.
"""
