//! Writes the `simulate` speed cases (`benches/support/cases.rs`) to a file:
//! `cargo run -p policy-model --example bench_cases -- <count> <file>`.

#[path = "../benches/support/cases.rs"]
mod cases;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(count), Some(file)) = (args.next().and_then(|n| n.parse::<usize>().ok()), args.next()) else {
        eprintln!("usage: bench_cases <count> <file>");
        return std::process::ExitCode::from(2);
    };
    match std::fs::write(&file, cases::cases(count)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write `{file}`: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
