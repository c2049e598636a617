//! The `xacct` binary: the command line over the `xacct` library.

/// mimalloc instead of glibc's allocator: `simulate` reads, checks and compiles every policy
/// of a batch on every core, and glibc's allocator was a fifth of its time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    xacct::cli::main()
}
