"""One trial: a SageMaker-shaped folder and a subprocess running the entry point under the container contract.

```
trials/<trial name>/
  input/config/hyperparameters.json   every hyperparameter as a string, as SageMaker writes it
  input/config/resourceconfig.json    current_host, hosts
  input/config/inputdataconfig.json   the channels
  input/data/<channel> -> the prepared channel (a symlink)
  model/  output/failure  output/data/  checkpoints/
  log.txt                             stdout and stderr of the trial
  trial.json                          the trial's record (status, times, objective, metrics)
  exit.json                           how the entry point exited: {"ExitCode": n, "EndTime": ...}
```
The process sees only the contract's environment (``SM_*``, ``SAGEMAKER_BASE_DIR``) plus
a short list of harmless variables; never AWS credentials.

The entry point is started through a tiny standard-library wrapper (the group leader) that
waits for it and writes ``exit.json``: so a trial that ends while no coordinator watches it
(the coordinator was killed) still leaves its exit status, and a resume adopts its result
instead of re-running it. The entry point's command line, environment and folder are the
container contract's, unchanged.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from ... import _process
from ...compile.request import TuningJobRequest
from ...errors import BackendError
from .slots import threads_per_process

#: Variables a trial inherits from the coordinator (everything else is dropped, credentials included).
PASS_THROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "TZ",
    "USER",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_DATASETS_CACHE",
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TOKENIZERS_PARALLELISM",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "PYTHONHASHSEED",
)
#: Test hooks of the bundled training package and of test fakes travel too.
PASS_THROUGH_PREFIXES = ("HFST_TEST_",)
#: torchrun as a module of the trial's Python (the venv's torch), one node, its own rendezvous.
TORCHRUN = ("-m", "torch.distributed.run", "--standalone", "--nnodes", "1")
#: Written by the wrapper when the entry point exits (see the module docstring).
EXIT_FILE = "exit.json"
#: ``python -c WRAPPER EXIT_FILE ENTRY_COMMAND...``: run the entry point, record how it exited,
#: exit the same way. It ignores SIGTERM/SIGINT (set after the entry point started, so the entry
#: point keeps the default handlers) to outlive the entry point it records; SIGKILL ends both.
WRAPPER = (
    "import datetime, json, os, signal, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
    "    signal.signal(s, signal.SIG_IGN)\n"
    "code = child.wait()\n"
    "end = datetime.datetime.now(datetime.timezone.utc).isoformat()\n"
    "tmp = sys.argv[1] + '.tmp'\n"
    "with open(tmp, 'w') as f:\n"
    "    json.dump({'ExitCode': code, 'EndTime': end}, f)\n"
    "os.replace(tmp, sys.argv[1])\n"
    "if code < 0:\n"
    "    try:\n"
    "        signal.signal(-code, signal.SIG_DFL)\n"
    "    except (OSError, ValueError):\n"
    "        pass\n"
    "    os.kill(os.getpid(), -code)\n"
    "sys.exit(code if 0 <= code < 256 else 1)\n"
)


@dataclass(frozen=True)
class ExitStatus:
    """What ``exit.json`` says: the entry point's exit code (negative: killed by that signal), and when."""

    code: int
    ended: datetime | None


def read_exit(folder: Path) -> ExitStatus | None:
    """The exit status the wrapper recorded in ``folder``, or ``None`` (still running, or never recorded)."""
    try:
        data = json.loads((folder / EXIT_FILE).read_text(encoding="utf-8"))
        code = data["ExitCode"]
        if not isinstance(code, int) or isinstance(code, bool):
            return None
        ended = datetime.fromisoformat(data["EndTime"]) if isinstance(data.get("EndTime"), str) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return ExitStatus(code, ended if ended is not None and ended.tzinfo is not None else None)


