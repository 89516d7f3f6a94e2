//! `/v1/upload/s3` and `/v1/files/{fileKey}`: presigned uploads, ctxd's own signed
//! upload route (used with the local store) and reading an upload back.
//!
//! The signed `PUT` carries no API key: like an S3 presigned URL, its signature is
//! the credential, so the authentication middleware lets it through (see
//! `access::middleware`). Its body is streamed to the store, never buffered.

use axum::{
    Extension, Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Uri, header, uri::Authority},
    response::{IntoResponse, Response},
};
use ctxd_domain::{
    Error,
    services::{NewUpload, ReceivedUpload, UploadSignature, UploadTarget},
};
use futures_util::{StreamExt, TryStreamExt};
use url::Url;

use crate::{
    AppState, PublicUrl,
    dto::{SignedUploadParams, UploadIn, UploadOut, UploadedOut},
    error::{ApiError, BadRequest, ErrorBody, Refusals},
    extract::{ApiJson, ApiQuery, Auth},
};

/// Presign an upload. `PUT` the file to `uploadUrl` within 15 minutes, then create a
/// FILE source with `fileKey`.
#[utoipa::path(post, path = "/v1/upload/s3", tag = "uploads", request_body = UploadIn,
    responses((status = 200, description = "OK", body = UploadOut), BadRequest, (status = 413, description = "`size` is over the upload limit", body = ErrorBody), Refusals),
    security(("bearer" = [])))]
pub async fn presign_upload(
    State(state): State<AppState>,
    Extension(public): Extension<PublicUrl>,
    Auth(user): Auth,
    headers: HeaderMap,
    uri: Uri,
    ApiJson(body): ApiJson<UploadIn>,
) -> Result<Json<UploadOut>, ApiError> {
    // Checked first: a request that cannot be given a URL leaves no upload behind.
    let base = public.base(&headers, &uri)?;
    let request = NewUpload { filename: body.filename, content_type: body.content_type, size: body.size };
    let presigned = state.use_cases.uploads.presign(&user, request).await?;
    let file_key = presigned.upload.file_key;
    let own_url = |query: Option<&str>| {
        let mut url = base.join(&format!("v1/files/{file_key}")).map_err(Error::internal)?;
        url.set_query(query);
        Ok::<_, Error>(url)
    };
    let upload_url = match &presigned.target {
        UploadTarget::Direct(url) => url.clone(),
        UploadTarget::Ctxd { query } => own_url(Some(query))?,
    };
    let public_url = match presigned.public_url {
        Some(url) => url,
        None => own_url(None)?,
    };
    Ok(Json(UploadOut {
        upload_url: upload_url.into(),
        public_url: public_url.into(),
        file_key,
        expires_at: presigned.expires_at,
    }))
}

/// ctxd's signed upload URL (local store): `PUT` the bytes with the declared
/// `Content-Type` and exact size. Refused with 403 when the signature is wrong or
/// expired; a refused body never replaces an earlier upload.
#[utoipa::path(put, path = "/v1/files/{fileKey}", tag = "uploads",
    params(("fileKey" = String, Path), SignedUploadParams),
    request_body(content = String, content_type = "*/*", description = "The file's bytes, sent with the declared Content-Type"),
    responses((status = 200, description = "Stored", body = UploadedOut), (status = 400, description = "Type or size differs from what was declared", body = ErrorBody), (status = 403, description = "Missing, wrong or expired signature", body = ErrorBody), (status = 404, description = "Unknown upload", body = ErrorBody)))]
pub async fn put_file(
    State(state): State<AppState>,
    Path(file_key): Path<String>,
    ApiQuery(params): ApiQuery<SignedUploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadedOut>, ApiError> {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let content_length = text(header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
    let body = body.into_data_stream().map_err(|e| Error::invalid("body", format!("could not be read: {e}"))).boxed();
    let put = ReceivedUpload {
        file_key: &file_key,
        signature: UploadSignature { expires: params.expires, signature: params.signature },
        content_type: text(header::CONTENT_TYPE),
        content_length,
        body,
    };
    let upload = state.use_cases.uploads.receive(put).await?;
    Ok(Json(UploadedOut { file_key: upload.file_key, size: upload.size, content_type: upload.content_type }))
}

/// Read an upload back (its owner only), streamed with its declared type.
#[utoipa::path(get, path = "/v1/files/{fileKey}", tag = "uploads", params(("fileKey" = String, Path)),
    responses((status = 200, description = "The file's bytes"), (status = 404, description = "Not found, not uploaded yet, or not yours", body = ErrorBody), Refusals),
    security(("bearer" = [])))]
