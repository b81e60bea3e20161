//! The process entry: what std's runtime start-up does that hoist needs,
//! without the rest.
//!
//! std's start-up (`lang_start`) also finds the main thread's stack guard,
//! which glibc answers by reading and parsing /proc/self/maps, and maps an
//! alternate signal stack for its stack-overflow message: about 0.09 ms of
//! every run, a sixth of what hoist itself takes to run a small program.
//! hoist installs its own signal handlers and alternate stacks where wasm
//! runs (hoist-runtime's `signals`), so only the two steps below are kept.
//! Arguments and the environment need no start-up: on glibc, std reads
//! them from its own `.init_array` entry.

use std::process::ExitCode;

/// Makes the process what std's start-up would have made it:
/// - file descriptors 0, 1 and 2 are open (on /dev/null if they were
///   closed), so no file hoist opens, such as a preopened directory or the
///   module, can take their number and receive the guest's output;
/// - SIGPIPE is ignored, so writing to a closed pipe is an `EPIPE` error
///   hoist reports (`output`) instead of a silent death.
pub fn prepare() {
    open_standard_fds();
    // SAFETY: setting a signal's disposition to SIG_IGN has no memory effects.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

fn open_standard_fds() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    loop {
        // SAFETY: `fds` is a valid array of 3 pollfds for the call.
        match unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } {
            -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {
                continue
            }
            -1 => {
                // poll itself failed (out of memory, say): ask each fd.
                for pollfd in &mut fds {
                    // SAFETY: F_GETFD on any number only reads its flags.
                    let closed = unsafe { libc::fcntl(pollfd.fd, libc::F_GETFD) } == -1;
                    pollfd.revents = if closed { libc::POLLNVAL } else { 0 };
                }
                break;
            }
            _ => break,
        }
    }
    for pollfd in fds {
        if pollfd.revents & libc::POLLNVAL == 0 {
            continue;
        }
        // The lowest free number is this one: 0, 1 and 2 are filled in order.
        // SAFETY: a constant NUL-terminated path; the descriptor is kept for
        // the life of the process as the standard stream.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if fd != pollfd.fd {
            // Without its standard streams the process could write a
            // guest's output into a file it opened: do not run at all.
            std::process::abort();
        }
    }
}

/// glibc's start-up of a static binary (`_dl_non_dynamic_init`) asks for
/// the executable's directory, which it finds by reading the
/// `/proc/self/exe` link: a path walk through procfs costing about 0.04
/// ms, 4 % of a hello world's start-up. The directory is only ever used to
/// expand `$ORIGIN` in `dlopen` search paths, and hoist loads nothing
/// that way (a static glibc's `dlopen` is for the name-service and
/// character-set modules, found on the system's paths). glibc's own value
/// for "not known" is `(char *) -1`; this definition takes the place of
/// the C library's (the linker takes an archive member only for symbols
/// nothing else defines).
#[cfg(all(hoist_static_libc, not(test)))]
#[unsafe(no_mangle)]
extern "C" fn _dl_get_origin() -> *const std::ffi::c_char {
    usize::MAX as *const std::ffi::c_char
}

/// The exit status that `code` stands for. `ExitCode` does not expose its
/// value, but compares equal to the code it was made from.
pub fn status(code: ExitCode) -> i32 {
    (0..=u8::MAX)
        .find(|&value| ExitCode::from(value) == code)
        .map_or(1, i32::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_of_every_code() {
        assert_eq!(status(ExitCode::SUCCESS), 0);
        assert_eq!(status(ExitCode::FAILURE), 1);
        for value in 0..=u8::MAX {
            assert_eq!(status(ExitCode::from(value)), i32::from(value));
        }
    }
}
