"""``hfst deploy`` / ``predict`` / ``undeploy`` / ``endpoints``: the CLI face of ``hf_sagemaker_tuning.deploy``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from ._common import BackendName, BackendOpt, JobsDirOpt, RegionOpt, console, fail, positive, user_errors

EndpointArg = Annotated[str, typer.Argument(help="The endpoint name (see `hfst endpoints`).", show_default=False)]


def deploy_command(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="JOB|MODEL_DIR",
            help="A tuning job (local folder or name; a SageMaker tuning job with -b sagemaker): its best model "
            "(the newest retrain, else the best trial). Or a model folder with code/inference.py.",
            show_default=False,
        ),
    ] = None,
    backend: BackendOpt = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default; 0.0.0.0 exposes it).")] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port (default: 8080 if free, else any free port; 0: any free port)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Endpoint name (default: from the folder or job name).")] = None,
    threads: Annotated[int | None, typer.Option(help="Torch threads for the local server.", min=1)] = None,
    timeout: Annotated[
        float, typer.Option(callback=positive, help="Seconds to wait for the local server to be ready.")
    ] = 180.0,
    training_job: Annotated[
        str | None, typer.Option(help="SageMaker: deploy this training job instead of a tuning job's best.")
    ] = None,
    role: Annotated[
        str | None, typer.Option(help="SageMaker execution role ARN (default: the tuning job's own role).")
    ] = None,
    region: RegionOpt = None,
    instance_type: Annotated[str, typer.Option(help="SageMaker endpoint instance type.")] = "ml.m5.xlarge",
) -> None:
    """Serve a job's best model (or a model folder) on a local endpoint, or on SageMaker with -b sagemaker."""
    from ..deploy import DeployError

    out = console()

    def run() -> None:
        remote = backend is BackendName.sagemaker or training_job is not None
        if remote:
            if (target is None) == (training_job is None):
                raise DeployError("pass a SageMaker tuning job, or --training-job NAME (one of the two)")
            if not region:
                raise DeployError("SageMaker deploys need --region REGION")
            _deploy_sagemaker(target, training_job, role, region, instance_type, name, out)
            return
        if target is None:
            raise DeployError("pass a tuning job or a model folder (see hfst deploy --help)")
        from ..backends import resolve_job
        from ..deploy import deploy_local
        from ..errors import BackendError

        folder = Path(target)
        if not (folder / "config.json").is_file():  # not a model folder: a local tuning job
            try:
                runner, job_id = resolve_job(target, "local", jobs_dir=jobs_dir)
            except BackendError:
                raise DeployError(
                    f"{target} is neither a model folder (config.json, code/inference.py) nor a local tuning job "
                    f"(a job folder, or a job name under {jobs_dir})"
                ) from None
            artifact = runner.best_model(job_id)
            folder = Path(artifact.location)
            out.print(f"serving {artifact.summary}", markup=False)
        with console(stderr=True).status("[bold]Starting the local endpoint[/]"):
            local = deploy_local(folder, host=host, port=port, name=name, timeout=timeout, threads=threads)
        out.print(f"deployed [bold]{local.name}[/] at {local.url} (pid {local.pid}, log {local.log_file})")
        out.print(f'try: hfst predict {local.name} "Best thing ever!"')

    user_errors(run)


def _deploy_sagemaker(
    tuning_job: str | None,
    training_job: str | None,
    role: str | None,
    region: str,
    instance_type: str,
    name: str | None,
    out: Any,
) -> None:
    from ..deploy import DeployError, deploy_sagemaker

    if role is None:
        if tuning_job is None:
            raise DeployError("--training-job needs --role ARN")
        from ..backends import open_backend

        role = open_backend("sagemaker", region=region).describe(tuning_job)["TrainingJobDefinition"]["RoleArn"]
    endpoint = deploy_sagemaker(
        tuning_job, training_job, role=str(role), region=region, instance_type=instance_type, endpoint_name=name
    )
    out.print(f"deployed SageMaker endpoint [bold]{endpoint.name}[/] in {region}")
    if endpoint.best is not None:
        out.print(f"serving {endpoint.best.summary}", markup=False)
    if endpoint.image is not None:
        out.print(f"image: {endpoint.image.uri} ({endpoint.image.reason})")
    out.print(f"it bills by the hour until you run: hfst undeploy {endpoint.name}")


