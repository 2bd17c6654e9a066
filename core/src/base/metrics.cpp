#include <omega/base/metrics.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace omega {
namespace {

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) noexcept {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

// Labels are kept sorted by name: two label sets are the same series whatever their order.
Result<void, MetricsError> normalise_labels(MetricLabels& labels, MetricType type) {
  for (const auto& l : labels) {
    if (!valid_label_name(l.name)) return Err(MetricsError::InvalidLabelName);
    // Histograms render as Prometheus summaries, which own the "quantile" label.
    if (type == MetricType::Histogram && l.name == "quantile") return Err(MetricsError::InvalidLabelName);
  }
  std::sort(labels.begin(), labels.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  if (std::adjacent_find(labels.begin(), labels.end(), [](const auto& a, const auto& b) {
        return a.name == b.name;
      }) != labels.end()) {
    return Err(MetricsError::DuplicateLabel);
  }
  return {};
}

std::string_view type_name(MetricType type) noexcept {
  switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

// Prometheus text format numbers: Go float syntax, shortest form that reads back exactly.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    std::array<char, 32> buf{};
    for (int precision : {15, 17}) {
      std::snprintf(buf.data(), buf.size(), "%.*g", precision, v);
      if (std::strtod(buf.data(), nullptr) == v) break;
    }
    out += buf.data();
  }
}

// Length of the valid UTF-8 sequence at s[i], or 0 if the bytes there are not one
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

// Escapes for the text format; bytes that are not UTF-8 become U+FFFD, because the format
// is UTF-8 and a scraper may refuse the whole exposition over one bad byte.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (len > 1) {
      out.append(s.substr(i, len));
      i += len;
      continue;
    }
    const char c = s[i++];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_series(std::string& out, std::string_view name, const MetricLabels& labels,
                   const MetricLabel* extra = nullptr) {
  out += name;
  if (labels.empty() && !extra) return;
  out += '{';
  bool first = true;
  auto one = [&](const MetricLabel& l) {
    if (!first) out += ',';
    first = false;
    out += l.name;
    out += "=\"";
    append_escaped(out, l.value, true);
    out += '"';
  };
  for (const auto& l : labels) one(l);
  if (extra) one(*extra);
  out += '}';
}

}  // namespace

std::string_view to_string(MetricsError error) noexcept {
  switch (error) {
    case MetricsError::InvalidMetricName: return "InvalidMetricName";
    case MetricsError::InvalidLabelName: return "InvalidLabelName";
    case MetricsError::DuplicateLabel: return "DuplicateLabel";
    case MetricsError::TypeMismatch: return "TypeMismatch";
    case MetricsError::DuplicateSeries: return "DuplicateSeries";
  }
  return "MetricsError(?)";
}

Result<void, MetricsError> MetricsSnapshot::add(std::string_view name, std::string_view help, MetricType type,
                                                Series series) {
  if (!valid_metric_name(name)) return Err(MetricsError::InvalidMetricName);
  if (auto ok = normalise_labels(series.labels, type); !ok) return ok;
  auto family = std::find_if(families_.begin(), families_.end(), [&](const Family& f) { return f.name == name; });
  if (family == families_.end()) {
    families_.push_back(Family{std::string(name), std::string(help), type, {}});
    family = families_.end() - 1;
  } else if (family->type != type || family->help != help) {
    return Err(MetricsError::TypeMismatch);
  }
  for (const auto& s : family->series) {
    if (s.labels == series.labels) return Err(MetricsError::DuplicateSeries);
  }
  family->series.push_back(std::move(series));
  return {};
}

Result<void, MetricsError> MetricsSnapshot::add_counter(std::string_view name, std::string_view help,
                                                        MetricLabels labels, std::uint64_t value) {
  return add(name, help, MetricType::Counter, Series{std::move(labels), value});
}
Result<void, MetricsError> MetricsSnapshot::add_gauge(std::string_view name, std::string_view help,
                                                      MetricLabels labels, double value) {
  return add(name, help, MetricType::Gauge, Series{std::move(labels), value});
}
Result<void, MetricsError> MetricsSnapshot::add_histogram(std::string_view name, std::string_view help,
                                                          MetricLabels labels, HistogramSnapshot value) {
  return add(name, help, MetricType::Histogram, Series{std::move(labels), std::move(value)});
}

const MetricsSnapshot::Family* MetricsSnapshot::find(std::string_view name) const noexcept {
  auto it = std::find_if(families_.begin(), families_.end(), [&](const Family& f) { return f.name == name; });
  return it == families_.end() ? nullptr : &*it;
}

