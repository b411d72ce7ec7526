"""One measurement per process: ``python bench/cases.py KIND ARGS...`` prints one JSON object.

``bench/run.py`` starts a fresh interpreter for every measurement so that handlers, threads,
allocator state and peak RSS of one contender never leak into another's numbers.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import LOGGERS, Call, make_pool, stdlib_caller

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
#: Finishes one contender's run: flush what it buffered, close what it opened.
Finish = Callable[[], None]


def _reset_logging() -> None:
    for name in ("", *LOGGERS):
        lg = logging.getLogger(name)
        for h in list(lg.handlers):
            lg.removeHandler(h)
        lg.setLevel(logging.NOTSET)
    logging.getLogger().setLevel(logging.WARNING)


def _owner(tmp: Path) -> Path:
    from sealog.seal._keys import generate_owner_key, write_key_pair

    _key, pub = write_key_pair(generate_owner_key(), tmp / "owner")
    return pub


def _prod_ring_info(tmp: Path) -> Path:
    """The built-in production profile with its flight recorder at INFO instead of DEBUG."""
    from sealog.profile import builtin_text

    text = builtin_text("production").replace(
        "[ring]\nrecords = 5000                  # how many records the ring keeps\n"
        'min_level = "DEBUG"',
        '[ring]\nrecords = 5000\nmin_level = "INFO"',
    )
    assert 'min_level = "INFO"' in text
    path = tmp / "production-ring-info.toml"
    path.write_text(text.replace('name = "production"', 'name = "production-ring-info"'))
    return path


def _development_store(tmp: Path, pool: list[Call], n: int) -> None:
    """``tmp/store``: ``n`` of the pool's records logged under the development profile."""
    run, finish = setup("sealog-development", tmp, pool)
    run(n)
    finish()
    _reset_logging()


def setup(contender: str, tmp: Path, pool: list[Call]) -> tuple[Callable[[int], None], Finish]:
    """Install one contender; return ``run(n)`` and ``finish()``."""
    _reset_logging()
    root = logging.getLogger()
    if contender == "stdlib":
        handler = logging.FileHandler(tmp / "plain.log")
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)

        def finish() -> None:
            root.removeHandler(handler)
            handler.close()

        return stdlib_caller(pool), finish
    if contender == "structlog":
        import structlog

        fh = open(tmp / "structlog.jsonl", "w")  # noqa: SIM115
        base = structlog.wrap_logger(
            structlog.WriteLogger(fh),
            wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
            cache_logger_on_first_use=True,
        )
        bound = {name: base.bind(logger=name) for name in LOGGERS}
        calls = []
        for lvl, name, tpl, args, extra, exc in pool:
            kw = dict(extra or {})
            if exc is not None:
                kw["exc_info"] = exc
            calls.append((bound[name].log, lvl, tpl, args, kw))

        def run(n: int) -> None:
            size = len(calls)
            for i in range(n):
                log, lvl, tpl, args, kw = calls[i % size]
                log(lvl, tpl, *args, **kw)

        return run, fh.close
    if contender == "picologging":
        import picologging

        handler = picologging.FileHandler(str(tmp / "pico.log"))
        handler.setFormatter(picologging.Formatter(FORMAT))
        proot = picologging.getLogger()
        proot.handlers = [handler]
        proot.setLevel(logging.DEBUG)
        plog = {name: picologging.getLogger(name) for name in LOGGERS}
        first_exc = next(c[5] for c in pool if c[5] is not None)
        exc_text = "".join(traceback.format_exception(*first_exc)).replace("%", "%%")
        pcalls = [
            (plog[name].log, lvl, tpl, args, extra, exc)
            for lvl, name, tpl, args, extra, exc in pool
        ]

        def pico_run(n: int) -> None:
            size = len(pcalls)
            for i in range(n):
                log, lvl, tpl, args, extra, exc = pcalls[i % size]
                # picologging 0.9 crashes when one `extra` dict or one exc_info tuple is logged
                # many times (it drops references it does not own): each call gets its own copy of
                # `extra`, and a record with a traceback carries the traceback's text.
                extra = dict(extra) if extra else None
                if exc is not None:
                    log(lvl, tpl + "\n" + exc_text, *args, extra=extra)
                else:
                    log(lvl, tpl, *args, extra=extra)

        def pico_finish() -> None:
            handler.close()

        return pico_run, pico_finish
    if contender == "loguru":
        from loguru import logger as loguru_logger

        loguru_logger.remove()
        sink = loguru_logger.add(str(tmp / "loguru.log"), level="DEBUG", enqueue=False)
        names = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}
        bound = {name: loguru_logger.bind(logger=name) for name in LOGGERS}
        lcalls = []
        for lvl, name, tpl, args, extra, exc in pool:
            # loguru formats with str.format; the %-template is rendered first, as a user would.
            lcalls.append(
                (
                    bound[name],
                    names[lvl],
                    (tpl % args).replace("{", "{{").replace("}", "}}"),
                    extra or {},
                    exc is not None,
                )
            )

        def loguru_run(n: int) -> None:
            size = len(lcalls)
            for i in range(n):
                log, lvl, msg, extra, exc = lcalls[i % size]
                if exc:
                    log.opt(exception=True).log(lvl, msg, **extra)
                else:
                    log.log(lvl, msg, **extra)

        def loguru_finish() -> None:
            loguru_logger.remove(sink)

        return loguru_run, loguru_finish
    if contender.startswith("sealog-"):
        import sealog

        profile: str | Path = contender.removeprefix("sealog-")
        if profile == "production-ring-info":
            profile = _prod_ring_info(tmp)
        host = open(tmp / "host.log", "a")  # noqa: SIM115 - the host's copy of the events
        session = sealog.open_session(
            tmp / "owner.pub", store=tmp / "store", profile=profile, logger=root, host_stream=host
        )

        def finish() -> None:
            session.close()
            host.close()

        return stdlib_caller(pool), finish
    raise SystemExit(f"unknown contender {contender}")


