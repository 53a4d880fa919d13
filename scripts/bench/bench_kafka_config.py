"""The collector configs bench_kafka.py runs: the edge (sinks.kafka) and the indexer
(inputs.kafka). bench_kafka.py's --edge-extra and --edge-properties set the two globals."""

# YAML appended to the edge collector's config (--edge-extra), e.g. "limits: {…}".
EDGE_EXTRA = ""
EDGE_PROPERTIES = "{}"  # the kafka sink's librdkafka properties (--edge-properties)
EDGE_SINK_OPTIONS = ""  # more keys of the kafka sink (--edge-sink-options), e.g. "message_version: 1"


def edge_body(broker, topic):
    return EDGE_EXTRA + ("sinks:\n  kafka: {brokers: [\"" + broker.bootstrap + "\"], topic: " + topic +
            ", required: true, delivery_timeout: 30s, max_message_bytes: 1MiB, properties: " + EDGE_PROPERTIES +
            (", " + EDGE_SINK_OPTIONS if EDGE_SINK_OPTIONS else "") + "}\n")


def indexer_body(broker, topic, group, sink="{blackhole: {}}"):
    return ("inputs:\n  kafka: {brokers: [\"" + broker.bootstrap + "\"], topic: " + topic + ", group: " + group +
            ", properties: {}}\n" + f"sinks: {sink}\n")


def add_edge_options(ap):
    ap.add_argument("--edge-extra", default="", help="YAML lines appended to the edge collector's config")
    ap.add_argument("--edge-properties", default="{}", help="librdkafka properties of the edge's kafka sink (YAML)")
    ap.add_argument("--edge-sink-options", default="", help="more keys of the edge's kafka sink (YAML flow)")


def apply_edge_options(a):
    global EDGE_EXTRA, EDGE_PROPERTIES, EDGE_SINK_OPTIONS
    EDGE_PROPERTIES, EDGE_SINK_OPTIONS = a.edge_properties, a.edge_sink_options
    EDGE_EXTRA = a.edge_extra.rstrip("\n") + "\n" if a.edge_extra else ""
