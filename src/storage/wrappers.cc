#include "storage/wrappers.h"

#include <condition_variable>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "base/budget.h"

namespace lb::storage {

namespace {

bool Transient(const Status& st) { return st.code() == Code::kIoError; }

class RetryingBackend final : public Backend {
 public:
  RetryingBackend(std::unique_ptr<Backend> inner, RetryPolicy p) : inner_(std::move(inner)), p_(p) {}

  std::string Location() const override { return inner_->Location(); }
  size_t KeptDescriptors() const override { return inner_->KeptDescriptors(); }
  Status Create() override {
    return Retry([&] { return inner_->Create(); });
  }
  Status Save(const Handle& h, ByteSpan data) override {
    bool retried = false;
    Status st = Retry([&] {
      Status s = inner_->Save(h, data);
      // A retry after a save whose reply was lost finds the file stored: done.
      if (retried && s.code() == Code::kAlreadyExists) return Status::Ok();
      retried = true;
      return s;
    });
    return st;
  }
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override {
    Result<Bytes> out = Status(Code::kInternal, "not tried");
    Status st = Retry([&] {
      out = inner_->Load(h, offset, length);
      if (out.ok() && length > 0 && out->size() != length) out = IoError("short read");
      return out.status();
    });
    if (!st.ok()) return st;
    return out;
  }
  Status LoadInto(const Handle& h, uint64_t offset, std::span<uint8_t> out) override {
    return Retry([&] { return inner_->LoadInto(h, offset, out); });
  }
  Result<uint64_t> Size(const Handle& h) override {
    Result<uint64_t> out = uint64_t{0};
    Status st = Retry([&] {
      out = inner_->Size(h);
      return out.status();
    });
    if (!st.ok()) return st;
    return out;
  }
  Status List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) override {
    // A listing that failed part-way is redone from the start; callers see each
    // name once per successful listing attempt, so collect first.
    std::vector<std::pair<std::string, uint64_t>> items;
    Status st = Retry([&] {
      items.clear();
      return inner_->List(kind, [&](const std::string& n, uint64_t s) {
        items.emplace_back(n, s);
        return Status::Ok();
      });
    });
    if (!st.ok()) return st;
    for (const auto& [n, s] : items) LB_RETURN_IF_ERROR(fn(n, s));
    return Status::Ok();
  }
  Status Remove(const Handle& h) override {
    return Retry([&] { return inner_->Remove(h); });
  }

 private:
  Status Retry(const std::function<Status()>& op) {
    auto delay = p_.first_delay;
    thread_local std::mt19937 rng(std::random_device{}());
    Status st;
    for (int i = 0; i < p_.attempts; ++i) {
      st = op();
      if (st.ok() || !Transient(st) || i + 1 == p_.attempts) break;
      std::uniform_int_distribution<long> jitter(0, delay.count() / 2 + 1);
      std::this_thread::sleep_for(delay + std::chrono::milliseconds(jitter(rng)));
      delay = std::min(delay * 2, p_.max_delay);
    }
    return st;
  }

  std::unique_ptr<Backend> inner_;
  RetryPolicy p_;
};

class LimitingBackend final : public Backend {
 public:
  LimitingBackend(std::unique_ptr<Backend> inner, unsigned n) : inner_(std::move(inner)), slots_(n) {}

  // Runs f holding one slot (defined first: its return type is deduced).
  template <typename F>
  auto Limited(F&& f) {
    slots_.Acquire();
    struct Release {
      Budget& s;
      ~Release() { s.Release(); }
    } release{slots_};
    return f();
  }

