"""Logging a RiskModel as an MLflow pyfunc, and loading registered versions back.

Registered models are named ``riskml-<target>``; versions are addressed by alias
(``champion``, ``challenger``, ``previous_champion``) or number. :func:`load_model`
keeps one RiskModel per (store, model, version) per process, so a scoring service
pays the ~1 s cold load once; the first load of a version holds a lock so
concurrent callers wait for it instead of loading twice.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import tempfile
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskml.models._integrity import (
    DIGEST_TAG,
    ModelFileError,
    ModelIntegrityError,
    digest_of,
    file_digests,
    verify_digests,
)
from riskml.tracking._health import process_tags, reaching
from riskml.tracking._store import TrackingConfig, configure, ensure_experiment, registered_model_name

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from riskml.models import RiskModel

__all__ = ["clear_model_cache", "load_model", "log_model", "resolve_version"]

logger = logging.getLogger(__name__)

_cache: dict[tuple[str, str, str], Any] = {}
_cache_guard = threading.Lock()
_load_locks: dict[tuple[str, str, str], threading.Lock] = {}


def log_model(
    model: Any,
    *,
    name: str = "model",
    registered_model_name: str | None = None,
    tags: dict[str, str] | None = None,
    config: TrackingConfig | None = None,
) -> str:
    """Log ``model`` as a pyfunc in the active run (or a new run) and return its URI.

    The model is saved with ``model.save`` into a temporary folder and logged as the
    ``risk_model`` artifact of a models-from-code pyfunc, with a feature signature and
    pinned requirements (no requirement inference subprocess).

    Parameters
    ----------
    model : RiskModel
        The trained model.
    name : str, default "model"
        Name of the logged model within the run.
    registered_model_name : str, optional
        Also register the logged model under this name (e.g. ``"riskml-credit"``).
    tags : dict, optional
        Tags of the logged model.
    config : TrackingConfig, optional
        Result of :func:`configure`; configured from the environment when omitted.

    Returns
    -------
    str
        The logged model's URI (``models:/m-<id>``).

    Examples
    --------
    >>> import os, tempfile
    >>> from riskml.models._bundle import _tiny_model
    >>> from riskml.tracking import configure
    >>> from riskml.tracking._registry import log_model
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> cfg = configure(tempfile.mkdtemp())
    >>> log_model(_tiny_model(), config=cfg).startswith("models:/")
    True
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    return log_pyfunc(model, name=name, registered_model_name=registered_model_name, tags=tags,
                      config=config).model_uri


def log_pyfunc(model: Any, *, name: str = "model", registered_model_name: str | None = None,
               tags: dict[str, str] | None = None, config: TrackingConfig | None = None) -> Any:
    """Like :func:`log_model`, returning MLflow's ``ModelInfo`` (with the registered version)."""
    import mlflow

    from riskml.models._pyfunc import (
        ARTIFACT_META,
        ARTIFACT_MODEL,
        RiskModelPyfunc,  # noqa: F401  (fail early if the pyfunc cannot be imported)
        model_signature,
        pinned_requirements,
        write_meta,
        write_model_code,
    )

    config = config or configure()
    started = None
    if mlflow.active_run() is None:
        started = mlflow.start_run(experiment_id=ensure_experiment(model.target, config), tags=process_tags())
    try:
        with tempfile.TemporaryDirectory(prefix="riskml-model-") as tmp, warnings.catch_warnings():
            # An input example would carry values; the signature already fixes the schema.
            warnings.filterwarnings("ignore", message=".*input example was not provided.*")
            folder = Path(tmp)
            model_dir = folder / ARTIFACT_MODEL
            model.save(model_dir)
            info = mlflow.pyfunc.log_model(
                name=name,
                python_model=str(write_model_code(folder)),
                artifacts={ARTIFACT_MODEL: str(model_dir), ARTIFACT_META: str(write_meta(model, folder))},
                signature=model_signature(model),
                pip_requirements=pinned_requirements(),
                tags=tags,
            )
        digests = _logged_digests(info.model_uri)
        if registered_model_name is not None:
            # registered with its digests in one call: a process killed in between leaves
            # no version that would load unverified
            with reaching(mlflow.get_registry_uri()):
                version = mlflow.register_model(info.model_uri, registered_model_name,
                                                tags={DIGEST_TAG: json.dumps(digests)})
            info.registered_model_version = int(version.version)
    finally:
        if started is not None:
            mlflow.end_run()
    logger.info("logged %s model as %s (digest %s)", model.target, info.model_uri, digest_of(digests)[:16])
    return info


