"""Data-parallel trials under AWS's own torch-distributed runner (sagemaker-training + sagemaker-pytorch-training).

What the Hugging Face training image does with ``sagemaker_torch_distributed_enabled``: its PyTorch
base sets ``SAGEMAKER_TRAINING_MODULE=sagemaker_pytorch_container.training:main``; sagemaker-training's
``train`` hands over to that module, which (for a homogeneous cluster with the flag true) picks
``runner.TorchDistributedRunnerType``; ``torch_distributed.TorchDistributedRunner`` then runs
``torchrun --nnodes <hosts> --nproc_per_node <processes per host> [--master_addr <first host>
--master_port 7777 --node_rank <this host's index>] train.py <hyperparameters>``.

Processes per host is the GPU count (``nvidia-smi --list-gpus``), 1 on a machine without GPUs, unless
the toolkit's own hyperparameter ``sagemaker_mpi_num_of_processes_per_host`` says otherwise
(``runner._get_by_runner_type`` reads it for every runner type). That is how these tests get 2 gloo
processes on CPU from the unmodified runner; on a GPU instance nothing is added and the GPU count
decides. The torchrun, the DNS wait, the ``MASTER_ADDR``/``MASTER_PORT`` and NCCL variables are the
toolkits'; only torchrun's single-node port is moved off its default 29500 (``PET_MASTER_PORT``,
torchrun's own variable) so parallel test runs on one machine don't collide.

Two "instances" run as two toolkit processes on this machine, each with its own container folder and
a ``resourceconfig.json`` naming the hosts ``localhost`` and ``127.0.0.1`` (both resolve here, as
``algo-1``/``algo-2`` resolve inside SageMaker's network). What only AWS shows is listed in
docs/sagemaker.md ("Several GPUs and instances").
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from ..helpers import free_port
from ._trial import Trial, other_host, prepare_trial, read_metrics, run_toolkit, toolkit_process
from .conftest import TRAIN_ENVS, env_python, read_json

pytestmark = [pytest.mark.fidelity, pytest.mark.slow]

ENV = TRAIN_ENVS[0]  # the default training image's generation; one is enough for the launch path
#: A 4-GPU instance: the compiler turns distribution auto into the torch-distributed flag.
MULTI_GPU = {"instance_type": "ml.g5.12xlarge"}
#: The toolkit's processes-per-host hyperparameter: 2 CPU processes stand in for 2 GPUs.
PROCESSES_PER_HOST = "sagemaker_mpi_num_of_processes_per_host"
HOSTS = ("localhost", "127.0.0.1")
TOOLKIT_MASTER_PORT = 7777  # torch_distributed.MASTER_PORT: fixed by the toolkit for several hosts


@pytest.fixture(autouse=True)
def _s3(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)  # the library's boto3 (upload_source) reaches moto


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("distributed-channels")


def _check_metrics(trial: Trial, log: str) -> dict[str, list[float]]:
    """Every compiled regex reads the captured output: one value per evaluation plus the kept model's line."""
    found = read_metrics(trial.request, log)
    report = read_json(trial.output / "data" / "metrics.json")
    for definition in trial.request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions:
        if definition.Name == "eval_official":  # printed only for a dataset that names its task
            continue
        assert definition.Name in found, f"{definition.Name} never matched the toolkit's output"
        assert len(found[definition.Name]) == len(report["evaluations"]) + 1, (definition.Name, found)
        assert found[definition.Name][-1] == pytest.approx(report["final"][definition.Name], rel=1e-9)
    return found


def _global_batch_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "hfst: global batch" in line]


