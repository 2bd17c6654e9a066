#pragma once
// Metrics shared by every layer: lock-free counters and gauges (base/counter.hpp), the
// latency histogram (base/histogram.hpp), and a snapshot that renders to JSON and to the
// Prometheus text exposition format (version 0.0.4). Components own their counters and histograms and record into
// them lock-free; a MetricsRegistry (or a component's own snapshot function) collects them
// into a MetricsSnapshot on demand.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <omega/base/counter.hpp>
#include <omega/base/histogram.hpp>
#include <omega/base/result.hpp>

namespace omega {

enum class MetricType : std::uint8_t { Counter, Gauge, Histogram };

struct MetricLabel {
  std::string name;
  std::string value;
  friend bool operator==(const MetricLabel&, const MetricLabel&) = default;
};
using MetricLabels = std::vector<MetricLabel>;

enum class MetricsError : std::uint8_t {
  InvalidMetricName,  // not [a-zA-Z_:][a-zA-Z0-9_:]*
  InvalidLabelName,   // not [a-zA-Z_][a-zA-Z0-9_]*, starts with "__", or is reserved ("quantile")
  DuplicateLabel,     // the same label name twice in one series
  TypeMismatch,       // a family already exists under this name with another type or help
  DuplicateSeries,    // a series with the same name and labels already exists
};
[[nodiscard]] std::string_view to_string(MetricsError error) noexcept;

// A point-in-time copy of metric values, grouped into families (one name, one type, one help
// text, many label sets), in insertion order.
class MetricsSnapshot {
 public:
  struct Series {
    MetricLabels labels;
    std::variant<std::uint64_t, std::int64_t, double, HistogramSnapshot> value;
  };
  struct Family {
    std::string name;
    std::string help;
    MetricType type;
    std::vector<Series> series;
  };

  Result<void, MetricsError> add_counter(std::string_view name, std::string_view help, MetricLabels labels,
                                         std::uint64_t value);
  Result<void, MetricsError> add_gauge(std::string_view name, std::string_view help, MetricLabels labels,
                                       double value);
  Result<void, MetricsError> add_histogram(std::string_view name, std::string_view help, MetricLabels labels,
                                           HistogramSnapshot value);

  [[nodiscard]] const std::vector<Family>& families() const noexcept { return families_; }
  [[nodiscard]] const Family* find(std::string_view name) const noexcept;

  // {"metrics":[{"name","help","type","series":[{"labels":{..},"value":n}
  //   | {"labels":{..},"count","sum","min","max","mean","p50","p90","p99","p999"}]}]}
  [[nodiscard]] std::string to_json() const;
  // Counters and gauges as such; histograms as summaries with quantile 0.5/0.9/0.99/0.999/1
  // (1 is the exact max) plus _sum and _count.
  [[nodiscard]] std::string to_prometheus() const;

 private:
  Result<void, MetricsError> add(std::string_view name, std::string_view help, MetricType type, Series series);
  std::vector<Family> families_;
};

// Owns named metrics for components that have no structure of their own to hold them.
// Registration takes a lock; recording into the returned objects is lock-free. Returned
// references stay valid for the registry's lifetime.
class MetricsRegistry {
 public:
  Result<std::reference_wrapper<Counter>, MetricsError> counter(std::string_view name, std::string_view help,
                                                                MetricLabels labels = {});
  Result<std::reference_wrapper<Gauge>, MetricsError> gauge(std::string_view name, std::string_view help,
                                                            MetricLabels labels = {});
  Result<std::reference_wrapper<Histogram>, MetricsError> histogram(std::string_view name, std::string_view help,
                                                                    MetricLabels labels = {});
  [[nodiscard]] MetricsSnapshot snapshot() const;

 private:
  struct Entry {
    std::string name;
    std::string help;
    MetricLabels labels;
    std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>> metric;
  };
  template <class T, MetricType kType>
  Result<std::reference_wrapper<T>, MetricsError> get_or_create(std::string_view name, std::string_view help,
                                                                MetricLabels labels);
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;
};

}  // namespace omega
