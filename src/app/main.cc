// lifeboat: the command-line entry point. Parses arguments, runs one command, and
// maps failures to the documented exit codes.
#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "app/backends.h"
#include "app/commands.h"
#include "crypto/crypto.h"

namespace {

constexpr const char* kExitCodes = R"(Exit codes:
  0   success
  1   fatal error; check found problems or lost erasure-coded redundancy; policy check found errors;
      status: an objective is violated; run: a job failed
  2   usage error (bad flags or arguments)
  3   backup finished, but some files could not be read (listed in the snapshot)
  10  the repository does not exist
  11  the repository is locked by another process
  12  wrong password
  13  the key in use is append-only and the command needs a full key

Environment: LIFEBOAT_REPO, LIFEBOAT_PASSWORD, LIFEBOAT_PASSWORD_FILE,
LIFEBOAT_FROM_PASSWORD, LIFEBOAT_FROM_PASSWORD_FILE (source of copy),
LIFEBOAT_HISTORY (job history database of run/status/plan/daemon),
LIFEBOAT_REST_TOKEN (token for rest: repositories).)";

}  // namespace

int main(int argc, char** argv) {
  using namespace lb::app;
  signal(SIGPIPE, SIG_IGN);
  // glibc gives each thread that allocates its own arena (up to 8 per core). Chunks
  // of up to 8 MiB are allocated by one thread and freed by another, and each
  // arena keeps what was freed into it, so peak RSS grew with the number of
  // arenas: a 2.1 GB backup on 2 cores peaked at 180-215 MiB with the default and
  // 143-158 MiB with one arena, at the same speed. One arena per four cores.
  // (MALLOC_ARENA_MAX in the environment still overrides this.)
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr)
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / 4)));
  // Chunks (up to 8 MiB), pack buffers (24 MiB) and restore runs (8 MiB) are
  // allocated and freed all the time. By default glibc serves such sizes with a
  // fresh mmap, or returns the top of the heap to the kernel when they are freed,
  // and every page is then faulted in again: 85k page faults for a 2.1 GB backup,
  // costly under a hypervisor. Served from the heap and kept, they are reused: 49k
  // faults, 3.3 -> 2.6 s of system time, and a lower peak RSS (fewer mappings in
  // flight). Memory is still returned above 256 MiB of free heap top.
  // (MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ in the environment override.)
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 64 << 20);
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 256 << 20);
  if (!lb::crypto::Init().ok()) {
    std::cerr << "lifeboat: cannot initialise the crypto library\n";
    return kExitFatal;
  }
  CLI::App app{"lifeboat: encrypted, deduplicated backups that prove their RPO and RTO"};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.fallthrough();
  Globals g;
  if (const char* r = std::getenv("LIFEBOAT_REPO")) g.repo = r;
  if (const char* f = std::getenv("LIFEBOAT_PASSWORD_FILE")) g.password_file = f;
  app.add_option("-r,--repo", g.repo, "repository location (env LIFEBOAT_REPO)");
  app.add_option("--password-file", g.password_file,
                 "read the password from this file (env LIFEBOAT_PASSWORD_FILE)");
  app.add_flag("--json", g.json, "machine-readable output");
  app.add_flag("-q,--quiet", g.quiet, "print nothing but errors");
  app.add_option("--threads", g.threads,
                 "worker threads (default: one per core; a backup adds one, which works while "
                 "another waits for a pack write)");
  app.add_option("--connections", TheBackendOptions().connections,
                 "storage requests in flight at once (S3, rest; default 8)")
      ->check(CLI::Range(1u, 256u));
  app.add_flag("--no-cache", TheBackendOptions().no_cache,
               "do not keep a local copy of a remote repository's index files "
               "(default: kept under $XDG_CACHE_HOME/lifeboat/REPO-ID/index)");
  app.add_option("-o,--option",
                 "backend option key=value, repeatable (e.g. s3.ca-file=F, s3.bucket-lookup=virtual, rest.ca-file=F)")
      ->each([](const std::string& kv) {
        if (lb::Status st = AddExtendedOption(TheBackendOptions(), kv); !st.ok())
          throw CLI::ValidationError(st.message());
      });

  int exit_code = kExitOk;
  RegisterInit(app, g);
  RegisterKey(app, g);
  RegisterBackup(app, g, exit_code);
  RegisterRestore(app, g);
  RegisterSnapshots(app, g);
  RegisterLs(app, g);
  RegisterDiff(app, g);
  RegisterCheck(app, g);
  RegisterForget(app, g);
  RegisterPrune(app, g);
  RegisterRepair(app, g);
  RegisterUnlock(app, g);
  RegisterPolicy(app, g);
  RegisterPlan(app, g);
  RegisterRun(app, g, exit_code);
  RegisterStatus(app, g, exit_code);
  RegisterDaemon(app, g);
  RegisterDrill(app, g, exit_code);
  RegisterDrills(app, g, exit_code);
  RegisterRecover(app, g, exit_code);
  RegisterCopy(app, g);
  RegisterAudit(app, g, exit_code);
  RegisterServe(app, g);
  app.add_subcommand("version", "print the version")->callback([] {
    std::cout << lb::app::ProgramVersion() << "\n";
  });
  app.set_version_flag("--version", lb::app::ProgramVersion(), "print the version and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "lifeboat: " << e.what() << " (see 'lifeboat --help')\n";
    return kExitUsage;
  } catch (const Failure& f) {
    std::cerr << "lifeboat: " << f.message << "\n";
    return f.code;
  } catch (const std::exception& e) {
    std::cerr << "lifeboat: " << e.what() << "\n";
    return kExitFatal;
  }
  return exit_code;
}
