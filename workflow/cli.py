"""The ``innoflow`` command line (engine commands; ``web.cli`` adds ``serve``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import audit, demo, org
from .clock import SystemClock
from .db import Database
from .definition import default_folder, load_folder
from .errors import WorkflowError


def _db() -> Database:
    return Database()


@click.group()
def cli() -> None:
    """innoflow: approvals for suggestions, R&D projects, awards and reward payouts."""


@cli.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    from .migrate import current, upgrade

    database = _db()
    upgrade(database)
    click.echo(f"schema at revision {current(database)}")


@cli.command("demo")
def demo_command() -> None:
    """Load the demo organisation (password 'demo' for everyone) and print the users."""
    from .migrate import upgrade

    database = _db()
    upgrade(database)
    with database.write() as conn:
        users = demo.load(conn, now=SystemClock().now())
    click.echo(f"{'username':<20} {'roles':<32} department")
    for user in users:
        click.echo(f"{user.username:<20} {', '.join(user.roles) or '(proposer)':<32} "
                   f"{user.department or ''}")
    click.echo(f"\nEvery demo user's password is '{demo.PASSWORD}'.")


@cli.group("users")
def users_group() -> None:
    """Users, roles and API tokens."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, help="ROLE or ROLE@SCOPE; repeat for more")
@click.option("--name", default=None)
@click.option("--department", default=None)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def users_add(username: str, roles: tuple[str, ...], name: str | None, department: str | None,
              password_stdin: bool) -> None:
    """Add a user."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        with _db().write() as conn:
            user = org.add_user(conn, username=username, name=name, department=department,
                                roles=roles, password=password, now=SystemClock().now())
    except WorkflowError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added {user.username} ({', '.join(user.roles) or 'proposer'})")


@users_group.command("token")
@click.argument("username")
def users_token(username: str) -> None:
    """Print a new API token for USERNAME."""
    try:
        with _db().write() as conn:
            token = org.issue_token(conn, username=username, now=SystemClock().now())
    except WorkflowError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(token)


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def users_list(as_json: bool) -> None:
    """List users with their roles, scopes and departments."""
    with _db().read() as conn:
        users = org.list_users(conn)
    if as_json:
        click.echo(json.dumps([{"username": u.username, "name": u.name,
                                "department": u.department, "roles": list(u.roles)}
                               for u in users], ensure_ascii=False))
        return
    for u in users:
        click.echo(f"{u.username:<20} {', '.join(u.roles) or '(proposer)':<32} "
                   f"{u.department or ''}")


@cli.group("definitions")
def definitions_group() -> None:
    """Lifecycle definitions."""


@definitions_group.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def definitions_check(paths: tuple[Path, ...]) -> None:
    """Validate definition files (or folders); print every problem; exit 1 on any."""
    from .definition import DefinitionError, parse

    targets = list(paths) or [default_folder()]
    problems: list[str] = []
    checked = 0
    for path in targets:
        if path.is_dir():
            found, folder_problems = load_folder(path)
            checked += len(found) + len({p.file for p in folder_problems})
            problems += [str(p) for p in folder_problems]
        else:
            checked += 1
            try:
                parse(path.read_text(encoding="utf-8"), file=str(path))
            except DefinitionError as exc:
                problems += [str(p) for p in exc.problems]
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {checked} definition(s)", err=True)
        sys.exit(1)
    click.echo(f"{checked} definition(s) OK")


@cli.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Re-compute every hash chain; report the first broken link; exit 1 on any."""
    with _db().read() as conn:
        checked, broken = audit.verify(conn)
    if broken:
        click.echo(f"BROKEN: {broken} ({checked} events verified before it)")
        sys.exit(1)
    click.echo(f"audit trail intact: {checked} events verified")


@cli.command("scheduler")
@click.option("--interval", default=30.0, show_default=True, help="seconds between runs")
def scheduler_command(interval: float) -> None:
    """Run only the scheduler (for deployments whose web processes don't)."""
    from .scheduler import run_forever
    from .service import build_engine

    run_forever(build_engine(), interval=interval)


def main() -> None:
    cli()
