//! Child processes the runner owns: each in a process group of its own (so a terminal's
//! Ctrl-C reaches the runner only, which forwards it once), told by the kernel to stop if the
//! runner dies, watched by a thread that reports its exit as an [`Event`], and killed with its
//! whole group when dropped, so that no child outlives the runner on any path.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::Error;

/// Which of the runner's children an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// `cargo build`.
    Build,
    /// The simulator at this index of [`crate::demo::Demo::simulators`].
    Simulator(usize),
    /// The program the demo runs.
    Program,
}

/// Everything the runner waits for, on one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The runner received this signal (SIGINT, SIGTERM or SIGHUP).
    Signal(i32),
    /// A child exited; it is not reaped yet, so its process group can still be signalled.
    Exited(Who),
    /// A simulator printed `listening on ADDR`.
    Listening(Who, String),
}

/// A running child in its own process group. Dropping it kills the group and reaps the child.
#[derive(Debug)]
pub struct Child {
    name: String,
    who: Who,
    child: std::process::Child,
    status: Option<ExitStatus>,
}

impl Child {
    /// Starts `command` as `who`, in a new process group, with stdin closed. The kernel sends
    /// `on_parent_death` to it if the runner dies first (even by SIGKILL). Its exit is sent to
    /// `events` as [`Event::Exited`].
    pub fn spawn(
        name: &str,
        who: Who,
        command: &mut Command,
        on_parent_death: i32,
        events: &Sender<Event>,
    ) -> Result<Child, Error> {
        let parent = std::process::id() as libc::pid_t;
        command.stdin(Stdio::null()).process_group(0);
        // SAFETY: the closure runs in the child between fork and exec and calls only
        // async-signal-safe functions (sigemptyset, sigprocmask, signal, prctl, getppid) on
        // its own stack; it allocates nothing.
        unsafe {
            command.pre_exec(move || {
                // The runner blocks the signals it takes on its own thread; exec keeps a
                // blocked mask and ignored signals, so the child starts with neither.
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                if libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) != 0 {
                    return Err(io::Error::last_os_error());
                }
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                if libc::prctl(libc::PR_SET_PDEATHSIG, on_parent_death as libc::c_ulong) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The runner died before the request took effect: do not run orphaned.
                if libc::getppid() != parent {
                    return Err(io::Error::other("the runner is gone"));
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|source| Error::Spawn {
            name: name.to_owned(),
            program: command.get_program().to_owned(),
            source,
        })?;
        let pid = child.id() as libc::pid_t;
        let events = events.clone();
        std::thread::Builder::new()
            .name(format!("wait-{name}"))
            .spawn(move || {
                if wait_without_reaping(pid).is_ok() {
                    let _ = events.send(Event::Exited(who));
                }
            })
            .map_err(|source| Error::Spawn {
                name: name.to_owned(),
                program: OsString::from("a waiter thread"),
                source,
            })?;
        Ok(Child {
            name: name.to_owned(),
            who,
            child,
            status: None,
        })
    }

    /// The name it was started under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its standard output, if piped and not taken yet.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// Its standard error, if piped and not taken yet.
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    /// Sends `signal` to the child's process group (the child and anything it started), unless
    /// the child was already reaped.
    pub fn signal(&self, signal: i32) {
        if self.status.is_none() {
            // SAFETY: kill has no memory-safety preconditions. The group id is the child's
            // pid, which cannot be reused before the child is reaped (by `reap`, below).
            unsafe {
                libc::kill(-(self.child.id() as libc::pid_t), signal);
            }
        }
    }

    /// Reaps the child after its [`Event::Exited`]: its exit status.
    pub fn reap(&mut self) -> Result<ExitStatus, Error> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        // Whatever the child started in its group goes with it, while the group id is still
        // held by the (exited, unreaped) child.
        self.signal(libc::SIGKILL);
        let status = self.child.wait().map_err(|source| Error::Wait {
            name: self.name.clone(),
            source,
        })?;
        self.status = Some(status);
        Ok(status)
    }

    /// Whether it was reaped.
    pub fn reaped(&self) -> bool {
        self.status.is_some()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_none() {
            // SAFETY: as in `signal`; the child is not reaped yet.
            unsafe {
                libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL);
            }
            let _ = self.child.wait();
        }
    }
}

/// Sends `signal` to every child's group at once and waits up to `grace` for all of them to
/// exit; those still running then (or after a further signal to the runner, which cuts the
/// wait short) are killed. Every child is reaped on return. Events about other children are
/// dropped, so call it once for everything that is stopping.
pub fn stop_all(
    children: &mut [&mut Child],
    signal: i32,
    grace: Duration,
    events: &Receiver<Event>,
) -> Result<(), Error> {
    for c in children.iter().filter(|c| !c.reaped()) {
        c.signal(signal);
    }
    let deadline = Instant::now() + grace;
    while children.iter().any(|c| !c.reaped()) {
        match events.recv_timeout(left(deadline)) {
            Ok(Event::Exited(who)) => {
                if let Some(c) = children.iter_mut().find(|c| c.who == who) {
                    c.reap()?;
                }
            }
            Ok(Event::Signal(_)) | Err(RecvTimeoutError::Timeout) => break,
            Ok(Event::Listening(..)) => {}
            Err(RecvTimeoutError::Disconnected) => return Err(Error::EventsClosed),
        }
    }
    for c in children.iter_mut().filter(|c| !c.reaped()) {
        eprintln!("demo: {} did not stop in {grace:?}; killing it", c.name);
        c.signal(libc::SIGKILL);
        c.reap()?;
    }
    Ok(())
}

/// Blocks until process `pid` has exited, leaving it a zombie (not reaped), so its pid and
/// process group stay valid for signals until [`Child::reap`].
fn wait_without_reaping(pid: libc::pid_t) -> io::Result<()> {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid place for waitid to write to.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is valid for writes; WNOWAIT leaves the child for `wait` to reap.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The exit code a shell would report for `status`: the code, or 128 + the signal.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Time left until `deadline` (zero once it passed).
pub fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
