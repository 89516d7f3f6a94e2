//! Read use cases over what processing produced: runs, revisions, contexts and the
//! stored content of each revision.

use super::Ports;
use crate::{
    Error, Result,
    ids::{RunId, SourceId},
    model::{Context, Page, PageRequest, Revision, Run, Source, User},
};

/// Which form of a revision's content to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentFormat {
    /// The normalized markdown.
    Markdown,
    /// The bytes as fetched, with their original content type.
    Raw,
}

/// A revision's content ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

#[derive(Debug, Clone)]
pub struct OutputService {
    ports: Ports,
}

impl OutputService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    async fn visible_source(&self, user: &User, id: SourceId) -> Result<Source> {
        match self.ports.sources.get(user.id, id).await? {
            Some(source) if !source.is_deleted() => Ok(source),
            _ => Err(Error::NotFound("source")),
        }
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown source.
    pub async fn runs(&self, user: &User, id: SourceId, page: PageRequest) -> Result<Page<Run>> {
        self.visible_source(user, id).await?;
        self.ports.runs.list_for_source(id, page).await
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown run (or one of someone else's).
    pub async fn run(&self, user: &User, id: RunId) -> Result<Run> {
        self.ports.runs.get(user.id, id).await?.ok_or(Error::NotFound("run"))
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown source.
    pub async fn revisions(&self, user: &User, id: SourceId, page: PageRequest) -> Result<Page<Revision>> {
        self.visible_source(user, id).await?;
        self.ports.revisions.list(id, page).await
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown source or revision.
    pub async fn revision(&self, user: &User, id: SourceId, number: u32) -> Result<Revision> {
        self.visible_source(user, id).await?;
        self.ports.revisions.get(id, number).await?.ok_or(Error::NotFound("revision"))
    }

    /// The context of `revision`, or of the current revision.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown source or revision, or when no context was
    /// extracted for it (yet, or because extraction was turned off).
    pub async fn context(&self, user: &User, id: SourceId, revision: Option<u32>) -> Result<Context> {
        let source = self.visible_source(user, id).await?;
        let number = revision.or(source.revision).ok_or(Error::NotFound("context"))?;
        self.ports.revisions.context(id, number).await?.ok_or(Error::NotFound("context"))
    }

    /// The stored content of `revision`, or of the current revision.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown source or revision, or when the revision's
    /// content is no longer retained.
    pub async fn content(
        &self,
        user: &User,
        id: SourceId,
        revision: Option<u32>,
        format: ContentFormat,
    ) -> Result<Content> {
        let source = self.visible_source(user, id).await?;
        let number = revision.or(source.revision).ok_or(Error::NotFound("content"))?;
        let stored = self.ports.revisions.get(id, number).await?.ok_or(Error::NotFound("revision"))?;
        let (key, content_type) = match format {
            ContentFormat::Markdown => (Revision::markdown_key(id, number), "text/markdown; charset=utf-8".to_owned()),
            ContentFormat::Raw => (
                Revision::raw_key(id, number),
                stored.http.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
            ),
        };
        let bytes = self.ports.blobs.get(&key).await?.ok_or(Error::NotFound("content"))?;
        Ok(Content { bytes, content_type })
    }
}
