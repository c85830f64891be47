"""The MLflow registry source against a real MLflow tracking store (SQLite), with the artifacts in the
emulator's bucket: every spelling of a registered version survives, unregistered old runs go only under
--mlflow-protect-runs registered, deleted runs go, an unresolvable location or a missing store refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mlflow", reason="the [mlflow] extra is part of the dev install")
from mlflow import MlflowClient

from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.config import GcConfig
from artifact_gc.errors import RegistryError, UsageError
from artifact_gc.registry.mlflow import MlflowSource

from conftest import BUCKET, World


class Store:
    """A tracking store whose experiment keeps its artifacts under s3://BUCKET/mlflow/."""

    def __init__(self, world: World, tmp_path: Path) -> None:
        self.world = world
        self.uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self.experiment = self.client.create_experiment("fraud", artifact_location=f"s3://{BUCKET}/mlflow/1")

    def run(self, *files: str) -> str:
        """A run with artifact files (put into the emulator's bucket under its artifact URI)."""
        run = self.client.create_run(self.experiment)
        prefix = run.info.artifact_uri.split(f"s3://{BUCKET}/", 1)[1]
        for name in files:
            self.world.put(f"{prefix}/{name}")
        return run.info.run_id

    def key(self, run_id: str, name: str) -> str:
        return self.client.get_run(run_id).info.artifact_uri.split(f"s3://{BUCKET}/", 1)[1] + "/" + name

    def plan(self, tmp_path: Path, protect_runs: str = "active", destination: str | None = None) -> set[str]:
        out = tmp_path / "plan.jsonl"
        config = GcConfig(
            bucket=BUCKET,
            prefixes=("mlflow/", "models/"),
            mlflow_tracking_uri=self.uri,
            mlflow_protect_runs=protect_runs,
            mlflow_artifacts_destination=destination,
        )
        raise_if_refused(
            run_plan(
                config, PlanOptions(out=out, max_delete_fraction=1.0), self.world.clients(), self.world.now
            )
        )
        return {json.loads(line)["key"] for line in out.read_text().splitlines()[1:]}


@pytest.fixture
def store(world: World, tmp_path: Path) -> Store:
    return Store(world, tmp_path)


def test_every_spelling_of_a_registered_version_survives(store: Store, world: World, tmp_path: Path) -> None:
    c = store.client
    c.create_registered_model("fraud")
    by_run = store.run("model/model.pkl")  # runs:/RUN/model
    c.create_model_version("fraud", f"runs:/{by_run}/model", run_id=by_run)
    world.put("models/fraud/v2/model.pkl")  # a plain s3:// source, given an alias
    v2 = c.create_model_version("fraud", f"s3://{BUCKET}/models/fraud/v2")
    c.set_registered_model_alias("fraud", "champion", v2.version)
    c.transition_model_version_stage("fraud", v2.version, "Archived")  # Archived still protects
    c.create_registered_model("fraud-copy")  # a models:/NAME/VERSION source
    c.create_model_version("fraud-copy", "models:/fraud/1")
    logged = c.create_logged_model(store.experiment, name="lm")  # MLflow 3 logged model: models:/m-ID
    world.put(logged.artifact_location.split(f"s3://{BUCKET}/", 1)[1] + "/MLmodel")
    world.put("models/served/proxy/model.pkl")  # mlflow-artifacts:/ through the server's destination
    c.create_model_version("fraud-copy", "mlflow-artifacts:/served/proxy")
    world.put("models/orphan/model.pkl")

    candidates = store.plan(tmp_path, protect_runs="none", destination=f"s3://{BUCKET}/models")
    logged_key = logged.artifact_location.split(f"s3://{BUCKET}/", 1)[1] + "/MLmodel"
    assert candidates == {"models/orphan/model.pkl", logged_key}  # no runs or logged models protected
    # models:/NAME@alias (MLflow itself will not register such a source here, so the resolver is asked)
    source = MlflowSource(store.uri, "none")
    assert source._resolve(c, "models:/fraud@champion", "test", 0) == f"s3://{BUCKET}/models/fraud/v2"
    assert source._resolve(c, f"models:/{logged.model_id}", "test", 0) == logged.artifact_location
    # logged models are protected like runs under "active"
    assert logged_key not in store.plan(tmp_path, destination=f"s3://{BUCKET}/models")


def test_runs_are_protected_by_the_chosen_policy(store: Store, world: World, tmp_path: Path) -> None:
    c = store.client
    c.create_registered_model("fraud")
    registered = store.run("model/model.pkl")
    c.create_model_version("fraud", f"runs:/{registered}/model", run_id=registered)
    fork = store.run("model/model.pkl")  # an experiment fork nobody registered
    deleted = store.run("model/model.pkl")
    c.delete_run(deleted)

    active = store.plan(tmp_path)
    assert active == {store.key(deleted, "model/model.pkl")}
    only_registered = store.plan(tmp_path, protect_runs="registered")
    assert only_registered == {store.key(deleted, "model/model.pkl"), store.key(fork, "model/model.pkl")}


def test_an_unresolvable_location_refuses_naming_the_version(
    store: Store, world: World, tmp_path: Path
) -> None:
    store.client.create_registered_model("fraud")
    store.client.create_model_version("fraud", "dbfs:/databricks/mlflow/1/model")
    with pytest.raises(RegistryError, match=r"model 'fraud' version 1.*dbfs:"):
        store.plan(tmp_path)
    store.client.create_model_version("fraud", "mlflow-artifacts:/x/model")
    with pytest.raises(RegistryError, match="--mlflow-artifacts-destination"):
        list(MlflowSource(store.uri, "none").references())


def test_a_missing_store_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(RegistryError, match="does not exist"):
        list(MlflowSource(f"sqlite:///{missing}").references())
    assert not missing.exists()
    with pytest.raises(RegistryError, match="does not exist"):
        list(MlflowSource(str(tmp_path / "no-mlruns")).references())


def test_bad_options_are_usage_errors(world: World, tmp_path: Path) -> None:
    for config in (
        GcConfig(
            bucket=BUCKET, prefixes=("m/",), mlflow_tracking_uri="sqlite:///x.db", mlflow_protect_runs="all"
        ),
        GcConfig(bucket=BUCKET, prefixes=("m/",), mlflow_tracking_uri="https://u:pw@mlflow.internal"),
        GcConfig(
            bucket=BUCKET,
            prefixes=("m/",),
            mlflow_tracking_uri="sqlite:///x.db",
            mlflow_artifacts_destination="gs://b",
        ),
    ):
        with pytest.raises(UsageError):
            run_plan(config, PlanOptions(out=tmp_path / "p.jsonl"), world.clients(), world.now)
