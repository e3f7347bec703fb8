//! Command output on standard output, through one writer.
//!
//! A reader that stops early (`status | head`, `runs | grep -m1 failed`)
//! closes the pipe; `println!` would then panic and exit with 101. Here the
//! first write to a closed pipe marks standard output as gone and the
//! command goes on quietly, as `ls | head` does, so a run still finishes,
//! is recorded and keeps its exit code. Any other write error (a full disk
//! behind a redirection) is an error of the command.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Error;

/// Set once a write found the reader gone.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to standard output (nothing once its reader has gone).
pub(crate) fn write(text: &str) -> Result<(), Error> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Error::Internal(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

/// `print!` through [`write`]; returns the error from the enclosing function.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write(&format!($($arg)*))?
    };
}

/// `println!` through [`write`]; returns the error from the enclosing function.
macro_rules! outln {
    () => {
        $crate::cli::output::write("\n")?
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write(&format!("{}\n", format_args!($($arg)*)))?
    };
}

pub(crate) use {out, outln};
