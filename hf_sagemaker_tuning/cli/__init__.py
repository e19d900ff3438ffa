"""``hfst``: the command line. Thin: every command calls the library, importing it lazily.

One CLI layer: the commands live in this package, one module per group, and share the
options and the user-error wrapper of ``_common``. ``hfst --help`` imports none of torch,
transformers, datasets, sagemaker, pandas or the library's feature packages.
"""

from __future__ import annotations

import typer

from ._common import OneLineErrorsGroup

app = typer.Typer(
    cls=OneLineErrorsGroup,
    name="hfst",
    help="Typed hyperparameter tuning of Hugging Face fine-tuning, locally or on AWS SageMaker.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from . import data, deploy, doctor, evaluate, jobs, refine, results, spec, tracking

    for group in (spec, data, jobs, doctor, results, evaluate, refine, deploy, tracking):
        group.register(app)


_register()


def main() -> None:
    """Entry point of the ``hfst`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