std::string MetricsSnapshot::to_json() const {
  using nlohmann::json;
  json families = json::array();
  for (const auto& f : families_) {
    json series = json::array();
    for (const auto& s : f.series) {
      json labels = json::object();
      for (const auto& l : s.labels) labels[l.name] = l.value;
      json entry{{"labels", std::move(labels)}};
      std::visit(
          [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, HistogramSnapshot>) {
              const Percentiles p = v.percentiles();
              entry["count"] = p.count;
              entry["sum"] = v.sum();
              entry["min"] = p.min;
              entry["max"] = p.max;
              entry["mean"] = p.mean;
              entry["p50"] = p.p50;
              entry["p90"] = p.p90;
              entry["p99"] = p.p99;
              entry["p999"] = p.p999;
            } else if constexpr (std::is_same_v<V, double>) {
              // JSON has no NaN or infinities; null says "no meaningful value".
              entry["value"] = std::isfinite(v) ? json(v) : json(nullptr);
            } else {
              entry["value"] = v;
            }
          },
          s.value);
      series.push_back(std::move(entry));
    }
    families.push_back(
        json{{"name", f.name}, {"help", f.help}, {"type", type_name(f.type)}, {"series", std::move(series)}});
  }
  // Help texts and label values come from users: invalid UTF-8 is replaced, never thrown.
  return json{{"metrics", std::move(families)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string MetricsSnapshot::to_prometheus() const {
  static constexpr std::array<std::pair<const char*, double>, 5> kQuantiles{
      {{"0.5", 0.5}, {"0.9", 0.9}, {"0.99", 0.99}, {"0.999", 0.999}, {"1", 1.0}}};
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_escaped(out, f.help, false);
    out += "\n# TYPE ";
    out += f.name;
    out += f.type == MetricType::Histogram ? " summary\n" : (f.type == MetricType::Counter ? " counter\n" : " gauge\n");
    for (const auto& s : f.series) {
      if (const auto* h = std::get_if<HistogramSnapshot>(&s.value)) {
        std::array<double, kQuantiles.size()> qs{};
        std::array<std::uint64_t, kQuantiles.size()> vs{};
        for (std::size_t i = 0; i < qs.size(); ++i) qs[i] = kQuantiles[i].second;
        h->values_at_quantiles(qs, vs);
        for (std::size_t i = 0; i < qs.size(); ++i) {
          const MetricLabel q{"quantile", kQuantiles[i].first};
          append_series(out, f.name, s.labels, &q);
          out += ' ';
          if (h->count() == 0) {
            out += "NaN";
          } else {
            out += std::to_string(vs[i]);
          }
          out += '\n';
        }
        append_series(out, f.name + "_sum", s.labels);
        out += ' ';
        out += std::to_string(h->sum());
        out += '\n';
        append_series(out, f.name + "_count", s.labels);
        out += ' ';
        out += std::to_string(h->count());
        out += '\n';
        continue;
      }
      append_series(out, f.name, s.labels);
      out += ' ';
      std::visit(
          [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, double>) {
              append_number(out, v);
            } else if constexpr (!std::is_same_v<V, HistogramSnapshot>) {
              out += std::to_string(v);
            }
          },
          s.value);
      out += '\n';
    }
  }
  return out;
}

static_assert(static_cast<std::size_t>(MetricType::Counter) == 0 && static_cast<std::size_t>(MetricType::Gauge) == 1 &&
                  static_cast<std::size_t>(MetricType::Histogram) == 2,
              "MetricsRegistry::Entry::metric alternatives follow MetricType");

template <class T, MetricType kType>
Result<std::reference_wrapper<T>, MetricsError> MetricsRegistry::get_or_create(std::string_view name,
                                                                               std::string_view help,
                                                                               MetricLabels labels) {
  if (!valid_metric_name(name)) return Err(MetricsError::InvalidMetricName);
  if (auto ok = normalise_labels(labels, kType); !ok) return Err(ok.error());
  std::lock_guard lock(mutex_);
  for (auto& e : entries_) {
    if (e.name != name) continue;
    if (static_cast<MetricType>(e.metric.index()) != kType || e.help != help) return Err(MetricsError::TypeMismatch);
    if (e.labels == labels) return std::ref(*std::get<std::unique_ptr<T>>(e.metric));
  }
  auto metric = std::make_unique<T>();
  T& ref = *metric;
  entries_.push_back({std::string(name), std::string(help), std::move(labels), std::move(metric)});
  return std::ref(ref);
}

Result<std::reference_wrapper<Counter>, MetricsError> MetricsRegistry::counter(std::string_view name,
                                                                               std::string_view help,
                                                                               MetricLabels labels) {
  return get_or_create<Counter, MetricType::Counter>(name, help, std::move(labels));
}

Result<std::reference_wrapper<Gauge>, MetricsError> MetricsRegistry::gauge(std::string_view name,
                                                                           std::string_view help,
                                                                           MetricLabels labels) {
  return get_or_create<Gauge, MetricType::Gauge>(name, help, std::move(labels));
}

Result<std::reference_wrapper<Histogram>, MetricsError> MetricsRegistry::histogram(std::string_view name,
                                                                                   std::string_view help,
                                                                                   MetricLabels labels) {
  return get_or_create<Histogram, MetricType::Histogram>(name, help, std::move(labels));
}

MetricsSnapshot MetricsRegistry::snapshot() const {
  MetricsSnapshot snap;
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) {
    // Every entry was validated when registered, so adding it cannot fail.
    std::visit(
        [&](const auto& m) {
          using M = std::decay_t<decltype(*m)>;
          if constexpr (std::is_same_v<M, Counter>) {
            (void)snap.add_counter(e.name, e.help, e.labels, m->value());
          } else if constexpr (std::is_same_v<M, Gauge>) {
            (void)snap.add_gauge(e.name, e.help, e.labels, static_cast<double>(m->value()));
          } else {
            (void)snap.add_histogram(e.name, e.help, e.labels, m->snapshot());
          }
        },
        e.metric);
  }
  return snap;
}

}  // namespace omega
