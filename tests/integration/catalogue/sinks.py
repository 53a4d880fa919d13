"""Catalogue: the sinks (Elasticsearch, PostgreSQL) answering badly."""

import sys
import time

import common
import harness
from catalogue.registry import REPO, case


@case("malformed Elasticsearch response", "`_bulk` answers cut off mid-JSON (3 of them), after the cluster applied the documents",
      "counted in `logship_collector_es_malformed_responses_total` and logged; the items are sent again and the re-sent ones meet 409, so every document is stored exactly once")
def es_malformed(env):
    sys.path.insert(0, str(REPO / "tests" / "fakes"))
    import fake_elasticsearch
    server, cluster = fake_elasticsearch.serve()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    cluster.faults.update({"malformed_responses": 3})
    port, http = harness.free_port(), harness.free_port()
    cfg = env.work / "collector-es.yaml"
    cfg.write_text(f"listen: 127.0.0.1:{port}\nhttp: {{listen: 127.0.0.1:{http}}}\nsinks:\n"
                   f"  elasticsearch:\n    urls: [\"{url}\"]\n    dead_letter_dir: {env.work / 'es-dead'}\n"
                   "    retry_min: 20ms\n    retry_max: 100ms\n")
    collector = common.start_collector(env.collector_bin, cfg, env.work, name="collector-es")
    common.wait_healthy(env.collector_bin, port)
    d = env.work / "es-malformed"
    d.mkdir()
    (d / "app.log").write_text("".join(f"seq={i:08d} line\n" for i in range(1, 3001)))
    agent = env.start_agent("es-malformed", env.files_source(d), port=port)
    try:
        def messages():
            with cluster.lock:
                return [doc["message"] for i in cluster.indices.values() for doc in i["docs"].values()]
        harness.wait_until(lambda: len(messages()) >= 3000, 60, what="3000 documents")
        time.sleep(1.0)
        docs = messages()
        assert len(docs) == len(set(docs)) == 3000, len(docs)
        assert cluster.faults.get("malformed_responses") == 0
        assert (common.scrape_metric(http, 'logship_collector_es_malformed_responses_total{sink="elasticsearch"}')
                or 0) >= 3
        assert cluster.stats["conflicts"] > 0, "re-sent items should have met 409"
        assert "malformed _bulk response" in (env.work / "collector-es.log").read_text()
    finally:
        agent.terminate()
        collector.terminate()
        server.shutdown()
    return None, f"3 cut-off answers counted and logged; 3000 documents, each once ({cluster.stats['conflicts']} met 409)"


@case("PostgreSQL refusing a row", "a CHECK constraint that refuses some rows (SQLSTATE 23514)",
      "the refused rows go to `logs_dead_letter` (with SQLSTATE and the row text), counted in `logship_collector_sink_dead_lettered_total`; the rest of the batch and the stream go on")
def pg_refuses(env):
    d = env.work / "refused"
    d.mkdir()
    env.pg.query("ALTER TABLE logs ADD CONSTRAINT catalogue_poison CHECK (body NOT LIKE '%CATALOGUE-POISON%')")
    before = common.scrape_metric(env.http, 'logship_collector_sink_dead_lettered_total{sink="postgres"}') or 0
    try:
        (d / "app.log").write_text("".join(f"seq={i:08d} {'CATALOGUE-POISON ' if i % 10 == 0 else ''}line\n"
                                           for i in range(1, 101)))
        agent = env.start_agent("refused", env.files_source(d))
        env.wait_rows("refused", 90)
        harness.wait_until(lambda: env.pg.scalar(
            "SELECT count(*) FROM logs_dead_letter WHERE agent_id = 'refused'") == "10", 20, what="10 dead letters")
        row = env.pg.query("SELECT min(sqlstate), bool_and(row_text LIKE '%CATALOGUE-POISON%') FROM logs_dead_letter "
                           "WHERE agent_id = 'refused'")[0]
        assert row == ("23514", "t"), row
        after = common.scrape_metric(env.http, 'logship_collector_sink_dead_lettered_total{sink="postgres"}')
        assert after == before + 10, (before, after)
    finally:
        env.pg.query("ALTER TABLE logs DROP CONSTRAINT catalogue_poison")
    return agent, "90 rows stored, 10 in logs_dead_letter (23514), counted"
