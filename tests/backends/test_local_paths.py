"""Issue 17 item 3: job and trial names never lead outside the jobs folder.

``hfst tune tiny.yaml --job-name ../../etc --jobs-dir tj --detach`` used to create the job and its
trial folders outside ``tj``. Its trials' folders (``trials/../../etc-001-...``) were outside the
job's ``trials/`` too, so the coordinator never counted them as launched and kept launching (16
trials for ``max_jobs: 4``). Names now follow SageMaker's rule (from botocore's model) wherever
they come in, and every path built from a name is checked to stay inside its folder.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hf_sagemaker_tuning import tune
from hf_sagemaker_tuning.backends._factory import is_local_job, resolve_job
from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.backends.local.coordinator import Coordinator
from hf_sagemaker_tuning.backends.local.jobs import JobFolder, inside
from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.compile import TuningJobRequest, compile_request
from hf_sagemaker_tuning.compile.naming import check_job_name, job_name_rule
from hf_sagemaker_tuning.errors import BackendError, SpecError
from hf_sagemaker_tuning.specs import dump_yaml, parse_job_spec

from ..fakejob import fake_spec

MakeRequest = Callable[..., TuningJobRequest]
PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}"

#: An absolute job name; unique per run, so an older (unfixed) run's leftover can't confuse this one.
ESCAPE = f"/tmp/hfst-escape-{os.getpid()}-{uuid.uuid4().hex[:6]}"
#: Names SageMaker refuses, each for a reason that matters here (the path-traversal table).
BAD_NAMES = {
    "parent": "../../etc",
    "dot-dot": "..",
    "dot": ".",
    "absolute": ESCAPE,
    "nested": "a/b",
    "backslash": "a\\b",
    "space": "bad name",
    "200 characters": "x" * 200,
    "33 characters": "a" * 33,
    "33 with hyphens": "a-rather-long-tuning-job-name-32c",  # the pattern alone allowed it
    "unicode": "jöb-1",
    "fullwidth digit": "job-１",
    "trailing newline": "job\n",
    "leading hyphen": "-job",
    "trailing hyphen": "job-",
    "underscore": "my_job",
    "empty": "",
    "nul": "job\x00x",
}
GOOD_NAMES = ["a", "a--b", "Job-2", "x" * 32, "0-0"]


def _nothing_escaped(tmp_path: Path, jobs: Path) -> None:
    """Only ``jobs`` (and what the test made) is under ``tmp_path``; ``jobs`` holds no job."""
    assert not jobs.exists() or not any(jobs.iterdir()), list(jobs.iterdir())
    assert not (tmp_path.parent / "etc").exists()
    assert not Path(ESCAPE).exists()
    assert not any(p.name.startswith("etc-") for p in tmp_path.parent.iterdir())


def test_the_rule_is_botocores() -> None:
    pattern, longest = job_name_rule()
    assert (pattern, longest) == (PATTERN, 32)


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_names_sagemaker_accepts_are_accepted(name: str) -> None:
    assert check_job_name(name) == name


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_the_cli_refuses_a_bad_job_name_in_one_line(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(dump_yaml(parse_job_spec(fake_spec())))
    jobs = tmp_path / "tj"
    monkey_cwd = tmp_path / "work"
    monkey_cwd.mkdir()
    monkeypatch.chdir(monkey_cwd)
    result = CliRunner().invoke(app, ["tune", str(spec), "--job-name", name, "--jobs-dir", str(jobs), "--detach"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert message.count("\n") == 0, message
    assert "--job-name" in message and PATTERN in message
    _nothing_escaped(tmp_path, jobs)
    assert not any(monkey_cwd.iterdir())  # not even a prepared dataset: the name is checked first


@pytest.mark.parametrize("name", ["../../etc", "bad name", "x" * 200])
def test_hfst_compile_refuses_a_bad_job_name(tmp_path: Path, name: str) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(dump_yaml(parse_job_spec(fake_spec())))
    result = CliRunner().invoke(app, ["compile", str(spec), "--backend", "local", "--job-name", name])
    assert result.exit_code == 2, result.output
    assert "--job-name" in result.stderr and PATTERN in result.stderr


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_the_python_api_refuses_a_bad_job_name(tmp_path: Path, name: str) -> None:
    jobs = tmp_path / "tj"
    with pytest.raises(SpecError) as info:
        tune(parse_job_spec(fake_spec()), job_name=name, jobs_dir=jobs)
    assert str(info.value).startswith("job_name: ") and PATTERN in str(info.value)
    with pytest.raises(SpecError, match="job_name"):
        compile_request(parse_job_spec(fake_spec()), target="local", job_name=name)
    _nothing_escaped(tmp_path, jobs)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_the_spec_name_field_follows_the_same_rule(name: str) -> None:
    with pytest.raises(SpecError, match="name"):
        parse_job_spec(fake_spec(name=name))


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_the_local_backend_refuses_a_request_with_a_bad_name(
    tmp_path: Path, make_request: MakeRequest, name: str
) -> None:
    """A request built by hand (not by compile_request) is checked again where the folder is made."""
    jobs = tmp_path / "tj"
    request = make_request().model_copy(update={"HyperParameterTuningJobName": name})
    with pytest.raises(BackendError, match="HyperParameterTuningJobName"):
        LocalBackend(jobs).create(request)
    _nothing_escaped(tmp_path, jobs)


@pytest.mark.parametrize(
    ("names", "fragment"),
    [
        (("..",), "would leave"),
        (("../x",), "would leave"),
        (("/etc",), "would leave"),
        (("a/b",), "would leave"),
        (("",), "would leave"),
        (("trials", ".."), "would leave"),
        (("trials", "../../x"), "would leave"),
    ],
)
def test_inside_refuses_names_that_leave_the_folder(tmp_path: Path, names: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(BackendError, match=fragment):
        inside(tmp_path, *names, what="name")


def test_inside_accepts_plain_names_and_unicode_folder_names(tmp_path: Path) -> None:
    assert inside(tmp_path, "trials", "jöb-001") == tmp_path / "trials" / "jöb-001"
    assert inside(tmp_path, "job") == tmp_path / "job"


def test_trial_and_run_names_cannot_leave_the_job_folder(tmp_path: Path) -> None:
    folder = JobFolder(tmp_path / "jobs" / "j")
    for bad in ("../../etc-001-abc", "..", "/etc", "a/b"):
        with pytest.raises(BackendError, match="trial name"):
            folder.trial_dir(bad)
        with pytest.raises(BackendError, match="training job name"):
            folder.run_dir(bad)


@pytest.fixture
def finished(tmp_path: Path, make_request: MakeRequest) -> Path:
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    be.run(make_request(**{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 2}))
    return tmp_path / "jobs" / "fake-job"


@pytest.mark.timeout(120)
def test_logs_and_retrain_names_cannot_read_or_write_outside(finished: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "log.txt").write_text("not yours")
    be = LocalBackend(finished.parent)
    with pytest.raises(BackendError, match="would leave"):
        be.logs("fake-job", "../../../secret")
    with pytest.raises(BackendError, match="would leave"):
        be.start_training("fake-job", {"x": "0.5"}, name="../../evil")
    assert not (tmp_path / "evil").exists() and not (finished.parent / "evil").exists()


@pytest.mark.timeout(120)
def test_the_resolver_never_takes_a_name_outside_the_jobs_folder(finished: Path, tmp_path: Path) -> None:
    jobs = finished.parent
    other = tmp_path / "elsewhere"
    shutil.copytree(finished, other / "stolen", symlinks=True)
    # ``jobs/../elsewhere/stolen`` is a job, but ``../elsewhere/stolen`` is not a name under ``jobs``.
    assert not Path("../elsewhere/stolen").exists()
    assert not is_local_job("../elsewhere/stolen", jobs)
    with pytest.raises(BackendError):
        resolve_job("..", "local", jobs_dir=jobs)
    with pytest.raises(BackendError, match="would leave"):
        LocalBackend(jobs).describe("..")
    # A path is still a path: the user named the folder.
    _, job = resolve_job(str(other / "stolen"), jobs_dir=jobs)
    assert job == str((other / "stolen").resolve())


@pytest.mark.timeout(120)
def test_a_job_folder_that_is_a_symlink_pointing_outside_is_refused(finished: Path, tmp_path: Path) -> None:
    """Decision: refused, not followed (documented in jobs.py and docs/local-backend.md)."""
    outside = tmp_path / "outside"
    shutil.move(str(finished), outside)
    finished.symlink_to(outside, target_is_directory=True)
    with pytest.raises(BackendError, match="outside"):
        LocalBackend(finished.parent).describe("fake-job")
    assert not is_local_job("fake-job", finished.parent)
    result = CliRunner().invoke(app, ["status", "fake-job", "--jobs-dir", str(finished.parent)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    # the reason, at once; not a SageMaker lookup of the name (which waited ~10 s on the network)
    assert "outside" in result.output and "SageMaker" not in result.output, result.output


def test_a_name_whose_folder_is_no_job_is_not_looked_up_on_sagemaker(tmp_path: Path) -> None:
    (tmp_path / "jobs" / "not-a-job").mkdir(parents=True)
    result = CliRunner().invoke(app, ["status", "not-a-job", "--jobs-dir", str(tmp_path / "jobs")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "not a local tuning job folder (it has no request.json)" in result.output, result.output
    assert "--backend sagemaker" in result.output


@pytest.mark.timeout(120)
def test_a_symlinked_jobs_folder_is_fine(finished: Path, tmp_path: Path) -> None:
    link = tmp_path / "jobs-link"
    link.symlink_to(finished.parent, target_is_directory=True)
    answer = LocalBackend(link).describe("fake-job")
    assert answer["TrainingJobStatusCounters"]["Completed"] == 2


@pytest.mark.timeout(120)
def test_a_trial_folder_symlinked_outside_is_not_counted(finished: Path, tmp_path: Path) -> None:
    trials = finished / "trials"
    victim = sorted(trials.iterdir())[0]
    outside = tmp_path / "outside-trial"
    shutil.move(str(victim), outside)
    victim.symlink_to(outside, target_is_directory=True)
    be = LocalBackend(finished.parent)
    with pytest.raises(BackendError, match="no folder"):  # launched, and its folder is no longer the job's
        be.describe("fake-job")
    result = CliRunner().invoke(app, ["doctor", str(finished)])
    assert result.exit_code == 1 and "symlink" in result.output and victim.name in result.output


@pytest.mark.timeout(60)
def test_a_request_whose_name_leads_outside_never_launches_a_trial(tmp_path: Path, make_request: MakeRequest) -> None:
    """The 16-trials-for-4 loop: trial folders outside ``trials/`` were never counted as launched."""
    be = LocalBackend(tmp_path / "jobs", poll_seconds=0.02, grace_seconds=2)
    folder = be.create(make_request(**{"tuning.max_jobs": 2, "tuning.max_parallel_jobs": 1}))
    body = json.loads(folder.request_file.read_text())
    body["HyperParameterTuningJobName"] = "../../etc"  # a request.json edited (or written by an old version)
    folder.request_file.write_text(json.dumps(body))
    with pytest.raises(BackendError, match="trial name"):
        Coordinator(folder, be.options).run()
    assert not (tmp_path / "etc-001").exists()
    assert not list(tmp_path.rglob("etc-*")), list(tmp_path.rglob("etc-*"))
    assert folder.state().HyperParameterTuningJobStatus == "Stopped"
