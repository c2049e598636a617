//! The `xacct` binary: the command line over the `xacct` library.

fn main() -> std::process::ExitCode {
    xacct::cli::main()
}
