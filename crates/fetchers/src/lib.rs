//! Origin fetchers. Today: an HTTP(S) client on reqwest that sends the conditional
//! headers of the last revision, refuses private addresses (the [`guard`]), bounds
//! time, redirects and size, and classifies failures as transient or permanent.
//! Politeness (robots.txt, per-host limits, a contactable User-Agent) lives here too;
//! charset decoding is the normalizer's.

mod body;
pub mod guard;
mod robots;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use ctxd_domain::{
    model::HttpMeta,
    ports::{Conditional, FetchError, FetchOutcome, UriFetcher, WebhookSender},
};
use reqwest::{StatusCode, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// Limits of one fetch.
#[derive(Debug, Clone)]
pub struct HttpFetchConfig {
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    /// Largest body accepted, after decompression.
    pub max_body_bytes: u64,
    /// A compressed body may expand at most this many times (past its first MiB).
    pub max_decompression_ratio: u64,
    pub user_agent: String,
    pub max_redirects: usize,
    /// Allow loopback and private addresses (development and tests only).
    pub allow_private_networks: bool,
    /// Fetches in flight to one host at a time, so a refresh storm does not hammer
    /// one origin; further fetches to it wait their turn.
    pub max_per_host: usize,
    /// Honour robots.txt when a fetch asks for it (scheduled refreshes).
    pub honour_robots: bool,
}

impl HttpFetchConfig {
    /// The `User-Agent` ctxd sends: its name and version, and where an origin's
    /// operator can learn about it or reach whoever runs this instance.
    pub fn user_agent_with_contact(contact: &str) -> String {
        format!("ctxd/{} (+{contact})", env!("CARGO_PKG_VERSION"))
    }
}

impl Default for HttpFetchConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_body_bytes: 50 * 1024 * 1024,
            max_decompression_ratio: 100,
            user_agent: Self::user_agent_with_contact("https://github.com/ctxd/ctxd"),
            max_redirects: 5,
            allow_private_networks: false,
            max_per_host: 4,
            honour_robots: true,
        }
    }
}

/// Fetches URI sources over plain HTTP(S).
#[derive(Debug, Clone)]
pub struct PlainHttpFetcher {
    client: reqwest::Client,
    config: HttpFetchConfig,
    /// One semaphore per host with fetches in flight (or recently).
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    robots: Arc<robots::RobotsCache>,
}

impl PlainHttpFetcher {
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(config: HttpFetchConfig) -> Result<Self, reqwest::Error> {
        let builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.total_timeout)
            .user_agent(config.user_agent.clone())
            // Bodies are decoded by `body::read`, which counts both sides.
            .no_gzip()
            .no_brotli()
            .redirect(redirect_policy(config.max_redirects, !config.allow_private_networks));
        let client = guarded(builder, config.allow_private_networks).build()?;
        Ok(Self { client, config, hosts: Arc::default(), robots: Arc::default() })
    }

    /// A turn to fetch from `url`'s host, waiting while `max_per_host` fetches to it
    /// are in flight.
    async fn host_turn(&self, url: &Url) -> Option<OwnedSemaphorePermit> {
        let host = url.host_str()?.to_ascii_lowercase();
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if hosts.len() > 1024 {
                // Forget idle hosts so the map stays the size of the busy set.
                let max = self.config.max_per_host.max(1);
                hosts.retain(|_, s| s.available_permits() < max);
            }
            hosts.entry(host).or_insert_with(|| Arc::new(Semaphore::new(self.config.max_per_host.max(1)))).clone()
        };
        semaphore.acquire_owned().await.ok()
    }
}

/// Installs the guarded resolver unless private networks are allowed.
fn guarded(builder: reqwest::ClientBuilder, allow_private_networks: bool) -> reqwest::ClientBuilder {
    if allow_private_networks {
        builder
    } else {
        builder.dns_resolver(Arc::new(guard::GuardedResolver::new(Arc::new(guard::SystemLookup))))
    }
}

/// At most `max` redirects; with the guard on, every hop's IP-literal host is checked
/// (names are checked by the resolver when the hop connects).
fn redirect_policy(max: usize, guard_on: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            let error = TooManyRedirects(max);
            return attempt.error(error);
        }
        if guard_on && let Err(blocked) = guard::check_literal(attempt.url()) {
            return attempt.error(blocked);
        }
        attempt.follow()
    })
}

#[derive(Debug)]
struct TooManyRedirects(usize);

impl std::fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} redirects", self.0)
    }
}

