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
    database = Database()
    click.get_current_context().call_on_close(database.dispose)
    return database


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
@click.option("--years", type=click.IntRange(1, 10), default=None,
              help="also simulate N years of activity through the engine (fake clock)")
@click.option("--params", "params_file", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path), default=None,
              help="simulation parameter file (default: the seed company's two years)")
def demo_command(years: int | None, params_file: Path | None) -> None:
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
    if years is not None or params_file is not None:
        _simulate(database, years, params_file)
    from .service import build_engine

    engine = build_engine(database.url)
    try:
        started = demo.start_work(engine)
    finally:
        engine.db.dispose()
    if started:
        click.echo(f"{started} suggestions are under way: log in as head_smelting, "
                   "expert_smelting_1, committee_office or finance to act on them.")


def _simulate(database: Database, years: int | None, params_file: Path | None) -> None:
    from datetime import UTC, datetime

    from . import reports, simulate
    from .clock import FakeClock
    from .engine import Engine
    params = simulate.Params.load(params_file or simulate.builtin("seed_company"), years=years)
    engine = Engine(database, clock=FakeClock(datetime.combine(params.start, datetime.min.time(),
                                                               tzinfo=UTC)))
    engine.load_definitions()
    click.echo(f"simulating {params.years} year(s) from {params.start} (seed {params.seed}) …")
    summary = simulate.run(engine, params)
    click.echo(f"{summary.actions} actions to {summary.last_day}: {summary.suggestions} "
               f"suggestions ({summary.adopted} adopted), {summary.awards} nominations "
               f"({summary.awarded} awarded), {summary.projects} projects, {summary.payouts} "
               f"payouts, CNY {summary.paid:,.2f} paid")
    for year in range(params.start.year, params.start.year + params.years):
        figures = reports.totals(database, year=year)
        click.echo(f"{year}: adopted {figures['adopted_suggestions']}, awards "
                   f"{figures['awards']}, decided {figures['reward_decided']:.2f}, paid "
                   f"{figures['reward_paid']:.2f}")


@cli.command("reports")
@click.option("--year", type=int, required=True)
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write every table to this XLSX file (Chinese headers)")
def reports_command(year: int, xlsx: Path | None) -> None:
    """Print the year's headline figures; optionally export every table as XLSX."""
    from . import exports, reports

    database = _db()
    figures = reports.totals(database, year=year)
    for key, value in figures.items():
        click.echo(f"{key:<24} {value}")
    if xlsx is not None:
        report = reports.report(database, year=year, now=SystemClock().now())
        xlsx.write_bytes(exports.to_xlsx(report))
        click.echo(f"wrote {len(report.tables)} tables to {xlsx}")


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
    from .definition import DefinitionError, parse, read_text

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
                parse(read_text(path, str(path)), file=str(path))
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
@click.option("--once", is_flag=True, help="catch up on all due work, print totals, exit")
def scheduler_command(interval: float, once: bool) -> None:
    """Run the scheduler: timers, reminders and escalation, notification delivery.

    Safe to run in several processes at once (and next to ``innoflow serve``).
    """
    from . import calendar as working_days
    from .notify import Notifier
    from .scheduler import Jobs, labeller, run_forever
    from .service import build_engine

    engine = build_engine()
    with engine.db.write() as conn:
        working_days.seed_from_package(conn, now=engine.clock.now())
        missing = working_days.status(conn, now=engine.clock.now()).missing_years
    if missing:
        click.echo(f"warning: no working-day schedule for {', '.join(map(str, missing))}; "
                   "weekends only until an admin enters it", err=True)
    if once:
        jobs = Jobs(engine, Notifier.from_environment(labels=labeller(engine)))
        jobs.refresh_calendar()
        totals = jobs.run_until_idle()
        click.echo(" ".join(f"{k}={v}" for k, v in totals.items()))
        return
    run_forever(engine, interval=interval)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
