"""The `bindery` command: daprd, run, demo, render, cases, emails, simulate, dead-letters, upload, stripe."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from functions.common import names
from tooling import components, daprd, deadletters, procs, release_cli, state_reader, storage_cli
from tooling.paths import project_root, var_dir

if TYPE_CHECKING:
    from tooling.stack import Stack

_log = logging.getLogger("bindery")
_STATE_URL = (
    "read the deployed PostgreSQL state store (libpq connection string or URL; $BINDERY_STATE_URL) "
    "instead of the local stack's"
)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `bindery` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["cases", "release"]:  # `cases` takes an optional case id, so no subparser
        return release_cli.main(argv[2:])
    if argv[:2] == ["stripe", "backfill"]:
        from tooling import backfill_cli  # noqa: PLC0415 - the intake's mapping

        return backfill_cli.main(argv[2:])
    parser = argparse.ArgumentParser(
        prog="bindery", description="Serverless-style functions on Dapr bindings."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    which = commands.add_parser("daprd", help="print the path of a usable daprd, building it on first use")
    which.add_argument(
        "--version",
        dest="dapr",
        metavar="BUILD",
        default=None,
        help="which build: local (default), aca, or a pinned version or series such as 1.16 ($BINDERY_DAPR)",
    )
    commands.add_parser("run", help="run the local stack until Ctrl-C")
    commands.add_parser("demo", help="run the local stack through a scripted scenario and summarise it")
    commands.add_parser(
        "render", help="render components/local for `dapr run -f .` (Azurite's default ports)"
    )
    cases = commands.add_parser(
        "cases", help="dunning cases: a table or one case's timeline; `cases release ID`: release a held one"
    )
    cases.add_argument("case_id", nargs="?", help="show this case's timeline")
    cases.add_argument(
        "--status", choices=["open", "retrying", "recovered", "abandoned", "canceled", "double_collected"]
    )
    cases.add_argument("--state-url", default=os.environ.get("BINDERY_STATE_URL"), help=_STATE_URL)
    emails = commands.add_parser(
        "emails", help="emails sent (local stack, or --state-url): a table, or one email's record"
    )
    emails.add_argument("request_id", nargs="?", help="show this email request")
    emails.add_argument("--status", choices=["sending", "sent", "unknown", "suppressed"])
    emails.add_argument("--state-url", default=os.environ.get("BINDERY_STATE_URL"), help=_STATE_URL)
    simulate = commands.add_parser("simulate", help="a dunning campaign on a virtual clock and the sandbox")
    simulate.add_argument("--days", type=int, default=30, help="virtual days to run (default 30)")
    simulate.add_argument("--customers", type=int, default=1000, help="failed payments (default 1000)")
    simulate.add_argument("--seed", type=int, default=1, help="the campaign's random seed (default 1)")
    stripe = commands.add_parser("stripe", help="Stripe: `stripe backfill --since TIME` after an outage")
    stripe.add_argument("action", choices=["backfill"], help="replay Stripe's events onto payment-events")
    letters = commands.add_parser("dead-letters", help="list or redrive dead letters of the local stack")
    upload = commands.add_parser(
        "upload", help="upload an order document and enqueue its BlobCreated event (Event Grid emulation)"
    )
    upload.add_argument("file", type=Path, help="the file to upload, e.g. an order .json")
    upload.add_argument("--prefix", default="orders/", help="blob name prefix (default orders/)")
    letter_commands = letters.add_subparsers(dest="action", required=True)
    letter_commands.add_parser("list", help="list dead letters")
    redrive = letter_commands.add_parser("redrive", help="put dead letters back on their queues or topics")
    target = redrive.add_mutually_exclusive_group(required=True)
    target.add_argument("id", nargs="?", help="the dead letter's id")
    target.add_argument("--all", action="store_true", help="every dead letter")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        return _dispatch(args)
    except (
        daprd.DaprdError,
        procs.StackError,
        deadletters.RedriveError,
        TimeoutError,
        KeyError,
        ValueError,
    ) as error:
        print(f"bindery: {error}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run()
    if args.command == "dead-letters":
        return storage_cli.dead_letters(args)
    if args.command == "upload":
        return storage_cli.upload(args)
    print(_output(args))
    return 0


def _output(args: argparse.Namespace) -> str:
    if args.command == "daprd":
        return str(daprd.find_or_build(args.dapr))
    if args.command == "render":
        target = render_for_dapr_cli()
        return (
            f"rendered {target} (Azurite on 10000/10001, Redis on {DAPR_CLI_REDIS_PORT}, "
            f"SMTP on {DAPR_CLI_SMTP_PORT}); now `dapr run -f .`"
        )
    if args.command == "cases":
        store = args.state_url or var_dir() / "state" / "state.db"
        return state_reader.cases_text(store, args.case_id, args.status)
    if args.command == "emails":
        store = args.state_url or var_dir() / "state" / "email.db"
        return state_reader.emails_text(store, args.request_id, args.status)
    if args.command == "simulate":
        from tooling.simulation import command as simulation  # noqa: PLC0415 - starts the processor sandbox

        run = simulation.run(days=args.days, customers=args.customers, seed=args.seed, progress=sys.stderr)
        return simulation.describe(run)
    from tooling import demo  # noqa: PLC0415 - loads the Azure SDKs

    try:
        return demo.describe(demo.run(var_dir()))
    except TimeoutError as error:
        raise TimeoutError(f"demo: {error}; see the logs under {var_dir() / 'log'}") from error


DAPR_CLI_COMPONENTS = "var/dapr-cli/components"
DAPR_CLI_SMTP_PORT = 2525
DAPR_CLI_REDIS_PORT = 6379  # redis-server's default
DAPR_CLI_SANDBOX_PORT = 8089
DAPR_CLI_SENDGRID_PORT = 8090


def render_for_dapr_cli() -> Path:
    """Render components/local for dapr.yaml: Azurite and Redis on their default ports, SMTP 2525, sandboxes.

    The sandboxes listen on 8089 and 8090.
    """
    from tooling.stack import DEFAULTS  # noqa: PLC0415 - loads the Azure SDKs

    target = project_root() / DAPR_CLI_COMPONENTS
    state = var_dir() / "state"
    state.mkdir(parents=True, exist_ok=True)
    values = {
        **DEFAULTS,
        "AZURITE_BLOB": "http://127.0.0.1:10000",
        "AZURITE_QUEUE": "http://127.0.0.1:10001",
        "REDIS_HOST": f"127.0.0.1:{DAPR_CLI_REDIS_PORT}",
        "STATE_DIR": str(state),
        "SMTP_PORT": str(DAPR_CLI_SMTP_PORT),
        "PAYMENT_GATEWAY_URL": f"http://127.0.0.1:{DAPR_CLI_SANDBOX_PORT}",
        "SENDGRID_API_URL": f"http://127.0.0.1:{DAPR_CLI_SENDGRID_PORT}",
    }
    components.render(project_root() / "components" / "local", target, values)
    return target


def _run() -> int:
    from tooling.stack import Stack, StackConfig  # noqa: PLC0415 - loads the Azure SDKs

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    with Stack(StackConfig(root=var_dir())) as stack:
        info = storage_cli.stack_file()
        assert stack.azurite is not None  # noqa: S101 - started by Stack.__enter__
        info.write_text(
            json.dumps(
                {"connection_string": stack.azurite.connection_string, "blob_port": stack.azurite.blob_port}
            )
        )
        print(_where(stack), flush=True)
        try:
            stopped.wait()
        finally:
            info.unlink(missing_ok=True)
            print("stopping…", flush=True)
    return 0


def _where(stack: Stack) -> str:
    assert stack.azurite is not None  # noqa: S101 - started by Stack.__enter__
    lines = [f"Bindery local stack healthy in {stack.started_in:.1f}s (Ctrl-C stops everything)"]
    lines.append(f"  azurite blob    {stack.azurite.blob_endpoint}   queue {stack.azurite.queue_endpoint}")
    if stack.redis is not None:
        lines.append(f"  redis (pub/sub) {stack.redis.host} (data {stack.redis.data})")
    lines.append(f"  smtp capture    127.0.0.1:{stack.smtp_port} -> {stack.mail_dir}")
    lines.append(f"  card sandbox    http://127.0.0.1:{stack.sandbox_port} (ledger {stack.ledger})")
    lines.append(f"  sendgrid        http://127.0.0.1:{stack.sendgrid_port} (sends {stack.sendgrid_log})")
    if names.STRIPE_WEBHOOK in stack.apps:
        secret = stack.stripe_webhook_secret_file
        lines.append(f"  stripe events   POST {stack.stripe_webhook_url} (signing secret in {secret})")
    if names.DASHBOARD in stack.apps:
        lines.append(f"  dashboard       {stack.dashboard_url} (the tiles, each refreshed on its own)")
    lines += [
        f"  {app_id:15} app :{r.ports.app}  daprd grpc :{r.ports.grpc} http :{r.ports.http}"
        for app_id, r in stack.apps.items()
    ]
    lines.append(f"  components      {stack.resources}")
    lines.append(f"  logs            {stack.log_dir}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
