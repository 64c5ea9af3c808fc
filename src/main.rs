//! `bp`: parse the command line, dispatch, map errors to exit codes.
//! Exit codes: 0 success, 1 any error, 2 changes present (plan --detailed-exitcode).

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A shell asking for completions (`COMPLETE=bash bp -- ...`).
    cli::completions_answer_if_asked();
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
    cli::set_color(parsed.color);
    cli::init_logging(parsed.verbosity(), parsed.log_json);
    match cli::run(parsed) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            let text = match e.downcast_ref::<blueprint::Error>() {
                Some(be) => be.render(),
                None => format!("error: {e:#}\n"),
            };
            eprint!("{}", cli::error_text(blueprint::redact::redact(&text)));
            ExitCode::from(1)
        }
    }
}
