// otel.js - the OpenTelemetry JS SDK as its documentation sets it up for an
// HTTP server: loaded with `node --require`, HTTP auto-instrumentation,
// batch span processor (defaults), always-on sampling, OTLP/HTTP protobuf
// exporters for traces and metrics. Endpoint, service name and metric
// interval come from the standard OTEL_* variables.
'use strict';
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-proto');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { metrics } = require('@opentelemetry/api');

const tracerProvider = new NodeTracerProvider({
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
});
tracerProvider.register();

const meterProvider = new MeterProvider({
  readers: [new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter(),
    exportIntervalMillis: parseInt(process.env.OTEL_METRIC_EXPORT_INTERVAL || '60000', 10),
  })],
});
metrics.setGlobalMeterProvider(meterProvider);

registerInstrumentations({
  instrumentations: [new HttpInstrumentation()],
  tracerProvider,
  meterProvider,
});

// Flush before the server's own SIGTERM handler exits the process.
process.prependListener('SIGTERM', () => {
  Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]).catch(() => {});
});
