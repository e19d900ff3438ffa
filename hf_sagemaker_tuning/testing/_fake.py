"""``fake_sagemaker()``: an offline SageMaker for your own tests (moto, plus AMT's side of tuning jobs).

A simulation of the API's shapes, not of training: SageMaker, S3, IAM and CloudWatch Logs
answer from moto, and the tuning calls moto lacks are answered by ``AmtBridge`` (``_amt.py``).
No training script runs and no model is served: trials report values you choose
(``plan``) or seeded ones, endpoints answer what you queue (``queue_prediction``).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TuningError
from ._amt import AmtBridge, TrialOutcome

#: moto's default account: role ARNs in your specs name it.
ACCOUNT_ID = "123456789012"
_INSTALL_HINT = "pip install 'hf-sagemaker-tuning[testing]' (or pip install 'moto[server]>=5.1')"
#: Variables that would send a client elsewhere, or to real credentials, while the fake is open.
_CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)
_TELEMETRY_OPT_OUT = 'SchemaVersion: "1.0"\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n'
_open = threading.Lock()


@dataclass
class FakeSageMaker:
    """What ``fake_sagemaker()`` yields: where the fake lives and the knobs a test turns.

    Attributes:
        region: the region every client is in.
        account_id: moto's account (``123456789012``).
        role_arn: an IAM role that exists in the fake, for your specs (``sagemaker.role``).
        bucket: an S3 bucket that exists in the fake.
        s3_endpoint: the local moto server that S3 clients reach (``http://127.0.0.1:<port>``).
        session: a ``boto3.Session`` on the fake (any session made inside the context is too).
        bridge: AMT's side of the tuning jobs (``sent`` requests, ``jobs`` with their trials).
    """

    region: str
    account_id: str
    role_arn: str
    bucket: str
    s3_endpoint: str
    session: Any
    bridge: AmtBridge

    def hold(self, job: str) -> None:
        """Keep tuning job ``job`` ``InProgress`` (one trial launched) until it is stopped; call before submitting.

        Its trial reads ``InProgress`` while the job does; once the job is stopped, how it ended (``plan``).
        """
        self.bridge.hold(job)

    def plan(self, job: str, outcomes: Iterable[TrialOutcome | float]) -> None:
        """How the first trials of ``job`` end, in launch order (a number: a completed trial's last objective value).

        Call before submitting ``job``; trials beyond the plan report seeded values.
        """
        self.bridge.plan(job, outcomes)

    def queue_prediction(self, body: Any, *, content_type: str = "application/json") -> None:
        """Queue the answer the next ``InvokeEndpoint`` gets (no model runs: without a queue moto answers ``body``)."""
        import json

        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.set_sagemaker_result(
            body=body if isinstance(body, str) else json.dumps(body),
            content_type=content_type,
            prod_variant="AllTraffic",
            custom_attrs="",
            account_id=self.account_id,
            region=self.region,
        )

    def install(self, session: Any) -> Any:
        """Put the bridge on a ``boto3.Session`` made before the context opened; returns it.

        Sessions made inside the context need nothing: they get the bridge as they get moto.
        """
        self.bridge.install(session.events)
        return session


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set ``values`` and clear ``_CLEARED`` and every ``AWS_ENDPOINT_URL_*``; restore exactly what was there."""
    touched = set(values) | set(_CLEARED) | {k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")}
    before = {name: os.environ.get(name) for name in touched}
    try:
        for name in touched - set(values):
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _builtin_handlers(bridge: AmtBridge) -> Iterator[None]:
    """Give the bridge to every botocore session made from now on, as moto gives itself (``BUILTIN_HANDLERS``).

    ``SageMakerBackend()``, ``boto3.client()`` and the sagemaker SDK each make their own session;
    botocore copies this list into each new one, and moto's own handler sits in it the same way.
    """
    from botocore import handlers

    entries = bridge.handlers()
    handlers.BUILTIN_HANDLERS[0:0] = entries
    try:
        yield
    finally:
        for entry in entries:
            handlers.BUILTIN_HANDLERS.remove(entry)


@contextmanager
def _quiet_server_log() -> Iterator[None]:
    """The moto server's request log (werkzeug's logger) stays out of your test output."""
    import logging

    logger = logging.getLogger("werkzeug")
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextmanager
def _fresh_s3fs() -> Iterator[None]:
    """s3fs keeps one filesystem per set of arguments: none made outside may serve inside, or the reverse."""
    import sys

    def clear() -> None:
        if "s3fs" in sys.modules:  # never imported here only for this
            sys.modules["s3fs"].S3FileSystem.clear_instance_cache()

    clear()
    try:
        yield
    finally:
        clear()


@contextmanager
def _default_session() -> Iterator[None]:
    """``boto3.client()`` in the context uses a new default session (fake credentials, the bridge)."""
    import boto3

    before = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = None
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = before


@contextmanager
def fake_sagemaker(
    region: str = "us-east-1",
    *,
    bucket: str = "hfst-fake-bucket",
    role_name: str = "SageMakerRole",
    page_size: int = 100,
) -> Iterator[FakeSageMaker]:
    """An offline SageMaker for tests: ``tune(spec, backend="sagemaker")``, status, results, stop, deploy.

    Inside the context every AWS call of this process goes to moto: in-process for botocore
    clients, and through a moto server on 127.0.0.1 for S3 (s3fs, which checks and reads
    prepared data, can't use in-process moto). AMT's side of tuning jobs is simulated: trials
    are moto training jobs whose metric lines are written to CloudWatch Logs, the job's
    ``BestTrainingJob`` follows AMT's documented rule. Nothing trains and no endpoint runs a
    model. The environment gets fake credentials, the region, ``SAGEMAKER_VALIDATE_ROLE=false``,
    the SDK's telemetry opt-out and a temporary endpoint registry (``HFST_STATE_DIR``); on
    exit every variable is as it was and moto's state is gone.

    Args:
        region: the AWS region of the fake.
        bucket: a bucket to create (your specs' ``sagemaker.output_path`` must be in a bucket that exists).
        role_name: an IAM role to create; its ARN is ``FakeSageMaker.role_arn``.
        page_size: the most trials one ``ListTrainingJobsForHyperParameterTuningJob`` page holds.

    Raises:
        TuningError: moto is not installed, or a fake is already open in this process.
    """
    try:
        import boto3
        from moto import mock_aws
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise TuningError(
            f"fake_sagemaker() needs moto with its server ({exc.name} is missing): {_INSTALL_HINT}"
        ) from None
    if not _open.acquire(blocking=False):
        raise TuningError("a fake_sagemaker() is already open in this process; moto's state is global: open one")
    with ExitStack() as stack:
        stack.callback(_open.release)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hfst-fake-")))
        (folder / "sagemaker-config.yaml").write_text(_TELEMETRY_OPT_OUT, encoding="utf-8")
        port = _free_port()
        stack.enter_context(
            _environment(
                {
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing",
                    "AWS_DEFAULT_REGION": region,
                    "AWS_REGION": region,
                    "AWS_CONFIG_FILE": str(folder / "aws-config"),  # absent: your profiles can't apply
                    "AWS_SHARED_CREDENTIALS_FILE": str(folder / "aws-credentials"),
                    "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
                    "SAGEMAKER_VALIDATE_ROLE": "false",
                    "SAGEMAKER_USER_CONFIG_OVERRIDE": str(folder / "sagemaker-config.yaml"),
                    "HFST_STATE_DIR": str(folder / "endpoints"),
                }
            )
        )
        stack.enter_context(mock_aws())
        stack.enter_context(_quiet_server_log())
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()  # shares moto's in-process state: one S3 for boto3 and s3fs alike
        stack.callback(server.stop)
        stack.enter_context(_default_session())
        stack.enter_context(_fresh_s3fs())
        bridge = AmtBridge(boto3.Session(region_name=region), page_size=page_size)
        stack.callback(setattr, bridge, "active", False)  # handlers left on sessions that outlive the fake
        stack.enter_context(_builtin_handlers(bridge))
        session = boto3.Session(region_name=region)
        session.client("iam").create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")
        s3 = session.client("s3")
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        yield FakeSageMaker(
            region=region,
            account_id=ACCOUNT_ID,
            role_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}",
            bucket=bucket,
            s3_endpoint=f"http://127.0.0.1:{port}",
            session=session,
            bridge=bridge,
        )
