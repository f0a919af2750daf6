"""The community submissions HTTP service (FastAPI) over the same library calls as the CLI.

Start at ``app.py`` (``create_app``, and ``create_app_from_environ`` for ASGI servers). The package
itself imports nothing, so a module that needs one small part of it (the Argilla listener needs
``strict_json``) does not pull in the whole app.
"""
