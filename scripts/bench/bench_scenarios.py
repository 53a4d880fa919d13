"""The throughput scenarios: baselines, file to spool, file to the blackhole sink, PostgreSQL
ingest against a psql \\copy ceiling, and many slow files."""

import os
import subprocess
import time

from bench_postgres import (PG_SINK_METRIC, copy_ceiling, count_rows, pg_settings_note, postgres,
                            postgres_sink_yaml)
from bench_processes import (agent_config, free_port, metric, start_agent, start_collector, tail,
                             wait_metric, workspace)


def run_baselines(path, size):
    out = {}
    for name, cmd in (("cat", f"cat {path} > /dev/null"), ("wc -l", f"wc -l {path} > /dev/null"),
                      ("zstd -1", f"zstd -1 -T1 -q -c {path} > /dev/null")):
        t0 = time.monotonic()
        r0 = os.times()
        subprocess.run(cmd, shell=True, check=True)
        r1 = os.times()
        wall = time.monotonic() - t0
        cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
        out[name] = {"MiB/s": size / wall, "CPU s/GiB": cpu / (size / 1024)}
    return out


def run_file_to_spool(build, path, size, lines, fsync):
    with workspace() as (work, procs):
        http_port = free_port()
        cfg = agent_config(work, path, free_port(), http_port, fsync=fsync)  # nobody listens on that port
        t0 = time.monotonic()
        agent = start_agent(build, work, procs, cfg)
        wait_metric(http_port, "logship_agent_records_spooled_total", lines, 3600, agent)
        wall = time.monotonic() - t0
        return {"MiB/s": size / wall, "lines/s": lines / wall, "CPU s/GiB": agent.cpu_seconds() / (size / 1024),
                "agent RSS MiB": agent.peak_rss_mib()}


def run_file_to_blackhole(build, path, size, lines):
    with workspace() as (work, procs):
        collector, port, chttp = start_collector(build, work, procs, "{blackhole: {}}")
        ahttp = free_port()
        t0 = time.monotonic()
        agent = start_agent(build, work, procs, agent_config(work, path, port, ahttp))
        wait_metric(chttp, 'logship_collector_sink_records_total{sink="blackhole"}', lines, 3600, collector)
        wall = time.monotonic() - t0
        wire = metric(ahttp, "logship_agent_bytes_sent_total") or 0
        return {"MiB/s": size / wall, "lines/s": lines / wall,
                "CPU s/GiB": agent.cpu_seconds() / (size / 1024), "agent RSS MiB": agent.peak_rss_mib(),
                "collector CPU s/GiB": collector.cpu_seconds() / (size / 1024),
                "collector RSS MiB": collector.peak_rss_mib(), "wire/raw": wire / (size * 1024 * 1024)}


def run_pg_ingest(build, path, size, lines, notes):
    with postgres() as pg, workspace() as (work, procs):
        notes.append(pg_settings_note(pg))
        collector, port, chttp = start_collector(build, work, procs, postgres_sink_yaml(pg))
        ahttp = free_port()
        t0 = time.monotonic()
        agent = start_agent(build, work, procs, agent_config(work, path, port, ahttp))
        # Every 0.2 s: the sink metric (cheap); count(*) once the metric says everything is
        # committed, and every 2 s regardless (a full count(*) of millions of rows five times a
        # second would take CPU from the processes being measured on a small machine).
        deadline, last_count, rows = t0 + 3600, 0.0, 0
        while True:
            tick = time.monotonic()
            committed = metric(chttp, PG_SINK_METRIC)
            if committed is None or committed >= lines or tick - last_count >= 2:
                rows, last_count = count_rows(pg), tick
                if rows >= lines:
                    break
            collector.check_alive()
            agent.check_alive()
            if tick > deadline:
                raise RuntimeError(f"timed out: {rows} of {lines} rows; collector log:\n{tail(collector.log)}")
            time.sleep(max(0.0, 0.2 - (time.monotonic() - tick)))
        wall = time.monotonic() - t0
        committed = metric(chttp, PG_SINK_METRIC)
        res = {"MiB/s": size / wall, "rows/s": lines / wall,
               "CPU s/GiB": agent.cpu_seconds() / (size / 1024), "agent RSS MiB": agent.peak_rss_mib(),
               "collector CPU s/GiB": collector.cpu_seconds() / (size / 1024),
               "collector RSS MiB": collector.peak_rss_mib()}
        agent.stop()
        collector.stop()
        if rows != lines or committed != lines:
            notes.append(f"pg_ingest: WARNING {rows} rows / sink metric {committed} for {lines} lines")

        ceiling, note = copy_ceiling(pg, work, rows)
        notes.append("pg_ingest: " + note + " Collector rows/s = line count / (agent start → SELECT count(*) "
                     "FROM logs = line count).")
        res["ceiling rows/s"] = ceiling
        res["ratio"] = res["rows/s"] / res["ceiling rows/s"]
        return res


def run_many_files(build, files, seconds, interval, notes):
    with workspace() as (work, procs):
        logs = work / "logs"
        logs.mkdir()
        paths = [logs / f"app-{i:04d}.log" for i in range(files)]
        for i, p in enumerate(paths):
            p.write_text(f"file {i:04d} line 0 started level=info msg=\"service up\"\n")
        collector, port, chttp = start_collector(build, work, procs, "{blackhole: {}}")
        ahttp = free_port()
        agent = start_agent(build, work, procs, agent_config(work, logs / "*.log", port, ahttp))
        wait_metric(chttp, 'logship_collector_sink_records_total{sink="blackhole"}', files, 120, agent)
        time.sleep(2)  # let start-up work (globbing, opening, first batches) settle
        cpu0, t0 = agent.cpu_seconds(), time.monotonic()
        step = interval / files  # one line to the next file every step: each file gets one line per interval
        written = 0
        while True:
            now = time.monotonic()
            if now - t0 >= seconds:
                break
            while written < int((now - t0) / step):
                with open(paths[written % files], "a") as f:
                    f.write(f"file {written % files:04d} line {written // files + 1} level=info "
                            f"msg=\"heartbeat\" seq={written}\n")
                written += 1
            agent.check_alive()
            time.sleep(0.005)
        wall = time.monotonic() - t0
        cpu = agent.cpu_seconds() - cpu0
        res = {"lines/s": written / wall, "agent CPU %": 100 * cpu / wall, "agent RSS MiB": agent.peak_rss_mib()}
        wait_metric(chttp, 'logship_collector_sink_records_total{sink="blackhole"}', files + written, 30, agent)
        notes.append(f"many_files_cpu: {files} files, one line per file every {interval:g} s "
                     f"({files / interval:g} lines/s), {seconds:g} s measured after start-up; agent CPU = "
                     f"(utime+stime) / wall, RSS = peak (VmHWM, now {agent.rss_mib():.1f} MiB); agent defaults "
                     f"(poll_interval 1s); collector with the blackhole sink; all lines delivered.")
        return res
