"""The benchmark's printed tables and its JSON record."""

import json
import time
from pathlib import Path

RESULTS_DIR = Path(__file__).with_name("results")

FETCH_RATIO_TARGET = 0.8
FETCH_P99_TARGET_MS = 10.0
INGEST_TARGET = 2000.0
IDLE_RSS_TARGET_MIB = 400.0


def _fmt(value, pattern="{:,.0f}"):
    return "-" if value is None else pattern.format(value)


def fetch_table(fetch):
    lines = [
        "Prompt fetch GET /api/public/v2/prompts/{name}?label=production against a "
        "bare Django JsonResponse view",
        f"(load: {fetch['load_generator']}, median of {fetch['runs']} runs x "
        f"{fetch['duration']} s, gunicorn 2 sync workers)",
        f"{'c':>4} | {'fetch req/s':>11} {'p50 ms':>7} {'p99 ms':>7} | "
        f"{'bare req/s':>10} {'p50 ms':>7} {'p99 ms':>7} | {'fetch/bare':>10} | "
        f"{'304 req/s':>9} {'p99 ms':>7}",
    ]
    for concurrency, row in fetch["by_c"].items():
        hit, bare = row["fetch"], row["bare"]
        revalidate = row.get("fetch_revalidate")
        lines.append(
            f"{concurrency:>4} | {hit['rps']:>11,.0f} {hit['p50_ms']:>7.2f} "
            f"{hit['p99_ms']:>7.2f} | {bare['rps']:>10,.0f} {bare['p50_ms']:>7.2f} "
            f"{bare['p99_ms']:>7.2f} | {hit['rps'] / bare['rps']:>10.2f} | "
            + (
                f"{revalidate['rps']:>9,.0f} {revalidate['p99_ms']:>7.2f}"
                if revalidate
                else f"{'-':>9} {'-':>7}"
            )
        )
        errors = hit["errors"] + bare["errors"]
        if errors:
            lines.append(
                f"     ! {errors} failed or non-2xx/3xx responses at c={concurrency}"
            )
    return lines


def fetch_cpu_table(readings):
    lines = ["CPU per request at c=8, microseconds (one run each; /proc)"]
    parts = readings["fetch"]["us_per_request"]
    lines.append(f"  {'part':<46} {'fetch':>8} {'bare':>8}")
    for part in parts:
        lines.append(
            f"  {part:<46} {parts[part]:>8.0f} "
            f"{readings['bare']['us_per_request'][part]:>8.0f}"
        )
    for name in ("fetch", "bare"):
        reading = readings[name]
        lines.append(
            f"  {name}: machine busy {reading['machine_busy_cpu_s']:.1f} of "
            f"{reading['capacity_cpu_s']:.1f} CPU-s, "
            f"{reading['elsewhere_cpu_s']:.1f} CPU-s elsewhere (not this bench)"
        )
    return lines


def cpu_lines(reading, spans):
    lines = [
        f"  CPU over the run: machine busy {reading['machine_busy_cpu_s']:.1f} of "
        f"{reading['capacity_cpu_s']:.1f} CPU-s; per part (CPU-s, ms per 1,000 spans):"
    ]
    for part, seconds in reading["parts_cpu_s"].items():
        lines.append(f"    {part:<46} {seconds:>7.1f} {seconds / spans * 1e6:>8.0f}")
    lines.append(
        f"    {'elsewhere (not this bench)':<46} {reading['elsewhere_cpu_s']:>7.1f}"
    )
    return lines


EXPERIMENTS = {
    "fetch": "the fetch as built (prompts/api/views.py)",
    "one_trip": "key record + prompt entries in one MGET, no middleware work",
    "in_process": "key and body held in the worker (0 round trips)",
    "bare": "bare JsonResponse",
}


def experiments_table(rows):
    bare = rows["bare"]["rps"]
    lines = [
        "What-if at c=8 (workbench/bench_views.py experiments, same server)",
        f"  {'variant':<60} {'req/s':>7} {'p99 ms':>7} {'x bare':>7}",
    ]
    for name, label in EXPERIMENTS.items():
        row = rows[name]
        lines.append(
            f"  {label:<60} {row['rps']:>7,.0f} {row['p99_ms']:>7.2f} "
            f"{row['rps'] / bare:>7.2f}"
        )
    return lines


def ingest_table(ingest):
    lines = [
        f"Ingestion: {ingest['generations']:,} generations, OTLP protobuf + gzip, "
        f"batches of {ingest['batch_size']} "
        f"({ingest['body_bytes_gzip_mean'] / 1024:.1f} KiB gzip'd), "
        f"{ingest['client_threads']} client threads",
        f"  accept (HTTP)  {_fmt(ingest['accept_spans_per_s'])} spans/s "
        f"({_fmt(ingest['accept_seconds'], '{:.2f}')} s; request p50 "
        f"{_fmt(ingest['request_p50_ms'], '{:.0f}')} ms, p99 "
        f"{_fmt(ingest['request_p99_ms'], '{:.0f}')} ms; statuses "
        f"{ingest['http_statuses']})",
        f"  end to end     {_fmt(ingest['end_to_end_spans_per_s'])} spans/s "
        f"({ingest['costed_observations']:,} priced observations after "
        f"{ingest['end_to_end_seconds']:.2f} s)",
    ]
    if not ingest["complete"]:
        lines.append(
            f"  ! incomplete: {ingest['costed_observations']:,} of "
            f"{ingest['generations']:,} observations priced when the wait ended"
        )
    if ingest.get("cpu"):
        lines += cpu_lines(ingest["cpu"], ingest["generations"])
    for failure in ingest["http_failures"]:
        lines.append(f"  ! {failure}")
    return lines


