//! The REST listener: TCP connections whose parse-error answers carry the contract's
//! error body.
//!
//! When a request head cannot be parsed (a malformed request line, a URI over 64 KiB,
//! more than 100 headers, a head over ~400 KiB), hyper answers by itself, before any
//! router or middleware runs, with a bare `400`/`414`/`431` and an empty body, then
//! closes the connection. hyper has no hook for that answer, so the connection's
//! writer recognises it (one of those three statuses with `content-length: 0`, which
//! ctxd's own handlers never send: every error they write has a JSON body) and writes
//! the contract's JSON body with a request id in its place.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

use crate::error::ErrorBody;

/// A TCP listener whose connections are [`ShapedIo`].
#[derive(Debug)]
pub struct ShapedListener(pub TcpListener);

impl axum::serve::Listener for ShapedListener {
    type Io = ShapedIo<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, address) = axum::serve::Listener::accept(&mut self.0).await;
        // Small JSON answers go out at once rather than after Nagle's delay.
        let _ = stream.set_nodelay(true);
        (ShapedIo { inner: stream, pending: None }, address)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A connection that replaces hyper's body-less parse-error answers (see the module
/// documentation).
#[derive(Debug)]
pub struct ShapedIo<T> {
    inner: T,
    /// A replacement answer and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T: AsyncWrite + Unpin> ShapedIo<T> {
    /// Writes what is left of a replacement answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ShapedIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ShapedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(replacement) = replacement_for(buf) {
            // The whole of hyper's answer counts as written; the replacement goes out
            // now and, if the socket is full, on the next write, flush or shutdown.
            self.pending = Some((replacement, 0));
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // Not vectored, so hyper writes each answer's head as one buffer (see
    // `replacement_for`).
}

/// The JSON answer to put in place of `written`, when `written` is exactly one of
/// hyper's automatic parse-error answers.
fn replacement_for(written: &[u8]) -> Option<Vec<u8>> {
    let (status, reason) = [(400u16, "Bad Request"), (414, "URI Too Long"), (431, "Request Header Fields Too Large")]
        .into_iter()
        .find(|(status, _)| written.starts_with(format!("HTTP/1.1 {status} ").as_bytes()))?;
    let head = std::str::from_utf8(written).ok()?;
    let ends_the_head = head.ends_with("\r\n\r\n") && head.matches("\r\n\r\n").count() == 1;
    let empty = head.lines().any(|line| line.eq_ignore_ascii_case("content-length: 0"));
    if !ends_the_head || !empty {
        return None;
    }
    let message = match status {
        414 => "The request URI is too long",
        431 => "The request headers are too large or too many",
        _ => "The request could not be parsed as HTTP",
    };
    let request_id = crate::request_id::generate();
    let body = serde_json::to_vec(&ErrorBody {
        error: reason.to_owned(),
        message: message.to_owned(),
        code: status,
        details: None,
        request_id: request_id.clone(),
    })
    .ok()?;
    let mut answer = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         x-request-id: {request_id}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodyless_parse_error_answers_are_replaced() {
        let canned = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Thu, 03 Dec 2026 00:00:00 GMT\r\n\r\n";
        let replaced = String::from_utf8(replacement_for(canned).unwrap()).unwrap();
        assert!(replaced.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{replaced}");
        let (_, body) = replaced.split_once("\r\n\r\n").unwrap();
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], 414);
        assert!(body["requestId"].as_str().unwrap().starts_with("req_"));

        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 80\r\n\r\n";
        assert!(replacement_for(ours).is_none(), "a handler's answer has a body");
        assert!(replacement_for(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replacement_for(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200").is_none());
    }
}
