"""argilla-server with two per-record costs of its bulk upsert removed; run under the Argilla venv.

``LabelingStack`` starts the server with this script instead of ``python -m argilla_server start``.
It runs in the Argilla venv (argilla-server 2.8 pins its own fastapi/pydantic), so it imports only
``argilla_server``, its dependencies and the standard library - nothing of Triforge; like
``owner_setup.py`` it runs with ``python -I``, so this folder (whose ``datasets.py`` would shadow
Hugging Face's ``datasets``) is not put on ``sys.path``.

Profiling ``review push`` (py-spy on the server, 500-record bulks) found the stock server spending
~8 ms of CPU per record, so ~135 records/s per core whatever the client does; two costs were most of it:

- **Record events built for nobody.** After every bulk, each record's ``record.created`` /
  ``record.updated`` event is built - the dataset reloaded with five relationships, the record dumped
  through pydantic - and only then is the list of enabled webhooks read, to find that none wants that
  event (Triforge's own webhook listens to ``record.completed``). The patch reads the subscribed events
  once per database session and builds an event only when some enabled webhook subscribes to it, so
  every webhook that would have been called still is.
- **A pydantic ``TypeAdapter`` rebuilt per call.** ``Question.parsed_settings`` and
  ``MetadataProperty.parsed_settings`` construct a new ``TypeAdapter`` (schema build included) on every
  access, and validation reads them per record and per property. The patch builds each adapter once;
  the validation itself is unchanged.

Together they take the server from ~8 to ~1-2 ms of CPU per record. The patches apply only to the
argilla-server version they were written against and only where the patched attributes exist; any
other version starts stock, saying so in the server log. ``--stock`` starts it unpatched (the bench's
baseline). ``tests/integration/test_argilla_server_app.py`` checks that both patches are in force on the running
server and that behaviour is unchanged (invalid metadata still refused, webhooks still called).
"""

from __future__ import annotations

import argparse
import logging
import weakref

import uvicorn
from pydantic import TypeAdapter

PATCHED_VERSION = "2.8."
log = logging.getLogger("triforge.argilla_server_app")


def _event_name(event: object) -> str:
    """An event as the plain string webhooks store (``record.created``), whether given as the
    server's enum or as a string: membership then never depends on how an enum hashes."""
    return str(getattr(event, "value", event))


def patch_record_events() -> bool:
    """Build a record event only when an enabled webhook subscribes to it (once per session)."""
    from argilla_server.bulk import records_bulk
    from argilla_server.contexts import webhooks

    original = getattr(records_bulk, "notify_record_event_v1", None)
    if original is None or not hasattr(webhooks, "list_enabled_webhooks"):
        return False
    subscribed_by_session: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    async def notify_if_subscribed(db, record_event, record):
        subscribed = subscribed_by_session.get(db)
        if subscribed is None:
            subscribed = {_event_name(e) for hook in await webhooks.list_enabled_webhooks(db) for e in hook.events}
            subscribed_by_session[db] = subscribed
        if _event_name(record_event) not in subscribed:
            return []
        return await original(db, record_event, record)

    records_bulk.notify_record_event_v1 = notify_if_subscribed
    return True


def patch_settings_adapters() -> bool:
    """``parsed_settings`` through one ``TypeAdapter`` per settings type instead of one per call."""
    from argilla_server.models import database

    patched = False
    targets = ((database.Question, "QuestionSettings"), (database.MetadataProperty, "MetadataPropertySettings"))
    for model, settings in targets:
        settings_type = getattr(database, settings, None)
        if settings_type is None or not isinstance(getattr(model, "parsed_settings", None), property):
            continue
        adapter = TypeAdapter(settings_type)
        model.parsed_settings = property(lambda self, adapter=adapter: adapter.validate_python(self.settings))
        patched = True
    return patched


def apply_patches() -> list[str]:
    """The patches applied to this argilla-server (none on a version they were not written for)."""
    from argilla_server._version import __version__

    if not __version__.startswith(PATCHED_VERSION):
        log.warning("argilla-server %s: starting stock (patches are for %sx)", __version__, PATCHED_VERSION)
        return []
    patches = (("record-events", patch_record_events), ("settings-adapters", patch_settings_adapters))
    applied = [name for name, patch in patches if patch()]
    log.info("argilla-server %s: patches applied: %s", __version__, ", ".join(applied) or "none")
    return applied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6900)
    parser.add_argument("--stock", action="store_true", help="start argilla-server unpatched")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    if not args.stock:
        apply_patches()
    import argilla_server

    uvicorn.run(argilla_server.app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
