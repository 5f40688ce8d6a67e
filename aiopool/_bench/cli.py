"""The command line: ``python -m aiopool bench ...`` and ``python -m aiopool tune ...``."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import shlex
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..testing import RedisServerUnavailable
from .adapters import DEFAULT_AUTO_CONNECTIONS
from .progress import Progress
from .report import bench_json, format_bench, machine_info, machine_line
from .runner import (
    ADAPTERS,
    RESP3_VARIANTS,
    Settings,
    cleanup_server,
    prepare_server,
    run_bench,
    with_protocols,
)
from .target import Target, open_target, parse_target
from .tune import TUNABLE, format_tune, plot, run_tune, tune_json
from .workloads import WORKLOADS

__all__ = ["main"]

T = TypeVar("T")

ALIASES = {"glide": "valkey-glide", "redis": "redis-py", "redispy": "redis-py"}
# (duration, warm-up, rounds): the full defaults, and --quick's.
FULL = {"bench": (1.0, 0.25, 5), "tune": (1.0, 0.25, 3)}
QUICK = {"bench": (0.2, 0.05, 3), "tune": (0.2, 0.05, 2)}
DEFAULT_SIZES = "1,2,4,8,16,32,64,128"


def _names(text: str, known: Sequence[str], what: str) -> list[str]:
    chosen: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        match = next((k for k in known if k.lower() == name.lower()), None)
        match = match or ALIASES.get(name.lower())
        if match is None:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {name!r} (choose from {', '.join(known)})"
            )
        if match not in chosen:
            chosen.append(match)
    if not chosen:
        raise argparse.ArgumentTypeError(f"no {what} given")
    return chosen


def _workloads(text: str) -> list[str]:
    return _names(text, list(WORKLOADS), "workload")


def _clients(text: str) -> list[str]:
    if text.strip().lower() == "all":
        return list(ADAPTERS)
    return _names(text, list(ADAPTERS), "client")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number greater than 0")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of pool sizes (like 1,2,4,8)"
        ) from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"pool sizes must be integers >= 1, got {text!r}")
    return sizes


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="Redis server to use (default: start a throwaway one)")
    parser.add_argument("--duration", type=_positive_float, help="measured seconds per run")
    parser.add_argument("--warmup", type=_positive_float, help="warm-up seconds before each")
    parser.add_argument("--rounds", type=_positive_int, help="rounds; the median is reported")
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument(
        "--uvloop",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run on uvloop (default: when installed)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write all results here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m aiopool`` parser with its ``bench`` and ``tune`` commands."""
    parser = argparse.ArgumentParser(
        prog="python -m aiopool", description="aiopool's benchmark and pool-sizing tools."
    )
    sub = parser.add_subparsers(dest="command", metavar="{bench,tune}", required=True)
    bench = sub.add_parser(
        "bench",
        help="run workloads W1-W8 and print a table",
        description="Run workloads W1-W8 against --url or a throwaway redis-server. "
        + " ".join(f"{w.name}: {w.title}." for w in WORKLOADS.values()),
    )
    _common(bench)
    bench.set_defaults(parser=bench)
    bench.add_argument("--workloads", type=_workloads, help="e.g. W1,W3 (default: all)")
    group = bench.add_mutually_exclusive_group()
    group.add_argument(
        "--clients", type=_clients, help=f"from {','.join(ADAPTERS)} (default: aiopool)"
    )
    group.add_argument("--compare", action="store_true", help="all clients: same as --clients all")
    bench.add_argument(
        "--auto-pipeline-connections",
        type=_positive_int,
        default=DEFAULT_AUTO_CONNECTIONS,
        metavar="N",
        help=f"auto_pipeline_connections of the aiopool-auto client "
        f"(default: {DEFAULT_AUTO_CONNECTIONS})",
    )
    bench.add_argument(
        "--protocol",
        choices=("2", "3", "both"),
        default="2",
        help="RESP version of the aiopool and aiopool-auto rows; both: each gets a RESP3 "
        f"twin row ({', '.join(c.name for c in RESP3_VARIANTS.values())}). The cache rows "
        "always use 3 (default: 2)",
    )
    tune = sub.add_parser(
        "tune",
        help="sweep pool sizes and recommend one",
        description="Sweep aiopool's max_size at a fixed concurrency and recommend the "
        "smallest size within 5%% of the best throughput. Each command borrows its "
        "connection with pool.acquire(), so only workloads of one command per borrow "
        "can be swept: W1, W3, W4 and W6 (not W2's pipelines nor W5's new connections).",
    )
    _common(tune)
    tune.set_defaults(parser=tune)
    tune.add_argument("--sizes", type=_sizes, default=_sizes(DEFAULT_SIZES), help=DEFAULT_SIZES)
    tune.add_argument("--concurrency", type=_positive_int, default=200, help="tasks (200)")
    tune.add_argument(
        "--workload", default="W1", type=str.upper, choices=TUNABLE, help="(default: W1)"
    )
    tune.add_argument("--plot", type=Path, default=Path("tune.png"), help="PNG (or .txt) path")
    tune.add_argument("--no-plot", action="store_true", help="write no chart file")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    duration, warmup, rounds = (QUICK if args.quick else FULL)[args.command]
    return Settings(
        duration=args.duration or duration,
        warmup=args.warmup or warmup,
        rounds=args.rounds or rounds,
    )


