//! Uploads: the presign body and answer, the signed URL's parameters.

use super::*;

/// `POST /v1/upload/s3` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadIn {
    #[schema(required = true, schema_with = filename_schema)]
    pub filename: Option<String>,
    /// The MIME type the file will be `PUT` with.
    #[serde(rename = "contentType")]
    #[schema(required = true, value_type = String, pattern = "^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;[ -~]*)?$")]
    pub content_type: Option<String>,
    /// Exact size in bytes.
    #[schema(required = true, value_type = u64, minimum = 1)]
    #[serde(default, deserialize_with = "crate::extract::whole_number")]
    pub size: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadOut {
    /// `PUT` the bytes here with the declared `Content-Type`, before `expires_at`.
    #[serde(rename = "uploadUrl")]
    pub upload_url: String,
    /// Where the file is readable once uploaded (with the local store: ctxd's
    /// `GET /v1/files/{fileKey}`, for its owner).
    #[serde(rename = "publicUrl")]
    pub public_url: String,
    /// Pass as `initial_data.data` of a FILE source.
    #[serde(rename = "fileKey")]
    pub file_key: String,
    /// [ext] When `uploadUrl` stops working.
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: DateTime<Utc>,
}

/// The signed part of ctxd's own upload URL.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedUploadParams {
    /// Unix time after which the URL is refused.
    pub expires: Option<i64>,
    pub signature: Option<String>,
}

/// What a successful `PUT` to ctxd's upload URL stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedOut {
    #[serde(rename = "fileKey")]
    pub file_key: String,
    pub size: u64,
    #[serde(rename = "contentType")]
    pub content_type: String,
}
