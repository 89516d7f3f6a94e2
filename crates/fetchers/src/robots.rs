//! robots.txt for scheduled refreshes: fetched once per origin and kept for an hour,
//! parsed by `texting_robots` for the agent `ctxd`. A missing robots.txt (4xx) allows
//! everything; one that cannot be read now (5xx, network) makes the refresh retry.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ctxd_domain::ports::FetchError;
use futures_util::StreamExt;
use texting_robots::Robot;
use url::Url;

use crate::{permanent, transient};

/// The product token ctxd matches in `User-agent:` lines.
pub const AGENT: &str = "ctxd";
const TTL: Duration = Duration::from_secs(3600);
/// Google reads the first 500 KiB; so does ctxd.
const MAX_BYTES: usize = 500 * 1024;

/// An origin's rules and when they were read; `None` allows everything.
type Entry = (Instant, Option<Arc<Robot>>);

/// Rules per origin.
#[derive(Default)]
pub(crate) struct RobotsCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for RobotsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotsCache").finish_non_exhaustive()
    }
}

impl RobotsCache {
    /// Ok when `url` may be fetched by ctxd.
    pub(crate) async fn check(&self, client: &reqwest::Client, url: &Url) -> Result<(), FetchError> {
        let origin = url.origin().ascii_serialization();
        let cached = {
            let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            entries.get(&origin).filter(|(at, _)| at.elapsed() < TTL).map(|(_, robot)| robot.clone())
        };
        let robot = match cached {
            Some(robot) => robot,
            None => {
                let robot = fetch(client, &origin).await?;
                let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if entries.len() > 4096 {
                    entries.retain(|_, (at, _)| at.elapsed() < TTL);
                }
                entries.insert(origin, (Instant::now(), robot.clone()));
                robot
            }
        };
        match robot {
            Some(robot) if !robot.allowed(url.as_str()) => Err(permanent(format!(
                "robots.txt of {} disallows {AGENT} for {}",
                url.host_str().unwrap_or_default(),
                url.path()
            ))),
            _ => Ok(()),
        }
    }
}

async fn fetch(client: &reqwest::Client, origin: &str) -> Result<Option<Arc<Robot>>, FetchError> {
    let unreadable = |why: String| transient(format!("robots.txt of {origin} could not be read: {why}"));
    let response = client.get(format!("{origin}/robots.txt")).send().await.map_err(|e| unreadable(e.to_string()))?;
    let status = response.status();
    if status.is_client_error() {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(unreadable(format!("it answered {}", status.as_u16())));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| unreadable(e.to_string()))?;
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_BYTES {
            body.truncate(MAX_BYTES);
            break;
        }
    }
    // A file that does not parse says nothing: everything is allowed.
    Ok(Robot::new(AGENT, &body).ok().map(Arc::new))
}
