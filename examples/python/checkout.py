#!/usr/bin/env python3
"""A tiny "checkout" service that sends structured log events to logship over OTLP/gRPC.

Each event is emitted inside a trace span, so it carries the span's trace id and span id,
plus attributes and a severity. It continues the caller's trace when TRACEPARENT (a W3C
traceparent) is set, and prints its own span's traceparent on stdout, so the next service
(examples/go) can join the same trace.

    LOGSHIP_TOKEN=... python checkout.py --endpoint 127.0.0.1:4740 --orders 3

Exits 1 if the collector refused an export (a wrong token, say).
"""

import argparse
import os
import sys

from opentelemetry import propagate, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider


class CheckedExporter(OTLPLogExporter):
    """The OTLP exporter, remembering whether any export failed (the SDK only logs it)."""

    failed = False

    def export(self, batch):
        result = super().export(batch)
        if result != LogRecordExportResult.SUCCESS:
            CheckedExporter.failed = True
        return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="127.0.0.1:4740", help="the collector's gRPC port")
    parser.add_argument("--orders", type=int, default=3, help="orders to process")
    args = parser.parse_args()
    token = os.environ.get("LOGSHIP_TOKEN", "")

    resource = Resource.create({"service.name": "checkout-py", "deployment.environment": "demo"})
    exporter = CheckedExporter(endpoint=args.endpoint, insecure=True,  # TLS: credentials=grpc.ssl_channel_credentials()
                               headers={"authorization": f"Bearer {token}"} if token else None)
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(BatchLogRecordProcessor(exporter))
    log = logs.get_logger("checkout")
    tracer = TracerProvider(resource=resource).get_tracer("checkout")

    parent = propagate.extract({"traceparent": os.environ["TRACEPARENT"]}) if "TRACEPARENT" in os.environ else None
    with tracer.start_as_current_span("checkout", context=parent) as span:
        carrier = {}
        propagate.inject(carrier)  # what an HTTP call to the next service would carry
        print(carrier["traceparent"], flush=True)
        log.emit(body="cart received", severity_number=SeverityNumber.INFO, severity_text="INFO",
                 attributes={"event": "cart.received", "cart.items": args.orders, "user.tier": "gold"})
        for i in range(1, args.orders + 1):
            log.emit(body=f"order {i} priced", severity_number=SeverityNumber.INFO, severity_text="INFO",
                     attributes={"event": "order.priced", "order.seq": i, "order.total": 19.5 * i})
        log.emit(body="stock low for sku A-17", severity_number=SeverityNumber.WARN, severity_text="WARN",
                 attributes={"event": "stock.low", "sku": "A-17", "stock.remaining": 2})
        log.emit(body="handing over to payments", severity_number=SeverityNumber.INFO, severity_text="INFO",
                 attributes={"event": "payment.requested", "span.kind": "client"})
        span.set_attribute("orders", args.orders)

    logs.shutdown()  # flushes the batch
    if CheckedExporter.failed:
        print("checkout: the collector refused an export (see the log above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