def _logged_digests(model_uri: str) -> dict[str, str]:
    """SHA-256 of every file of the model as the artifact store holds it."""
    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="riskml-digest-") as tmp:
        local = mlflow.artifacts.download_artifacts(model_uri, dst_path=tmp)
        return file_digests(local)


def resolve_version(target: str, *, alias: str | None = "champion", version: int | str | None = None,
                    config: TrackingConfig | None = None) -> ModelVersion:
    """The registry's ModelVersion of ``riskml-<target>`` for ``version`` or ``alias``.

    Raises
    ------
    LookupError
        If the model, the version or the alias does not exist.
    TrackingUnreachableError
        If the tracking server does not answer (the URI is named; never reported as
        a missing alias).

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from riskml.models._bundle import _tiny_model
    >>> from riskml.tracking._runs import log_training_run
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> from riskml.tracking import configure, resolve_version
    >>> cfg = configure(tempfile.mkdtemp())
    >>> metrics = pd.DataFrame({"test_as_of": ["2024-01-01"], "population": ["all"], "auc": [0.81],
    ...                         "calibration_error": [0.02], "n": [1000], "base_rate": [0.05]})
    >>> scores = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-01"] * 3), "score": [580.0, 610.0, 655.0]})
    >>> run_id = log_training_run(_tiny_model(), metrics=metrics, specs={}, panel_schema=pd.DataFrame({"x": [0.5]}),
    ...                           predictions=scores, plots=False, config=cfg)
    >>> found = resolve_version("fraud", alias="challenger", config=cfg)
    >>> found.name, found.version, found.run_id == run_id
    ('riskml-fraud', 1, True)
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    from mlflow.exceptions import MlflowException

    config = config or configure()
    client = config.client()
    name = registered_model_name(target)
    try:
        with reaching(config.tracking_uri):
            if version is not None:
                return client.get_model_version(name, str(version))
            if alias is None:
                raise ValueError("give an alias (e.g. 'champion') or a version number")
            return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        wanted = f"version {version}" if version is not None else f"alias {alias!r}"
        raise LookupError(f"registered model {name!r} has no {wanted} in {config.registry_uri} "
                          f"(train and register a model first, or check the target name): {exc.message}") from None


def load_model(target: str, *, alias: str = "champion", version: int | str | None = None,
               config: TrackingConfig | None = None) -> RiskModel:
    """The RiskModel of ``riskml-<target>`` at ``alias`` (default champion) or ``version``.

    The alias is resolved on every call (one registry query), so a moved champion is
    picked up; the model itself is loaded once per version and cached for the process.
    Concurrent first calls for the same version load it once.

    Parameters
    ----------
    target : str
        Model target, e.g. ``"credit"``.
    alias : str, default "champion"
        Registry alias to load when ``version`` is not given.
    version : int or str, optional
        Explicit version number; wins over ``alias``.
    config : TrackingConfig, optional
        Result of :func:`configure`.

    Returns
    -------
    RiskModel

    Raises
    ------
    LookupError
        If no such registered version exists.
    ModelIntegrityError
        If a file of the version differs from the SHA-256 recorded when it was logged,
        or is missing (model, version and file named).
    ModelFileError
        If a file is malformed (named in the message).

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from riskml.models._bundle import _tiny_model
    >>> from riskml.tracking._runs import log_training_run
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> from riskml.tracking import configure, load_model
    >>> cfg = configure(tempfile.mkdtemp())
    >>> metrics = pd.DataFrame({"test_as_of": ["2024-01-01"], "population": ["all"], "auc": [0.81],
    ...                         "calibration_error": [0.02], "n": [1000], "base_rate": [0.05]})
    >>> scores = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-01"] * 3), "score": [580.0, 610.0, 655.0]})
    >>> run_id = log_training_run(_tiny_model(), metrics=metrics, specs={}, panel_schema=pd.DataFrame({"x": [0.5]}),
    ...                           predictions=scores, plots=False, config=cfg)
    >>> model = load_model("fraud", alias="challenger", config=cfg)
    >>> model.target, model.features
    ('fraud', ('x',))
    >>> load_model("fraud", alias="challenger", config=cfg) is model  # cached per process
    True
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    config = config or configure()
    found = resolve_version(target, alias=alias, version=version, config=config)
    key = (config.registry_uri, found.name, str(found.version))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    with _cache_guard:
        lock = _load_locks.setdefault(key, threading.Lock())
    with lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        model = _load_version(found.name, str(found.version))
        _cache[key] = model
        return model


