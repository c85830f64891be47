"""MLflow's model registry and tracking store (EDGE), read through MLflow's own client.

Every model version that is not deleted (any stage or alias, Archived included) protects its resolved
artifact location: ``storage_location``, else ``source``, where ``runs:/RUN/PATH`` is that run's artifact
URI plus PATH, ``models:/NAME/VERSION`` and ``models:/NAME@ALIAS`` that version's location,
``models:/m-ID`` the logged model's artifact location (MLflow 3), and ``mlflow-artifacts:/...`` the
tracking server's ``--artifacts-destination`` (given here as ``--mlflow-artifacts-destination``).
Runs: ``active`` protects the artifact folder of every run (and logged model) that is not deleted;
``registered`` only those behind a live model version; ``none`` no runs. Anything that cannot be resolved
to a location refuses the run, naming the model and version. MLflow's client silently creates a missing
SQLite database or file store, so the store is checked before it is opened. Every listing is paginated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from artifact_gc.errors import RegistryError, UsageError
from artifact_gc.registry.base import Reference, url_from_env

PROTECT_RUNS = ("active", "registered", "none")
PAGE = 1000
MLFLOW_EXTRA_MESSAGE = "the MLflow registry source needs MLflow: pip install 'artifact-gc[mlflow]'"


def check_mlflow_options(tracking_uri: str, protect_runs: str, artifacts_destination: str | None) -> None:
    """Usage errors (exit 2) before anything is opened."""
    if protect_runs not in PROTECT_RUNS:
        raise UsageError(f"--mlflow-protect-runs {protect_runs!r}: choose {', '.join(PROTECT_RUNS)}")
    if artifacts_destination is not None and not artifacts_destination.startswith("s3://"):
        raise UsageError(
            f"--mlflow-artifacts-destination {artifacts_destination!r}: give the tracking server's "
            "--artifacts-destination, an s3:// URI"
        )
    if tracking_uri.startswith("env:"):
        return
    parts = urlsplit(tracking_uri)
    if parts.password:
        raise UsageError(
            "--mlflow-tracking-uri holds a password, which would land in the plan and the logs: put it in an "
            "environment variable and pass --mlflow-tracking-uri env:VAR"
        )


@dataclass
class MlflowSource:
    tracking_uri: str  # a URI without a password, or env:VAR
    protect_runs: str = "active"
    artifacts_destination: str | None = None
    versions_read: int = field(default=0, init=False)
    runs_read: int = field(default=0, init=False)

    @property
    def name(self) -> str:
        return f"mlflow:{self.tracking_uri}"

    def spec(self) -> dict[str, Any]:
        return {
            "type": "mlflow",
            "url": self.tracking_uri,
            "protect_runs": self.protect_runs,
            "artifacts_destination": self.artifacts_destination,
        }

    def references(self) -> Iterator[Reference]:
        try:
            from mlflow import MlflowClient
            from mlflow.exceptions import MlflowException
        except ImportError as exc:
            raise RegistryError(MLFLOW_EXTRA_MESSAGE) from exc
        uri = url_from_env(self.tracking_uri, self.name)
        _check_store_exists(uri, self.name)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            yield from self._read(client)
        except MlflowException as exc:
            raise RegistryError(f"{self.name} could not be read completely: {exc.message}") from None

    def _read(self, client: Any) -> Iterator[Reference]:
        registered_runs: set[str] = set()
        registered_models: set[str] = set()
        for version in _paged(lambda token: client.search_model_versions(max_results=PAGE, page_token=token)):
            if str(getattr(version, "current_stage", "")).lower() == "deleted_internal":
                continue
            self.versions_read += 1
            origin = f"{self.name} model {version.name!r} version {version.version}"
            if version.run_id:
                registered_runs.add(version.run_id)
            location = getattr(version, "storage_location", None) or version.source
            if str(location).startswith("models:/m-"):
                registered_models.add(str(location)[len("models:/") :].split("/", 1)[0])
            yield Reference(self._resolve(client, location, origin, depth=0), origin)
        if self.protect_runs == "none":
            return
        experiments = [
            e.experiment_id
            for e in _paged(lambda token: client.search_experiments(max_results=PAGE, page_token=token))
        ]
        if not experiments:
            return
        for run in self._runs(client, experiments):
            if self.protect_runs == "active" or run.info.run_id in registered_runs:
                self.runs_read += 1
                yield Reference(run.info.artifact_uri, f"{self.name} run {run.info.run_id}")
        for model in self._logged_models(client, experiments):
            if self.protect_runs == "active" or model.model_id in registered_models:
                yield Reference(model.artifact_location, f"{self.name} logged model {model.model_id}")

    def _runs(self, client: Any, experiments: list[str]) -> Iterator[Any]:
        from mlflow.entities import ViewType

        for start in range(0, len(experiments), 100):
            ids = experiments[start : start + 100]
            yield from _paged(
                lambda token, ids=ids: client.search_runs(
                    ids, run_view_type=ViewType.ACTIVE_ONLY, max_results=PAGE, page_token=token
                )
            )

    def _logged_models(self, client: Any, experiments: list[str]) -> Iterator[Any]:
        if not hasattr(client, "search_logged_models"):
            return  # MLflow 2 has no logged models
        for start in range(0, len(experiments), 100):
            ids = experiments[start : start + 100]
            for model in _paged(
                lambda token, ids=ids: client.search_logged_models(ids, max_results=PAGE, page_token=token)
            ):
                if str(getattr(model, "status", "")).upper() != "DELETED":
                    yield model

    def _resolve(self, client: Any, location: Any, origin: str, depth: int) -> str:
        """An S3 location for an MLflow artifact URI, or RegistryError naming the model and version."""
        text = str(location or "")
        if depth > 5:
            raise RegistryError(f"{origin}: {text!r} refers to other versions more than 5 times over")
        if text.startswith("runs:/"):
            run_id, _, path = text[len("runs:/") :].partition("/")
            base = client.get_run(run_id).info.artifact_uri
            return self._resolve(client, f"{base.rstrip('/')}/{path}" if path else base, origin, depth + 1)
        if text.startswith("models:/"):
            target = text[len("models:/") :]
            name, _, rest = target.partition("/")
            if name.startswith("m-") and "@" not in name:
                base = client.get_logged_model(name).artifact_location
                return self._resolve(
                    client, f"{base.rstrip('/')}/{rest}" if rest else base, origin, depth + 1
                )
            if "@" in name:
                model, alias = name.split("@", 1)
                version = client.get_model_version_by_alias(model, alias)
            else:
                version = client.get_model_version(name, rest.split("/", 1)[0])
            return self._resolve(
                client, getattr(version, "storage_location", None) or version.source, origin, depth + 1
            )
        if text.startswith("mlflow-artifacts:"):
            if not self.artifacts_destination:
                raise RegistryError(
                    f"{origin}: {text!r} is served by the tracking server: pass its --artifacts-destination as "
                    "--mlflow-artifacts-destination s3://BUCKET/PREFIX"
                )
            path = urlsplit(text).path.lstrip("/")
            return f"{self.artifacts_destination.rstrip('/')}/{path}"
        if text.startswith(("s3://", "s3a://", "s3n://", "https://", "http://")):
            return text
        raise RegistryError(
            f"{origin}: its artifact location {text!r} is not in S3 and cannot be resolved to it: refusing"
        )


def _paged(fetch: Any) -> Iterator[Any]:
    """Every item of an MLflow paged listing (PagedList with .token)."""
    token = None
    while True:
        page = fetch(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def _check_store_exists(uri: str, name: str) -> None:
    """MLflow creates a missing SQLite database or file store silently: refuse instead (exit 3)."""
    parts = urlsplit(uri)
    if parts.scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if path and path != ":memory:" and not Path(path).is_file():
            raise RegistryError(f"{name}: the SQLite tracking store {path} does not exist")
    elif parts.scheme in ("", "file"):
        path = Path(parts.path if parts.scheme == "file" else uri)
        if not path.is_dir():
            raise RegistryError(f"{name}: the file tracking store {path} does not exist")