@pytest.mark.timeout(600)
def test_a_two_process_trial_runs_under_the_toolkits_torch_distributed_runner(
    tmp_path: Path, tiny_model: Path, data_cache: Path, s3_endpoint: str
) -> None:
    env_python(ENV)
    trial = prepare_trial(
        "quickstart",
        tmp_path / "opt-ml",
        tiny_model,
        data_cache,
        overrides={"training": MULTI_GPU},
        extra={PROCESSES_PER_HOST: "2"},
    )
    assert trial.hyperparameters["sagemaker_torch_distributed_enabled"] == "true"  # the compiler's, not ours
    code, log = run_toolkit(ENV, trial, s3_endpoint, framework=True, PET_MASTER_PORT=str(free_port()))
    assert code == 0, log[-4000:]
    assert "Invoking TorchDistributed" in log  # sagemaker-pytorch-training picked the runner
    assert "torchrun --nnodes 1 --nproc_per_node 2 train.py" in log, log[-4000:]
    assert (trial.output / "success").is_file() and not (trial.output / "failure").exists()
    # 96 examples, 2 processes x 32: global batch 64, printed once (rank 0)
    assert _global_batch_lines(log) == [
        "hfst: global batch 64 = per_device_train_batch_size 32 x 2 process(es) x gradient_accumulation_steps 1 "
        "(backend gloo, timeout 600 s)"
    ]
    _check_metrics(trial, log)
    report = read_json(trial.output / "data" / "metrics.json")
    assert report["validation"]["processes"] == 2
    assert all(count == report["validation"]["examples"] for count in report["validation"]["scored_per_evaluation"])
    assert (trial.model / "model.safetensors").is_file() and (trial.model / "code" / "inference.py").is_file()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.mark.timeout(600)
def test_two_instances_on_localhost_train_one_model_under_the_toolkit(
    tmp_path: Path, tiny_model: Path, data_cache: Path, s3_endpoint: str
) -> None:
    env_python(ENV)
    if not _port_free(TOOLKIT_MASTER_PORT):
        pytest.skip(f"port {TOOLKIT_MASTER_PORT} (the toolkit's fixed master port for several hosts) is in use here")
    first = prepare_trial(
        "quickstart",
        tmp_path / "host-1" / "opt-ml",
        tiny_model,
        data_cache,
        overrides={"training": {**MULTI_GPU, "instance_count": 2}},
        hosts=HOSTS,
    )
    second = other_host(first, tmp_path / "host-2" / "opt-ml", HOSTS[1])
    processes = []
    for trial in (first, second):
        command, environ = toolkit_process(ENV, trial, s3_endpoint, framework=True)
        log = (trial.base.parent / "container.log").open("w", encoding="utf-8")
        processes.append((subprocess.Popen(command, cwd=trial.base, env=environ, stdout=log, stderr=log), log))
    deadline = time.monotonic() + 540
    for process, log in processes:
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            if process.poll() is None:  # only on a hang: end what this test started
                process.kill()
                process.wait()
            log.close()
    logs = [(trial.base.parent / "container.log").read_text(encoding="utf-8") for trial in (first, second)]
    for (process, _), log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log[-4000:]
    # one torchrun per instance, the first host is the master, each its own node rank
    for rank, log in enumerate(logs):
        expected = (
            f"torchrun --nnodes 2 --nproc_per_node 1 --master_addr {HOSTS[0]} "
            f"--master_port {TOOLKIT_MASTER_PORT} --node_rank {rank} train.py"
        )
        assert expected in log, log[-4000:]
    # rank 0 (host 1) prints the global batch and the metric lines, and saves the model; host 2 prints and saves none
    assert _global_batch_lines(logs[0]) == [
        "hfst: global batch 64 = per_device_train_batch_size 32 x 2 process(es) x gradient_accumulation_steps 1 "
        "(backend gloo, timeout 600 s)"
    ]
    _check_metrics(first, logs[0])
    assert read_metrics(second.request, logs[1]) == {} and _global_batch_lines(logs[1]) == []
    assert read_json(first.output / "data" / "metrics.json")["validation"]["processes"] == 2
    assert (first.model / "model.safetensors").is_file()
    assert not (second.model / "model.safetensors").exists()
