"""The figures of scripts/bench/bench_kafka.py: medians, table rows, notes, printing."""

import statistics
import sys

TARGET = 0.7  # the edge against the producer ceiling (issue 21)

def median(runs, key):
    return statistics.median(r[key] for r in runs)


def kafka_rows(results, lat, agents, lines_per_agent, raw, num_records, record_size, latency_rate, latency_seconds,
               notes):
    """The table rows and notes of run_kafka's measurements."""
    rows = []
    if results:
        m = {k: median(results, k) for k in results[0] if not k.startswith("_")}
        rows.append(("ceiling: ProducerPerformance", {"msg MiB/s": m["ceiling msg MiB/s"],
                                                      "records/s": m["ceiling records/s"],
                                                      "msgs/s": m["ceiling msgs/s"],
                                                      "broker CPU s/GiB": m["ceiling broker CPU s/GiB"]}))
        rows.append((f"edge collector → Kafka ({agents} agents, pre-filled spools)",
                     {"records/s": m["records/s"], "msg MiB/s": m["msg MiB/s"], "raw MiB/s": m["raw MiB/s"],
                      "msgs/s": median(results, "_messages") / median(results, "_wall"),
                      "ratio": m["ratio"], "edge CPU %": m["edge CPU %"], "broker CPU %": m["broker CPU %"],
                      "broker CPU s/GiB": m["broker CPU s/GiB"]}))
        rows.append(("Kafka → indexer → blackhole (pre-filled topic)",
                     {"records/s": m["drain records/s"], "indexer CPU %": m["indexer CPU %"],
                      "broker CPU %": m["drain broker CPU %"]}))
        first = results[0]
        notes.append(f"data: {agents} agents × {lines_per_agent:,} mixed lines (gen_data.py, "
                     f"{raw / agents / 2**20:.1f} MiB each; {raw / 2**20:.0f} MiB raw in all); agent batches of "
                     f"{first['records/msg']:.0f} records on average = one Kafka message each "
                     f"({first['_messages']} messages, {first['_msg_bytes'] / first['_messages'] / 1024:.1f} KiB "
                     f"average value, {first['_msg_bytes'] / raw:.3f} of the raw bytes; "
                     f"{max(r['_split'] for r in results):.0f} split batches, "
                     f"{max(r['_errors'] for r in results):.0f} delivery errors)")
        notes.append(f"ceiling: ProducerPerformance, {num_records:,} records of {record_size:,} B (run 1's average "
                     f"message) = {num_records * record_size / 2**20:.0f} MiB per run, acks=all, "
                     f"enable.idempotence=true, linger.ms=0, compression.type=none, batch.size=1MiB, no keys; "
                     f"its avg send→ack latency median {median(results, '_ceiling_avg_ms'):.1f} ms; "
                     f"ceiling records/s = its MiB/s ÷ the edge's message bytes per log record "
                     f"({first['_msg_bytes'] / first['_records']:.1f} B), i.e. its messages/s × "
                     f"{first['records/msg']:.0f} records per message")
        ratios = ", ".join(f"{r['ratio']:.2f}" for r in results)
        notes.append(f"edge / ceiling (message MiB/s, same run): {ratios}; median {m['ratio']:.2f}× against the "
                     f"target ≥ {TARGET:.2f}×: {'met' if m['ratio'] >= TARGET else 'NOT met'}")
        notes.append(f"edge: the kafka sink's Write() took {median(results, '_write_ms'):.1f} ms per batch (median "
                     f"of the runs' means; logship_collector_sink_write_seconds), up to limits.stream_writes_in_flight "
                     f"batches at once per agent stream: summed over the {agents} streams, writes were in progress "
                     f"{100 * median(results, '_writer_busy'):.0f}% of the time (100% = one write always); the edge spent {median(results, '_edge_cpu_ms_per_batch'):.1f} ms of CPU per "
                     f"batch (decode + encode + librdkafka), edge RSS peak {median(results, '_edge_rss'):.0f} MiB")
        notes.append(f"drain: timed from the first record the blackhole counted (group join before it: median "
                     f"{median(results, '_join_s'):.1f} s, not counted)")
    for sink, runs_ in lat.items():
        if runs_:
            rows.append((f"latency agent → edge → Kafka → indexer → {sink} @ {latency_rate:,.0f} lines/s",
                         {"lines/s": latency_rate, **{k: median(runs_, k) for k in ("p50 ms", "p99 ms", "max ms")}}))
    if lat.get("postgres"):
        notes.append(f"latency postgres: bench_latency.py's writer and poller ({latency_seconds:g} s per run; "
                     f"visible = start of the first 50 ms poll returning the row, +25 ms on average from polling)")
    if lat.get("blackhole"):
        notes.append("latency blackhole: the indexer's blackhole record counter polled every 10 ms (+5 ms on "
                     "average from polling)")
    return rows, notes


COLUMNS = {"records/s": "{:,.0f}", "msg MiB/s": "{:,.1f}", "raw MiB/s": "{:,.1f}", "msgs/s": "{:,.0f}",
           "ratio": "{:.2f}", "lines/s": "{:,.0f}", "p50 ms": "{:,.0f}", "p99 ms": "{:,.0f}", "max ms": "{:,.0f}",
           "edge CPU %": "{:.0f}", "indexer CPU %": "{:.0f}", "broker CPU %": "{:.0f}",
           "broker CPU s/GiB": "{:,.1f}"}


def print_table(rows, notes, out=sys.stdout):
    cols = [c for c in COLUMNS if any(c in r for _, r in rows)]
    print("| scenario | " + " | ".join(cols) + " |", file=out)
    print("|---|" + "---:|" * len(cols), file=out)
    for name, r in rows:
        print(f"| {name} | " + " | ".join("" if r.get(c) is None else COLUMNS[c].format(r[c]) for c in cols) + " |",
              file=out)
    for n in dict.fromkeys(notes):
        print(f"- {n}", file=out)