def predict_command(
    endpoint: EndpointArg,
    texts: Annotated[list[str], typer.Argument(metavar="TEXT...", help="Texts to send.", show_default=False)],
    top_k: Annotated[
        int | None,
        typer.Option(help="Labels per text (default 1; multi-label: every label over the threshold).", min=1),
    ] = None,
    aggregation_strategy: Annotated[
        str | None,
        typer.Option(
            help="Token classification: first (default; each word's first sub-token's tag, as the model was "
            "trained) or simple (each sub-token's own tag).",
            show_default=False,
        ),
    ] = None,
    text_pair: Annotated[
        list[str] | None,
        typer.Option(
            "--text-pair",
            help="For a model trained on text pairs: the second text of each TEXT, in order (give it once per TEXT).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Ask a deployed endpoint about texts; print labels and scores, values, or entities (by the model's type)."""
    from ..deploy import Predictor

    if text_pair is not None and len(text_pair) != len(texts):
        raise fail(
            f"--text-pair was given {len(text_pair)} time(s) for {len(texts)} TEXT(s); give one second text per TEXT"
        )
    inputs: list[Any] = (
        list(texts)
        if text_pair is None
        else [{"text": text, "text_pair": pair} for text, pair in zip(texts, text_pair, strict=True)]
    )

    def run() -> list[list[dict[str, Any]]]:
        predictor = Predictor.for_endpoint(endpoint)
        parameters = {} if aggregation_strategy is None else {"aggregation_strategy": aggregation_strategy}
        payload = {"inputs": inputs, **({"parameters": parameters} if parameters else {})}
        return cast("list[list[dict[str, Any]]]", predictor.predict(payload, top_k=top_k))  # a list: one per input

    answers = user_errors(run)
    if as_json:
        typer.echo(json.dumps(answers[0] if len(texts) == 1 else answers))
        return
    console().print(answer_table(texts, answers, every_label=top_k is not None))


def answer_table(texts: list[str], answers: list[list[dict[str, Any]]], every_label: bool = False) -> Any:
    """A rich table of the answers, in the view of the answers' shape.

    Entities: type, words, character span and score. Multi-label (labels with ``predicted``): the
    labels over the threshold (every label returned with ``every_label``), or the best one marked
    as under it when none is over. Otherwise (single-label, regression): label and score.
    """
    from rich.table import Table

    items = [item for answer in answers for item in answer]
    entities = any("entity_group" in item for item in items)
    multi = any("predicted" in item for item in items)
    if entities:
        table = Table("text", "entity", "words", "span", "score")
    elif multi:
        table = Table("text", "label", "score", "over threshold")
    else:
        table = Table("text", "label", "score")
    for text, answer in zip(texts, answers, strict=True):
        shown = text if len(text) <= 60 else text[:57] + "..."
        rows: list[list[str]]
        if entities:
            rows = [
                [str(e["entity_group"]), str(e["word"]), f"{e['start']}-{e['end']}", f"{e['score']:.4f}"]
                for e in answer
            ] or [["(no entity)", "", "", ""]]
        elif multi:
            chosen = answer if every_label else [item for item in answer if item.get("predicted")] or answer[:1]
            rows = [
                [str(item["label"]), f"{item['score']:.4f}", "yes" if item.get("predicted") else "no"]
                for item in chosen
            ]
        else:
            rows = [[str(item["label"]), f"{item['score']:.4f}"] for item in answer]
        for rank, row in enumerate(rows):
            table.add_row(shown if rank == 0 else "", *row)
    return table


def undeploy_command(endpoint: EndpointArg) -> None:
    """Stop an endpoint (local: the server; SageMaker: endpoint, config and model) and forget it."""
    from ..deploy import undeploy

    removed = user_errors(lambda: undeploy(endpoint))
    console().print(f"undeployed {endpoint}: " + (", ".join(removed) or "nothing was left to delete"), markup=False)


def endpoints_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List deployed endpoints (local and SageMaker) and whether local ones still run."""
    from rich.table import Table

    from ..deploy import list_endpoints
    from ..deploy._local import is_running

    records = user_errors(list_endpoints)
    rows = []
    for record in records:
        status = ("running" if is_running(record) else "stopped") if record.kind == "local" else "deployed"
        rows.append({**record.to_json(), "status": status, "url": record.url})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console().print("no endpoints; deploy one with `hfst deploy JOB`")
        return
    table = Table("name", "kind", "status", "where", "model", "started")
    for row in rows:
        where = row["url"] if row["kind"] == "local" else row["region"]
        table.add_row(row["name"], row["kind"], row["status"], str(where), row["model"], row["started_at"])
    console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``deploy``, ``predict``, ``undeploy`` and ``endpoints``."""
    app.command("deploy")(deploy_command)
    app.command("predict")(predict_command)
    app.command("undeploy")(undeploy_command)
    app.command("endpoints")(endpoints_command)
