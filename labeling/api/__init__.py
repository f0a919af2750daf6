"""The community submissions HTTP service (FastAPI) over the same library calls as the CLI."""

from labeling.api.app import create_app, create_app_from_environ
from labeling.api.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app", "create_app_from_environ"]
