"""Fault injection: each fault ends in a named error within a bounded time, registry consistent.

Faults: a tampered, truncated or deleted model file; a tracking server that refuses
connections and one that accepts and never answers (real sockets on loopback); a
training process killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from riskml.models import ModelFileError, ModelIntegrityError, RiskModel
from riskml.models._bundle import _tiny_model
from riskml.models._integrity import DIGEST_TAG

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from riskml.tracking import configure

    home = tmp_path_factory.mktemp("faults-home")
    saved = {k: os.environ.pop(k, None) for k in ("MLFLOW_TRACKING_URI", "RISKML_HOME")}
    os.environ["RISKML_HOME"] = str(home)
    configure()
    yield home
    for k, v in saved.items():
        os.environ.pop(k, None)
        if v is not None:
            os.environ[k] = v


@pytest.fixture(scope="module")
def tiny():
    return _tiny_model()


def _register(tiny) -> tuple[str, Path]:
    """Log and register ``tiny`` as a new version; its version and artifact folder."""
    from riskml.tracking import configure
    from riskml.tracking._registry import clear_model_cache, log_model

    config = configure()
    uri = log_model(tiny, registered_model_name="riskml-fraud", config=config)
    client = config.client()
    version = max(client.search_model_versions("name='riskml-fraud'"), key=lambda v: int(v.version))
    logged = client.get_logged_model(uri.removeprefix("models:/"))
    clear_model_cache()
    return str(version.version), Path(unquote(urlparse(logged.artifact_location).path))


def _load(version: str):
    from riskml.tracking import load_model

    return load_model("fraud", version=version)


def test_every_logged_file_has_a_recorded_digest(home, tiny):
    from riskml.tracking import configure, resolve_version

    version, folder = _register(tiny)
    recorded = json.loads(resolve_version("fraud", version=version, config=configure()).tags[DIGEST_TAG])
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(recorded) == on_disk
    assert {"MLmodel", "artifacts/risk_model/booster.txt", "artifacts/risk_model/model.json"} <= set(recorded)
    assert _load(version).features == tiny.features


def test_a_same_length_edit_of_the_booster_is_refused_naming_model_version_and_file(home, tiny):
    version, folder = _register(tiny)
    booster = folder / "artifacts/risk_model/booster.txt"
    text = booster.read_text()
    i = text.index("leaf_value=") + len("leaf_value=")
    flipped = "-" if text[i] != "-" else "0"
    booster.write_text(text[:i] + flipped + text[i + 1 :])
    assert booster.stat().st_size == len(text.encode())
    started = time.monotonic()
    with pytest.raises(ModelIntegrityError, match=rf"model riskml-fraud version {version}: file artifacts/risk_model/booster.txt was changed"):
        _load(version)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("file", ["artifacts/risk_model/booster.txt", "artifacts/risk_model/model.json", "MLmodel"])
def test_a_truncated_file_is_refused_before_it_is_parsed(home, tiny, file):
    version, folder = _register(tiny)
    path = folder / file
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelIntegrityError, match=rf"version {version}: file {file} was changed"):
        _load(version)


@pytest.mark.parametrize("file", ["artifacts/risk_model/booster.txt", "artifacts/risk_model/catalog.parquet"])
def test_a_deleted_file_is_refused_naming_it(home, tiny, file):
    version, folder = _register(tiny)
    (folder / file).unlink()
    with pytest.raises(ModelIntegrityError, match=rf"model riskml-fraud version {version}: file {file} is missing"):
        _load(version)


def test_deleted_artifacts_are_a_named_error_not_an_empty_artifact_path(home, tiny):
    import shutil

    version, folder = _register(tiny)
    shutil.rmtree(folder)
    with pytest.raises(ModelIntegrityError, match=rf"model riskml-fraud version {version}"):
        _load(version)


def test_registry_stays_consistent_after_refused_loads(home, tiny):
    """A refused load changes no alias or tag; an intact version still loads."""
    from riskml.tracking import configure

    version, folder = _register(tiny)
    client = configure().client()
    before = {(v.version, tuple(sorted(v.aliases)), json.dumps(v.tags, sort_keys=True))
              for v in client.search_model_versions("name='riskml-fraud'")}
    (folder / "artifacts/risk_model/model.json").write_text("{")
    with pytest.raises(ModelIntegrityError):
        _load(version)
    after = {(v.version, tuple(sorted(v.aliases)), json.dumps(v.tags, sort_keys=True))
             for v in client.search_model_versions("name='riskml-fraud'")}
    assert before == after
    intact, _ = _register(tiny)
    assert _load(intact).features == tiny.features


# ----------------------------------------------------------- a bundle read directly


def test_a_truncated_booster_raises_instead_of_aborting_the_process(tmp_path, tiny):
    folder = tiny.save(tmp_path / "m")
    text = (folder / "booster.txt").read_text()
    for cut in (len(text) // 3, text.index("end of trees") - 5, 40):
        (folder / "booster.txt").write_text(text[:cut])
        with pytest.raises(ModelFileError, match=r"booster.txt is not a complete LightGBM model"):
            RiskModel.load(folder)


def test_no_corrupt_booster_ends_the_process():
    """Each named corruption once aborted LightGBM's parser or scoring; 200 random ones never may.

    Run in a child process: an abort or a segmentation fault is its exit code. Every
    outcome is either a valid edit (still a model) or a named ``ModelFileError``.
    """
    import subprocess
    import sys

    script = Path(__file__).with_name("booster_corruption.py")
    child = subprocess.run([sys.executable, str(script), "200", "0"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert child.returncode == 0, f"the process ended with {child.returncode}: {child.stderr[-2000:]}"
    outcomes = json.loads(child.stdout.splitlines()[-1])
    named = {k: v for k, v in outcomes.items() if not k.startswith("random_")}
    assert named and set(named.values()) == {"ModelFileError"}, named
    assert set(outcomes.values()) <= {"ModelFileError", "ok"}, outcomes
    assert list(outcomes.values()).count("ModelFileError") > 100


@pytest.mark.parametrize("params", [
    {}, {"linear_tree": True, "objective": "regression"}, {"objective": "multiclass", "num_class": 3},
    {"boosting": "rf", "bagging_freq": 1, "bagging_fraction": 0.5}, {"boosting": "dart"},
    {"min_data_in_leaf": 10_000}, {"categorical": True},
], ids=["binary", "linear", "multiclass", "rf", "dart", "one_leaf", "categorical"])
def test_every_kind_of_valid_booster_passes_the_check_and_scores_the_same(params):
    """The check refuses nothing LightGBM writes: the read booster scores exactly as the written one."""
    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    params = dict(params)
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    if params.pop("categorical", False):
        X["c"] = pd.Categorical(rng.integers(0, 5, 600).astype(str))
    X.loc[::9, "a"] = np.nan
    y = (X["a"].fillna(0) * 2 + X["b"] + rng.normal(size=600) > 0).astype(int)
    if params.get("objective") == "multiclass":
        y = y + (X["b"] > 1)
    fitted = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, **params}, lgb.Dataset(X, y), 6)
    read = RiskModel._read_booster(fitted.model_to_string(), Path("booster.txt"))
    np.testing.assert_array_equal(read.predict(X), fitted.predict(X))


def test_a_corrupt_model_json_names_the_file(tmp_path, tiny):
    folder = tiny.save(tmp_path / "m")
    (folder / "model.json").write_text('{"format": "riskml.RiskModel/1", "target": ')
    with pytest.raises(ModelFileError, match=r"model.json is not valid JSON"):
        RiskModel.load(folder)


# ----------------------------------------------------------- tracking server faults


@pytest.fixture
def silent_server():
    """A real socket on loopback that accepts connections and never answers."""
    import socket
    import threading

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)  # read nothing, answer nothing
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    listener.close()


@pytest.fixture
def closed_port():
    """A loopback port nobody listens on (connection refused)."""
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def short_budget(monkeypatch, home):
    """1 s per request and 1 retry, so a dead server is given up within ~4 s."""
    from riskml.tracking import configure

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    yield 1 * 2 + 1 + 3  # two 1 s attempts, 1 s backoff, slack for a loaded machine
    monkeypatch.undo()
    os.environ["RISKML_HOME"] = str(home)
    configure()


@pytest.mark.parametrize("server", ["closed_port", "silent_server"])
def test_a_dead_tracking_server_is_a_named_error_within_the_budget(request, short_budget, monkeypatch, server):
    from riskml.tracking import TrackingUnreachableError, configure

    uri = request.getfixturevalue(server)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    started = time.monotonic()
    with pytest.raises(TrackingUnreachableError, match=rf"server at {uri} cannot be reached.*MLFLOW_TRACKING_URI"):
        configure()
    assert time.monotonic() - started < short_budget


@pytest.mark.parametrize("server", ["closed_port", "silent_server"])
def test_a_server_that_dies_after_configure_is_not_reported_as_a_missing_champion(
    request, short_budget, monkeypatch, server
):
    """``predict`` used to retry for minutes, then say there is no champion."""
    from riskml.tracking import TrackingUnreachableError, load_model
    from riskml.tracking._store import TrackingConfig

    uri = request.getfixturevalue(server)
    config = TrackingConfig(home=Path(os.environ["RISKML_HOME"]), tracking_uri=uri, artifact_root=None)
    started = time.monotonic()
    with pytest.raises(TrackingUnreachableError, match=rf"server at {uri} cannot be reached") as info:
        load_model("credit", config=config)
    assert "champion" not in str(info.value)
    assert time.monotonic() - started < short_budget


@pytest.fixture(scope="module")
def small_records():
    import riskml

    return riskml.synth.make_market(n_entities=300, seed=0).records


@pytest.mark.parametrize("server", ["closed_port", "silent_server"])
def test_train_and_predict_against_a_dead_server_fail_before_any_work(
    request, short_budget, monkeypatch, small_records, server
):
    """``train`` used to fit for minutes and then hang on logging; ``predict`` to report no champion."""
    import riskml
    from riskml.tracking import TrackingUnreachableError

    uri = request.getfixturevalue(server)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for verb in (lambda: riskml.train(small_records, "credit"), lambda: riskml.predict(small_records, target="credit")):
        started = time.monotonic()
        with pytest.raises(TrackingUnreachableError, match=rf"server at {uri} cannot be reached") as info:
            verb()
        assert "champion" not in str(info.value)
        assert time.monotonic() - started < short_budget
        # at the start, not when logging or loading after the panel and the fit
        assert not {"build_panel", "log_training_run"} & {entry.name for entry in info.traceback}


def test_the_default_budget_is_well_under_a_minute():
    from riskml.tracking._health import HTTP_DEFAULTS

    timeout = float(HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_TIMEOUT"])
    retries = int(HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"])
    factor = float(HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"])
    jitter = float(HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"])
    worst = (retries + 1) * timeout + sum(factor * 2**k + jitter for k in range(retries))
    assert worst < 45


# ----------------------------------------------------------- a killed process


_LOGGING_CHILD = """
import sys
from riskml.models._bundle import _tiny_model
from riskml.tracking import configure
from riskml.tracking._registry import log_model
configure()
log_model(_tiny_model())
"""


def test_a_run_of_a_killed_process_is_marked_failed_at_the_next_start(home):
    import signal
    import subprocess
    import sys

    import mlflow

    from riskml.tracking import configure
    from riskml.tracking._store import ensure_experiment
    from riskml.tracking._health import process_tags

    config = configure()
    client = config.client()
    experiment = ensure_experiment("fraud", config)
    env = {**os.environ, "RISKML_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    child = subprocess.Popen([sys.executable, "-c", _LOGGING_CHILD], env=env)

    def running() -> list:
        return client.search_runs([experiment], filter_string="attributes.status = 'RUNNING'")

    deadline = time.monotonic() + 60
    while not running() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    [orphan] = running()
    assert orphan.data.tags["riskml.process"].split(":")[1] == str(child.pid)

    with mlflow.start_run(experiment_id=experiment, tags=process_tags()) as alive:
        ensure_experiment("fraud", config)  # the next start
        assert client.get_run(orphan.info.run_id).info.status == "FAILED"
        assert "ended without finishing" in client.get_run(orphan.info.run_id).data.tags["riskml.failure"]
        assert client.get_run(alive.info.run_id).info.status == "RUNNING"  # a live process's run is left alone
    assert not running()


_REGISTERING_CHILD = """
from riskml.models._bundle import _tiny_model
from riskml.tracking import configure
from riskml.tracking._registry import log_model
configure()
log_model(_tiny_model(), registered_model_name="riskml-killed")
"""


def test_a_process_killed_while_registering_leaves_no_version_without_digests(home):
    """Killed as soon as its version appears: the version already carries its digests (never loads unverified)."""
    import signal
    import subprocess
    import sys

    from riskml.tracking import configure

    client = configure().client()
    env = {**os.environ, "RISKML_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    child = subprocess.Popen([sys.executable, "-c", _REGISTERING_CHILD], env=env)
    deadline = time.monotonic() + 60
    versions: list = []
    while not versions and child.poll() is None and time.monotonic() < deadline:
        versions = client.search_model_versions("name='riskml-killed'")
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    versions = versions or client.search_model_versions("name='riskml-killed'")
    assert versions, "the child registered no version"
    assert all(DIGEST_TAG in client.get_model_version("riskml-killed", v.version).tags for v in versions)


def test_a_model_uri_scored_through_spark_is_verified_first(home, tiny):
    """Spark scoring loads by URI (``models:/name/version`` or ``@alias``): the same check applies."""
    from riskml.tracking import configure
    from riskml.tracking._registry import verify_model_uri

    version, folder = _register(tiny)
    configure().client().set_registered_model_alias("riskml-fraud", "spark_test", version)
    verify_model_uri(f"models:/riskml-fraud/{version}")
    (folder / "artifacts/risk_model/catalog.parquet").write_bytes(b"PAR1")
    for uri in (f"models:/riskml-fraud/{version}", "models:/riskml-fraud@spark_test"):
        with pytest.raises(ModelIntegrityError, match=rf"version {version}: file artifacts/risk_model/catalog.parquet"):
            verify_model_uri(uri)
