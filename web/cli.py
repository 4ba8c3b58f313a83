"""The ``innoflow`` console script: the engine's commands plus ``serve``."""

from __future__ import annotations

import click

from workflow.cli import cli


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the web app with the scheduler (SQLite here unless INNOFLOW_DATABASE_URL is set)."""
    from werkzeug.serving import run_simple

    from web.app import create_app
    from workflow.errors import DefinitionError

    try:
        app = create_app()
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException("not starting: the definitions above are invalid") from exc
    click.echo(f"innoflow on http://{host}:{port}/ (scheduler "
               f"{'on' if app.config.get('SCHEDULER') else 'off'})")
    run_simple(host, port, app, threaded=True, use_reloader=False)


def main() -> None:
    cli()
