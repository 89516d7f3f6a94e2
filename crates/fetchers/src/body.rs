//! Reading a response body within limits: decompressed here rather than by reqwest,
//! so both sides of the decompression are counted. The body is capped after
//! decompression, and a compressed body that expands far more than real documents
//! do is refused early instead of being inflated up to the cap (gzip/brotli bombs).

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder};
use ctxd_domain::ports::FetchError;
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio_util::io::StreamReader;

use crate::{HttpFetchConfig, describe, permanent, transient};

/// Below this many decompressed bytes the ratio is not judged: small, very regular
/// pages (a short JSON array) can compress extremely well without harm.
const RATIO_FLOOR: u64 = 1024 * 1024;

/// The `Accept-Encoding` ctxd sends: what [`read`] can decode.
pub(crate) const ACCEPT_ENCODING: &str = "gzip, br";

/// Reads `response`'s body, decoding its `Content-Encoding`, and its `sha256:` hash,
/// computed as the bytes arrive (one buffer, one pass).
pub(crate) async fn read(
    response: reqwest::Response,
    config: &HttpFetchConfig,
) -> Result<(Vec<u8>, String), FetchError> {
    let encoding = response
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let wire = Arc::new(AtomicU64::new(0));
    let counted = {
        let wire = wire.clone();
        response.bytes_stream().inspect_ok(move |chunk| {
            wire.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        })
    };
    let raw = StreamReader::new(counted.map_err(std::io::Error::other));
    let compressed = !matches!(encoding.as_deref(), None | Some("" | "identity"));
    let mut reader: Pin<Box<dyn AsyncRead + Send>> = match encoding.as_deref() {
        None | Some("" | "identity") => Box::pin(raw),
        Some("gzip" | "x-gzip") => Box::pin(GzipDecoder::new(BufReader::new(raw))),
        Some("br") => Box::pin(BrotliDecoder::new(BufReader::new(raw))),
        Some("deflate") => Box::pin(ZlibDecoder::new(BufReader::new(raw))),
        Some(other) => return Err(permanent(format!("unsupported content encoding {other:?}"))),
    };

    let limit = config.max_body_bytes;
    let mut body = Vec::new();
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buffer).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) => return Err(read_error(&error, compressed, config)),
        };
        if body.len() as u64 + n as u64 > limit {
            return Err(permanent(format!("body exceeds {} MiB", limit / (1024 * 1024))));
        }
        body.extend_from_slice(&buffer[..n]);
        hasher.update(&buffer[..n]);
        let inflated = body.len() as u64;
        let on_wire = wire.load(Ordering::Relaxed).max(1);
        if compressed && inflated > RATIO_FLOOR && inflated > on_wire.saturating_mul(config.max_decompression_ratio) {
            return Err(permanent(format!(
                "compressed body expands more than {}x (a decompression bomb?)",
                config.max_decompression_ratio
            )));
        }
    }
    Ok((body, format!("sha256:{}", hex::encode(hasher.finalize()))))
}

/// A failed read: the transport's own error when there is one (timeouts, resets),
/// else the decoder's complaint about the data.
fn read_error(error: &std::io::Error, compressed: bool, config: &HttpFetchConfig) -> FetchError {
    if let Some(http) = error.get_ref().and_then(|e| e.downcast_ref::<reqwest::Error>()) {
        return describe(http, config);
    }
    if compressed {
        permanent(format!("the compressed body is corrupt: {error}"))
    } else {
        transient(format!("reading the body failed: {error}"))
    }
}
