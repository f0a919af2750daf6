"""The Workspace: one folder that holds the store and everything derived from it.

Every path Triforge writes - the DuckDB file, the dedup indexes, exports, adapters, cached base
models, reports, experiments, the embedded labeling stack, the admin key - hangs off one ``home``, so a
store and its indexes can never end up in different folders. Only the entry points (the CLI's callback
and the service's start-up) read ``$TRIFORGE_HOME``; everything else receives a Workspace, or a Store
whose folder *is* the home (:meth:`WorkspacePaths.of_store`).

The Workspace also carries the store's resources as nouns, in the manner of the Argilla v2 SDK::

    ws = Workspace(Path(".triforge"))
    ws.samples.get("3fa9c1")            # curation.resources.samples.Samples
    ws.snapshots.resolve("curated-v1")   # ...snapshots.Snapshots
    ws.training_runs.list()              # ...training_runs.TrainingRuns

Each resource owns its SQL; nothing outside ``curation/`` touches ``Store.con``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from curation.paths import DEFAULT_HOME, HOME_ENV, STORE_FILENAME, home_from_environ
from curation.resources.classifier import Classifier
from curation.resources.dedup_runs import DedupRuns
from curation.resources.evals import Evals
from curation.resources.experiments import Experiments
from curation.resources.keys import Keys
from curation.resources.reviews import Reviews
from curation.resources.samples import Samples
from curation.resources.snapshots import Snapshots
from curation.resources.submissions import Submissions
from curation.resources.teacher_requests import TeacherRequests
from curation.resources.training_runs import TrainingRuns
from curation.resources.validations import Validations
from curation.store import Store

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection


@dataclass(frozen=True)
class WorkspacePaths:
    """Where each kind of state lives under ``home``. Pure: creating one touches no disk."""

    home: Path
    store_name: str = STORE_FILENAME

    @classmethod
    def of_store(cls, store: Store) -> WorkspacePaths:
        """The paths of the workspace a store belongs to: its folder is the home."""
        return cls(store.path.parent, store.path.name)

    @property
    def store(self) -> Path:
        return self.home / self.store_name

    @property
    def indexes(self) -> Path:
        """Persisted dedup indexes (MinHash LSH, embeddings), one folder per method and options. A
        store under another file name (a test's or a bench's copy beside others) gets its own
        subfolder, so two stores in one folder never share an index."""
        base = self.home / "indexes"
        return base if self.store_name == STORE_FILENAME else base / Path(self.store_name).stem

    @property
    def exports(self) -> Path:
        return self.home / "exports"

    @property
    def adapters(self) -> Path:
        return self.home / "adapters"

    @property
    def models(self) -> Path:
        """Base models materialised once (e.g. SmolLM2 converted from the shipped GGUF)."""
        return self.home / "models"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def experiments(self) -> Path:
        return self.home / "experiments"

    @property
    def labeling(self) -> Path:
        """The embedded Argilla stack's state (server database, logs, credentials)."""
        return self.home / "labeling"

    @property
    def admin_key(self) -> Path:
        return self.home / "admin.key"

    @property
    def rom_map(self) -> Path:
        """The ROM map ``triforge rom-map build`` made from the user's disassembly (and hack file)."""
        return self.home / "rom-map" / "map.json.gz"


class Workspace:
    """A home folder, its store (opened on first use) and the store's resources."""

    def __init__(self, home: Path | str, *, read_only: bool = False, store: Store | None = None) -> None:
        self.paths = WorkspacePaths.of_store(store) if store is not None else WorkspacePaths(Path(home).expanduser())
        self.read_only = read_only
        self._store = store

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None, *, read_only: bool = False) -> Workspace:
        return cls(home_from_environ(environ), read_only=read_only)

    @classmethod
    def of_store(cls, store: Store) -> Workspace:
        """Wrap an already open store (its folder is the home)."""
        return cls(store.path.parent, read_only=store.read_only, store=store)

    @property
    def home(self) -> Path:
        return self.paths.home

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.paths.store, read_only=self.read_only)
        return self._store

    def transaction(self) -> AbstractContextManager[DuckDBPyConnection]:
        """One unit of work across resources: what they write inside lands together or not at all (a
        nested call joins the outer one). Steps compose resources' writes with it, e.g. a proposal and
        its ledger row, or a submission, its verdicts and the answer a retried request gets."""
        return self.store.transaction()

    @property
    def is_open(self) -> bool:
        return self._store is not None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            for name in _RESOURCES:  # resources built on the closed store go with it
                self.__dict__.pop(name, None)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- resources: built on first use, on the open store ------------------------------------------

    @cached_property
    def samples(self) -> Samples:
        return Samples(self)

    @cached_property
    def snapshots(self) -> Snapshots:
        return Snapshots(self)

    @cached_property
    def validations(self) -> Validations:
        return Validations(self)

    @cached_property
    def classifier(self) -> Classifier:
        return Classifier(self)

    @cached_property
    def dedup_runs(self) -> DedupRuns:
        return DedupRuns(self)

    @cached_property
    def reviews(self) -> Reviews:
        return Reviews(self)

    @cached_property
    def evals(self) -> Evals:
        return Evals(self)

    @cached_property
    def experiments(self) -> Experiments:
        return Experiments(self)

    @cached_property
    def training_runs(self) -> TrainingRuns:
        return TrainingRuns(self)

    @cached_property
    def teacher_requests(self) -> TeacherRequests:
        return TeacherRequests(self)

    @cached_property
    def keys(self) -> Keys:
        return Keys(self)

    @cached_property
    def submissions(self) -> Submissions:
        return Submissions(self)


# The resources built on an open store (every cached property above): close() drops them with it.
_RESOURCES = tuple(name for name, value in vars(Workspace).items() if isinstance(value, cached_property))

__all__ = ["DEFAULT_HOME", "HOME_ENV", "Workspace", "WorkspacePaths", "home_from_environ"]