def memory_table(memory):
    lines = [
        "Memory (process trees; RSS counts shared pages per process, PSS splits them)",
        f"  {'':<8} {'idle RSS':>9} {'idle PSS':>9} {'peak RSS':>9} {'HWM sum':>9}",
    ]
    for name in ("web", "worker", "beat", "total"):
        idle = memory["idle"][name]
        peak = memory.get("peak", {}).get(name, {})
        lines.append(
            f"  {name:<8} {idle['rss_mib']:>7.1f}Mi {idle['pss_mib']:>7.1f}Mi "
            f"{_fmt(peak.get('rss_mib'), '{:.1f}'):>7}Mi "
            f"{_fmt(peak.get('hwm_mib'), '{:.1f}'):>7}Mi"
        )
    return lines


def profile_lines(title, summary, limit=12):
    lines = [f"{title} ({summary['samples']} busy samples, py-spy)"]
    for row in summary["buckets"][:limit]:
        lines.append(f"  {row['share'] * 100:5.1f}%  {row['bucket']}")
    return lines


def _verdict(value, met):
    if value is None:
        return "not measured"
    return "met" if met else "MISSED"


def targets(result):
    rows = []
    fetch = result.get("fetch")
    at_8 = (fetch or {}).get("by_c", {}).get(8)
    ratio = at_8["fetch"]["rps"] / at_8["bare"]["rps"] if at_8 else None
    p99 = at_8["fetch"]["p99_ms"] if at_8 else None
    rows.append(
        (
            "fetch/bare req/s at c=8",
            _fmt(ratio, "{:.2f}"),
            f">= {FETCH_RATIO_TARGET}",
            _verdict(ratio, ratio is not None and ratio >= FETCH_RATIO_TARGET),
        )
    )
    rows.append(
        (
            "fetch p99 at c=8",
            _fmt(p99, "{:.2f} ms"),
            f"< {FETCH_P99_TARGET_MS:.0f} ms",
            _verdict(p99, p99 is not None and p99 < FETCH_P99_TARGET_MS),
        )
    )
    ingest = result.get("ingest") or {}
    rate = ingest.get("end_to_end_spans_per_s")
    rows.append(
        (
            "ingestion end to end",
            _fmt(rate, "{:,.0f} spans/s"),
            f">= {INGEST_TARGET:,.0f} spans/s",
            _verdict(rate, rate is not None and rate >= INGEST_TARGET),
        )
    )
    idle = result.get("memory", {}).get("idle", {}).get("total")
    idle_mib = idle["rss_mib"] if idle else None
    rows.append(
        (
            "idle RSS web + worker + beat",
            _fmt(idle_mib, "{:.0f} MiB"),
            f"< {IDLE_RSS_TARGET_MIB:.0f} MiB",
            _verdict(idle_mib, idle_mib is not None and idle_mib < IDLE_RSS_TARGET_MIB),
        )
    )
    return rows


def targets_table(result):
    rows = targets(result)
    lines = [f"{'figure':<30} {'value':>16} {'target':>16}  result"]
    lines += [f"{a:<30} {b:>16} {c:>16}  {d}" for a, b, c, d in rows]
    return lines, rows


def render(result):
    sections = []
    if result.get("fetch"):
        sections.append(fetch_table(result["fetch"]))
    if result.get("fetch_cpu_at_8"):
        sections.append(fetch_cpu_table(result["fetch_cpu_at_8"]))
    if result.get("fetch_experiments"):
        sections.append(experiments_table(result["fetch_experiments"]))
    for note in result.get("notes", []):
        sections.append([f"NOTE: {note}"])
    if result.get("ingest"):
        sections.append(ingest_table(result["ingest"]))
    if result.get("memory"):
        sections.append(memory_table(result["memory"]))
    for title, summary in result.get("profile", {}).items():
        sections.append(profile_lines(f"Profile, {title}", summary))
    lines, rows = targets_table(result)
    result["targets"] = [
        {"figure": a, "value": b, "target": c, "result": d} for a, b, c, d in rows
    ]
    sections.append(lines)
    return "\n\n".join("\n".join(section) for section in sections)


def save(result):
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS_DIR / f"bench-{stamp}.json"
    text = json.dumps(result, indent=2, default=str)
    path.write_text(text)
    (RESULTS_DIR / "latest.json").write_text(text)
    return path