  std::string Location() const override { return inner_->Location(); }
  size_t KeptDescriptors() const override { return inner_->KeptDescriptors(); }
  Status Create() override {
    return Limited([&] { return inner_->Create(); });
  }
  Status Save(const Handle& h, ByteSpan data) override {
    return Limited([&] { return inner_->Save(h, data); });
  }
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override {
    return Limited([&] { return inner_->Load(h, offset, length); });
  }
  Status LoadInto(const Handle& h, uint64_t offset, std::span<uint8_t> out) override {
    return Limited([&] { return inner_->LoadInto(h, offset, out); });
  }
  Result<uint64_t> Size(const Handle& h) override {
    return Limited([&] { return inner_->Size(h); });
  }
  Status List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) override {
    std::vector<std::pair<std::string, uint64_t>> items;
    LB_RETURN_IF_ERROR(Limited([&] {
      return inner_->List(kind, [&](const std::string& n, uint64_t s) {
        items.emplace_back(n, s);
        return Status::Ok();
      });
    }));
    for (const auto& [n, s] : items) LB_RETURN_IF_ERROR(fn(n, s));
    return Status::Ok();
  }
  Status Remove(const Handle& h) override {
    return Limited([&] { return inner_->Remove(h); });
  }

 private:
  std::unique_ptr<Backend> inner_;
  Budget slots_;
};

class MeteredBackend final : public Backend {
 public:
  MeteredBackend(std::unique_ptr<Backend> inner, std::shared_ptr<Meter> m)
      : inner_(std::move(inner)), m_(std::move(m)) {}

  std::string Location() const override { return inner_->Location(); }
  size_t KeptDescriptors() const override { return inner_->KeptDescriptors(); }
  Status Create() override { return Count(m_->creates, inner_->Create()); }
  Status Save(const Handle& h, ByteSpan data) override {
    Status st = Count(m_->saves, inner_->Save(h, data));
    if (st.ok()) m_->bytes_up += data.size();
    return st;
  }
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override {
    auto r = inner_->Load(h, offset, length);
    Count(m_->loads, r.status()).IgnoreError();
    if (r.ok()) m_->bytes_down += r->size();
    return r;
  }
  Status LoadInto(const Handle& h, uint64_t offset, std::span<uint8_t> out) override {
    Status st = Count(m_->loads, inner_->LoadInto(h, offset, out));
    if (st.ok()) m_->bytes_down += out.size();
    return st;
  }
  Result<uint64_t> Size(const Handle& h) override {
    auto r = inner_->Size(h);
    Count(m_->sizes, r.status()).IgnoreError();
    return r;
  }
  Status List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) override {
    return Count(m_->lists, inner_->List(kind, fn));
  }
  Status Remove(const Handle& h) override { return Count(m_->removes, inner_->Remove(h)); }

 private:
  Status Count(std::atomic<uint64_t>& calls, Status st) {
    ++calls;
    if (!st.ok()) ++m_->errors;
    return st;
  }

  std::unique_ptr<Backend> inner_;
  std::shared_ptr<Meter> m_;
};

bool Take(std::atomic<int>& n) {
  int v = n.load();
  while (v > 0)
    if (n.compare_exchange_weak(v, v - 1)) return true;
  return false;
}

class FaultyBackend final : public Backend {
 public:
  FaultyBackend(std::unique_ptr<Backend> inner, std::shared_ptr<FaultPlan> plan)
      : inner_(std::move(inner)), plan_(std::move(plan)) {}

  std::string Location() const override { return inner_->Location(); }
  size_t KeptDescriptors() const override { return inner_->KeptDescriptors(); }
  Status Create() override { return inner_->Create(); }
  Status Save(const Handle& h, ByteSpan data) override {
    plan_->saves++;
    if (Take(plan_->fail_saves)) return IoError("injected fault: save " + h.name);
    return inner_->Save(h, data);
  }
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override {
    plan_->loads++;
    if (Take(plan_->fail_loads)) return IoError("injected fault: load " + h.name);
    auto r = inner_->Load(h, offset, length);
    if (!r.ok()) return r;
    if (Take(plan_->short_reads) && !r->empty()) r->pop_back();
    if (plan_->corrupt_first_read && !r->empty()) {
      std::lock_guard<std::mutex> l(mu_);
      if (seen_.insert(std::string(FileKindDir(h.kind)) + "/" + h.name).second) (*r)[r->size() / 2] ^= 0x40;
    }
    return r;
  }
  Result<uint64_t> Size(const Handle& h) override { return inner_->Size(h); }
  Status List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) override {
    if (!Take(plan_->fail_lists)) return inner_->List(kind, fn);
    int n = 0;
    Status st = inner_->List(kind, [&](const std::string& name, uint64_t size) {
      if (++n > 1) return IoError("injected fault: listing interrupted");
      return fn(name, size);
    });
    return st.ok() ? IoError("injected fault: listing interrupted") : st;
  }
  Status Remove(const Handle& h) override { return inner_->Remove(h); }

 private:
  std::unique_ptr<Backend> inner_;
  std::shared_ptr<FaultPlan> plan_;
  std::mutex mu_;
  std::set<std::string> seen_;
};

}  // namespace