def local_path(uri: str) -> Path:
    """A ``file://`` URI (or a plain path) as a local path; other schemes are refused."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else uri)
    raise BackendError(
        f"the local backend reads channels and code from local folders (file:// URIs), not {uri!r}; "
        "prepare the dataset to a local folder, or use the SageMaker backend"
    )


@dataclass
class Launch:
    """How to run one trial."""

    name: str
    folder: Path
    hyperparameters: dict[str, str]
    cuda_devices: str | None = None
    threads: int | None = None
    #: More than one: the entry point runs under torchrun, one process per GPU (gloo on CPU).
    processes: int = 1


def _user_hyperparameters(all_hps: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in all_hps.items() if not k.startswith("sagemaker_") and k != "_tuning_objective_metric"}


def prepare_folder(request: TuningJobRequest, launch: Launch) -> None:
    """Lay out the trial folder as SageMaker would inside the container."""
    base = launch.folder
    config = base / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    for sub in ("model", "output/data", "output/intermediate", "checkpoints"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(launch.hyperparameters, indent=2), encoding="utf-8")
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "lo"}), encoding="utf-8"
    )
    channels = request.channels()
    (config / "inputdataconfig.json").write_text(
        json.dumps({name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"} for name in channels}),
        encoding="utf-8",
    )
    data = base / "input" / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, uri in channels.items():
        target = local_path(uri).resolve()
        if not target.is_dir():
            raise BackendError(f"channel {name!r}: {target} does not exist (prepare the dataset first: hfst prepare)")
        link = data / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)


def environment(request: TuningJobRequest, launch: Launch) -> dict[str, str]:
    """The trial's whole environment: the container contract and nothing secret."""
    base = launch.folder.resolve()
    env = {k: v for k, v in os.environ.items() if k in PASS_THROUGH or k.startswith(PASS_THROUGH_PREFIXES)}
    user = _user_hyperparameters(launch.hyperparameters)
    channels = list(request.channels())
    env.update(
        SAGEMAKER_BASE_DIR=str(base),
        SM_MODEL_DIR=str(base / "model"),
        SM_OUTPUT_DIR=str(base / "output"),
        SM_OUTPUT_DATA_DIR=str(base / "output" / "data"),
        SM_OUTPUT_INTERMEDIATE_DIR=str(base / "output" / "intermediate"),
        SM_INPUT_DIR=str(base / "input"),
        SM_INPUT_CONFIG_DIR=str(base / "input" / "config"),
        SM_CHECKPOINT_DIR=str(base / "checkpoints"),
        SM_CHANNELS=json.dumps(sorted(channels)),
        SM_HPS=json.dumps(user, sort_keys=True),
        SM_HOSTS='["algo-1"]',
        SM_CURRENT_HOST="algo-1",
        SM_NUM_GPUS="0" if not launch.cuda_devices else str(len(launch.cuda_devices.split(","))),
        SM_NUM_CPUS=str(launch.threads or os.cpu_count() or 1),
        SM_USER_ENTRY_POINT=launch.hyperparameters.get("sagemaker_program", "train.py"),
        SM_TRAINING_JOB_NAME=launch.name,
        PYTHONUNBUFFERED="1",
    )
    # The request's own variables (tracking); MLflow is the coordinator's to log on this backend.
    extra = request.TrainingJobDefinition.Environment or {}
    env.update({k: v for k, v in extra.items() if not k.startswith("HFST_MLFLOW_")})
    for name in channels:
        env[f"SM_CHANNEL_{name.upper()}"] = str(base / "input" / "data" / name)
    for key, value in user.items():
        env[f"SM_HP_{key.upper().replace('-', '_')}"] = value
    if launch.cuda_devices is not None:
        env["CUDA_VISIBLE_DEVICES"] = launch.cuda_devices
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""
    threads = threads_per_process(launch.threads, launch.processes)
    if threads is not None:  # per process: torchrun's children each get this many
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(threads)
    return env


def command(request: TuningJobRequest, launch: Launch, python: str = sys.executable) -> tuple[list[str], Path]:
    """``python <entry> --name value ...`` and the folder to run it in (the source dir).

    A trial of several processes runs under torchrun, the trial's own Python's
    (``python -m torch.distributed.run --standalone --nnodes 1 --nproc_per_node N <entry> ...``):
    ``--standalone`` rendezvous on a free local port, so parallel trials never collide.
    """
    hps = launch.hyperparameters
    source = local_path(hps.get("sagemaker_submit_directory", ".")).resolve()
    entry = hps.get("sagemaker_program", "train.py")
    if not (source / entry).is_file():
        raise BackendError(f"entry point {entry!r} not found in {source}")
    args = [python, str(source / entry)]
    if launch.processes > 1:
        args[1:1] = [*TORCHRUN, "--nproc_per_node", str(launch.processes)]
    for key, value in _user_hyperparameters(hps).items():
        args += [f"--{key}", value]
    return args, source


def start(request: TuningJobRequest, launch: Launch, python: str = sys.executable) -> subprocess.Popen[bytes]:
    """Prepare the folder and start the trial in its own process group; output goes to ``log.txt``.

    The process started is the wrapper (see the module docstring); the entry point is its child
    in the same process group.
    """
    prepare_folder(request, launch)
    args, cwd = command(request, launch, python)
    exit_file = launch.folder.resolve() / EXIT_FILE
    exit_file.unlink(missing_ok=True)
    log = (launch.folder / "log.txt").open("ab")
    try:
        return subprocess.Popen(
            [python, "-c", WRAPPER, str(exit_file), *args],
            cwd=cwd,
            env=environment(request, launch),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()


def terminate(
    process: subprocess.Popen[bytes] | int, grace_seconds: float = 10.0, *, started: int | None = None
) -> None:
    """SIGTERM the trial's process group, then SIGKILL it after ``grace_seconds``.

    A bare pid is signalled only while it is still the recorded process (``started``: its
    start time, see ``hf_sagemaker_tuning._process``).
    """
    if isinstance(process, int):
        _process.terminate_group(process, started, grace_seconds=grace_seconds)
    else:
        _process.terminate_group(process.pid, grace_seconds=grace_seconds, process=process)


def failure_reason(folder: Path, returncode: int | None, tail_lines: int = 20) -> str:
    """Why a trial failed: its ``output/failure`` file, else the exit code and the log's last lines."""
    failure = folder / "output" / "failure"
    if failure.is_file():
        text = failure.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            return text[:4000]
    how = (
        f"killed by signal {signal.Signals(-returncode).name}"
        if returncode is not None and returncode < 0 and -returncode in signal.valid_signals()
        else f"exited with code {returncode}"
    )
    log = folder / "log.txt"
    tail = ""
    if log.is_file():
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-tail_lines:]
        tail = "\n".join(lines)
    return f"AlgorithmError: the training process {how}" + (f"; last output:\n{tail}" if tail else "")
