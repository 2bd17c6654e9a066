#include <omega/base/config.hpp>
#include <omega/base/metrics.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <regex>
#include <sstream>

#include "../support/threads.hpp"

using omega::MetricLabels;
using omega::MetricsError;
using omega::MetricsRegistry;
using omega::MetricsSnapshot;
using nlohmann::json;

namespace {

omega::HistogramSnapshot sample_histogram() {
  omega::Histogram h;
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);
  return h.snapshot();
}

// Every line of the exposition is a comment (# HELP / # TYPE) or `name{labels} value`.
void check_prometheus_syntax(const std::string& text) {
  static const std::regex sample(
      R"re(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*",?)*\})? (NaN|[+-]Inf|-?[0-9][0-9.e+-]*)$)re");
  static const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  std::istringstream in(text);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    INFO("line: " << line);
    CHECK((std::regex_match(line, sample) || std::regex_match(line, comment)));
  }
  CHECK(lines > 0);
  CHECK(text.back() == '\n');
}

}  // namespace

TEST_CASE("counters and gauges", "[metrics]") {
  omega::Counter c;
  c.add();
  c.add(41);
  CHECK(c.value() == 42);
  omega::Gauge g;
  g.set(10);
  g.add(-3);
  CHECK(g.value() == 7);
  CHECK(alignof(omega::Counter) == omega::kCacheLine);
}

