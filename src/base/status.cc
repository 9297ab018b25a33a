#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace lb {

const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kNotFound: return "not found";
    case Code::kAlreadyExists: return "already exists";
    case Code::kCorrupt: return "corrupt";
    case Code::kWrongPassword: return "wrong password";
    case Code::kLocked: return "locked";
    case Code::kIoError: return "i/o error";
    case Code::kNoSpace: return "no space";
    case Code::kUnsupported: return "unsupported";
    case Code::kPermission: return "permission denied";
    case Code::kCancelled: return "cancelled";
    case Code::kRetained: return "retained";
    case Code::kInternal: return "internal error";
  }
  return "unknown";
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + msg_);
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return msg_;
}

Status ErrnoStatus(const std::string& what, int err) {
  Code c = Code::kIoError;
  switch (err) {
    case ENOSPC:
    case EDQUOT: c = Code::kNoSpace; break;
    case ENOENT: c = Code::kNotFound; break;
    case EACCES:
    case EPERM: c = Code::kPermission; break;
    case EEXIST: c = Code::kAlreadyExists; break;
    default: break;
  }
  return Status(c, what + ": " + std::strerror(err));
}

}  // namespace lb