def _loop(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[Any, str]:
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if args.uvloop:
            parser.error("--uvloop: uvloop is not installed (pip install 'aiopool[uvloop]')")
        return None, "asyncio (uvloop not installed)"
    if args.uvloop is False:
        return None, "asyncio (--no-uvloop)"
    return uvloop.new_event_loop, f"uvloop {uvloop.__version__}"


def _command(args: argparse.Namespace, settings: Settings, target: Target) -> str:
    words = ["python", "-m", "aiopool", args.command]
    if not target.throwaway:
        words += ["--url", target.shown]
    if args.command == "bench":
        words += ["--workloads", ",".join(args.workloads), "--clients", ",".join(args.asked)]
        if args.auto_pipeline_connections != DEFAULT_AUTO_CONNECTIONS:
            words += ["--auto-pipeline-connections", str(args.auto_pipeline_connections)]
        if args.protocol != "2":
            words += ["--protocol", args.protocol]
    else:
        sizes = ",".join(map(str, args.sizes))
        words += [
            "--workload",
            args.workload,
            "--sizes",
            sizes,
            "--concurrency",
            str(args.concurrency),
        ]
    words += ["--rounds", str(settings.rounds), "--duration", f"{settings.duration:g}"]
    words += ["--warmup", f"{settings.warmup:g}", "--uvloop" if args.use_uvloop else "--no-uvloop"]
    return shlex.join(words)


def _run(loop_factory: Any, coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coro)


def _write_json(path: Path | None, data: dict[str, Any]) -> bool:
    if path is None:
        return True
    try:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"error: could not write {path}: {exc}", file=sys.stderr)
        return False
    print(f"wrote {path}")
    return True


def _unreachable(target: Target, exc: OSError) -> int:
    print(f"error: could not reach the Redis server at {target.shown}: {exc}", file=sys.stderr)
    return 1


def _bench(args: argparse.Namespace, target: Target, loop: tuple[Any, str]) -> int:
    settings = _settings(args)
    workloads = [WORKLOADS[name] for name in args.workloads]
    progress = Progress(enabled=args.progress)
    try:
        result = _run(
            loop[0],
            run_bench(
                target,
                workloads,
                args.clients,
                settings,
                progress,
                auto_connections=args.auto_pipeline_connections,
                protocol=3 if args.protocol == "3" else 2,
            ),
        )
    except OSError as exc:
        return _unreachable(target, exc)
    machine = machine_info(target, result.server_version, loop[1])
    command = _command(args, settings, target)
    print(format_bench(result, machine, command))
    if not _write_json(args.json, bench_json(result, machine, command)):
        return 1
    return 1 if any(row.status == "error" for row in result.rows) else 0


def _tune(args: argparse.Namespace, target: Target, loop: tuple[Any, str]) -> int:
    settings = _settings(args)
    workload = WORKLOADS[args.workload]
    progress = Progress(enabled=args.progress)

    async def sweep() -> tuple[str, list[Any]]:
        version = await prepare_server(target, [workload])
        try:
            points = await run_tune(
                target, workload, args.sizes, args.concurrency, settings, progress
            )
        finally:
            await cleanup_server(target, [workload])
        return version, points

    try:
        version, points = _run(loop[0], sweep())
    except OSError as exc:
        return _unreachable(target, exc)
    machine = machine_info(target, version, loop[1])
    command = _command(args, settings, target)
    title = f"{workload.name} ({workload.title.split(', ', 1)[-1]}), {args.concurrency} tasks"
    print(format_tune(points, title, machine_line(machine), settings, args.concurrency))
    status = 0
    if not args.no_plot:
        try:
            written = plot(points, args.plot, title)
        except OSError as exc:
            print(f"error: could not write the chart {args.plot}: {exc}", file=sys.stderr)
            status = 1
        else:
            note = "" if written == args.plot else " (matplotlib is not installed: a text chart)"
            print(f"wrote {written}{note}")
    print(f"Rerun: {command}")
    data = tune_json(points, workload, args.concurrency, settings, machine, command)
    return status if _write_json(args.json, data) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m aiopool`` with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "bench":
        args.workloads = args.workloads or list(WORKLOADS)
        args.asked = list(ADAPTERS) if args.compare else (args.clients or ["aiopool"])
        args.clients = with_protocols(args.asked, args.protocol)
    args.progress = not args.no_progress and sys.stderr.isatty()
    loop = _loop(args, args.parser)
    args.use_uvloop = loop[0] is not None
    if args.url is not None:
        try:
            parse_target(args.url)
        except ValueError as exc:
            args.parser.error(f"argument --url: {exc}")
    try:
        with open_target(args.url) as target:
            if args.command == "bench":
                return _bench(args, target, loop)
            return _tune(args, target, loop)
    except RedisServerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 1