TEST_CASE("concurrent counter adds are exact", "[metrics][concurrency]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded build");
  } else {
    omega::Counter c;
    omega::test::run_threads(4, [&](int) {
      for (int i = 0; i < 100'000; ++i) c.add();
    });
    CHECK(c.value() == 400'000);
  }
}

TEST_CASE("snapshot renders Prometheus text exactly", "[metrics][prometheus]") {
  MetricsSnapshot s;
  REQUIRE(s.add_counter("omega_tasks_total", "Tasks completed", {{"node", "1"}}, 12));
  REQUIRE(s.add_counter("omega_tasks_total", "Tasks completed", {{"node", "0"}}, 3));
  REQUIRE(s.add_gauge("omega_pressure", "Queue pressure, percent", {}, 37.5));
  omega::Histogram empty;
  REQUIRE(s.add_histogram("omega_wait_ns", "Queue wait", {{"node", "0"}}, empty.snapshot()));
  const std::string expected =
      "# HELP omega_tasks_total Tasks completed\n"
      "# TYPE omega_tasks_total counter\n"
      "omega_tasks_total{node=\"1\"} 12\n"
      "omega_tasks_total{node=\"0\"} 3\n"
      "# HELP omega_pressure Queue pressure, percent\n"
      "# TYPE omega_pressure gauge\n"
      "omega_pressure 37.5\n"
      "# HELP omega_wait_ns Queue wait\n"
      "# TYPE omega_wait_ns summary\n"
      "omega_wait_ns{node=\"0\",quantile=\"0.5\"} NaN\n"
      "omega_wait_ns{node=\"0\",quantile=\"0.9\"} NaN\n"
      "omega_wait_ns{node=\"0\",quantile=\"0.99\"} NaN\n"
      "omega_wait_ns{node=\"0\",quantile=\"0.999\"} NaN\n"
      "omega_wait_ns{node=\"0\",quantile=\"1\"} NaN\n"
      "omega_wait_ns_sum{node=\"0\"} 0\n"
      "omega_wait_ns_count{node=\"0\"} 0\n";
  CHECK(s.to_prometheus() == expected);
  check_prometheus_syntax(s.to_prometheus());
}

TEST_CASE("Prometheus summaries carry the histogram's percentiles", "[metrics][prometheus]") {
  MetricsSnapshot s;
  const auto h = sample_histogram();
  REQUIRE(s.add_histogram("lat_ns", "Latency", {}, h));
  const std::string text = s.to_prometheus();
  check_prometheus_syntax(text);
  CHECK_THAT(text, Catch::Contains("lat_ns{quantile=\"0.5\"} " + std::to_string(h.value_at_quantile(0.5)) + "\n"));
  CHECK_THAT(text, Catch::Contains("lat_ns{quantile=\"1\"} 1000000\n"));
  CHECK_THAT(text, Catch::Contains("lat_ns_sum 500500000\n"));
  CHECK_THAT(text, Catch::Contains("lat_ns_count 1000\n"));
}

TEST_CASE("Prometheus escapes help and label values", "[metrics][prometheus]") {
  MetricsSnapshot s;
  REQUIRE(s.add_gauge("g", "line one\nback\\slash \"quoted\"", {{"path", "a\"b\\c\nd"}}, -2.25));
  REQUIRE(s.add_gauge("inf", "", {}, std::numeric_limits<double>::infinity()));
  REQUIRE(s.add_gauge("nan", "", {}, std::nan("")));
  REQUIRE(s.add_gauge("tiny", "", {}, 1e-300));
  const std::string text = s.to_prometheus();
  check_prometheus_syntax(text);
  CHECK_THAT(text, Catch::Contains("# HELP g line one\\nback\\\\slash \"quoted\"\n"));
  CHECK_THAT(text, Catch::Contains("g{path=\"a\\\"b\\\\c\\nd\"} -2.25\n"));
  CHECK_THAT(text, Catch::Contains("inf +Inf\n"));
  CHECK_THAT(text, Catch::Contains("nan NaN\n"));
  CHECK_THAT(text, Catch::Contains("tiny 1e-300\n"));
}

TEST_CASE("Prometheus output is always UTF-8", "[metrics][prometheus]") {
  MetricsSnapshot s;
  // A truncated sequence, a stray continuation byte, an overlong '/', a surrogate; and valid
  // 2-, 3- and 4-byte sequences that must pass through untouched.
  REQUIRE(s.add_gauge("g", "help \xc3", {{"v", "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d"}}, 1));
  REQUIRE(s.add_gauge("ok", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x81", {}, 1));
  const std::string text = s.to_prometheus();
  const std::string bad = "\xef\xbf\xbd";
  CHECK_THAT(text, Catch::Contains("# HELP g help " + bad + "\n"));
  CHECK_THAT(text, Catch::Contains("g{v=\"a" + bad + "b" + bad + bad + "c" + bad + bad + bad + "d\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("# HELP ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x81\n"));
  CHECK_NOTHROW(json(text).dump());  // nlohmann's strict dump throws on invalid UTF-8
}

TEST_CASE("snapshot renders JSON that parses back", "[metrics][json]") {
  MetricsSnapshot s;
  const auto h = sample_histogram();
  REQUIRE(s.add_counter("c_total", "Count \"quoted\"", {{"b", "2"}, {"a", "1"}}, 7));
  REQUIRE(s.add_gauge("g", "not a number", {}, std::nan("")));
  REQUIRE(s.add_gauge("bad_utf8", "\xff\xfe", {{"k", "v\xc3"}}, 1));
  REQUIRE(s.add_histogram("h_ns", "Histogram", {}, h));
  const json doc = json::parse(s.to_json());
  const auto& metrics = doc.at("metrics");
  REQUIRE(metrics.size() == 4);
  CHECK(metrics[0].at("name") == "c_total");
  CHECK(metrics[0].at("help") == "Count \"quoted\"");
  CHECK(metrics[0].at("type") == "counter");
  // Labels are sorted by name: the same series whatever order they were given in.
  CHECK(metrics[0].at("series")[0].at("labels") == json{{"a", "1"}, {"b", "2"}});
  CHECK(metrics[0].at("series")[0].at("value") == 7);
  CHECK(metrics[1].at("series")[0].at("value").is_null());
  CHECK(metrics[2].at("help").get<std::string>().find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD
  const auto& hs = metrics[3].at("series")[0];
  CHECK(metrics[3].at("type") == "histogram");
  CHECK(hs.at("count") == 1000);
  CHECK(hs.at("min") == 1000);
  CHECK(hs.at("max") == 1'000'000);
  CHECK(hs.at("p50") == h.value_at_quantile(0.5));
  CHECK(hs.at("p90") == h.value_at_quantile(0.9));
  CHECK(hs.at("p99") == h.value_at_quantile(0.99));
  CHECK(hs.at("p999") == h.value_at_quantile(0.999));
  CHECK(hs.at("mean").get<double>() == Approx(500'500.0));
}

TEST_CASE("bad metric and label names are refused with a reason", "[metrics]") {
  MetricsSnapshot s;
  CHECK(s.add_counter("", "", {}, 1).error() == MetricsError::InvalidMetricName);
  CHECK(s.add_counter("9lives", "", {}, 1).error() == MetricsError::InvalidMetricName);
  CHECK(s.add_counter("has space", "", {}, 1).error() == MetricsError::InvalidMetricName);
  CHECK(s.add_counter("ok:name_1", "", {}, 1));
  CHECK(s.add_counter("x", "", {{"__reserved", "v"}}, 1).error() == MetricsError::InvalidLabelName);
  CHECK(s.add_counter("x", "", {{"a-b", "v"}}, 1).error() == MetricsError::InvalidLabelName);
  CHECK(s.add_counter("x", "", {{"a", "1"}, {"a", "2"}}, 1).error() == MetricsError::DuplicateLabel);
  CHECK(s.add_histogram("h", "", {{"quantile", "x"}}, {}).error() == MetricsError::InvalidLabelName);
  CHECK(s.add_counter("x", "help", {{"a", "1"}}, 1));
  CHECK(s.add_gauge("x", "help", {{"a", "2"}}, 1).error() == MetricsError::TypeMismatch);
  CHECK(s.add_counter("x", "other help", {{"a", "2"}}, 1).error() == MetricsError::TypeMismatch);
  CHECK(s.add_counter("x", "help", {{"a", "1"}}, 2).error() == MetricsError::DuplicateSeries);
  CHECK(omega::to_string(MetricsError::DuplicateSeries) == "DuplicateSeries");
  // Refused series leave no trace.
  REQUIRE(s.find("x") != nullptr);
  CHECK(s.find("x")->series.size() == 1);
  CHECK(s.find("9lives") == nullptr);
}

TEST_CASE("registry hands out metrics and snapshots them", "[metrics][registry]") {
  MetricsRegistry r;
  auto c = r.counter("requests_total", "Requests", {{"route", "/a"}});
  REQUIRE(c);
  c->get().add(5);
  auto again = r.counter("requests_total", "Requests", {{"route", "/a"}});
  REQUIRE(again);
  CHECK(&again->get() == &c->get());  // get-or-create
  auto h = r.histogram("latency_ns", "Latency");
  REQUIRE(h);
  h->get().record(1500);
  auto g = r.gauge("depth", "Depth");
  REQUIRE(g);
  g->get().set(-4);
  CHECK(r.gauge("requests_total", "Requests").error() == MetricsError::TypeMismatch);
  CHECK(r.counter("bad name", "").error() == MetricsError::InvalidMetricName);

  const MetricsSnapshot s = r.snapshot();
  REQUIRE(s.find("requests_total"));
  CHECK(std::get<std::uint64_t>(s.find("requests_total")->series.at(0).value) == 5);
  CHECK(std::get<double>(s.find("depth")->series.at(0).value) == -4.0);
  CHECK(std::get<omega::HistogramSnapshot>(s.find("latency_ns")->series.at(0).value).count() == 1);
  check_prometheus_syntax(s.to_prometheus());
}

TEST_CASE("registry registration and recording from many threads", "[metrics][registry][concurrency]") {
  if constexpr (!omega::kHasThreads) {
    SUCCEED("single-threaded build");
  } else {
    MetricsRegistry r;
    omega::test::run_threads(4, [&](int id) {
      for (int i = 0; i < 2000; ++i) {
        r.counter("shared_total", "Shared").value().get().add();
        r.histogram("per_thread_ns", "Per thread", {{"t", std::to_string(id)}}).value().get().record(i);
        if (i % 100 == 0) (void)r.snapshot();
      }
    });
    const auto s = r.snapshot();
    CHECK(std::get<std::uint64_t>(s.find("shared_total")->series.at(0).value) == 8000);
    CHECK(s.find("per_thread_ns")->series.size() == 4);
  }
}

TEST_CASE("random names, labels and help never break either format", "[metrics][fuzz]") {
  // Fuzz: arbitrary bytes (including NUL, quotes, backslashes, newlines, invalid UTF-8) as
  // names, label names/values and help. Invalid ones must be refused with an error; whatever
  // is accepted must render to JSON that parses and to syntactically valid Prometheus text.
  std::mt19937_64 rng(2026);
  const std::string alphabet = std::string("abcXYZ_:09 -.\"\\\n\t{}=,#", 23) + std::string("\0\xff\xc3\xa9", 4);
  auto random_string = [&](std::size_t max_len) {
    std::string s(rng() % (max_len + 1), ' ');
    for (auto& c : s) c = alphabet[rng() % alphabet.size()];
    return s;
  };
  std::size_t accepted = 0;
  std::size_t refused = 0;
  for (int round = 0; round < 200; ++round) {
    MetricsSnapshot s;
    for (int i = 0; i < 20; ++i) {
      MetricLabels labels;
      for (std::uint64_t l = rng() % 3; l > 0; --l) labels.push_back({random_string(6), random_string(12)});
      // Half the names are well-formed so that plenty of series are accepted.
      std::string name = rng() % 2 ? "m_" + std::to_string(rng() % 8) : random_string(8);
      omega::Result<void, MetricsError> r;
      switch (rng() % 3) {
        case 0: r = s.add_counter(name, random_string(16), std::move(labels), rng()); break;
        case 1: r = s.add_gauge(name, random_string(16), std::move(labels), static_cast<double>(rng()) / 7.0); break;
        default: {
          omega::Histogram h;
          h.record(rng() % 1'000'000);
          r = s.add_histogram(name, random_string(16), std::move(labels), h.snapshot());
        }
      }
      (r ? accepted : refused) += 1;
    }
    REQUIRE_NOTHROW(json::parse(s.to_json()));
    if (!s.families().empty()) check_prometheus_syntax(s.to_prometheus());
    REQUIRE_NOTHROW(json(s.to_prometheus()).dump());  // valid UTF-8 throughout
  }
  CHECK(accepted > 100);
  CHECK(refused > 100);
}
