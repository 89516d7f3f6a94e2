//! CPU time spent by this process and by every PostgreSQL process on the machine,
//! read from `/proc`, so a benchmark can say where a phase's cycles went (on a
//! 2-core box the client, ctxd and Postgres share them).

use std::time::Duration;

/// Linux's `USER_HZ`: `/proc/*/stat` counts CPU time in hundredths of a second.
const TICKS_PER_SECOND: u64 = 100;

/// CPU time consumed so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTime {
    pub this_process: Duration,
    pub postgres: Duration,
}

impl CpuTime {
    /// Now; zero on systems without `/proc`.
    pub fn now() -> Self {
        let mut postgres = 0;
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit())
                    && let Some((comm, ticks)) = stat(&entry.path().join("stat"))
                    && comm == "postgres"
                {
                    postgres += ticks;
                }
            }
        }
        let this_process = stat(std::path::Path::new("/proc/self/stat")).map_or(0, |(_, ticks)| ticks);
        Self { this_process: from_ticks(this_process), postgres: from_ticks(postgres) }
    }

    /// What was spent since `earlier`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            this_process: self.this_process.saturating_sub(earlier.this_process),
            postgres: self.postgres.saturating_sub(earlier.postgres),
        }
    }
}

fn from_ticks(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

/// A process's command name and user + system ticks.
fn stat(path: &std::path::Path) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name is parenthesised and may itself contain spaces or ')'.
    let (open, close) = (text.find('(')?, text.rfind(')')?);
    let comm = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 2..)?.split(' ').collect();
    // After the name: state is field 3 of stat(5); utime and stime are 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}
