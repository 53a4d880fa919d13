// A tiny "payments" service that sends structured log events to logship over OTLP/gRPC.
//
// Each event is emitted inside a trace span, so it carries the span's trace id and span id,
// plus attributes and a severity. It continues the caller's trace when TRACEPARENT (a W3C
// traceparent, e.g. printed by examples/python) is set.
//
//	LOGSHIP_TOKEN=... ./payments -endpoint 127.0.0.1:4740 -charges 3
//
// Exits 1 if the collector refused an export (a wrong token, say).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:4740", "the collector's gRPC port")
	charges := flag.Int("charges", 3, "charges to make")
	flag.Parse()
	if err := run(*endpoint, os.Getenv("LOGSHIP_TOKEN"), *charges); err != nil {
		fmt.Fprintln(os.Stderr, "payments:", err)
		os.Exit(1)
	}
}

func run(endpoint, token string, charges int) error {
	ctx := context.Background()
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName("payments-go"), semconv.DeploymentEnvironmentName("demo"))
	opts := []otlploggrpc.Option{otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure()}
	if token != "" {
		opts = append(opts, otlploggrpc.WithHeaders(map[string]string{"authorization": "Bearer " + token}))
	}
	exporter, err := otlploggrpc.New(ctx, opts...)
	if err != nil {
		return err
	}
	// The SDK reports a failed export (a refused token, say) to the global error handler.
	var mu sync.Mutex // the handler runs on the SDK's goroutines
	var failed error
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		fmt.Fprintln(os.Stderr, "payments: export:", err)
		mu.Lock()
		failed = err
		mu.Unlock()
	}))
	logs := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(exporter)))
	logger := logs.Logger("payments")
	tracer := sdktrace.NewTracerProvider(sdktrace.WithResource(res)).Tracer("payments")

	// Join the caller's trace, if any (an HTTP server would extract from its request headers).
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": os.Getenv("TRACEPARENT")})
	ctx, span := tracer.Start(ctx, "charge")
	emit := func(sev log.Severity, body string, attrs ...attribute.KeyValue) {
		var r log.Record
		r.SetTimestamp(time.Now())
		r.SetSeverity(sev)
		r.SetSeverityText(sev.String())
		r.SetBody(attribute.StringValue(body))
		r.AddAttributes(attrs...)
		logger.Emit(ctx, r) // the span in ctx gives the record its trace id and span id
	}
	emit(log.SeverityInfo, "payment requested", attribute.String("event", "payment.requested"), attribute.Int("charges", charges))
	for i := 1; i <= charges; i++ {
		emit(log.SeverityInfo, fmt.Sprintf("charge %d authorized", i),
			attribute.String("event", "charge.authorized"), attribute.Int("charge.seq", i), attribute.Float64("amount", 19.5*float64(i)))
	}
	emit(log.SeverityError, "card declined, retrying with backup card",
		attribute.String("event", "card.declined"), attribute.String("card.brand", "visa"), attribute.Bool("retry", true))
	span.End()

	if err := logs.Shutdown(ctx); err != nil { // flushes the batch
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return failed
}
