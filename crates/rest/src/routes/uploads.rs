//! `/v1/upload/s3` and `/v1/files/{fileKey}`: presigned uploads, ctxd's own signed
//! upload route (used with the local store) and reading an upload back.
//!
//! The signed `PUT` carries no API key: like an S3 presigned URL, its signature is
//! the credential, so the authentication middleware lets it through (see
//! `rate_limit::middleware`). Its body is streamed to the store, never buffered.

use axum::{
    Extension, Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, header},
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
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiQuery, Auth},
};

/// Presign an upload. `PUT` the file to `uploadUrl` within 15 minutes, then create a
/// FILE source with `fileKey`.
#[utoipa::path(post, path = "/v1/upload/s3", tag = "uploads", request_body = UploadIn,
    responses((status = 200, description = "OK", body = UploadOut), (status = 400, description = "Invalid input; `details` names each bad field", body = ErrorBody), (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorBody), (status = 413, description = "`size` is over the upload limit", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn presign_upload(
    State(state): State<AppState>,
    Extension(public): Extension<PublicUrl>,
    Auth(user): Auth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<UploadIn>,
) -> Result<Json<UploadOut>, ApiError> {
    let request = NewUpload { filename: body.filename, content_type: body.content_type, size: body.size };
    let presigned = state.use_cases.uploads.presign(&user, request).await?;
    let base = public.base(&headers)?;
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
    responses((status = 200, description = "The file's bytes"), (status = 401, description = "Missing, invalid, expired or revoked API key", body = ErrorBody), (status = 404, description = "Not found, not uploaded yet, or not yours", body = ErrorBody)),
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
    /// `Host` (with `X-Forwarded-Proto` when a proxy sets it).
    fn base(&self, headers: &HeaderMap) -> Result<Url, ApiError> {
        if let Some(url) = &self.0 {
            return Ok(url.clone());
        }
        let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        let host = text(header::HOST).ok_or_else(|| ApiError::invalid("Host", "is required"))?;
        let scheme = text(header::HeaderName::from_static("x-forwarded-proto")).unwrap_or("http");
        Url::parse(&format!("{scheme}://{host}/")).map_err(|_| ApiError::invalid("Host", "is not a valid host"))
    }
}
