"""``hfst validate``, ``compile``, ``schema``: the spec commands."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._common import JobsDirOpt, OutputOpt, console, finite, user_errors, write_text

if TYPE_CHECKING:  # pragma: no cover
    from ..specs import TuningJobSpec

SpecPath = Annotated[Path, typer.Argument(metavar="SPEC", help="The job spec (YAML or JSON).", show_default=False)]


class Format(str, Enum):
    json = "json"
    yaml = "yaml"


class Target(str, Enum):
    sagemaker = "sagemaker"
    local = "local"


def _dump(data: Any, fmt: Format) -> str:
    import yaml

    return json.dumps(data, indent=2) + "\n" if fmt is Format.json else yaml.safe_dump(data, sort_keys=False)


class ReportFormat(str, Enum):
    text = "text"
    json = "json"


PricePerHourOpt = Annotated[
    float | None,
    typer.Option("--price-per-hour", min=0.0, callback=finite, help="Price of one instance-hour, for the cost bound."),
]
PriceTableOpt = Annotated[
    Path | None,
    typer.Option("--price-table", help="YAML/JSON file: instance type (or region -> instance type) -> price/hour."),
]
MaxCostOpt = Annotated[
    float | None,
    typer.Option("--max-cost", min=0.0, callback=finite, help="Warn when the worst case costs more (default: budget)."),
]
TrainExamplesOpt = Annotated[
    int | None,
    typer.Option(
        "--train-examples", min=1, help="Training examples, for the expected cost figure and the warm-up check."
    ),
]
ThroughputOpt = Annotated[
    float | None,
    typer.Option("--throughput", min=0.001, callback=finite, help="Training samples/s of one instance (not assumed)."),
]

OnlineOpt = Annotated[
    bool,
    typer.Option(
        "--online",
        help="Also check the role, buckets, prepared data, quota and price with your AWS credentials (read only).",
    ),
]


def _price(
    job: Any, per_hour: float | None, table: Path | None, online: bool, notes: list[str]
) -> tuple[float | None, str | None]:
    """The price per instance-hour from the options (flag, table, then the Price List API with --online)."""
    from ..errors import TuningError
    from ..preflight import load_price_table, lookup_price, price_from_table

    if per_hour is not None:
        return per_hour, "--price-per-hour"
    region = job.sagemaker.region if job.sagemaker else "us-east-1"
    if table is not None:
        price = price_from_table(load_price_table(table), job.training.instance_type, region)
        if price is not None:
            return price, f"price table {table}"
        notes.append(f"note: {table} has no price for {job.training.instance_type} in {region}")
    if online and (job.budget is None or job.budget.price_per_hour is None):
        try:
            return lookup_price(job.training.instance_type, region), f"AWS Price List, on-demand, {region}"
        except TuningError as exc:
            notes.append(f"note: could not look up the price: {exc}")
    return None, None


def _preflight(
    spec: Path,
    target: Target | None,
    *,
    cost: dict[str, Any],
    online: bool = False,
) -> tuple[Any, Any, Any, list[Any], list[str]]:
    """The one path ``validate`` and ``compile`` share: the spec's own checks, every pre-flight check, the cost."""
    from ..preflight import check_online, check_spec_file, estimate_cost

    job, findings = check_spec_file(
        spec, target=None if target is None else target.value, train_examples=cost.get("train_examples")
    )
    if job is None:
        return None, findings, None, [], []
    notes: list[str] = []
    price, source = _price(job, cost["per_hour"], cost["table"], online, notes)
    estimate = estimate_cost(
        job,
        price_per_hour=price,
        price_source=source,
        max_cost=cost["max_cost"],
        train_examples=cost.get("train_examples"),
        throughput=cost.get("throughput"),
        price_options=("--price-per-hour", "--price-table", "--online"),
    )
    for problem in estimate.over_budget:
        findings.add("budget", f"the worst case is over budget: {problem}", "warning")
    checks = check_online(job) if online else []
    return job, findings, estimate, checks, notes


