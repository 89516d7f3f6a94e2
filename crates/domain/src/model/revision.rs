//! Revisions: each distinct content a source has had.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PageType;
use crate::ids::SourceId;

/// HTTP facts of the fetch that produced a revision; they drive conditional refreshes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpMeta {
    pub status: Option<u16>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub source_id: SourceId,
    /// 1, 2, 3, ... per source.
    pub number: u32,
    /// `sha256:<hex>` of the bytes as fetched.
    pub content_hash: String,
    pub fetched_at: DateTime<Utc>,
    pub http: HttpMeta,
    pub bytes: u64,
    /// The extractor version whose outputs belong to this revision.
    pub extractor_version: String,
    /// The kind of web page the content is (`metadata.page_type`); `None` for other
    /// content and for revisions extracted before it was recorded.
    pub page_type: Option<PageType>,
}

impl Revision {
    /// The blob store folder that holds every object of a source's revisions.
    pub fn folder(source_id: SourceId) -> String {
        format!("sources/{source_id}/")
    }

    /// Where the bytes as fetched are kept in the blob store.
    pub fn raw_key(source_id: SourceId, number: u32) -> String {
        format!("sources/{source_id}/revisions/{number}/raw")
    }

    /// Where the normalized markdown is kept in the blob store.
    pub fn markdown_key(source_id: SourceId, number: u32) -> String {
        format!("sources/{source_id}/revisions/{number}/normalized.md")
    }
}