def clear_model_cache() -> None:
    """Forget every model cached by :func:`load_model` in this process.

    Examples
    --------
    >>> clear_model_cache()
    """
    with _cache_guard:
        _cache.clear()
        _load_locks.clear()


def _verified_copy(name: str, version: str, folder: str) -> str:
    """Download a registered version into ``folder`` and verify every file; its local path."""
    import mlflow
    import mlflow.artifacts

    uri = mlflow.get_registry_uri()
    with reaching(uri):
        tags = dict(mlflow.MlflowClient(registry_uri=uri).get_model_version(name, version).tags or {})
    try:
        local = mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=folder)
    except Exception as exc:  # the artifact store raises many types; all mean "cannot read"
        raise ModelIntegrityError(
            f"model {name} version {version}: its files cannot be read from the artifact store "
            f"({type(exc).__name__}: {exc}); restore the artifact store from a backup, or retrain and "
            "register a new version"
        ) from None
    recorded = tags.get(DIGEST_TAG)
    if recorded is None:
        logger.warning("model %s version %s has no recorded digests (logged by an older riskml); "
                       "its files cannot be verified", name, version)
    else:
        verify_digests(local, json.loads(recorded), model=name, version=version)
    return local


def verify_model_uri(uri: str, config: TrackingConfig | None = None) -> None:
    """Check a registered model URI's files against their logged digests before MLflow loads it.

    For ``models:/<name>/<version>`` and ``models:/<name>@<alias>``; other URIs
    (``runs:/``, ``models:/m-<id>``) are not registered versions and are not checked.

    Raises
    ------
    ModelIntegrityError
        Naming the model, version and file that differ or are missing.

    Examples
    --------
    >>> verify_model_uri("runs:/0123/model")  # not a registered version: nothing to check
    """
    match = re.fullmatch(r"models:/([^/@]+)(?:/(\d+)|@([^/]+))/?", uri)
    if match is None or match.group(1).startswith("m-"):
        return
    from mlflow.exceptions import MlflowException

    config = config or configure()
    name, number, alias = match.groups()
    client = config.client()
    try:
        with reaching(config.tracking_uri):
            version = number if number is not None else str(client.get_model_version_by_alias(name, alias).version)
            client.get_model_version(name, version)
    except MlflowException:
        return  # no such version or alias: the loader reports it
    with tempfile.TemporaryDirectory(prefix="riskml-verify-") as tmp:
        _verified_copy(name, version, tmp)


def _load_version(name: str, version: str) -> Any:
    """Download a version, verify every file against its logged digest, then load it."""
    import mlflow
    import mlflow.artifacts
    import mlflow.pyfunc

    logger.info("loading models:/%s/%s", name, version)
    with tempfile.TemporaryDirectory(prefix="riskml-load-") as tmp:
        local = _verified_copy(name, version, tmp)
        try:
            pyfunc = mlflow.pyfunc.load_model(local)
        except ModelFileError as exc:
            raise ModelFileError(f"model {name} version {version}: {exc}") from None
    model = pyfunc.unwrap_python_model().model
    if model is None:
        raise RuntimeError(f"models:/{name}/{version} did not load a RiskModel")
    # A loaded model knows where it came from: explanations and scores cite it.
    run_id = pyfunc.metadata.run_id
    metadata = {**model.metadata, "model_name": name, "model_version": str(version), "run_id": run_id}
    return dataclasses.replace(model, metadata=metadata)