pub async fn get_file(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(file_key): Path<String>,
) -> Result<Response, ApiError> {
    let (upload, meta, body) = state.use_cases.uploads.download(&user, &file_key).await?;
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&upload.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size));
    if let Some(etag) = meta.etag.as_deref().and_then(|e| HeaderValue::from_str(&format!("\"{e}\"")).ok()) {
        headers.insert(header::ETAG, etag);
    }
    Ok(response)
}

impl PublicUrl {
    /// The address clients reach ctxd at: the configured one, else the request's
    /// host (`Host`, or the HTTP/2 authority) over http. `X-Forwarded-Proto` and
    /// `X-Forwarded-Host` are believed only when `http.trust_forwarded` says a proxy
    /// in front sets them; anyone can send them otherwise.
    fn base(&self, headers: &HeaderMap, uri: &Uri) -> Result<Url, ApiError> {
        if let Some(url) = &self.configured {
            return Ok(url.clone());
        }
        let text = |name: &'static str| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::trim);
        let forwarded = |name| if self.trust_forwarded { text(name) } else { None };
        let (host, host_field) = match forwarded("x-forwarded-host") {
            Some(host) => (Some(host), "X-Forwarded-Host"),
            None => (text("host").or_else(|| uri.authority().map(|a| a.as_str())), "Host"),
        };
        let host = host.ok_or_else(|| ApiError::invalid("Host", "is required"))?;
        let scheme = match forwarded("x-forwarded-proto") {
            None => "http",
            Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
            Some(proto) if proto.eq_ignore_ascii_case("http") => "http",
            Some(_) => return Err(ApiError::invalid("X-Forwarded-Proto", "must be http or https")),
        };
        valid_origin(scheme, host).ok_or_else(|| ApiError::invalid(host_field, "is not a valid host[:port]"))
    }
}

/// `scheme://host[:port]/` when `host` is a host name or IP address with an optional
/// port and nothing else (no user info, path, query or stray characters).
fn valid_origin(scheme: &str, host: &str) -> Option<Url> {
    let authority: Authority = host.parse().ok()?;
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return None;
    }
    let url = Url::parse(&format!("{scheme}://{authority}/")).ok()?;
    let same_host = url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(authority.host()));
    (same_host && url.path() == "/" && url.query().is_none()).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(trust_forwarded: bool, headers: &[(&'static str, &str)]) -> Result<String, u16> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        let public = PublicUrl { configured: None, trust_forwarded };
        let uri: Uri = "/v1/upload/s3".parse().unwrap();
        public.base(&map, &uri).map(String::from).map_err(|e| e.status().as_u16())
    }

    #[test]
    fn upload_urls_are_built_only_from_a_valid_host_and_a_trusted_scheme() {
        assert_eq!(base(false, &[("host", "ctxd.local:8080")]), Ok("http://ctxd.local:8080/".into()));
        assert_eq!(base(false, &[("host", "[::1]:8080")]), Ok("http://[::1]:8080/".into()));
        let spoofed = [("host", "evil.example"), ("x-forwarded-proto", "javascript")];
        assert_eq!(base(false, &spoofed), Ok("http://evil.example/".into()), "untrusted headers are ignored");
        assert_eq!(base(true, &spoofed), Err(400), "a trusted proxy must still say http or https");
        assert_eq!(
            base(true, &[("host", "10.0.0.5"), ("x-forwarded-proto", "https"), ("x-forwarded-host", "ctxd.example")]),
            Ok("https://ctxd.example/".into())
        );
        for bad in ["user@evil.example", "evil.example/path", "a b", "evil.example:99999", "x\\y", ""] {
            assert_eq!(base(false, &[("host", bad)]), Err(400), "{bad:?}");
        }
    }
}
