//! The `xacct` binary: the command line over the `xacct` library.

/// mimalloc instead of glibc's allocator: `simulate` reads, checks and compiles every policy
/// of a batch on every core, and glibc's allocator was a fifth of its time. Its `no_thp`
/// feature keeps transparent huge pages off: right after a large process exited, faulting
/// them in (with the kernel compacting memory) added up to 0.4 s of system time to a 0.5 s run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    xacct::cli::main()
}