impl std::error::Error for TooManyRedirects {}

fn transient(message: impl Into<String>) -> FetchError {
    FetchError { transient: true, message: message.into() }
}

fn permanent(message: impl Into<String>) -> FetchError {
    FetchError { transient: false, message: message.into() }
}

fn describe(error: &reqwest::Error, config: &HttpFetchConfig) -> FetchError {
    if let Some(blocked) = guard::find_blocked(error) {
        return permanent(blocked.to_string());
    }
    if error.is_timeout() {
        transient(format!("timed out after {} s", config.total_timeout.as_secs()))
    } else if error.is_redirect() {
        permanent(format!("more than {} redirects", config.max_redirects))
    } else if error.is_connect() {
        transient("could not connect to the origin")
    } else {
        transient(format!("fetch failed: {error}"))
    }
}

fn header_text(headers: &header::HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

#[async_trait]
impl UriFetcher for PlainHttpFetcher {
    async fn fetch(&self, url: &Url, conditional: &Conditional) -> Result<FetchOutcome, FetchError> {
        if !self.config.allow_private_networks {
            guard::check_literal(url).map_err(|blocked| permanent(blocked.to_string()))?;
        }
        // Held until the body is read: the limit counts whole fetches.
        let _turn = self.host_turn(url).await;
        if conditional.honour_robots && self.config.honour_robots {
            self.robots.check(&self.client, url).await?;
        }
        let mut request = self.client.get(url.clone()).header(header::ACCEPT_ENCODING, body::ACCEPT_ENCODING);
        // The ETag is the stronger validator: when there is one, send only it.
        if let Some(etag) = &conditional.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        } else if let Some(last_modified) = &conditional.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, last_modified);
        }
        let response = request.send().await.map_err(|e| describe(&e, &self.config))?;
        let status = response.status();
        match status {
            StatusCode::NOT_MODIFIED => return Ok(FetchOutcome::NotModified),
            StatusCode::NOT_FOUND | StatusCode::GONE => return Ok(FetchOutcome::Gone { status: status.as_u16() }),
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT => {
                return Err(transient(format!("origin answered {}", s.as_u16())));
            }
            s if !s.is_success() => return Err(permanent(format!("origin answered {}", s.as_u16()))),
            _ => {}
        }
        let headers = response.headers().clone();
        let limit = self.config.max_body_bytes;
        let encoded = headers.contains_key(header::CONTENT_ENCODING);
        if !encoded && response.content_length().is_some_and(|n| n > limit) {
            return Err(permanent(format!("body exceeds {} MiB", limit / (1024 * 1024))));
        }
        // Streamed with a running cap, so an endless or lying body cannot exhaust memory.
        let (body, content_hash) = body::read(response, &self.config).await?;
        let http = HttpMeta {
            status: Some(status.as_u16()),
            etag: header_text(&headers, header::ETAG),
            last_modified: header_text(&headers, header::LAST_MODIFIED),
            content_type: header_text(&headers, header::CONTENT_TYPE),
        };
        Ok(FetchOutcome::Fetched { bytes: body, http, content_hash: Some(content_hash) })
    }
}

/// Sends postbacks: a 10 s budget per request and no redirects (a receiver that
/// redirects has answered, with a non-2xx status).
/// Targets go through the same address guard as fetches.
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    client: reqwest::Client,
    allow_private_networks: bool,
}

