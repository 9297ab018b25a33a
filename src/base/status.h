// Status and Result<T>: the error currency of every module.
//
// A Status is either OK (no allocation) or a code plus a one-line message.
// Context is prepended as the error travels up: "load pack 3fa2c1: short read".
// No module lets an exception escape; third-party exceptions are caught at the
// call site and turned into a Status.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace lb {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // bad user input (usage, malformed value)
  kNotFound,         // a file, snapshot or blob does not exist
  kAlreadyExists,    // refusing to overwrite
  kCorrupt,          // stored bytes fail authentication, hashing or parsing
  kWrongPassword,    // no key file opens with the given password
  kLocked,           // the repository is locked by someone else
  kIoError,          // the operating system or a backend failed
  kNoSpace,          // ENOSPC / EDQUOT
  kUnsupported,      // feature or format version we do not know
  kPermission,       // EACCES / EPERM
  kCancelled,        // stopped by a signal or a failing child command
  kInternal,         // a bug: an invariant did not hold
  kRetained,         // storage refuses to remove it yet (S3 Object Lock retention)
};

const char* CodeName(Code c);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string msg) : code_(code), msg_(std::move(msg)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }

  // Returns a copy whose message is "context: message".
  Status WithContext(const std::string& context) const;
  std::string ToString() const;
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string msg_;
};

// Builds a Status from errno (ENOSPC -> kNoSpace, ENOENT -> kNotFound, EACCES/EPERM ->
// kPermission, otherwise kIoError). The message is "what: strerror(err)".
Status ErrnoStatus(const std::string& what, int err);

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status Corrupt(std::string m) { return {Code::kCorrupt, std::move(m)}; }
inline Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}     // NOLINT: must not be OK

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace lb

#define LB_CONCAT_INNER(a, b) a##b
#define LB_CONCAT(a, b) LB_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when it is not OK.
#define LB_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::lb::Status lb_status_ = (expr);            \
    if (!lb_status_.ok()) return lb_status_;     \
  } while (0)

// Same, prefixing context.
#define LB_RETURN_IF_ERROR_CTX(expr, ctx)                          \
  do {                                                             \
    ::lb::Status lb_status_ = (expr);                              \
    if (!lb_status_.ok()) return lb_status_.WithContext(ctx);      \
  } while (0)

#define LB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

// `LB_ASSIGN_OR_RETURN(auto x, Compute());`
#define LB_ASSIGN_OR_RETURN(lhs, expr) \
  LB_ASSIGN_OR_RETURN_IMPL(LB_CONCAT(lb_result_, __LINE__), lhs, expr)

#define LB_ASSIGN_OR_RETURN_CTX_IMPL(tmp, lhs, expr, ctx) \
  auto tmp = (expr);                                      \
  if (!tmp.ok()) return tmp.status().WithContext(ctx);    \
  lhs = std::move(tmp).value()

#define LB_ASSIGN_OR_RETURN_CTX(lhs, expr, ctx) \
  LB_ASSIGN_OR_RETURN_CTX_IMPL(LB_CONCAT(lb_result_, __LINE__), lhs, expr, ctx)