def _print_findings(findings: Any, estimate: Any, checks: list[Any], notes: list[str], target: str | None) -> None:
    from rich.markup import escape

    err = console(stderr=True)
    if estimate is not None and target == "local":
        notes = [
            "note: the cost figures are for running this job on SageMaker; the local backend bills nothing",
            *notes,
        ]
    for finding in findings.items:
        if finding.severity != "error":
            colour = "yellow" if finding.severity == "warning" else "cyan"
            err.print(f"[{colour}]{finding.severity}:[/] {escape(finding.path)}: {escape(finding.message)}")
    for line in [*(estimate.lines() if estimate else []), *notes]:
        err.print(line, markup=False)
    marks = {"pass": "[green]pass[/]", "fail": "[bold red]fail[/]", "could-not-check": "[yellow]could not check[/]"}
    for check in checks:
        err.print(f"online {check.name}: {marks[check.status]}: {escape(check.path)}: {escape(check.reason)}")


def _report(findings: Any, estimate: Any, checks: list[Any], target: str | None) -> dict[str, Any]:
    data: dict[str, Any] = findings.to_json()
    failed = [c for c in checks if c.status == "fail"]
    data.update(
        ok=findings.ok and not failed,
        target=target,
        cost=None if estimate is None else estimate.to_dict(),
        online=[c.to_dict() for c in checks],
    )
    return data


def validate_command(
    spec: SpecPath,
    target: Annotated[
        Target | None,
        typer.Option("--backend", "-b", help="Check for this backend (default: sagemaker if the spec has a section)."),
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="text, or json for CI.")] = ReportFormat.text,
    online: OnlineOpt = False,
    price_per_hour: PricePerHourOpt = None,
    price_table: PriceTableOpt = None,
    max_cost: MaxCostOpt = None,
    train_examples: TrainExamplesOpt = None,
    throughput: ThroughputOpt = None,
) -> None:
    """Check a spec: every mistake SageMaker would reject (or silently accept) is reported now, all at once."""
    cost = _cost_options(price_per_hour, price_table, max_cost, train_examples, throughput)

    def run() -> None:
        from ..preflight import default_target

        job, findings, estimate, checks, notes = _preflight(spec, target, cost=cost, online=online)
        chosen = target.value if target else (default_target(job) if job is not None else None)
        failed = [c for c in checks if c.status == "fail"]
        if fmt is ReportFormat.json:
            typer.echo(json.dumps(_report(findings, estimate, checks, chosen), indent=2))
            if not findings.ok or failed:
                raise typer.Exit(2)
            return
        _print_findings(findings, estimate, checks, notes, chosen)
        findings.raise_for_errors()
        if failed:
            raise typer.Exit(2) from None
        tuned = ", ".join(job.search_space.names())
        typer.echo(
            f"ok: {job.name}: {job.tuning.strategy} search over {tuned}; "
            f"objective {job.direction} {job.tuned_metric}{_averaged_text(job)}; "
            f"up to {job.tuning.max_jobs or job.search_space.grid_size()} trials, "
            f"{job.tuning.max_parallel_jobs} at a time (checked for the {chosen} backend)"
        )

    user_errors(run)


def _averaged_text(job: TuningJobSpec) -> str:
    """How a trial's objective is averaged, in words (empty for a single run)."""
    tuning = job.tuning
    if not tuning.averaged:
        return ""
    parts = [f"{tuning.cross_validation.folds}-fold cross-validation"] if tuning.cross_validation else []
    parts += [f"{tuning.repeats} seeds"] if tuning.repeats > 1 else []
    return f" (mean over {' x '.join(parts)}, selection {tuning.selection})"