def filtered_caller(pool: list[Call]) -> Callable[[int], None]:
    """``run(n)``: DEBUG calls only (what a disabled level costs)."""
    debug = [
        (logging.getLogger(name).debug, tpl, args)
        for lvl, name, tpl, args, _, _ in pool
        if lvl == logging.DEBUG
    ]

    def run(n: int) -> None:
        size = len(debug)
        for i in range(n):
            log, tpl, args = debug[i % size]
            log(tpl, *args)

    return run


def inproc(contender: str, n: int, repeats: int, *, debug_only: bool = False) -> dict[str, Any]:
    """Microseconds per record of ``n`` records (``repeats`` times, each with a fresh setup)."""
    pool = make_pool()
    out = []
    with tempfile.TemporaryDirectory(prefix="sealog-bench-") as d:
        tmp = Path(d)
        _owner(tmp)
        warm, finish = setup(contender, tmp, pool)
        warm(2000)
        finish()
        for _ in range(repeats):
            run, finish = setup(contender, tmp, pool)
            if debug_only:
                if contender == "stdlib":
                    logging.getLogger().setLevel(logging.INFO)  # DEBUG disabled, as usual
                run = filtered_caller(pool)
            t0 = time.perf_counter()
            run(n)
            finish()  # sealing what is left is part of the cost
            out.append((time.perf_counter() - t0) / n * 1e6)
    return {"us": out, "median": statistics.median(out), "min": min(out)}


