#include <omega/exec/task.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>

namespace {
struct Tracked {
  static inline int alive = 0;
  int* hits;
  explicit Tracked(int* h) : hits(h) { ++alive; }
  Tracked(Tracked&& o) noexcept : hits(o.hits) { ++alive; }
  Tracked(const Tracked&) = delete;
  ~Tracked() { --alive; }
  void operator()() const { ++*hits; }
};
}  // namespace

TEST_CASE("small callables are stored inline, large ones on the heap", "[task]") {
  int hits = 0;
  omega::Task small = [&hits] { ++hits; };
  CHECK(small.is_inline());
  small();
  CHECK(hits == 1);

  std::array<char, 200> big{};
  big[0] = 3;
  omega::Task large = [big, &hits] { hits += big[0]; };
  CHECK_FALSE(large.is_inline());
  large();
  CHECK(hits == 4);

  omega::Task empty;
  CHECK_FALSE(empty);
}

TEST_CASE("tasks move, run once per call and destroy their callable exactly once", "[task]") {
  int hits = 0;
  {
    omega::Task a = Tracked(&hits);
    CHECK(Tracked::alive == 1);
    omega::Task b = std::move(a);
    CHECK_FALSE(a);
    CHECK(Tracked::alive == 1);
    b();
    omega::Task c;
    c = std::move(b);
    c();
    CHECK(hits == 2);
    c = [&hits] { hits += 10; };  // assigning over a live callable destroys it
    CHECK(Tracked::alive == 0);
    c();
    CHECK(hits == 12);
  }
  CHECK(Tracked::alive == 0);

  auto owned = std::make_shared<int>(5);
  std::weak_ptr<int> watch = owned;
  {
    omega::Task holds = [p = std::move(owned)] { (void)*p; };
    CHECK_FALSE(watch.expired());
  }
  CHECK(watch.expired());
}

TEST_CASE("emplace replaces the callable in place and destroys the old one once", "[task]") {
  int hits = 0;
  omega::Task t;
  t.emplace(Tracked(&hits));
  CHECK(Tracked::alive == 1);
  CHECK(t.is_inline());
  t();
  CHECK(hits == 1);
  std::array<char, 200> big{};
  big[0] = 7;
  t.emplace([big, &hits] { hits += big[0]; });  // the Tracked one is destroyed first
  CHECK(Tracked::alive == 0);
  CHECK_FALSE(t.is_inline());
  t();
  CHECK(hits == 8);
  t.emplace(Tracked(&hits));  // the heap one is freed (ASan would see a leak otherwise)
  CHECK(Tracked::alive == 1);
  t();
  CHECK(hits == 9);
  t.reset();
  CHECK(Tracked::alive == 0);
}

TEST_CASE("exceptions from a task reach the caller", "[task]") {
  omega::Task t = [] { throw std::runtime_error("boom"); };
  CHECK_THROWS_WITH(t(), "boom");
  std::string message(100, 'x');
  omega::Task heap = [message] { throw std::runtime_error(message); };
  CHECK_THROWS_WITH(heap(), message);
}

TEST_CASE("a task knows whether its callable is noexcept and trivially movable", "[task]") {
  int hits = 0;
  omega::Task plain = [&hits] { ++hits; };
  omega::Task quiet = [&hits]() noexcept { ++hits; };
  CHECK_FALSE(plain.is_nothrow());
  CHECK(quiet.is_nothrow());
  // Trivially copyable captures move by copying the storage: run after several moves.
  omega::Task a = std::move(quiet);
  omega::Task b = std::move(a);
  CHECK_FALSE(a);
  b();
  b();
  CHECK(hits == 2);
  std::array<char, 100> big{};  // larger than the inline storage
  omega::Task heap = [big]() noexcept { (void)big[0]; };
  CHECK(heap.is_nothrow());
  CHECK_FALSE(heap.is_inline());
}

TEST_CASE("run_caught reports a throw instead of propagating it", "[task]") {
  int ran = 0;
  omega::Task ok = [&ran] { ++ran; };
  omega::Task bad = [&ran] {
    ++ran;
    throw std::runtime_error("boom");
  };
  std::array<char, 100> big{};
  omega::Task heap_bad = [big] { throw std::logic_error(std::string(1, big[0])); };
  CHECK(ok.run_caught());
  CHECK_FALSE(bad.run_caught());
  CHECK_FALSE(heap_bad.run_caught());
  CHECK(ran == 2);
}
