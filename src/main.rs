//! `bp`: parse the command line, dispatch, map errors to exit codes.
//! Exit codes: 0 success, 1 any error, 2 changes present (plan --detailed-exitcode).

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let parsed = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    // Output to a closed pipe (`bp plan | head`) ends the process quietly.
    // SAFETY: restoring the default disposition of SIGPIPE at start-up, before
    // any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let _ = ctrlc::set_handler(blueprint::interrupt::on_signal);
    match cli::run(parsed) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            match e.downcast_ref::<blueprint::Error>() {
                Some(be) => eprint!("{}", be.render()),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::from(1)
        }
    }
}