std::unique_ptr<Backend> NewRetryingBackend(std::unique_ptr<Backend> inner, RetryPolicy policy) {
  return std::make_unique<RetryingBackend>(std::move(inner), policy);
}

namespace {

class CircuitBreakerBackend final : public Backend {
 public:
  explicit CircuitBreakerBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}

  std::string Location() const override { return inner_->Location(); }
  size_t KeptDescriptors() const override { return inner_->KeptDescriptors(); }
  Status Create() override {
    return Guard([&] { return inner_->Create(); });
  }
  Status Save(const Handle& h, ByteSpan data) override {
    return Guard([&] { return inner_->Save(h, data); });
  }
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override {
    return Guard([&] { return inner_->Load(h, offset, length); });
  }
  Status LoadInto(const Handle& h, uint64_t offset, std::span<uint8_t> out) override {
    return Guard([&] { return inner_->LoadInto(h, offset, out); });
  }
  Result<uint64_t> Size(const Handle& h) override {
    return Guard([&] { return inner_->Size(h); });
  }
  Status List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) override {
    return Guard([&] { return inner_->List(kind, fn); });
  }
  Status Remove(const Handle& h) override {
    return Guard([&] { return inner_->Remove(h); });
  }

 private:
  template <typename F>
  auto Guard(F&& f) -> decltype(f()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!open_.ok()) return open_;
    }
    auto r = f();
    Status st = StatusOf(r);
    if (st.code() == Code::kIoError) {
      std::lock_guard<std::mutex> l(mu_);
      if (open_.ok())
        open_ = IoError(inner_->Location() + " is treated as down for the rest of this run after: " + st.message());
    }
    return r;
  }
  static Status StatusOf(const Status& s) { return s; }
  template <typename T>
  static Status StatusOf(const Result<T>& r) {
    return r.status();
  }

  std::unique_ptr<Backend> inner_;
  std::mutex mu_;
  Status open_;  // ok while closed
};

}  // namespace

std::unique_ptr<Backend> NewCircuitBreakerBackend(std::unique_ptr<Backend> inner) {
  return std::make_unique<CircuitBreakerBackend>(std::move(inner));
}

std::unique_ptr<Backend> NewLimitingBackend(std::unique_ptr<Backend> inner, unsigned max_in_flight) {
  return std::make_unique<LimitingBackend>(std::move(inner), max_in_flight);
}

Meter::Counts Meter::Snapshot() const {
  Counts c;
  c.creates = creates.load();
  c.saves = saves.load();
  c.loads = loads.load();
  c.sizes = sizes.load();
  c.lists = lists.load();
  c.removes = removes.load();
  c.errors = errors.load();
  c.bytes_up = bytes_up.load();
  c.bytes_down = bytes_down.load();
  return c;
}

std::unique_ptr<Backend> NewMeteredBackend(std::unique_ptr<Backend> inner, std::shared_ptr<Meter> meter) {
  return std::make_unique<MeteredBackend>(std::move(inner), std::move(meter));
}

std::unique_ptr<Backend> NewFaultyBackend(std::unique_ptr<Backend> inner, std::shared_ptr<FaultPlan> plan) {
  return std::make_unique<FaultyBackend>(std::move(inner), std::move(plan));
}

}  // namespace lb::storage
