// ProcessMetrics: bootstraps swift-metrics with the Prometheus backend, for the daemons (libraries only use the swift-metrics API).
public import Prometheus
import Metrics

/// Metrics set-up for executables.
public enum ProcessMetrics {
    /// Histogram buckets for durations: from a 10 ms RPC step to a 30-minute round.
    static let durationBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
        .seconds(300), .seconds(600), .seconds(1800),
    ]

    /// Makes every swift-metrics counter, gauge and timer of this process land in the returned registry. Call once.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        MetricsSystem.bootstrap(factory)
        return registry
    }
}
