"""Expert review in Argilla: the local stack (``stack``), connecting (``client``), datasets and sync.

``import argilla`` needs ``ARGILLA_API_KEY`` set first and its objects contact the server when built, so
nothing here imports it at module level; ``client.connect()`` does, after putting the key it was given
(or the local stack's owner key) in the environment. The store's side - what was pushed, responses,
decisions, cursors, the figures ``review stats`` shows - is ``workspace.reviews``
(``curation/resources/reviews.py``); nothing here runs SQL.
"""