def compile_command(
    spec: SpecPath,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.json,
    target: Annotated[
        Target | None,
        typer.Option(
            "--backend",
            "-b",
            help="Compile for this backend (default: sagemaker if the spec has a section, else local).",
        ),
    ] = None,
    job_name: Annotated[str | None, typer.Option(help="Tuning-job name (default: spec name + unique suffix).")] = None,
    output: OutputOpt = None,
    sdk: Annotated[
        bool, typer.Option("--sdk", help="Also build the sagemaker v3 tuner and show what it holds.")
    ] = False,
    online: OnlineOpt = False,
    price_per_hour: PricePerHourOpt = None,
    price_table: PriceTableOpt = None,
    max_cost: MaxCostOpt = None,
    train_examples: TrainExamplesOpt = None,
    throughput: ThroughputOpt = None,
) -> None:
    """Compile a spec to the exact CreateHyperParameterTuningJob request (checked by botocore).

    The spec is checked first exactly as `hfst validate` checks it (the same options); with --format json,
    refused specs print the findings as JSON on stdout. Warnings, notes and the cost bound go to stderr.
    A spec without a `sagemaker:` section compiles the request the local backend runs (a note says so).
    """
    from ..compile import compile_request, validate_request_body

    cost = _cost_options(price_per_hour, price_table, max_cost, train_examples, throughput)

    def build() -> None:
        if job_name is not None:
            from ..compile.naming import check_job_name

            check_job_name(job_name, "--job-name")
        from ..preflight import default_target

        job, findings, estimate, checks, notes = _preflight(spec, target, cost=cost, online=online)
        chosen = target.value if target else (default_target(job) if job is not None else None)
        failed = [c for c in checks if c.status == "fail"]
        if (not findings.ok or failed) and fmt is Format.json:
            typer.echo(json.dumps(_report(findings, estimate, checks, chosen), indent=2))
        if target is None and chosen == "local":
            notes = [
                "note: compiled for the local backend: the spec has no `sagemaker:` section (add one with role, "
                "region and output_path to compile the SageMaker request; --backend local silences this note)",
                *notes,
            ]
        _print_findings(findings, estimate, checks, notes, chosen)
        findings.raise_for_errors()
        if failed:
            raise typer.Exit(2)
        request = compile_request(job, target=chosen or "sagemaker", job_name=job_name)
        body = request.to_api()
        validate_request_body(body)
        data: Any = body
        if sdk:
            from ..compile.sdk import describe_sdk_objects

            data = {"request": body, "sdk": describe_sdk_objects(job, request)}
        write_text(_dump(data, fmt), output)

    user_errors(build)


def _cost_options(
    per_hour: float | None,
    table: Path | None,
    max_cost: float | None,
    train_examples: int | None,
    throughput: float | None,
) -> dict[str, Any]:
    """The cost and step options ``validate`` and ``compile`` share, as ``_preflight`` takes them."""
    return {
        "per_hour": per_hour,
        "table": table,
        "max_cost": max_cost,
        "train_examples": train_examples,
        "throughput": throughput,
    }


def schema_command(
    output: OutputOpt = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="The human-readable reference page instead.")] = False,
) -> None:
    """Print the JSON Schema of the spec file (for editors and docs)."""

    def run() -> None:
        if markdown:
            from ..specs.reference import spec_reference_markdown

            write_text(spec_reference_markdown(), output)
            return
        from ..specs import json_schema

        write_text(_dump(json_schema(), Format.json), output)

    user_errors(run)


def quickstart_command(
    spec: Annotated[Path | None, typer.Argument(help="Job spec (default: the bundled offline quickstart).")] = None,
    jobs_dir: JobsDirOpt = Path("jobs"),
    report: Annotated[Path, typer.Option(help="Where the HTML report goes.")] = Path("quickstart-report.html"),
) -> None:
    """Prepare offline tweets, tune MiniLM here, write the report, deploy the best model, ask it, undeploy."""
    from ..quickstart import SPEC_FILE, run_quickstart
    from ..specs import load_job_spec

    def go() -> None:
        result = run_quickstart(load_job_spec(spec or SPEC_FILE), console=console(), jobs_dir=jobs_dir, report=report)
        if result.status == "Failed" or not result.endpoint_stopped:
            raise typer.Exit(1)

    user_errors(go)


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``compile``, ``schema`` and ``quickstart``."""
    app.command("validate")(validate_command)
    app.command("compile")(compile_command)
    app.command("schema")(schema_command)
    app.command("quickstart")(quickstart_command)
