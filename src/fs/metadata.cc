#include "fs/metadata.h"

namespace lb::fs {

const char* FileTypeName(FileType t) {
  switch (t) {
    case FileType::kRegular: return "file";
    case FileType::kDirectory: return "dir";
    case FileType::kSymlink: return "symlink";
    case FileType::kFifo: return "fifo";
    case FileType::kCharDevice: return "chardev";
    case FileType::kBlockDevice: return "blockdev";
    case FileType::kSocket: return "socket";
  }
  return "unknown";
}

}  // namespace lb::fs