impl HttpWebhookSender {
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(timeout: Duration, user_agent: &str, allow_private_networks: bool) -> Result<Self, reqwest::Error> {
        let builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none());
        Ok(Self { client: guarded(builder, allow_private_networks).build()?, allow_private_networks })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn post(&self, url: &Url, headers: Vec<(String, String)>, body: Vec<u8>) -> Result<u16, String> {
        if !self.allow_private_networks {
            guard::check_literal(url).map_err(|blocked| blocked.to_string())?;
        }
        let mut request = self.client.post(url.clone()).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) if guard::find_blocked(&error).is_some() => {
                Err(guard::find_blocked(&error).map(ToString::to_string).unwrap_or_default())
            }
            Err(error) if error.is_timeout() => Err("the receiver did not answer in time".into()),
            Err(error) if error.is_connect() => Err("could not connect to the receiver".into()),
            Err(error) => Err(format!("delivery failed: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::{
        Router,
        http::{HeaderMap, StatusCode as AxumStatus},
        routing::get,
    };

    use super::*;

    #[tokio::test]
    async fn fetches_to_one_host_wait_their_turn() {
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (now, most) = (in_flight.clone(), peak.clone());
        let app = Router::new().route(
            "/slowish",
            get(move || {
                let (now, most) = (now.clone(), most.clone());
                async move {
                    use std::sync::atomic::Ordering::SeqCst;
                    let current = now.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(current, SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    now.fetch_sub(1, SeqCst);
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let fetcher = PlainHttpFetcher::new(HttpFetchConfig { max_per_host: 2, ..local() }).unwrap();
        let url = Url::parse(&format!("http://{address}/slowish")).unwrap();
        let none = Conditional::default();
        let fetches = (0..8).map(|_| fetcher.fetch(&url, &none));
        for outcome in futures_util::future::join_all(fetches).await {
            assert!(matches!(outcome, Ok(FetchOutcome::Fetched { .. })), "{outcome:?}");
        }
        assert_eq!(
            peak.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "never more than 2 at once, and 2 do run together"
        );
    }

    #[test]
    fn the_user_agent_names_ctxd_and_a_contact() {
        let agent = HttpFetchConfig::user_agent_with_contact("mailto:ops@example.com");
        assert!(agent.starts_with("ctxd/") && agent.ends_with("(+mailto:ops@example.com)"), "{agent}");
    }

    #[tokio::test]
    async fn scheduled_fetches_honour_robots_txt_read_once_per_origin() {
        let robots_hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let hits = robots_hits.clone();
        let app = Router::new()
            .route(
                "/robots.txt",
                get(move || {
                    hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    async { "User-agent: *\nAllow: /\n\nUser-agent: ctxd\nDisallow: /private\n" }
                }),
            )
            .route("/private/page", get(|| async { "secret" }))
            .route("/public", get(|| async { "open" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let fetcher = PlainHttpFetcher::new(local()).unwrap();
        let scheduled = Conditional { honour_robots: true, ..Conditional::default() };
        let private = Url::parse(&format!("{base}/private/page")).unwrap();
        let error = fetcher.fetch(&private, &scheduled).await.unwrap_err();
        assert!(!error.transient);
        assert!(
            error.message.starts_with("robots.txt of 127.0.0.1 disallows ctxd for /private/page"),
            "{}",
            error.message
        );
        let public = Url::parse(&format!("{base}/public")).unwrap();
        assert!(matches!(fetcher.fetch(&public, &scheduled).await, Ok(FetchOutcome::Fetched { .. })));
        assert!(
            matches!(fetcher.fetch(&private, &Conditional::default()).await, Ok(FetchOutcome::Fetched { .. })),
            "a refresh someone asked for is not a crawl"
        );
        assert_eq!(robots_hits.load(std::sync::atomic::Ordering::SeqCst), 1, "cached per origin");

        let off = PlainHttpFetcher::new(HttpFetchConfig { honour_robots: false, ..local() }).unwrap();
        assert!(matches!(off.fetch(&private, &scheduled).await, Ok(FetchOutcome::Fetched { .. })));
    }

    #[tokio::test]
    async fn a_missing_robots_txt_allows_and_a_failing_one_retries() {
        let (base, _) = origin().await;
        let fetcher = PlainHttpFetcher::new(local()).unwrap();
        let scheduled = Conditional { honour_robots: true, ..Conditional::default() };
        // The shared origin has no /robots.txt route: 404.
        assert!(matches!(
            fetcher.fetch(&base.join("doc").unwrap(), &scheduled).await,
            Ok(FetchOutcome::Fetched { .. })
        ));

        let app = Router::new()
            .route("/robots.txt", get(|| async { AxumStatus::SERVICE_UNAVAILABLE }))
            .route("/page", get(|| async { "x" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/page", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let error = fetcher.fetch(&url, &scheduled).await.unwrap_err();
        assert!(error.transient, "{}", error.message);
        assert!(error.message.contains("robots.txt") && error.message.contains("503"), "{}", error.message);
    }

    /// The tests' origins listen on 127.0.0.1, which the default guard refuses.
    const GZIPPED_TEXT: &str = "Readable prose compresses a few times, nowhere near a bomb's ratio. ";

    fn local() -> HttpFetchConfig {
        HttpFetchConfig { allow_private_networks: true, ..HttpFetchConfig::default() }
    }

    /// A local origin serving `/doc` with an ETag and answering 304 to a match; it
    /// records the `If-None-Match` header of every request.
    async fn origin() -> (Url, Arc<Mutex<Vec<Option<String>>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = Router::new()
            .route(
                "/doc",
                get(move |headers: HeaderMap| {
                    let log = log.clone();
                    async move {
                        let inm = headers.get("if-none-match").map(|v| v.to_str().unwrap().to_owned());
                        log.lock().unwrap().push(inm.clone());
                        if inm.as_deref() == Some("\"v1\"") {
                            (AxumStatus::NOT_MODIFIED, [("etag", "\"v1\"")], String::new())
                        } else {
                            (AxumStatus::OK, [("etag", "\"v1\"")], "hello".to_owned())
                        }
                    }
                }),
            )
            .route(
                "/dated",
                // Last-Modified only, no ETag: answers 304 to a matching If-Modified-Since.
                get(|headers: HeaderMap| async move {
                    let since = headers.get("if-modified-since").map(|v| v.to_str().unwrap().to_owned());
                    if since.as_deref() == Some(DATED) {
                        (AxumStatus::NOT_MODIFIED, [("last-modified", DATED)], String::new())
                    } else {
                        (AxumStatus::OK, [("last-modified", DATED)], "dated".to_owned())
                    }
                }),
            )
            .route(
                "/retagged",
                // The ETag moved on while Last-Modified did not: the ETag must win.
                get(|headers: HeaderMap| async move {
                    let validators = (
                        headers.get("if-none-match").map(|v| v.to_str().unwrap().to_owned()),
                        headers.get("if-modified-since").map(|v| v.to_str().unwrap().to_owned()),
                    );
                    match validators {
                        (Some(tag), None) if tag == "\"v2\"" => {
                            (AxumStatus::NOT_MODIFIED, [("etag", "\"v2\""), ("last-modified", DATED)], String::new())
                        }
                        (_, None) => (AxumStatus::OK, [("etag", "\"v2\""), ("last-modified", DATED)], "v2".to_owned()),
                        (_, Some(_)) => {
                            (AxumStatus::BAD_REQUEST, [("etag", "\"v2\""), ("last-modified", DATED)], String::new())
                        }
                    }
                }),
            )
            .route("/gone", get(|| async { AxumStatus::GONE }))
            .route("/boom", get(|| async { AxumStatus::INTERNAL_SERVER_ERROR }))
            .route("/forbidden", get(|| async { AxumStatus::FORBIDDEN }))
            .route("/big", get(|| async { "x".repeat(4096) }))
            .route(
                "/hop/{n}",
                get(|axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    let target = if n == 0 { "/doc".to_owned() } else { format!("/hop/{}", n - 1) };
                    (AxumStatus::FOUND, [("location", target)])
                }),
            )
            .route(
                "/to-metadata",
                get(|| async { (AxumStatus::FOUND, [("location", "http://169.254.169.254/latest/meta-data/")]) }),
            )
            .route("/to-mapped", get(|| async { (AxumStatus::FOUND, [("location", "http://[::ffff:127.0.0.1]/")]) }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/huge", get(|| async { vec![b'a'; 60 * 1024 * 1024] }))
            .route(
                "/bomb",
                get(|| async {
                    // 60 MiB of zeros compress to about 60 KiB.
                    use std::io::Write;
                    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    encoder.write_all(&vec![0u8; 60 * 1024 * 1024]).unwrap();
                    ([("content-encoding", "gzip")], encoder.finish().unwrap())
                }),
            )
            .route(
                "/brotli-bomb",
                get(|| async {
                    use tokio::io::AsyncReadExt;
                    let zeros = vec![0u8; 20 * 1024 * 1024];
                    let mut encoder = async_compression::tokio::bufread::BrotliEncoder::new(&zeros[..]);
                    let mut compressed = Vec::new();
                    encoder.read_to_end(&mut compressed).await.unwrap();
                    ([("content-encoding", "br")], compressed)
                }),
            )
            .route(
                "/gzipped",
                get(|| async {
                    use std::io::Write;
                    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    encoder.write_all(GZIPPED_TEXT.repeat(3).as_bytes()).unwrap();
                    ([("content-encoding", "gzip"), ("content-type", "text/plain")], encoder.finish().unwrap())
                }),
            )
            .route("/corrupt", get(|| async { ([("content-encoding", "gzip")], b"not gzip at all".to_vec()) }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (Url::parse(&format!("http://{address}/")).unwrap(), seen)
    }

    #[tokio::test]
    async fn conditional_requests_turn_304_into_not_modified() {
        let (base, seen) = origin().await;
        let fetcher = PlainHttpFetcher::new(local()).unwrap();
        let url = base.join("doc").unwrap();
        let first = fetcher.fetch(&url, &Conditional::default()).await.unwrap();
        let FetchOutcome::Fetched { bytes, http, content_hash } = first else { panic!("expected content") };
        assert_eq!(
            content_hash.as_deref(),
            Some("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
            "hashed while read"
        );
        assert_eq!(bytes, b"hello");
        assert_eq!(http.etag.as_deref(), Some("\"v1\""));
        let conditional = Conditional { etag: http.etag, ..Conditional::default() };
        assert_eq!(fetcher.fetch(&url, &conditional).await.unwrap(), FetchOutcome::NotModified);
        assert_eq!(*seen.lock().unwrap(), [None, Some("\"v1\"".to_owned())]);
    }

    const DATED: &str = "Wed, 21 Oct 2026 07:28:00 GMT";

    #[tokio::test]
    async fn last_modified_alone_makes_a_conditional_request() {
        let (base, _) = origin().await;
        let fetcher = PlainHttpFetcher::new(local()).unwrap();
        let url = base.join("dated").unwrap();
        let FetchOutcome::Fetched { http, .. } = fetcher.fetch(&url, &Conditional::default()).await.unwrap() else {
            panic!("expected content")
        };
        assert_eq!((http.etag, http.last_modified.as_deref()), (None, Some(DATED)));
        let conditional = Conditional { last_modified: http.last_modified, ..Conditional::default() };
        assert_eq!(fetcher.fetch(&url, &conditional).await.unwrap(), FetchOutcome::NotModified);
    }

    #[tokio::test]
    async fn a_changed_etag_wins_over_an_unchanged_last_modified() {
        let (base, _) = origin().await;
        let fetcher = PlainHttpFetcher::new(local()).unwrap();
        let url = base.join("retagged").unwrap();
        // What the last revision saw: the old tag, the same date.
        let old = Conditional { etag: Some("\"v1\"".into()), last_modified: Some(DATED.into()), honour_robots: false };
        let FetchOutcome::Fetched { bytes, http, .. } = fetcher.fetch(&url, &old).await.unwrap() else {
            panic!("a new ETag means new content, whatever Last-Modified says")
        };
        assert_eq!((bytes.as_slice(), http.etag.as_deref()), (&b"v2"[..], Some("\"v2\"")));
        let current = Conditional { etag: http.etag, last_modified: http.last_modified, honour_robots: false };
        assert_eq!(fetcher.fetch(&url, &current).await.unwrap(), FetchOutcome::NotModified);
    }

    #[tokio::test]
    async fn statuses_map_to_gone_transient_and_permanent() {
        let (base, _) = origin().await;
        let fetcher = PlainHttpFetcher::new(local()).unwrap();
        let none = Conditional::default();
        assert_eq!(
            fetcher.fetch(&base.join("gone").unwrap(), &none).await.unwrap(),
            FetchOutcome::Gone { status: 410 }
        );
        let boom = fetcher.fetch(&base.join("boom").unwrap(), &none).await.unwrap_err();
        assert_eq!(boom, transient("origin answered 500"));
        let forbidden = fetcher.fetch(&base.join("forbidden").unwrap(), &none).await.unwrap_err();
        assert_eq!(forbidden, permanent("origin answered 403"));
        let small = PlainHttpFetcher::new(HttpFetchConfig { max_body_bytes: 1024, ..local() }).unwrap();
        let big = small.fetch(&base.join("big").unwrap(), &none).await.unwrap_err();
        assert!(!big.transient && big.message.contains("body exceeds"), "{big:?}");
        let closed = fetcher.fetch(&Url::parse("http://127.0.0.1:9/").unwrap(), &none).await.unwrap_err();
        assert!(closed.transient);
    }

    #[tokio::test]
    async fn slow_origins_time_out_and_oversized_or_bomb_bodies_are_refused() {
        let (base, _) = origin().await;
        let none = Conditional::default();
        let impatient =
            PlainHttpFetcher::new(HttpFetchConfig { total_timeout: Duration::from_secs(1), ..local() }).unwrap();
        let slow = impatient.fetch(&base.join("slow").unwrap(), &none).await.unwrap_err();
        assert_eq!(slow, transient("timed out after 1 s"));

        let fetcher = PlainHttpFetcher::new(local()).unwrap();
        let huge = fetcher.fetch(&base.join("huge").unwrap(), &none).await.unwrap_err();
        assert_eq!(huge, permanent("body exceeds 50 MiB"));
        // Bombs are stopped by their expansion ratio long before the cap.
        let bomb = fetcher.fetch(&base.join("bomb").unwrap(), &none).await.unwrap_err();
        assert_eq!(bomb, permanent("compressed body expands more than 100x (a decompression bomb?)"));
        let bomb = fetcher.fetch(&base.join("brotli-bomb").unwrap(), &none).await.unwrap_err();
        assert_eq!(bomb, permanent("compressed body expands more than 100x (a decompression bomb?)"));
        // Without the ratio guard, the cap still counts decompressed bytes.
        let lenient = PlainHttpFetcher::new(HttpFetchConfig { max_decompression_ratio: u64::MAX, ..local() }).unwrap();
        let bomb = lenient.fetch(&base.join("bomb").unwrap(), &none).await.unwrap_err();
        assert_eq!(bomb, permanent("body exceeds 50 MiB"));
    }

    #[tokio::test]
    async fn compressed_bodies_are_decoded_and_corrupt_ones_refused() {
        let (base, _) = origin().await;
        let fetcher = PlainHttpFetcher::new(local()).unwrap();
        let none = Conditional::default();
        let FetchOutcome::Fetched { bytes, http, .. } =
            fetcher.fetch(&base.join("gzipped").unwrap(), &none).await.unwrap()
        else {
            panic!("expected content")
        };
        assert_eq!(String::from_utf8(bytes).unwrap(), GZIPPED_TEXT.repeat(3));
        assert_eq!(http.content_type.as_deref(), Some("text/plain"));
        let corrupt = fetcher.fetch(&base.join("corrupt").unwrap(), &none).await.unwrap_err();
        assert!(!corrupt.transient && corrupt.message.starts_with("the compressed body is corrupt"), "{corrupt:?}");
    }

    #[tokio::test]
    async fn the_default_guard_refuses_private_targets_with_a_clear_message() {
        let (base, seen) = origin().await;
        let fetcher = PlainHttpFetcher::new(HttpFetchConfig::default()).unwrap();
        let none = Conditional::default();
        for (url, message) in [
            (base.join("doc").unwrap().to_string(), "blocked address 127.0.0.1 (loopback)".to_owned()),
            ("http://10.0.0.5/".to_owned(), "blocked address 10.0.0.5 (private network)".to_owned()),
            ("http://169.254.169.254/latest/".to_owned(), "blocked address 169.254.169.254 (link-local)".to_owned()),
            ("http://[::ffff:127.0.0.1]/".to_owned(), "blocked address ::ffff:127.0.0.1 (loopback)".to_owned()),
            (format!("http://localhost:{}/doc", base.port().unwrap()), String::new()),
        ] {
            let error = fetcher.fetch(&Url::parse(&url).unwrap(), &none).await.unwrap_err();
            assert!(!error.transient, "{url}: blocked is final");
            assert!(error.message.starts_with("blocked address"), "{url}: {}", error.message);
            if !message.is_empty() {
                assert_eq!(error.message, message, "{url}");
            }
        }
        assert!(seen.lock().unwrap().is_empty(), "no request reached the origin");
    }

    #[tokio::test]
    async fn redirects_are_bounded_and_every_hop_is_checked() {
        let (base, _) = origin().await;
        // Reach the local origin by name, so only IP-literal hops meet the policy's check.
        let base = Url::parse(&format!("http://localhost:{}/", base.port().unwrap())).unwrap();
        let config = HttpFetchConfig { allow_private_networks: true, ..HttpFetchConfig::default() };
        let client = reqwest::Client::builder().redirect(redirect_policy(config.max_redirects, true)).build().unwrap();
        let fetcher = PlainHttpFetcher { client, config, hosts: Arc::default(), robots: Arc::default() };
        let none = Conditional::default();
        let five = fetcher.fetch(&base.join("hop/4").unwrap(), &none).await.unwrap();
        assert!(matches!(five, FetchOutcome::Fetched { .. }), "5 redirects are fine");
        let six = fetcher.fetch(&base.join("hop/5").unwrap(), &none).await.unwrap_err();
        assert_eq!(six, permanent("more than 5 redirects"));
        let metadata = fetcher.fetch(&base.join("to-metadata").unwrap(), &none).await.unwrap_err();
        assert_eq!(metadata, permanent("blocked address 169.254.169.254 (link-local)"));
        let mapped = fetcher.fetch(&base.join("to-mapped").unwrap(), &none).await.unwrap_err();
        assert_eq!(mapped, permanent("blocked address ::ffff:127.0.0.1 (loopback)"));
    }
}