def _status(field: str) -> int:
    """A ``/proc/self/status`` value in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss(contender: str, n: int) -> dict[str, Any]:
    """Peak RSS growth (KiB) while logging ``n`` records, and the RSS left after closing."""
    pool = make_pool()
    with tempfile.TemporaryDirectory(prefix="sealog-bench-") as d:
        tmp = Path(d)
        _owner(tmp)
        run, finish = setup(contender, tmp, pool)
        run(20_000)  # warm: the pool's records, caches and the first frames exist before the base
        base_hwm = _status("VmHWM")
        base_rss = _status("VmRSS")
        samples = []
        step = n // 10
        for _ in range(10):
            run(step)
            samples.append(_status("VmRSS") - base_rss)
        peak = _status("VmHWM")
        finish()
    return {"base_kib": base_hwm, "growth_kib": peak - base_hwm, "rss_growth_samples": samples}


def read(n: int, repeats: int) -> dict[str, Any]:
    """The owner reading ``n`` sealed records (decrypt, verify, ``--json``), against
    ``json.loads`` over the same records as plaintext JSON lines."""
    from sealog.owner import RecordView, SessionReader, record_json_line
    from sealog.seal._keys import OwnerPrivateKey

    def record_json(session: str, record: Any, profile: str) -> str:
        return record_json_line(RecordView(session, "keep", profile, record))[:-1]

    pool = make_pool()
    with tempfile.TemporaryDirectory(prefix="sealog-bench-") as d:
        tmp = Path(d)
        _owner(tmp)
        _development_store(tmp, pool, n)
        key = OwnerPrivateKey.load(tmp / "owner.key")
        (seal,) = (tmp / "store").glob("*.seal")
        lines = tmp / "plain.jsonl"
        records = 0
        with open(lines, "w") as out:
            reader = SessionReader(seal, key)
            for record in reader.read():
                out.write(record_json(reader.session, record, reader.profile or "") + "\n")
                records += 1
            assert reader.verdict().ok, reader.verdict()

        def sealed() -> None:
            with open(os.devnull, "w") as sink:
                reader = SessionReader(seal, key)
                write = sink.write
                for record in reader.read():
                    write(record_json(reader.session, record, reader.profile or "") + "\n")
                assert reader.verdict().ok

        def verified() -> None:
            reader = SessionReader(seal, key)
            for _record in reader.read():
                pass
            assert reader.verdict().ok

        def plain() -> None:
            loads = json.loads
            with open(lines, "rb") as fh:
                for line in fh:
                    loads(line)

        def plain_print() -> None:
            loads, dumps = json.loads, json.dumps
            with open(lines, "rb") as fh, open(os.devnull, "w") as sink:
                write = sink.write
                for line in fh:
                    write(dumps(loads(line), ensure_ascii=False) + "\n")

        times: dict[str, list[float]] = {
            "sealed": [],
            "verified": [],
            "plain": [],
            "plain_print": [],
        }
        runs = (
            ("plain", plain),
            ("plain_print", plain_print),
            ("verified", verified),
            ("sealed", sealed),
        )
        for _ in range(repeats):
            for name, fn in runs:
                t0 = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - t0) / records * 1e6)
        sealog_cli = Path(sys.executable).with_name("sealog")
        cli = []
        for _ in range(max(1, repeats // 2)):
            t0 = time.perf_counter()
            subprocess.run(
                [
                    str(sealog_cli),
                    "read",
                    str(tmp / "store"),
                    "--key",
                    str(tmp / "owner.key"),
                    "--json",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            cli.append(time.perf_counter() - t0)
        return {
            "records": records,
            "sealed_bytes": seal.stat().st_size,
            "cli_s": statistics.median(cli),
            "sealed_us": statistics.median(times["sealed"]),
            "verified_us": statistics.median(times["verified"]),
            "plain_print_us": statistics.median(times["plain_print"]),
            "plain_us": statistics.median(times["plain"]),
            "samples": times,
        }


_BASELINE = (
    "import json, sys\n"
    "loads = json.loads\n"
    "with open(sys.argv[1], 'rb') as fh:\n"
    "    for line in fh:\n"
    "        loads(line)\n"
)


def reading(n: int, repeats: int) -> dict[str, Any]:
    """The owner's commands as whole processes over one ``n``-record development store, each
    against one process doing ``json.loads`` over the same records as JSON lines.

    Rounds interleave the contenders, so that a change in the machine's load hits all alike;
    each ratio is the median of the ratios within a round.
    """
    pool = make_pool()
    with tempfile.TemporaryDirectory(prefix="sealog-bench-") as d:
        tmp = Path(d)
        _owner(tmp)
        _development_store(tmp, pool, n)
        sealog_cli = str(Path(sys.executable).with_name("sealog"))
        store, key = str(tmp / "store"), str(tmp / "owner.key")
        lines = tmp / "records.jsonl"
        with open(lines, "w") as out:
            subprocess.run(
                [sealog_cli, "read", store, "--key", key, "--json"], stdout=out, check=True
            )
        with open(lines, "rb") as fh:
            records = sum(1 for _ in fh)
        contenders: dict[str, list[str]] = {
            "baseline": [sys.executable, "-c", _BASELINE, str(lines)],
            "read_json": [sealog_cli, "read", store, "--key", key, "--json"],
            "read_text": [sealog_cli, "read", store, "--key", key],
            "verify": [sealog_cli, "verify", store, "--key", key],
        }
        seconds: dict[str, list[float]] = {c: [] for c in contenders}
        for _ in range(repeats):
            for name, argv in contenders.items():
                with open(tmp / "out", "w") as out:
                    t0 = time.perf_counter()
                    subprocess.run(argv, stdout=out, check=True)
                    seconds[name].append(time.perf_counter() - t0)
        ratios = {
            name: statistics.median(
                x / b for x, b in zip(samples, seconds["baseline"], strict=True)
            )
            for name, samples in seconds.items()
        }
        return {
            "records": records,
            "sealed_bytes": sum(p.stat().st_size for p in (tmp / "store").glob("*.seal")),
            "jsonl_bytes": lines.stat().st_size,
            "seconds": {k: statistics.median(v) for k, v in seconds.items()},
            "ratio": ratios,
            "samples": seconds,
        }


def diff_scale(n_a: int, n_b: int) -> dict[str, Any]:
    """``sealog diff`` of an ``n_a``-record development session against an ``n_b``-record one,
    as one process: seconds and peak RSS."""
    import resource

    pool = make_pool()
    with tempfile.TemporaryDirectory(prefix="sealog-bench-") as d:
        tmp = Path(d)
        _owner(tmp)
        stores = []
        for name, n in (("a", n_a), ("b", n_b)):
            _development_store(tmp, pool, n)
            (tmp / "store").rename(tmp / name)
            stores.append(str(tmp / name))
        sealog_cli = str(Path(sys.executable).with_name("sealog"))
        argv = [sealog_cli, "diff", *stores, "--key", str(tmp / "owner.key"), "--max", "20"]
        t0 = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=False)
        seconds = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kib = usage.ru_maxrss
        summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        return {
            "records_a": n_a,
            "records_b": n_b,
            "seconds": seconds,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_kib": peak_kib,
            "exit": done.returncode,
            "summary": summary,
        }


def aead() -> dict[str, Any]:
    """AES-256-GCM throughput on this machine, and the encoded size of the pool's rows."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from sealog.keep._shape import row_from_record
    from sealog.seal._records import encode_batch

    gcm = AESGCM(AESGCM.generate_key(256))
    out: dict[str, Any] = {}
    for size in (4096, 65536, 262144):
        data = os.urandom(size)
        aad = os.urandom(100)
        calls = max(50, (64 << 20) // size)
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for i in range(calls):
                gcm.encrypt(i.to_bytes(12, "big"), data, aad)
            best = min(best, time.perf_counter() - t0)
        out[str(size)] = {"mb_s": size * calls / best / 1e6, "us_per_call": best / calls * 1e6}
    pool = make_pool()
    rows = []
    for lvl, name, tpl, args, extra, exc in pool:
        rec = logging.LogRecord(name, lvl, __file__, 1, tpl, args, exc)
        if extra:
            rec.__dict__.update(extra)
        rows.append(row_from_record(rec))
    out["row_bytes"] = (len(encode_batch(rows)) - 4) / len(rows)
    return out


#: One of each shape the runtime reads, as real programs print them (``docs/runtime.md``).
LINE_FORMATS: dict[str, list[bytes]] = {
    "plain text": [b"connected to 10.0.0.7:5432 after 3 attempts"],
    "level word": [b"ERROR: database unreachable (attempt 3)"],
    "timestamp + level": [b"2026-11-27 10:00:00.123 | INFO     | app.db:connect:42 - connected"],
    "JSON": [b'{"level":"info","time":1700000000000,"msg":"request done","status":200,"ms":12}'],
    "logfmt": [b'time=2026-11-27T10:00:00Z level=warn msg="slow request" path=/api ms=950'],
    "syslog": [b"<4>disk 91% full on /var"],
    "klog": [b"I1127 10:00:00.000000   12345 controller.go:42] synced 12 objects"],
    "redis": [b"12345:M 27 Nov 2026 10:00:00.123 * Ready to accept connections tcp"],
    "python traceback (7 lines)": [
        b"Traceback (most recent call last):",
        b'  File "/app/main.py", line 12, in <module>',
        b"    main()",
        b'  File "/app/main.py", line 8, in main',
        b"    connect()",
        b"ConnectionError: refused",
        b"after the traceback",
    ],
}
#: The mix timed as a whole: mostly plain and simple lines, some structured, a traceback.
LINE_MIX = {
    "plain text": 30,
    "level word": 20,
    "timestamp + level": 10,
    "JSON": 15,
    "logfmt": 10,
    "syslog": 3,
    "klog": 4,
    "redis": 4,
    "python traceback (7 lines)": 1,
}


def lines(n: int, repeats: int) -> dict[str, Any]:
    """CPU microseconds per captured line: the runtime's line pump before line understanding
    (decode, one row per line) against the same with :class:`LineReader` (levels, fields,
    groups). The difference is what understanding adds."""
    from sealog.keep._lines import LineReader, LineRules
    from sealog.profile import LineSettings
    from sealog.seal._row import make_row

    rules = LineRules(LineSettings())

    def baseline(data: list[bytes]) -> None:
        # What the pump did per line before: decode, one row at the stream's level.
        rows = []
        now = time.time
        for raw in data:
            text = raw.decode("utf-8", "replace").rstrip("\n")
            rows.append(make_row(now(), 30, "workload", "stderr", text))

    def understood(data: list[bytes]) -> None:
        reader = LineReader("stderr", rules, default=30)
        rows: list[Any] = []
        feed, append = reader.feed, rows.append
        for raw in data:
            feed(raw.decode("utf-8", "replace"), append)
        reader.flush(append)

    def per_line(fn: Callable[[list[bytes]], None], data: list[bytes]) -> float:
        # CPU time of this process: the pump's cost per line, not the machine's other load.
        samples = []
        for _ in range(repeats):
            t0 = time.process_time()
            fn(data)
            samples.append((time.process_time() - t0) / len(data) * 1e6)
        return statistics.median(samples)

    def batch(block: list[bytes], count: int) -> list[bytes]:
        return (block * (count // len(block) + 1))[:count]

    mix: list[bytes] = []
    for name, weight in LINE_MIX.items():
        mix += LINE_FORMATS[name] * weight
    data = batch(mix, n)
    out: dict[str, Any] = {"mix_base_us": per_line(baseline, data)}
    out["mix_us"] = per_line(understood, data)
    out["mix_added_us"] = out["mix_us"] - out["mix_base_us"]
    formats = {}
    for name, block in LINE_FORMATS.items():
        one = batch(block, n // 5)
        formats[name] = per_line(understood, one) - per_line(baseline, one)
    out["added_us_by_format"] = formats
    return out


def main(argv: list[str]) -> None:
    kind = argv[0]
    if kind == "inproc":
        result = inproc(argv[1], int(argv[2]), int(argv[3]), debug_only="--debug-only" in argv)
    elif kind == "rss":
        result = rss(argv[1], int(argv[2]))
    elif kind == "read":
        result = read(int(argv[1]), int(argv[2]))
    elif kind == "reading":
        result = reading(int(argv[1]), int(argv[2]))
    elif kind == "diff":
        result = diff_scale(int(argv[1]), int(argv[2]))
    elif kind == "aead":
        result = aead()
    elif kind == "lines":
        result = lines(int(argv[1]), int(argv[2]))
    else:
        raise SystemExit(f"unknown measurement {kind}")
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
